//! Building stores from URLs with a retry policy and timeouts ([`StoreOptions`]), and turning
//! object_store's errors into [`video_core::Error`]s that say what happened.

use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;
use object_store::path::Path;
use video_core::{Error, Result};

/// How a request to a cloud store (S3, GCS, Azure, HTTP) is retried when it fails in a way a
/// retry can fix: the connection is refused, reset or times out, or the server answers with a
/// 5xx status or throttles (429). Other failures (a missing object, refused permission) are
/// reported at once.
///
/// Retries wait with exponential backoff and jitter: the first wait is
/// [`init_backoff`](Self::init_backoff), each next one a random time between
/// `init_backoff` and twice the previous, at most [`max_backoff`](Self::max_backoff). A request
/// gives up after [`max_retries`](Self::max_retries) retries or once
/// [`budget`](Self::budget) has passed since it was first sent, whichever comes first; the
/// error then names the object's key ([`Error::Store`] with `transient: true`).
///
/// The defaults ride out an outage of tens of seconds: a refused connection is retried for
/// about a minute (object_store's own default gives up after 10 quick retries, 1–3 s in all).
/// Each request has its own budget, so a job that makes many requests keeps going once the
/// store is back.
///
/// ```
/// use std::time::Duration;
/// use video_storage::{RetryPolicy, StoreOptions};
/// let options = StoreOptions::default()
///     .retry(RetryPolicy::default().budget(Duration::from_secs(10)).max_retries(20));
/// assert_eq!(options.retry.budget, Duration::from_secs(10));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Most retries of one request; 0 disables retrying. Default: 100 (so the
    /// [`budget`](Self::budget) is what ends the retries).
    pub max_retries: usize,
    /// Longest time from a request's first attempt after which it is not retried again (the
    /// attempt in progress then still runs to its [`StoreOptions::request_timeout`]).
    /// Default: 60 s.
    pub budget: Duration,
    /// The first wait before a retry. Default: 200 ms.
    pub init_backoff: Duration,
    /// The longest wait between two attempts. Default: 5 s.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 100,
            budget: Duration::from_secs(60),
            init_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// No retries at all: every failure is reported at once.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            budget: Duration::ZERO,
            ..Default::default()
        }
    }

    /// Set [`max_retries`](Self::max_retries).
    pub fn max_retries(mut self, v: usize) -> Self {
        self.max_retries = v;
        self
    }

    /// Set [`budget`](Self::budget).
    pub fn budget(mut self, v: Duration) -> Self {
        self.budget = v;
        self
    }

    /// Set [`init_backoff`](Self::init_backoff).
    pub fn init_backoff(mut self, v: Duration) -> Self {
        self.init_backoff = v;
        self
    }

    /// Set [`max_backoff`](Self::max_backoff).
    pub fn max_backoff(mut self, v: Duration) -> Self {
        self.max_backoff = v;
        self
    }

    /// object_store's form of this policy.
    #[cfg(any(feature = "aws", feature = "gcp", feature = "azure", feature = "http"))]
    pub fn to_retry_config(&self) -> object_store::RetryConfig {
        let init = self.init_backoff.max(Duration::from_millis(1));
        object_store::RetryConfig {
            backoff: object_store::BackoffConfig {
                init_backoff: init,
                max_backoff: self.max_backoff.max(init),
                base: 2.0,
            },
            max_retries: self.max_retries,
            retry_timeout: self.budget,
        }
    }
}

/// How stores are built from URLs ([`ObjectStoreSinkBuilder::with_store_options`](crate::ObjectStoreSinkBuilder::with_store_options),
/// [`StoreVideo::open_url_with`](crate::StoreVideo::open_url_with)): the retry policy, the
/// timeouts, and object_store configuration keys. Local disk and memory stores ignore all but
/// [`read_deadline`](Self::read_deadline).
///
/// ```no_run
/// use std::time::Duration;
/// use video_storage::{ObjectStoreSink, RetryPolicy, StoreOptions};
/// let options = StoreOptions::default()
///     .retry(RetryPolicy::default().budget(Duration::from_secs(120)))
///     .request_timeout(Some(Duration::from_secs(20)))
///     .config("aws_endpoint", "http://127.0.0.1:9000");
/// let sink = ObjectStoreSink::builder("s3://bucket/datasets/a")
///     .with_store_options(options)
///     .build()?;
/// # Ok::<(), video_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StoreOptions {
    /// How failed requests are retried. Default: [`RetryPolicy::default`] (about a minute).
    pub retry: RetryPolicy,
    /// Longest time one HTTP request (one attempt) may take, body included; an attempt that
    /// takes longer is cancelled and counts as a failure to retry. When set, it wins over a
    /// `timeout` configuration key. Default: none (object_store's 30 s, or the `timeout` key).
    pub request_timeout: Option<Duration>,
    /// Longest time to open a connection. When set, it wins over a `connect_timeout`
    /// configuration key. Default: none (object_store's 5 s, or the `connect_timeout` key).
    pub connect_timeout: Option<Duration>,
    /// Longest time one read of a [`StoreVideo`](crate::StoreVideo) may take, its retries
    /// included; a read that takes longer is cancelled and fails with [`Error::Timeout`] naming
    /// the object, so a stalled store never pins a decoding thread. Default: 30 s.
    pub read_deadline: Duration,
    /// object_store configuration keys of the URL's store and of its HTTP client
    /// (`aws_endpoint`, `aws_region`, `google_service_account`, `allow_http`, …), applied
    /// after those read from the environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`). Default: none.
    pub config: Vec<(String, String)>,
}

/// Default of [`StoreOptions::read_deadline`].
pub const DEFAULT_READ_DEADLINE: Duration = Duration::from_secs(30);

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            retry: RetryPolicy::default(),
            request_timeout: None,
            connect_timeout: None,
            read_deadline: DEFAULT_READ_DEADLINE,
            config: Vec::new(),
        }
    }
}

impl StoreOptions {
    /// Set [`retry`](Self::retry).
    pub fn retry(mut self, v: RetryPolicy) -> Self {
        self.retry = v;
        self
    }

    /// Set [`request_timeout`](Self::request_timeout).
    pub fn request_timeout(mut self, v: Option<Duration>) -> Self {
        self.request_timeout = v;
        self
    }

    /// Set [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout(mut self, v: Option<Duration>) -> Self {
        self.connect_timeout = v;
        self
    }

    /// Set [`read_deadline`](Self::read_deadline).
    pub fn read_deadline(mut self, v: Duration) -> Self {
        self.read_deadline = v;
        self
    }

    /// Add one configuration key (see [`config`](Self::config)); a later value of the same key
    /// wins.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.push((key.into(), value.into()));
        self
    }

    /// Add configuration keys (see [`config`](Self::config)).
    pub fn configs<K, V>(mut self, pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: AsRef<str>,
        V: Into<String>,
    {
        self.config.extend(
            pairs
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.into())),
        );
        self
    }

    /// The configuration keys a store built from a URL gets: the environment's, then
    /// [`config`](Self::config), then the timeouts that are set. Keys are lower-cased.
    fn keys(&self) -> std::collections::BTreeMap<String, String> {
        let mut opts: std::collections::BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| {
                k.starts_with("AWS_") || k.starts_with("GOOGLE_") || k.starts_with("AZURE_")
            })
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        for (k, v) in &self.config {
            opts.insert(k.to_ascii_lowercase(), v.clone());
        }
        let millis = |d: Duration| format!("{}ms", d.as_millis().max(1));
        if let Some(t) = self.request_timeout {
            opts.retain(|k, _| {
                !matches!(
                    k.as_str(),
                    "timeout" | "aws_timeout" | "google_timeout" | "azure_timeout"
                )
            });
            opts.insert("timeout".into(), millis(t));
        }
        if let Some(t) = self.connect_timeout {
            opts.retain(|k, _| {
                !matches!(
                    k.as_str(),
                    "connect_timeout"
                        | "aws_connect_timeout"
                        | "google_connect_timeout"
                        | "azure_connect_timeout"
                )
            });
            opts.insert("connect_timeout".into(), millis(t));
        }
        opts
    }
}

/// A store that could not be built from its URL or options (a bad value, a scheme whose
/// feature is off): the URL and object_store's reason.
pub(crate) fn config_error(url: &str, e: object_store::Error) -> Error {
    Error::Backend {
        backend: "object_store",
        uri: Some(url.to_owned()),
        element: None,
        source: Box::new(e),
    }
}

/// A cloud store under the layer that sends again what its HTTP client never sent
/// ([`crate::resend`]).
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure", feature = "http"))]
fn resending(store: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
    Arc::new(crate::resend::ResendNeverSent::new(store))
}

/// Build the store a URL names and the path inside it, with `options` (see [`StoreOptions`]).
/// A string without `://` is a local path. Stores reached over HTTP (S3, GCS, Azure, HTTP) are
/// wrapped in a layer that sends again a request the HTTP client never sent
/// ([`crate::resend`]).
pub(crate) fn store_from_url(
    url: &str,
    options: &StoreOptions,
) -> Result<(Arc<dyn ObjectStore>, Path)> {
    let invalid = |reason: String| Error::InvalidPath {
        path: url.to_owned(),
        reason,
    };
    let parsed = if url.contains("://") {
        url::Url::parse(url).map_err(|e| invalid(e.to_string()))?
    } else {
        let abs = std::path::absolute(url).map_err(|e| invalid(e.to_string()))?;
        url::Url::from_file_path(&abs).map_err(|()| invalid("not an absolute path".into()))?
    };
    let keys = options.keys();
    let (scheme, path) = object_store::ObjectStoreScheme::parse(&parsed)
        .map_err(|e| config_error(url, object_store::Error::from(e)))?;
    let store: Arc<dyn ObjectStore> = match scheme {
        #[cfg(feature = "aws")]
        object_store::ObjectStoreScheme::AmazonS3 => {
            use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
            let mut b = AmazonS3Builder::new().with_url(parsed.as_str());
            for (k, v) in keys {
                if let Ok(key) = k.parse::<AmazonS3ConfigKey>() {
                    b = b.with_config(key, v);
                }
            }
            let b = b.with_retry(options.retry.to_retry_config());
            resending(Arc::new(b.build().map_err(|e| config_error(url, e))?))
        }
        #[cfg(feature = "gcp")]
        object_store::ObjectStoreScheme::GoogleCloudStorage => {
            use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
            let mut b = GoogleCloudStorageBuilder::new().with_url(parsed.as_str());
            for (k, v) in keys {
                if let Ok(key) = k.parse::<GoogleConfigKey>() {
                    b = b.with_config(key, v);
                }
            }
            let b = b.with_retry(options.retry.to_retry_config());
            resending(Arc::new(b.build().map_err(|e| config_error(url, e))?))
        }
        #[cfg(feature = "azure")]
        object_store::ObjectStoreScheme::MicrosoftAzure => {
            use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
            let mut b = MicrosoftAzureBuilder::new().with_url(parsed.as_str());
            for (k, v) in keys {
                if let Ok(key) = k.parse::<AzureConfigKey>() {
                    b = b.with_config(key, v);
                }
            }
            let b = b.with_retry(options.retry.to_retry_config());
            resending(Arc::new(b.build().map_err(|e| config_error(url, e))?))
        }
        #[cfg(feature = "http")]
        object_store::ObjectStoreScheme::Http => {
            use object_store::ClientConfigKey;
            use object_store::http::HttpBuilder;
            let base = &parsed[..url::Position::BeforePath];
            let mut b = HttpBuilder::new().with_url(base);
            for (k, v) in keys {
                if let Ok(key) = k.parse::<ClientConfigKey>() {
                    b = b.with_config(key, v);
                }
            }
            let b = b.with_retry(options.retry.to_retry_config());
            resending(Arc::new(b.build().map_err(|e| config_error(url, e))?))
        }
        // Local disk and memory take no options; schemes whose feature is off fail here with
        // object_store's "feature not enabled".
        _ => {
            let (store, _) =
                object_store::parse_url_opts(&parsed, keys).map_err(|e| config_error(url, e))?;
            Arc::from(store)
        }
    };
    Ok((store, path))
}

/// What a failure means for the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The object or its bucket does not exist.
    Missing,
    /// A retry later may succeed.
    Transient,
    /// No retry will help.
    Permanent,
}

/// The HTTP status a message of object_store's retry loop reports
/// (`… non-2xx status code: 503 Service Unavailable: …`), if any. object_store does not export
/// the error type that carries the status, so its message is read.
fn status_in(message: &str) -> Option<u16> {
    let (_, rest) = message.split_once("status code: ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() == 3 {
        digits.parse().ok()
    } else {
        None
    }
}

/// Whether nothing of the failed request reached the server: its only attempt failed as one
/// the HTTP client never sent (see [`last_attempt_never_sent`]), with no earlier attempt of
/// object_store's retry loop (whose message then says `after N retries`) that may have been
/// applied. Resending it is always safe, whatever the method.
pub(crate) fn never_sent(e: &object_store::Error) -> bool {
    last_attempt_never_sent(e) && !chain_has(e, " retries, max_retries: ")
}

/// Whether the failed request's last attempt was never sent: the HTTP client picked a
/// connection that the server (or a proxy) had closed meanwhile, and gave up before writing the
/// request (hyper: "connection was not ready", a canceled request). object_store does not retry
/// it (its kind is "unknown"), for any method. Earlier attempts, if object_store made any, may
/// have reached the server: see [`never_sent`].
pub(crate) fn last_attempt_never_sent(e: &object_store::Error) -> bool {
    chain_has(e, NEVER_SENT_MESSAGE)
}

/// hyper's message for a request it never sent.
const NEVER_SENT_MESSAGE: &str = "connection was not ready";

/// Whether a message of `e` or of its sources contains `text`.
fn chain_has(e: &object_store::Error, text: &str) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if err.to_string().contains(text) {
            return true;
        }
        current = err.source();
    }
    false
}

/// How a failure is classified, from the first link of its source chain that tells: an HTTP
/// transport error, an HTTP status, an I/O error.
fn classify(e: &(dyn std::error::Error + 'static)) -> Kind {
    let mut current = Some(e);
    while let Some(err) = current {
        if err.to_string().contains(NEVER_SENT_MESSAGE) {
            return Kind::Transient;
        }
        #[cfg(any(feature = "aws", feature = "gcp", feature = "azure", feature = "http"))]
        if let Some(http) = err.downcast_ref::<object_store::client::HttpError>() {
            use object_store::client::HttpErrorKind as K;
            return match http.kind() {
                K::Connect | K::Request | K::Timeout | K::Interrupted | K::Decode => {
                    Kind::Transient
                }
                _ => Kind::Permanent,
            };
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::TimedOut
                | K::ConnectionRefused
                | K::ConnectionReset
                | K::ConnectionAborted
                | K::NotConnected
                | K::BrokenPipe
                | K::UnexpectedEof
                | K::Interrupted => return Kind::Transient,
                // A local store reports a missing object as its own NotFound; an I/O
                // "not found" deeper down is something else (a staging file renamed away).
                _ => {}
            }
        }
        if let Some(status) = status_in(&err.to_string()) {
            return match status {
                404 => Kind::Missing,
                408 | 429 | 500..=599 => Kind::Transient,
                _ => Kind::Permanent,
            };
        }
        current = err.source();
    }
    Kind::Permanent
}

/// The HTTP method of the request a message of object_store's retry loop names
/// (`Error performing PUT …`), as an operation.
fn method_in(message: &str) -> Option<&'static str> {
    let (_, rest) = message.split_once("Error performing ")?;
    let method = rest.split(' ').next()?;
    Some(match method {
        "GET" => "get",
        "HEAD" => "head",
        "PUT" => "put",
        "POST" => "post",
        "DELETE" => "delete",
        _ => return None,
    })
}

/// What a failure of an unnamed `"request"` was, from object_store's messages.
fn operation_of(e: &(dyn std::error::Error + 'static)) -> &'static str {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(op) = method_in(&err.to_string()) {
            return op;
        }
        current = err.source();
    }
    "request"
}

/// An object_store failure of `operation` (`get`, `put`, `list`, …; `"request"` when the
/// caller does not say, and then the request's method when object_store names it) on `key`, as the
/// [`Error`] that says what happened: [`Error::NotFound`] for a missing object or bucket,
/// [`Error::InvalidPath`] for a key the store rejects, otherwise [`Error::Store`], `transient`
/// when a retry later may succeed (connection refused, reset or timed out, 5xx, throttling).
pub(crate) fn store_error(key: &str, operation: &'static str, e: object_store::Error) -> Error {
    match e {
        object_store::Error::NotFound { source, .. } => Error::NotFound {
            uri: key.to_owned(),
            source: Some(source),
        },
        object_store::Error::InvalidPath { source } => Error::InvalidPath {
            path: key.to_owned(),
            reason: source.to_string(),
        },
        e => match classify(&e) {
            Kind::Missing => Error::NotFound {
                uri: key.to_owned(),
                source: Some(Box::new(e)),
            },
            kind => Error::Store {
                uri: key.to_owned(),
                operation: if operation == "request" {
                    operation_of(&e)
                } else {
                    operation
                },
                transient: kind == Kind::Transient,
                source: Box::new(e),
            },
        },
    }
}

/// `original`, with the failure of the clean-up that followed it (`what`, such as aborting a
/// multipart upload) added to its message or source chain: the original error's kind and
/// context stay what the caller sees.
pub(crate) fn with_cleanup_failure(original: Error, what: &str, cleanup: Error) -> Error {
    let note = CleanupFailed {
        what: what.to_owned(),
        cleanup,
        original: None,
    };
    match original {
        Error::Io {
            path,
            operation,
            source,
        } => Error::Io {
            path,
            operation,
            source: std::io::Error::new(
                source.kind(),
                CleanupFailed {
                    original: Some(Box::new(source)),
                    ..note
                },
            ),
        },
        Error::Store {
            uri,
            operation,
            transient,
            source,
        } => Error::Store {
            uri,
            operation,
            transient,
            source: Box::new(CleanupFailed {
                original: Some(source),
                ..note
            }),
        },
        Error::Backend {
            backend,
            uri,
            element,
            source,
        } => Error::Backend {
            backend,
            uri,
            element,
            source: Box::new(CleanupFailed {
                original: Some(source),
                ..note
            }),
        },
        Error::NotFound { uri, source } => Error::NotFound {
            uri,
            source: Some(Box::new(CleanupFailed {
                original: source,
                ..note
            })),
        },
        Error::Timeout {
            uri,
            operation,
            waited,
        } => Error::Timeout {
            uri,
            operation: format!("{operation} ({note})"),
            waited,
        },
        other => other,
    }
}

/// The original failure's own source, followed by the clean-up's failure.
#[derive(Debug)]
struct CleanupFailed {
    what: String,
    cleanup: Error,
    original: Option<video_core::BoxError>,
}

impl std::fmt::Display for CleanupFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(o) = &self.original {
            write!(f, "{o}; ")?;
        }
        write!(f, "{} also failed: {}", self.what, self.cleanup)?;
        let mut source = std::error::Error::source(&self.cleanup);
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

impl std::error::Error for CleanupFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cleanup)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_never_sent_is_told_apart_and_transient() {
        let closed = object_store::Error::Generic {
            store: "S3",
            source: "Error performing PUT http://h/b/k: client error (SendRequest): connection was not ready".into(),
        };
        assert!(never_sent(&closed));
        assert!(store_error("k", "put", closed).is_transient());
        // After retries, the last attempt unsent: an earlier one may have been applied.
        let after_retries = object_store::Error::Generic {
            store: "S3",
            source: "Error performing PUT http://h/b/k in 3s, after 2 retries, max_retries: 10, retry_timeout: 60s  - client error (Canceled): connection was not ready".into(),
        };
        assert!(last_attempt_never_sent(&after_retries));
        assert!(!never_sent(&after_retries));
        let refused = object_store::Error::Generic {
            store: "S3",
            source: "Server returned non-2xx status code: 403 Forbidden".into(),
        };
        assert!(!never_sent(&refused));
    }

    #[test]
    fn statuses_are_read_from_messages() {
        let m = "Error performing GET http://h/b/k in 1s - Server returned non-2xx status code: 503 Service Unavailable: ";
        assert_eq!(status_in(m), Some(503));
        assert_eq!(status_in("status code: 40"), None);
        assert_eq!(status_in("no status here"), None);
        assert_eq!(method_in(m), Some("get"));
        assert_eq!(method_in("Error performing BREW /pot"), None);
    }

    #[test]
    fn memory_store_errors_map_to_kinds() {
        let missing = object_store::Error::NotFound {
            path: "a".into(),
            source: "gone".into(),
        };
        assert!(matches!(
            store_error("k", "get", missing),
            Error::NotFound { uri, .. } if uri == "k"
        ));
        let reset = object_store::Error::Generic {
            store: "test",
            source: Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        };
        let e = store_error("k", "put", reset);
        assert!(e.is_transient(), "{e:?}");
        let denied = object_store::Error::PermissionDenied {
            path: "k".into(),
            source: "no".into(),
        };
        let e = store_error("k", "put", denied);
        assert!(
            matches!(
                &e,
                Error::Store {
                    transient: false,
                    operation: "put",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(!e.is_transient());
    }

    #[test]
    fn a_cleanup_failure_keeps_the_original_error() {
        let original = Error::Io {
            path: "/v.mp4".into(),
            operation: "read",
            source: std::io::Error::other("the file changed size"),
        };
        let cleanup = Error::Store {
            uri: "raw/v.mp4".into(),
            operation: "abort multipart upload",
            transient: true,
            source: "503".into(),
        };
        let e = with_cleanup_failure(original, "aborting the upload", cleanup);
        let Error::Io {
            operation, source, ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(*operation, "read");
        let text = source.to_string();
        assert!(text.starts_with("the file changed size; aborting the upload also failed: raw/v.mp4: store abort multipart upload failed"), "{text}");
    }
}

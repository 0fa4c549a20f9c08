//! [`ResendNeverSent`]: the layer under every store built from a URL that sends again a request
//! the HTTP client never sent.
//!
//! hyper fails a request with "connection was not ready" when it finds the connection it was
//! handed closed before writing anything (a pooled or fresh connection the server or a proxy
//! closed meanwhile). object_store's retry loop counts that error as of an unknown kind and gives
//! up at once, whatever the method: a GET, HEAD or LIST fails as surely as a PUT. Nothing of
//! that attempt reached the server, so sending it again is safe; this layer does, a few times
//! (every pooled connection may have been closed at once, by a store or proxy restart).
//!
//! One case is kept apart: when object_store had retried before the last, unsent attempt, an
//! earlier attempt may have been applied. Requests whose repetition changes nothing (reads,
//! listings, plain puts, overwriting copies, starting a multipart upload) are still sent again;
//! a conditional write (`PutMode::Create`/`Update`, a copy or rename that must not overwrite)
//! and a rename are sent again only when nothing at all was sent.

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    Result,
};

use crate::store::{last_attempt_never_sent, never_sent};

/// How many times one request the HTTP client never sent is sent again.
pub(crate) const NEVER_SENT_RESENDS: usize = 4;

/// Whether a request may be repeated after an earlier attempt may have been applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Repeat {
    /// Repeating it changes nothing: resend when its last attempt was never sent.
    Harmless,
    /// A conditional or moving write: resend only when no attempt was ever sent.
    OnlyIfNothingSent,
}

fn resendable(e: &object_store::Error, repeat: Repeat) -> bool {
    match repeat {
        Repeat::Harmless => last_attempt_never_sent(e),
        Repeat::OnlyIfNothingSent => never_sent(e),
    }
}

/// An [`ObjectStore`] that sends again what its inner store's HTTP client never sent (see the
/// module docs). `delete_stream` is passed through: a failed batch of a bulk delete is not
/// told apart by path, so it cannot be resent here (deleting is retried by its callers).
#[derive(Debug)]
pub(crate) struct ResendNeverSent {
    inner: Arc<dyn ObjectStore>,
}

impl ResendNeverSent {
    pub(crate) fn new(inner: Arc<dyn ObjectStore>) -> Self {
        ResendNeverSent { inner }
    }

    async fn resend<T, F, Fut>(&self, repeat: Repeat, mut request: F) -> Result<T>
    where
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
    {
        let mut resends = 0;
        loop {
            match request().await {
                Err(e) if resends < NEVER_SENT_RESENDS && resendable(&e, repeat) => resends += 1,
                done => return done,
            }
        }
    }
}

impl std::fmt::Display for ResendNeverSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.inner)
    }
}

/// A listing of `prefix` from after `offset` (from the start with none) that, when a page's
/// request was never sent, lists again from after the last object it yielded. Cloud stores
/// list in lexicographic order, so nothing is skipped or repeated.
fn list_resending(
    inner: Arc<dyn ObjectStore>,
    prefix: Option<Path>,
    offset: Option<Path>,
) -> BoxStream<'static, Result<ObjectMeta>> {
    fn open(
        inner: &Arc<dyn ObjectStore>,
        prefix: Option<&Path>,
        after: Option<&Path>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        match after {
            Some(o) => inner.list_with_offset(prefix, o),
            None => inner.list(prefix),
        }
    }
    let stream = open(&inner, prefix.as_ref(), offset.as_ref());
    let state = (inner, prefix, offset, 0usize, stream);
    futures::stream::unfold(
        state,
        |(inner, prefix, mut after, mut resends, mut stream)| async move {
            loop {
                match stream.next().await? {
                    Ok(meta) => {
                        after = Some(meta.location.clone());
                        return Some((Ok(meta), (inner, prefix, after, resends, stream)));
                    }
                    Err(e) if resends < NEVER_SENT_RESENDS && last_attempt_never_sent(&e) => {
                        resends += 1;
                        stream = open(&inner, prefix.as_ref(), after.as_ref());
                    }
                    Err(e) => return Some((Err(e), (inner, prefix, after, resends, stream))),
                }
            }
        },
    )
    .boxed()
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for ResendNeverSent {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let repeat = match opts.mode {
            PutMode::Overwrite => Repeat::Harmless,
            _ => Repeat::OnlyIfNothingSent,
        };
        self.resend(repeat, || {
            self.inner.put_opts(location, payload.clone(), opts.clone())
        })
        .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.resend(Repeat::Harmless, || {
            self.inner.put_multipart_opts(location, opts.clone())
        })
        .await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.resend(Repeat::Harmless, || {
            self.inner.get_opts(location, options.clone())
        })
        .await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.resend(Repeat::Harmless, || self.inner.get_ranges(location, ranges))
            .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        list_resending(self.inner.clone(), prefix.cloned(), None)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        list_resending(self.inner.clone(), prefix.cloned(), Some(offset.clone()))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.resend(Repeat::Harmless, || self.inner.list_with_delimiter(prefix))
            .await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let repeat = match options.mode {
            CopyMode::Overwrite => Repeat::Harmless,
            CopyMode::Create => Repeat::OnlyIfNothingSent,
        };
        self.resend(repeat, || self.inner.copy_opts(from, to, options.clone()))
            .await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.resend(Repeat::OnlyIfNothingSent, || {
            self.inner.rename_opts(from, to, options.clone())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;
    use std::sync::Mutex;

    /// An in-memory store whose next `fail` requests fail as hyper fails a request it never
    /// sent, after `earlier` retries of object_store's (0: the only attempt).
    #[derive(Debug)]
    struct Unsent {
        inner: InMemory,
        fail: Mutex<usize>,
        earlier: usize,
    }

    impl std::fmt::Display for Unsent {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "Unsent")
        }
    }

    impl Unsent {
        fn check(&self) -> Result<()> {
            let mut fail = self.fail.lock().unwrap();
            if *fail == 0 {
                return Ok(());
            }
            *fail -= 1;
            let retries = if self.earlier == 0 {
                String::new()
            } else {
                format!(
                    ", after {} retries, max_retries: 10, retry_timeout: 60s ",
                    self.earlier
                )
            };
            Err(object_store::Error::Generic {
                store: "S3",
                source: format!(
                    "Error performing GET http://h/b/k in 1ms{retries} - HTTP error: error \
                     sending request: client error (Canceled): connection was not ready"
                )
                .into(),
            })
        }
    }

    #[async_trait]
    impl ObjectStore for Unsent {
        async fn put_opts(&self, l: &Path, p: PutPayload, o: PutOptions) -> Result<PutResult> {
            self.check()?;
            self.inner.put_opts(l, p, o).await
        }
        async fn put_multipart_opts(
            &self,
            l: &Path,
            o: PutMultipartOptions,
        ) -> Result<Box<dyn MultipartUpload>> {
            self.check()?;
            self.inner.put_multipart_opts(l, o).await
        }
        async fn get_opts(&self, l: &Path, o: GetOptions) -> Result<GetResult> {
            self.check()?;
            self.inner.get_opts(l, o).await
        }
        fn delete_stream(
            &self,
            locations: BoxStream<'static, Result<Path>>,
        ) -> BoxStream<'static, Result<Path>> {
            self.inner.delete_stream(locations)
        }
        fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
            // Fails on its first page, as an S3 listing does when its request is not sent.
            match self.check() {
                Ok(()) => self.inner.list(prefix),
                Err(e) => futures::stream::once(async { Err(e) }).boxed(),
            }
        }
        async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
            self.check()?;
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy_opts(&self, from: &Path, to: &Path, o: CopyOptions) -> Result<()> {
            self.check()?;
            self.inner.copy_opts(from, to, o).await
        }
    }

    fn store(fail: usize, earlier: usize) -> (Arc<Unsent>, ResendNeverSent) {
        let unsent = Arc::new(Unsent {
            inner: InMemory::new(),
            fail: Mutex::new(0),
            earlier,
        });
        let layer = ResendNeverSent::new(unsent.clone());
        *unsent.fail.lock().unwrap() = fail;
        (unsent, layer)
    }

    /// Reads, listings and plain writes whose request was never sent are sent again, up to
    /// [`NEVER_SENT_RESENDS`] times; more failures than that are reported.
    #[tokio::test]
    async fn requests_never_sent_are_sent_again() {
        let key = Path::from("a/b.bin");
        for earlier in [0, 3] {
            let (unsent, layer) = store(NEVER_SENT_RESENDS, earlier);
            layer
                .put(&key, PutPayload::from_static(b"x"))
                .await
                .unwrap();
            for _ in 0..2 {
                *unsent.fail.lock().unwrap() = NEVER_SENT_RESENDS;
                let got = layer.get(&key).await.unwrap().bytes().await.unwrap();
                assert_eq!(&got[..], b"x");
            }
            *unsent.fail.lock().unwrap() = NEVER_SENT_RESENDS;
            assert_eq!(layer.head(&key).await.unwrap().size, 1);
            *unsent.fail.lock().unwrap() = NEVER_SENT_RESENDS;
            let listed: Vec<ObjectMeta> = layer
                .list(Some(&Path::from("a")))
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<_>>()
                .unwrap();
            assert_eq!(listed.len(), 1);
            *unsent.fail.lock().unwrap() = NEVER_SENT_RESENDS;
            let listed = layer.list_with_delimiter(Some(&Path::from("a"))).await;
            assert_eq!(listed.unwrap().objects.len(), 1);
            *unsent.fail.lock().unwrap() = NEVER_SENT_RESENDS + 1;
            let e = layer.get(&key).await.unwrap_err();
            assert!(last_attempt_never_sent(&e), "{e}");
        }
    }

    /// A conditional write is sent again only when nothing of it was ever sent: after retries
    /// of object_store's an earlier attempt may have been applied, and the caller must know.
    #[tokio::test]
    async fn a_conditional_write_is_sent_again_only_when_nothing_was_sent() {
        let key = Path::from("c.json");
        let create = || PutOptions::from(PutMode::Create);
        let (_, layer) = store(NEVER_SENT_RESENDS, 0);
        layer
            .put_opts(&key, PutPayload::from_static(b"1"), create())
            .await
            .unwrap();
        let (unsent, layer) = store(1, 2);
        let e = layer
            .put_opts(&key, PutPayload::from_static(b"1"), create())
            .await
            .unwrap_err();
        assert!(last_attempt_never_sent(&e) && !never_sent(&e), "{e}");
        assert_eq!(*unsent.fail.lock().unwrap(), 0);
        // Nothing was written.
        assert!(layer.get(&key).await.is_err());
    }
}

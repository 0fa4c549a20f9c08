//! Store faults against the S3 test server (moto) behind a fault-injecting proxy
//! (`support/fault_proxy.rs`): transient failures retried, an outage ridden out, failures after
//! the retry budget typed and naming the key, stalled reads ending with `Error::Timeout`,
//! uploads that leave nothing behind. `scripts/test.sh` starts moto and sets
//! `VIDEO_TEST_INTEGRATION`, `VIDEO_TEST_S3_URL`, `AWS_ENDPOINT`; without them these tests say
//! SKIPPED.
//!
//! Durations in these tests are deadlines under test or hang guards (generous bounds that only
//! turn a hang into a failure), never performance assertions.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used)]

#[path = "support/fault_proxy.rs"]
mod fault_proxy;

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use fault_proxy::{Fault, FaultProxy};
use object_store::ObjectStoreExt as _;
use video_core::{ByteSource, DatasetSink, Demuxer, EncodedFrame, Error, ImageFormat, VideoRef};
use video_gst::GstDemuxer;
use video_storage::{
    ObjectStoreSink, RetryPolicy, StoreOptions, StoreVideo, UploadOptions, upload_video,
};
use video_testkit::error_chain as chain;
use video_testkit::fixtures::{X264_ARGS, encoded_frame, lavfi_clip};

/// Turns a hang into a failure; far above every deadline the tests set.
const HANG_GUARD: Duration = Duration::from_secs(150);

/// A clip made with the ffmpeg CLI from `args` (after the lavfi source), kept in the target's
/// temp dir between runs.
fn made_clip(name: &str, source: &str, args: &[&str]) -> PathBuf {
    let mut args = args.to_vec();
    args.extend(["-f", "mp4"]);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vs-faults");
    lavfi_clip(&dir, name, source, &args)
}

/// An 8-second 320x240 H.264 clip.
fn clip() -> &'static Path {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        made_clip(
            "clip.mp4",
            "testsrc2=size=320x240:rate=25:duration=8",
            &[X264_ARGS, &["-g", "25"]].concat(),
        )
    })
}

/// A copy of `clip` this test may change (removed when the value is dropped).
struct OwnCopy(PathBuf);

impl OwnCopy {
    fn of(clip: &Path, test: &str) -> OwnCopy {
        let dir = std::env::temp_dir().join(format!("vs-faults-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(format!("{test}.mp4"));
        std::fs::copy(clip, &p).unwrap();
        OwnCopy(p)
    }
}

impl Drop for OwnCopy {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh dataset URL in the test bucket and a proxy in front of the server, or `None`
/// (loudly) without a server.
fn setup(test: &str) -> Option<(String, FaultProxy)> {
    let url = video_testkit::s3_test_url(test)?;
    let proxy = FaultProxy::start_for_s3_endpoint()
        .expect("AWS_ENDPOINT must be http://127.0.0.1:PORT for the fault tests");
    Some((url, proxy))
}

/// Store options that reach the server through `proxy`.
fn via(proxy: &FaultProxy, retry: RetryPolicy) -> StoreOptions {
    StoreOptions::default()
        .retry(retry)
        .config("aws_endpoint", proxy.url())
}

fn frame(index: u64, len: usize) -> EncodedFrame {
    encoded_frame(index, (4, 4), ImageFormat::Png, len)
}

fn video_ref() -> VideoRef {
    VideoRef {
        folder: "train".into(),
        name: "clip".into(),
    }
}

/// Wait (bounded) until `cond` holds.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what} did not happen within 10 s");
}

/// `(bucket, prefix)` of an `s3://bucket/prefix` URL.
fn bucket_and_prefix(url: &str) -> (String, String) {
    let rest = url.strip_prefix("s3://").unwrap();
    let (b, p) = rest.split_once('/').unwrap();
    (b.to_owned(), p.to_owned())
}

/// One raw HTTP request to the S3 server itself (not through the proxy): status and body.
/// moto does not check signatures.
fn raw_s3(method: &str, path_and_query: &str) -> (u16, String) {
    let endpoint = std::env::var("AWS_ENDPOINT").unwrap();
    let hostport = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(hostport).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path_and_query} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The multipart uploads in progress under `prefix` of `bucket` (ListMultipartUploads):
/// `(key, upload id)`.
fn pending_uploads(bucket: &str, prefix: &str) -> Vec<(String, String)> {
    let (status, body) = raw_s3("GET", &format!("/{bucket}?uploads"));
    assert_eq!(status, 200, "ListMultipartUploads: {body}");
    let tag = |block: &str, name: &str| {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let start = block.find(&open)? + open.len();
        let end = block[start..].find(&close)? + start;
        Some(block[start..end].to_owned())
    };
    body.split("<Upload>")
        .skip(1)
        .filter_map(|block| Some((tag(block, "Key")?, tag(block, "UploadId")?)))
        .filter(|(k, _)| k.starts_with(prefix))
        .collect()
}

/// Whether the object exists, asked of the server directly.
fn object_exists(bucket: &str, key: &str) -> bool {
    let (status, _) = raw_s3("HEAD", &format!("/{bucket}/{key}"));
    assert!(status == 200 || status == 404, "HEAD {key}: {status}");
    status == 200
}

/// Put the clip into the bucket directly (no proxy); its URL.
async fn stored_clip(url: &str) -> String {
    let direct = ObjectStoreSink::from_url(url).unwrap();
    let up = upload_video(
        &direct,
        clip(),
        "videos",
        |p| GstDemuxer::open(p),
        UploadOptions::default(),
    )
    .await
    .unwrap();
    format!("{url}/{}", up.key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transient_failures_are_retried_and_the_work_succeeds() {
    let Some((url, proxy)) = setup("transient") else {
        return;
    };
    let video_url = stored_clip(&url).await;
    let options = via(&proxy, RetryPolicy::default());
    let sink = ObjectStoreSink::builder(&url)
        .with_store_options(options.clone())
        .build()
        .unwrap();
    let direct = ObjectStoreSink::from_url(&url).unwrap();
    // Writes: 503, 500 and resets on PUT requests.
    proxy.inject(Fault::Status(503), 2, Some("PUT"));
    proxy.inject(Fault::Status(500), 1, Some("PUT"));
    proxy.inject(Fault::Reset, 2, Some("PUT"));
    for i in 0..4 {
        sink.write_frame(&video_ref(), &frame(i, 100 + i as usize))
            .await
            .unwrap();
    }
    assert_eq!(proxy.injected(), 5, "every PUT fault was met");
    for i in 0..4u64 {
        let got = direct
            .read(&format!("train/clip_{i:06}.png"))
            .await
            .unwrap();
        assert_eq!(got, vec![i as u8; 100 + i as usize]);
    }
    // Reads of a video in the store: the HEAD and range GETs meet 503s and resets.
    proxy.inject(Fault::Status(503), 1, Some("HEAD"));
    proxy.inject(Fault::Status(503), 2, Some("GET"));
    proxy.inject(Fault::Reset, 2, Some("GET"));
    let video = StoreVideo::open_url_with(&video_url, &options)
        .await
        .unwrap();
    let want = std::fs::read(clip()).unwrap();
    let got = tokio::task::spawn_blocking(move || video.read_at(0, 200_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got[..], &want[..200_000.min(want.len())]);
    assert_eq!(proxy.injected(), 10, "every read fault was met");
    // An upload: its multipart requests (POST create, PUT part, POST complete) meet 503s.
    proxy.inject(Fault::Status(503), 1, Some("POST"));
    proxy.inject(Fault::Status(503), 1, Some("PUT"));
    proxy.inject(Fault::Reset, 1, Some("POST"));
    let up = upload_video(
        &sink,
        clip(),
        "again",
        |p| GstDemuxer::open(p),
        UploadOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(proxy.injected(), 13, "every upload fault was met");
    assert_eq!(direct.read(&up.key).await.unwrap(), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outage_of_twelve_seconds_is_ridden_out_by_default() {
    let Some((url, proxy)) = setup("outage") else {
        return;
    };
    let video_url = stored_clip(&url).await;
    let options = via(&proxy, RetryPolicy::default());
    let sink = ObjectStoreSink::builder(&url)
        .with_store_options(options.clone())
        .build()
        .unwrap();
    let video = StoreVideo::open_url_with(&video_url, &options)
        .await
        .unwrap();
    sink.write_frame(&video_ref(), &frame(0, 50)).await.unwrap();
    proxy.outage(Duration::from_secs(12));
    wait_until("the proxy refusing connections", || {
        proxy.refused_periods() == 1
    })
    .await;
    let reading = tokio::task::spawn_blocking(move || video.read_at(100_000, 1000));
    let writing = async {
        for i in 1..4 {
            sink.write_frame(&video_ref(), &frame(i, 50)).await?;
        }
        Ok::<_, Error>(())
    };
    let (read, written) =
        tokio::time::timeout(HANG_GUARD, async { tokio::join!(reading, writing) })
            .await
            .expect("hang guard");
    written.unwrap();
    let read = read.unwrap().unwrap();
    let want = std::fs::read(clip()).unwrap();
    assert_eq!(&read[..], &want[100_000..101_000]);
    assert!(!proxy.is_down(), "the outage ended before the work did");
    let direct = ObjectStoreSink::from_url(&url).unwrap();
    let stored = direct.existing(&video_ref(), &[0, 1, 2, 3]).await.unwrap();
    assert_eq!(stored.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_after_the_budget_are_typed_and_name_the_key() {
    let Some((url, proxy)) = setup("budget") else {
        return;
    };
    let direct = ObjectStoreSink::from_url(&url).unwrap();
    direct
        .write_frame(&video_ref(), &frame(1, 10))
        .await
        .unwrap();
    let key = "train/clip_000001.png";
    let short = ObjectStoreSink::builder(&url)
        .with_store_options(via(
            &proxy,
            RetryPolicy::default()
                .budget(Duration::from_secs(1))
                .init_backoff(Duration::from_millis(50)),
        ))
        .build()
        .unwrap();
    let none = ObjectStoreSink::builder(&url)
        .with_store_options(via(&proxy, RetryPolicy::none()))
        .build()
        .unwrap();

    // Connections refused for longer than the budget.
    proxy.down();
    let e = tokio::time::timeout(HANG_GUARD, short.write_frame(&video_ref(), &frame(2, 10)))
        .await
        .expect("hang guard")
        .unwrap_err();
    assert!(
        matches!(&e, Error::Store { transient: true, uri, operation: "put", .. } if uri == "train/clip_000002.png"),
        "{}",
        chain(&e)
    );
    assert!(e.is_transient());
    proxy.up();

    // A server error that outlasts the retries.
    proxy.inject(Fault::Status(503), 1000, Some("GET"));
    let e = short.read(key).await.unwrap_err();
    assert!(
        matches!(&e, Error::Store { transient: true, uri, operation: "get", .. } if uri == key),
        "{}",
        chain(&e)
    );
    proxy.clear();

    // A reset with retries off.
    let before = proxy.requests();
    proxy.inject(Fault::Reset, 1000, Some("GET"));
    let e = none.read(key).await.unwrap_err();
    assert!(e.is_transient(), "{}", chain(&e));
    assert_eq!(proxy.requests() - before, 1, "one request, no retry");
    proxy.clear();

    // Refused permission is not transient and not retried.
    let before = proxy.requests();
    proxy.inject(Fault::Status(403), 1000, Some("GET"));
    let e = short.read(key).await.unwrap_err();
    assert!(
        matches!(&e, Error::Store { transient: false, uri, .. } if uri == key),
        "{}",
        chain(&e)
    );
    assert_eq!(proxy.requests() - before, 1, "a 403 is not retried");
    proxy.clear();

    // The same sink works once the server answers again.
    assert_eq!(short.read(key).await.unwrap(), vec![1u8; 10]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_bucket_is_not_found() {
    let Some(url) = video_testkit::s3_test_url("missing-bucket") else {
        return;
    };
    let (_, prefix) = bucket_and_prefix(&url);
    let missing = format!("s3://no-such-bucket-{}/{prefix}", std::process::id());
    let sink = ObjectStoreSink::from_url(&missing).unwrap();
    let e = sink.existing(&video_ref(), &[0, 1]).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "list: {}", chain(&e));
    let e = sink.read("train/clip_000000.png").await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "get: {}", chain(&e));
    let e = sink
        .write_frame(&video_ref(), &frame(0, 10))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { uri, .. } if uri == "train/clip_000000.png"),
        "put: {}",
        chain(&e)
    );
    let e = StoreVideo::open_url(&format!("{missing}/v.mp4"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "head: {}", chain(&e));
    let e = upload_video(
        &sink,
        clip(),
        "v",
        |p| GstDemuxer::open(p),
        UploadOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, Error::NotFound { .. }),
        "multipart: {}",
        chain(&e)
    );
    assert!(!e.is_transient());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_read_times_out_within_its_deadline_and_lets_go() {
    let Some((url, proxy)) = setup("stall") else {
        return;
    };
    let video_url = stored_clip(&url).await;
    let deadline = Duration::from_secs(2);
    let options = via(&proxy, RetryPolicy::default()).read_deadline(deadline);
    let video = StoreVideo::open_url_with(&video_url, &options)
        .await
        .unwrap();
    assert_eq!(video.read_deadline(), deadline);
    proxy.inject(Fault::Stall, 1000, Some("GET"));
    let read = tokio::task::spawn_blocking(move || video.read_at(0, 4096));
    let e = tokio::time::timeout(HANG_GUARD, read)
        .await
        .expect("hang guard")
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&e, Error::Timeout { uri, waited, .. } if *uri == video_url && *waited == deadline),
        "{}",
        chain(&e)
    );
    assert!(e.is_transient());
    // The request was cancelled: its connection closes (the proxy held it open otherwise).
    wait_until("the stalled connection closing", || {
        proxy.open_connections() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_store_ends_the_probe_with_a_timeout() {
    let Some((url, proxy)) = setup("stall-probe") else {
        return;
    };
    let video_url = stored_clip(&url).await;
    let options = via(&proxy, RetryPolicy::default()).read_deadline(Duration::from_secs(3));
    let video = Arc::new(
        StoreVideo::open_url_with(&video_url, &options)
            .await
            .unwrap(),
    );
    proxy.inject(Fault::Stall, 1000, Some("GET"));
    let probed = tokio::time::timeout(HANG_GUARD, async {
        let mut demuxer = GstDemuxer::from_source(video)?;
        demuxer.probe().await
    })
    .await
    .expect("hang guard");
    let e = probed.unwrap_err();
    assert!(
        matches!(&e, Error::Timeout { uri, .. } if uri.contains("videos/clip.mp4")),
        "{}",
        chain(&e)
    );
}

/// Upload `file` while `change` runs (on its own thread, once the first part was sent);
/// the upload's result.
async fn upload_while(
    sink: &ObjectStoreSink,
    file: &Path,
    folder: &str,
    change: impl FnOnce(&Path) + Send + 'static,
) -> video_core::Result<video_storage::UploadedVideo> {
    let path = file.to_owned();
    let mut change = Some(change);
    let mut progress = move |_sent: u64| {
        if let Some(c) = change.take() {
            let p = path.clone();
            std::thread::spawn(move || c(&p)).join().unwrap();
        }
    };
    upload_video(
        sink,
        file,
        folder,
        |p| GstDemuxer::open(p),
        UploadOptions::default().progress(&mut progress),
    )
    .await
}

fn append(p: &Path) {
    let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
    f.write_all(&[0u8; 4096]).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_file_that_grows_during_the_upload_leaves_nothing() {
    let Some(url) = video_testkit::s3_test_url("grows") else {
        return;
    };
    let (bucket, prefix) = bucket_and_prefix(&url);
    let sink = ObjectStoreSink::from_url(&url).unwrap();
    let copy = OwnCopy::of(clip(), "grows");
    let file = copy.0.clone();
    let e = upload_while(&sink, &file, "raw", append).await.unwrap_err();
    assert!(
        matches!(&e, Error::Io { path, operation: "upload", .. } if *path == file),
        "{}",
        chain(&e)
    );
    assert!(chain(&e).contains("changed"), "{}", chain(&e));
    assert!(!object_exists(&bucket, &format!("{prefix}/raw/grows.mp4")));
    assert_eq!(pending_uploads(&bucket, &prefix), vec![]);

    // On local disk: no object, no staging file.
    let dir = std::env::temp_dir().join(format!("vs-faults-{}-grows-dataset", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let local = ObjectStoreSink::from_url(dir.to_str().unwrap()).unwrap();
    let copy = OwnCopy::of(clip(), "grows-local");
    let file = copy.0.clone();
    let e = upload_while(&local, &file, "raw", append)
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Io { .. }), "{}", chain(&e));
    let mut left = Vec::new();
    let mut dirs = vec![dir.clone()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                dirs.push(entry.path());
            } else {
                left.push(entry.path());
            }
        }
    }
    assert_eq!(left, Vec::<PathBuf>::new());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hash_other_than_expected_aborts_the_upload() {
    let Some(url) = video_testkit::s3_test_url("hash") else {
        return;
    };
    let (bucket, prefix) = bucket_and_prefix(&url);
    let sink = ObjectStoreSink::from_url(&url).unwrap();
    let wrong = format!("sha256:{}", "0".repeat(64));
    let e = upload_video(
        &sink,
        clip(),
        "raw",
        |p| GstDemuxer::open(p),
        UploadOptions::default().expect_sha256(Some(wrong)),
    )
    .await
    .unwrap_err();
    assert!(chain(&e).contains("not the expected"), "{}", chain(&e));
    assert!(!object_exists(&bucket, &format!("{prefix}/raw/clip.mp4")));
    assert_eq!(pending_uploads(&bucket, &prefix), vec![]);
    // With the right hash it is stored.
    use sha2::Digest as _;
    let right = format!(
        "sha256:{:x}",
        sha2::Sha256::digest(std::fs::read(clip()).unwrap())
    );
    let up = upload_video(
        &sink,
        clip(),
        "raw",
        |p| GstDemuxer::open(p),
        UploadOptions::default().expect_sha256(Some(right.clone())),
    )
    .await
    .unwrap();
    assert_eq!(up.content_hash, right);
    assert!(object_exists(&bucket, &format!("{prefix}/raw/clip.mp4")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_abort_keeps_the_original_error() {
    let Some((url, proxy)) = setup("abort-fails") else {
        return;
    };
    let (bucket, prefix) = bucket_and_prefix(&url);
    let sink = ObjectStoreSink::builder(&url)
        .with_store_options(via(&proxy, RetryPolicy::none()))
        .build()
        .unwrap();
    proxy.inject(Fault::Status(500), 1000, Some("DELETE"));
    let copy = OwnCopy::of(clip(), "abort-fails");
    let file = copy.0.clone();
    let e = upload_while(&sink, &file, "raw", append).await.unwrap_err();
    // The original failure (the file changed), with the abort's failure in its chain.
    assert!(
        matches!(
            &e,
            Error::Io {
                operation: "upload",
                ..
            }
        ),
        "{}",
        chain(&e)
    );
    let text = chain(&e);
    assert!(text.contains("changed"), "{text}");
    assert!(
        text.contains("aborting the multipart upload also failed"),
        "{text}"
    );
    assert!(proxy.injected() >= 1, "the abort was refused");
    // The abort really failed: the upload is still pending. Clean it up directly.
    let pending = pending_uploads(&bucket, &prefix);
    assert_eq!(pending.len(), 1, "{pending:?}");
    let (key, id) = &pending[0];
    let (status, body) = raw_s3("DELETE", &format!("/{bucket}/{key}?uploadId={id}"));
    assert!(status == 204 || status == 200, "{status} {body}");
    assert!(!object_exists(&bucket, key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_upload_leaves_nothing() {
    let Some(url) = video_testkit::s3_test_url("cancel") else {
        return;
    };
    let (bucket, prefix) = bucket_and_prefix(&url);
    let sink = ObjectStoreSink::from_url(&url).unwrap();
    let sent = Arc::new(tokio::sync::Notify::new());
    let s2 = sent.clone();
    let mut progress = move |_n: u64| s2.notify_one();
    let upload = upload_video(
        &sink,
        clip(),
        "raw",
        |p| GstDemuxer::open(p),
        UploadOptions::default().progress(&mut progress),
    );
    // Like a program that stops on a signal: the upload future is dropped once a part is sent.
    let finished = tokio::select! {
        biased;
        _ = sent.notified() => false,
        _ = upload => true,
    };
    assert!(!finished, "the upload was cancelled before it completed");
    assert_eq!(pending_uploads(&bucket, &prefix), vec![]);
    assert!(!object_exists(&bucket, &format!("{prefix}/raw/clip.mp4")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_responses_time_out_per_request_and_are_retried() {
    let Some((url, proxy)) = setup("slow") else {
        return;
    };
    let direct = ObjectStoreSink::from_url(&url).unwrap();
    direct
        .write_frame(&video_ref(), &frame(3, 30))
        .await
        .unwrap();
    let key = "train/clip_000003.png";
    let options = via(&proxy, RetryPolicy::default()).request_timeout(Some(Duration::from_secs(1)));
    let sink = ObjectStoreSink::builder(&url)
        .with_store_options(options.clone())
        .build()
        .unwrap();
    // Slow but within the request timeout: simply waited for.
    proxy.inject(Fault::Delay(Duration::from_millis(300)), 1, Some("GET"));
    assert_eq!(sink.read(key).await.unwrap(), vec![3u8; 30]);
    // Slower than the request timeout: that attempt is cancelled and the next one succeeds.
    let before = proxy.requests();
    proxy.inject(Fault::Delay(Duration::from_secs(20)), 2, Some("GET"));
    let got = tokio::time::timeout(HANG_GUARD, sink.read(key))
        .await
        .expect("hang guard")
        .unwrap();
    assert_eq!(got, vec![3u8; 30]);
    assert_eq!(
        proxy.requests() - before,
        3,
        "two slow attempts, then one answered"
    );
    // Without retries, a slow answer is a transient store error naming the key.
    let none = ObjectStoreSink::builder(&url)
        .with_store_options(
            via(&proxy, RetryPolicy::none()).request_timeout(Some(Duration::from_secs(1))),
        )
        .build()
        .unwrap();
    proxy.inject(Fault::Delay(Duration::from_secs(20)), 1, Some("GET"));
    let e = none.read(key).await.unwrap_err();
    assert!(
        matches!(&e, Error::Store { transient: true, uri, .. } if uri == key),
        "{}",
        chain(&e)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_video_replaced_while_it_is_read_is_a_permanent_store_error() {
    let Some(url) = video_testkit::s3_test_url("replaced") else {
        return;
    };
    let video_url = stored_clip(&url).await;
    let video = StoreVideo::open_url(&video_url).await.unwrap();
    // Replace the object under the open video.
    let direct = ObjectStoreSink::from_url(&url).unwrap();
    let path = direct.prefix().clone().join("videos").join("clip.mp4");
    assert_eq!(video_url, format!("{url}/videos/clip.mp4"));
    direct
        .store()
        .put(&path, vec![9u8; 300_000].into())
        .await
        .unwrap();
    let e = tokio::task::spawn_blocking(move || video.read_at(0, 10))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&e, Error::Store { transient: false, operation: "get", uri, .. } if *uri == video_url),
        "{}",
        chain(&e)
    );
}

/// A clip of about 20 MB (several 8 MiB parts).
fn big_clip() -> &'static Path {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        made_clip(
            "big.mp4",
            "testsrc2=size=640x360:rate=25:duration=8",
            &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-b:v",
                "20M",
                "-minrate",
                "20M",
                "-maxrate",
                "20M",
                "-bufsize",
                "2M",
                "-x264-params",
                "nal-hrd=cbr",
                "-pix_fmt",
                "yuv420p",
            ],
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_large_upload_goes_in_parts_and_a_growth_is_caught_mid_file() {
    let Some(url) = video_testkit::s3_test_url("big") else {
        return;
    };
    let (bucket, prefix) = bucket_and_prefix(&url);
    let sink = ObjectStoreSink::from_url(&url).unwrap();
    let big = big_clip();
    let bytes = std::fs::read(big).unwrap();
    assert!(bytes.len() > 2 * 8 * 1024 * 1024, "{} bytes", bytes.len());
    let mut seen = Vec::new();
    let mut progress = |n: u64| seen.push(n);
    let up = upload_video(
        &sink,
        big,
        "raw",
        |p| GstDemuxer::open(p),
        UploadOptions::default().progress(&mut progress),
    )
    .await
    .unwrap();
    assert!(seen.len() >= 3, "sent in parts: {seen:?}");
    assert_eq!(seen.last(), Some(&(bytes.len() as u64)));
    assert_eq!(sink.read(&up.key).await.unwrap(), bytes);

    // The file grows after its first part was sent: the next read sees more than was probed.
    let copy = OwnCopy::of(big, "big-grows");
    let file = copy.0.clone();
    let e = upload_while(&sink, &file, "grown", |p| {
        let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
        f.write_all(&vec![0u8; 9 * 1024 * 1024]).unwrap();
    })
    .await
    .unwrap_err();
    assert!(chain(&e).contains("grew"), "{}", chain(&e));
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(!object_exists(&bucket, &format!("{prefix}/grown/{name}")));
    assert_eq!(pending_uploads(&bucket, &prefix), vec![]);
}

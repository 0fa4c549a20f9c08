//! Uploading a video into a dataset's store.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use object_store::{MultipartUpload, ObjectStoreExt, PutPayload};
use tokio::task::JoinSet;
use video_core::{ContentHash, ContentHasher, Demuxer, Error, Result, VideoMetadata};

use crate::ObjectStoreSink;
use crate::sink::blocking;
use crate::store::{store_error, with_cleanup_failure};

/// Bytes read from the file and sent as one part.
const CHUNK: usize = 8 * 1024 * 1024;
/// Parts uploading at once; with [`CHUNK`], memory stays under about 40 MiB whatever the file size.
const PARTS_IN_FLIGHT: usize = 4;
/// Longest wait for the abort of a multipart upload (its requests are retried under the
/// store's own policy within this).
pub const ABORT_DEADLINE: Duration = Duration::from_secs(30);

/// Options of [`upload_video`].
#[non_exhaustive]
pub struct UploadOptions<'a> {
    /// Largest file accepted, in bytes; larger files fail with [`Error::TooLarge`] before any
    /// byte is written. Default: 10 GiB.
    pub max_bytes: u64,
    /// Called with the bytes sent so far. Default: none.
    pub progress: Option<&'a mut (dyn FnMut(u64) + Send)>,
    /// The file's content hash as the caller knows it ([`ContentHash`]'s text: `sha256:` and
    /// hex): the upload is committed only if the bytes streamed have this hash, and aborted
    /// otherwise (a file rewritten in place between hashing and uploading). Default: none (the
    /// size, modification time and identity of the file are still checked).
    pub expect_sha256: Option<String>,
}

impl std::fmt::Debug for UploadOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("max_bytes", &self.max_bytes)
            .field("progress", &self.progress.is_some())
            .field("expect_sha256", &self.expect_sha256)
            .finish()
    }
}

impl Default for UploadOptions<'_> {
    fn default() -> Self {
        UploadOptions {
            max_bytes: 10 * 1024 * 1024 * 1024,
            progress: None,
            expect_sha256: None,
        }
    }
}

impl<'a> UploadOptions<'a> {
    /// Set [`max_bytes`](Self::max_bytes).
    pub fn max_bytes(mut self, v: u64) -> Self {
        self.max_bytes = v;
        self
    }

    /// Set [`progress`](Self::progress).
    pub fn progress(mut self, f: &'a mut (dyn FnMut(u64) + Send)) -> Self {
        self.progress = Some(f);
        self
    }

    /// Set [`expect_sha256`](Self::expect_sha256).
    pub fn expect_sha256(mut self, v: Option<String>) -> Self {
        self.expect_sha256 = v;
        self
    }
}

/// What [`upload_video`] stored.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct UploadedVideo {
    /// The key in the dataset (`{folder}/{file name}`).
    pub key: String,
    /// Content hash of the file: [`ContentHash`]'s text, `sha256:` and lowercase hex.
    pub content_hash: String,
    /// Size in bytes.
    pub size: u64,
    /// The probed metadata.
    pub metadata: VideoMetadata,
}

/// What identifies a file's content without reading it: size, modification time and (on
/// Unix) device and inode, so a file replaced by another is seen as well.
#[derive(Debug, PartialEq, Eq)]
struct Fingerprint {
    size: u64,
    modified: Option<std::time::SystemTime>,
    identity: Option<(u64, u64)>,
}

impl Fingerprint {
    fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let identity = {
            use std::os::unix::fs::MetadataExt as _;
            Some((meta.dev(), meta.ino()))
        };
        #[cfg(not(unix))]
        let identity = None;
        Fingerprint {
            size: meta.len(),
            modified: meta.modified().ok(),
            identity,
        }
    }
}

/// A multipart upload in progress: the parts in flight and the upload to complete or abort.
/// Dropped before [`complete`](Self::complete) or [`abort_after`](Self::abort_after) ran (the
/// upload future was dropped: cancelled, timed out, its task aborted), it aborts the upload
/// itself: in place on a multi-threaded Tokio runtime (waiting at most [`ABORT_DEADLINE`]), as
/// a task on a current-thread runtime.
struct Pending {
    key: String,
    upload: Option<Box<dyn MultipartUpload>>,
    parts: JoinSet<object_store::Result<()>>,
    sent_parts: usize,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("key", &self.key)
            .field("parts_in_flight", &self.parts.len())
            .finish()
    }
}

impl Pending {
    /// Send one part, after waiting for room among the parts in flight.
    async fn send(&mut self, data: Bytes) -> Result<()> {
        while self.parts.len() >= PARTS_IN_FLIGHT {
            self.join_one().await?;
        }
        let Some(upload) = self.upload.as_mut() else {
            return Ok(());
        };
        self.parts.spawn(upload.put_part(PutPayload::from(data)));
        self.sent_parts += 1;
        Ok(())
    }

    /// Wait for one part in flight; its failure is the upload's.
    async fn join_one(&mut self) -> Result<()> {
        match self.parts.join_next().await {
            Some(Ok(Ok(()))) | None => Ok(()),
            Some(Ok(Err(e))) => Err(store_error(&self.key, "upload part", e)),
            Some(Err(e)) => Err(Error::Store {
                uri: self.key.clone(),
                operation: "upload part",
                transient: false,
                source: Box::new(e),
            }),
        }
    }

    /// Wait for every part, then make the object; on failure, abort (the original error is
    /// returned either way).
    async fn complete(mut self) -> Result<()> {
        if self.sent_parts == 0
            && let Err(e) = self.send(Bytes::new()).await
        {
            return Err(self.abort_after(e).await);
        }
        while !self.parts.is_empty() {
            if let Err(e) = self.join_one().await {
                return Err(self.abort_after(e).await);
            }
        }
        // The upload stays in `self` while it completes: dropped meanwhile, it is aborted (which
        // fails harmlessly if the store completed it first).
        let completed = match self.upload.as_mut() {
            Some(upload) => upload.complete().await,
            None => return Ok(()),
        };
        match completed {
            Ok(_) => {
                self.upload = None;
                Ok(())
            }
            Err(e) => {
                let e = store_error(&self.key, "complete multipart upload", e);
                Err(self.abort_after(e).await)
            }
        }
    }

    /// Abort after `original` happened: stop the parts in flight, abort the upload, and return
    /// `original`, with the abort's own failure added to its message or source chain.
    async fn abort_after(mut self, original: Error) -> Error {
        self.parts.abort_all();
        while self.parts.join_next().await.is_some() {}
        let Some(mut upload) = self.upload.take() else {
            return original;
        };
        let what = "aborting the multipart upload";
        match tokio::time::timeout(ABORT_DEADLINE, upload.abort()).await {
            Ok(Ok(())) => original,
            Ok(Err(e)) => with_cleanup_failure(
                original,
                what,
                store_error(&self.key, "abort multipart upload", e),
            ),
            Err(_) => with_cleanup_failure(
                original,
                what,
                Error::Timeout {
                    uri: self.key.clone(),
                    operation: "aborting the multipart upload".into(),
                    waited: ABORT_DEADLINE,
                },
            ),
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let Some(mut upload) = self.upload.take() else {
            return;
        };
        self.parts.abort_all();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // no runtime to run the abort on: nothing can be done here
        };
        let abort = async move {
            let _ = tokio::time::timeout(ABORT_DEADLINE, upload.abort()).await;
        };
        let multi = runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread;
        if multi && !std::thread::panicking() {
            // Wait here, so that a program that stops right after dropping the upload (on a
            // signal) leaves nothing behind. A runtime that is shutting down cannot run it.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                tokio::task::block_in_place(|| runtime.block_on(abort))
            }));
        } else {
            drop(runtime.spawn(abort));
        }
    }
}

/// The file being uploaded and the hash of what was read of it so far. Reading and hashing
/// run on Tokio's blocking threads, one chunk per call, never on the async executor's.
struct Reading {
    file: std::fs::File,
    hasher: ContentHasher,
}

impl Reading {
    /// Read and hash the next chunk: [`CHUNK`] bytes, fewer only at the end of the file (none
    /// there). If the caller is dropped meanwhile, the read of this one chunk still ends.
    async fn next_chunk(mut self) -> (Self, std::io::Result<Vec<u8>>) {
        blocking(move || {
            let mut buf = vec![0u8; CHUNK];
            let read = fill(&mut self.file, &mut buf).map(|n| {
                buf.truncate(n);
                self.hasher.update(&buf);
                buf
            });
            (self, read)
        })
        .await
    }
}

/// Fill `buf` from `file` as far as it goes; the bytes read (fewer than `buf.len()` only at
/// the end of the file).
fn fill(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Upload the video at `local` into `folder` of the dataset: check its size against the limit;
/// probe it with the demuxer `open_demuxer(local)` returns (so the probed file is the uploaded
/// one, and a file that is not a decodable video fails before any byte is written); then stream
/// it in parts of 8 MiB (memory flat in the file's size, at most 4 parts in flight), hashing as
/// it goes.
///
/// `open_demuxer` picks the backend and its options; it is called once, with `local`:
///
/// ```no_run
/// # async fn run(sink: &video_storage::ObjectStoreSink) -> video_core::Result<()> {
/// use video_storage::{UploadOptions, upload_video};
/// let up = upload_video(
///     sink,
///     "clip.mp4".as_ref(),
///     "raw",
///     |path| video_gst::GstDemuxer::open(path),
///     UploadOptions::default(),
/// )
/// .await?;
/// println!("{} ({} bytes, {})", up.key, up.size, up.content_hash);
/// # Ok(())
/// # }
/// ```
///
/// # Nothing is left behind
/// The object exists only once the multipart upload completes, and it completes only after
/// the whole file was sent and checked: the bytes read must be the size first seen, and the
/// file's size, modification time and identity (device and inode) must be what they were when
/// it was first looked at, both through the open file and through its path; with
/// [`UploadOptions::expect_sha256`] the streamed hash must match too. Otherwise the upload is
/// aborted and fails. Every failure after the upload started aborts it; if the abort fails as
/// well, the error returned is still the first one, with the abort's failure added to its
/// source chain.
///
/// # Cancellation
/// Dropping the returned future (a `tokio::select!` on a signal, a timeout, an aborted task)
/// aborts the multipart upload from a drop guard: on a multi-threaded Tokio runtime the drop
/// waits for the abort (at most [`ABORT_DEADLINE`]), so a program may exit right after; on a
/// current-thread runtime the abort is spawned as a task, which runs only while the runtime
/// keeps running. Dropped while the store completes the upload, the object is either complete
/// or aborted, never half made. Left to the store's own clean-up (for S3, a lifecycle rule that
/// aborts incomplete uploads): an upload whose creation was under way when the future was
/// dropped (its id never arrived), and one dropped with no runtime left to abort it on.
///
/// # Errors
/// [`Error::TooLarge`] for a file over [`UploadOptions::max_bytes`], before probing and before
/// any byte is written; the errors of `open_demuxer` and of probing for a file that is not a
/// video; [`Error::Io`]
/// naming the file when it cannot be read or changed during the upload; store errors name the
/// key ([`Error::Store`], [`Error::NotFound`] for a missing bucket);
/// [`Error::InvalidOption`] for an [`UploadOptions::expect_sha256`] that is not a content hash,
/// before any byte is written.
pub async fn upload_video<D: Demuxer>(
    sink: &ObjectStoreSink,
    local: &Path,
    folder: &str,
    open_demuxer: impl FnOnce(&Path) -> Result<D> + Send,
    opts: UploadOptions<'_>,
) -> Result<UploadedVideo> {
    let uri = local.display().to_string();
    let expected = match opts.expect_sha256.as_deref().map(ContentHash::parse) {
        Some(Err(Error::InvalidOption { reason, .. })) => {
            return Err(Error::InvalidOption {
                option: "expect_sha256".into(),
                reason,
            });
        }
        other => other.transpose()?,
    };
    // A FIFO or a device would block the probe's or the upload's reads, or never end.
    let first = {
        let (local, uri) = (local.to_owned(), uri.clone());
        blocking(move || video_core::regular_file(&local, &uri)).await?
    };
    let seen = Fingerprint::of(&first);
    let size = seen.size;
    if size > opts.max_bytes {
        return Err(Error::TooLarge {
            uri,
            size,
            limit: opts.max_bytes,
        });
    }
    let metadata = open_demuxer(local)?.probe().await?;
    let name = local
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::InvalidPath {
            path: uri.clone(),
            reason: "the file name is not UTF-8".into(),
        })?;
    let video = video_core::VideoRef {
        folder: folder.to_owned(),
        name: name.to_owned(),
    };
    ObjectStoreSink::relative(&video, "")?;
    let key = video_core::layout::uploaded_video_key(folder, name);
    let content_hash = stream_file(sink, local, &key, seen, expected, opts.progress)
        .await?
        .to_string();
    Ok(UploadedVideo {
        key,
        content_hash,
        size,
        metadata,
    })
}

/// Streams the local file `local`, whose size and identity were `seen` before, to `key` as a
/// multipart upload that is committed only when the bytes read are the whole, unchanged file
/// (and have the hash `expected`, when given); aborted otherwise. Returns the content hash.
async fn stream_file(
    sink: &ObjectStoreSink,
    local: &Path,
    key: &str,
    seen: Fingerprint,
    expected: Option<ContentHash>,
    progress: Option<&mut (dyn FnMut(u64) + Send)>,
) -> Result<ContentHash> {
    let size = seen.size;
    let io = |operation, source| Error::Io {
        path: local.to_owned(),
        operation,
        source,
    };
    let changed = |what: String| Error::Io {
        path: local.to_owned(),
        operation: "upload",
        source: std::io::Error::other(format!(
            "{what}; the upload was aborted and nothing was stored"
        )),
    };
    let path = sink.path(key);
    let (file, opened) = {
        let local = local.to_owned();
        blocking(move || {
            let file = video_core::open_regular_file(&local).map_err(|e| ("open", e))?;
            let meta = file.metadata().map_err(|e| ("stat", e))?;
            Ok((file, Fingerprint::of(&meta)))
        })
        .await
        .map_err(|(operation, e)| io(operation, e))?
    };
    if opened != seen {
        return Err(Error::Io {
            path: local.to_owned(),
            operation: "open",
            source: std::io::Error::other(
                "the file changed between probing and uploading; nothing was stored",
            ),
        });
    }
    let upload = sink
        .store()
        .put_multipart(&path)
        .await
        .map_err(|e| store_error(key, "start multipart upload", e))?;
    let mut pending = Pending {
        key: key.to_owned(),
        upload: Some(upload),
        parts: JoinSet::new(),
        sent_parts: 0,
    };
    let mut reading = Reading {
        file,
        hasher: ContentHasher::new(),
    };
    let mut sent = 0u64;
    let mut progress = progress;
    let streamed: Result<ContentHash> = async {
        loop {
            let (back, read) = reading.next_chunk().await;
            reading = back;
            let buf = read.map_err(|e| io("read", e))?;
            let n = buf.len();
            if n == 0 {
                break;
            }
            sent += n as u64;
            if sent > size {
                return Err(changed(format!(
                    "the file grew past its {size} bytes while it was uploaded"
                )));
            }
            pending.send(Bytes::from(buf)).await?;
            if let Some(p) = progress.as_mut() {
                p(sent);
            }
            if n < CHUNK {
                break;
            }
        }
        // Nothing is committed unless the file is still the one that was probed.
        if sent != size {
            return Err(changed(format!(
                "the file changed size while it was uploaded ({size} bytes, then {sent} read)"
            )));
        }
        let path = local.to_owned();
        let (reading, now) = blocking(move || {
            let now_open = reading.file.metadata().map(|m| Fingerprint::of(&m));
            let now_path = std::fs::metadata(&path).map(|m| Fingerprint::of(&m));
            (reading, now_open.and_then(|o| Ok((o, now_path?))))
        })
        .await;
        let (now_open, now_path) = now.map_err(|e| io("stat", e))?;
        if now_open != seen || now_path != seen {
            return Err(changed(format!(
                "the file changed while it was uploaded (size {size} then {}, modified {:?} then {:?}, or replaced)",
                now_path.size, seen.modified, now_path.modified
            )));
        }
        Ok(reading.hasher.finish())
    }
    .await;
    let checked = streamed.and_then(|hash| match expected {
        Some(want) if want != hash => Err(changed(format!(
            "the content hash is {hash}, not the expected {want}"
        ))),
        _ => Ok(hash),
    });
    match checked {
        Ok(hash) => {
            pending.complete().await?;
            Ok(hash)
        }
        Err(e) => Err(pending.abort_after(e).await),
    }
}

/// Stores the local file `local` under the dataset key `key` as [`stream_file`] does (in parts,
/// memory flat in its size, committed only whole and unchanged); returns its size and hash.
pub(crate) async fn put_file(
    sink: &ObjectStoreSink,
    local: &Path,
    key: &str,
) -> Result<(u64, ContentHash)> {
    let seen = {
        let (local, uri) = (local.to_owned(), local.display().to_string());
        blocking(move || video_core::regular_file(&local, &uri)).await?
    };
    let seen = Fingerprint::of(&seen);
    let size = seen.size;
    let hash = stream_file(sink, local, key, seen, None, None).await?;
    Ok((size, hash))
}

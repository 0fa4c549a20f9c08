//! Uploading a video into a dataset's store.

use std::io::Read;
use std::path::Path;

use object_store::{ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};
use video_core::{Demuxer, Error, Result, VideoMetadata};

use crate::ObjectStoreSink;

/// Bytes read from the file and sent as one part.
const CHUNK: usize = 8 * 1024 * 1024;
/// Parts uploading at once; with [`CHUNK`], memory stays under about 40 MiB whatever the file size.
const PARTS_IN_FLIGHT: usize = 4;

/// Options of [`upload_video`].
#[non_exhaustive]
pub struct UploadOptions<'a> {
    /// Largest file accepted, in bytes; larger files fail with [`Error::TooLarge`] before any
    /// byte is written. Default: 10 GiB.
    pub max_bytes: u64,
    /// Called with the bytes sent so far. Default: none.
    pub progress: Option<&'a mut (dyn FnMut(u64) + Send)>,
}

impl std::fmt::Debug for UploadOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("max_bytes", &self.max_bytes)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Default for UploadOptions<'_> {
    fn default() -> Self {
        UploadOptions {
            max_bytes: 10 * 1024 * 1024 * 1024,
            progress: None,
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
}

/// What [`upload_video`] stored.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct UploadedVideo {
    /// The key in the dataset (`{folder}/{file name}`).
    pub key: String,
    /// Content hash of the file: `sha256:` and lowercase hex.
    pub content_hash: String,
    /// Size in bytes.
    pub size: u64,
    /// The probed metadata.
    pub metadata: VideoMetadata,
}

/// Upload the video at `local` into `folder` of the dataset: probe it first with `demuxer`
/// (opened on the same file), so a file that is not a decodable video fails before any byte is
/// written; check its size against the limit; then stream it in parts (memory flat in the file's
/// size), hashing as it goes. A failed upload is aborted and leaves nothing behind.
///
/// # Errors
/// [`Error::TooLarge`] for a file over [`UploadOptions::max_bytes`], before probing and before
/// any byte is written; the demuxer's errors for a file that is not a video; store errors name
/// the key.
pub async fn upload_video(
    sink: &ObjectStoreSink,
    local: &Path,
    folder: &str,
    demuxer: &mut dyn Demuxer,
    opts: UploadOptions<'_>,
) -> Result<UploadedVideo> {
    let uri = local.display().to_string();
    let io = |operation, source| Error::Io {
        path: local.to_owned(),
        operation,
        source,
    };
    let meta = std::fs::metadata(local).map_err(|e| Error::NotFound {
        uri: uri.clone(),
        source: Some(Box::new(e)),
    })?;
    if !meta.is_file() {
        // A FIFO or a device would block the probe's or the upload's reads, or never end.
        return Err(Error::NotAVideo {
            uri,
            reason: format!("not a regular file ({})", special_kind(&meta.file_type())),
            source: None,
        });
    }
    let size = meta.len();
    if size > opts.max_bytes {
        return Err(Error::TooLarge {
            uri,
            size,
            limit: opts.max_bytes,
        });
    }
    let metadata = demuxer.probe().await?;
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
    let key = ObjectStoreSink::relative(&video, name)?;
    let path = sink.path(&key);
    let upload = sink
        .store()
        .put_multipart(&path)
        .await
        .map_err(|e| crate::sink::backend(&key, e))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, CHUNK);
    let mut file = std::fs::File::open(local).map_err(|e| io("open", e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut sent = 0u64;
    let mut progress = opts.progress;
    let result: Result<()> = async {
        loop {
            let n = file.read(&mut buf).map_err(|e| io("read", e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            writer
                .wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(|e| crate::sink::backend(&key, e))?;
            writer.write(&buf[..n]);
            sent += n as u64;
            if let Some(p) = progress.as_mut() {
                p(sent);
            }
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            writer
                .finish()
                .await
                .map_err(|e| crate::sink::backend(&key, e))?;
        }
        Err(e) => {
            let _ = writer.abort().await;
            return Err(e);
        }
    }
    if sent != size {
        return Err(Error::Io {
            path: local.to_owned(),
            operation: "read",
            source: std::io::Error::other(format!(
                "the file changed size while uploading ({size} then {sent} bytes)"
            )),
        });
    }
    Ok(UploadedVideo {
        key,
        content_hash: format!("sha256:{:x}", hasher.finalize()),
        size,
        metadata,
    })
}

/// What a path that is not a regular file is, in a few words.
fn special_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "FIFO";
        }
        if t.is_char_device() {
            return "character device";
        }
        if t.is_block_device() {
            return "block device";
        }
        if t.is_socket() {
            return "socket";
        }
    }
    if t.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

//! [`StoreVideo`]: a video object in a store, read by byte ranges.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use video_core::{ByteSource, ContentHash, ContentHasher, Error, Result};

use crate::store::{DEFAULT_READ_DEADLINE, StoreOptions, store_error, store_from_url};

/// Default size of the blocks reads are rounded to.
pub const DEFAULT_BLOCK_SIZE: u64 = 64 * 1024;
/// Default number of blocks kept in memory (4 MiB with the default block size).
pub const DEFAULT_CACHED_BLOCKS: usize = 64;
/// Largest read-ahead, in blocks: sequential reads double their request size up to this.
const MAX_READ_AHEAD_BLOCKS: u64 = 32;

/// A video object in a store as a [`ByteSource`], for probing and decoding it where it is.
///
/// A demuxer reading through it fetches only the byte ranges it asks for, rounded out to
/// blocks ([`DEFAULT_BLOCK_SIZE`]); the most recent blocks stay in memory
/// ([`DEFAULT_CACHED_BLOCKS`]), so the many small reads of a container header cost one request
/// and memory stays bounded whatever the video's size. Reads that continue where the last
/// request ended (a demuxer going through a GOP) fetch ahead, doubling the request up to
/// 32 blocks, so sequential reading takes few requests and a jump costs one block. Every request is conditional on the
/// object's entity tag (when the store gives one): a video replaced while it is read fails with
/// an error instead of mixing two files' bytes. [`bytes_fetched`](Self::bytes_fetched) and
/// [`requests`](Self::requests) tell what reading cost.
///
/// Reads block the calling thread on the Tokio runtime that [`open`](Self::open) ran in, so
/// they must come from threads of their own (as video-gst's pipelines do), never from a task
/// of a current-thread runtime.
///
/// # Deadlines
/// Each read (one range request with all its retries) has a deadline,
/// [`StoreOptions::read_deadline`] (30 s unless set with
/// [`with_read_deadline`](Self::with_read_deadline)): a read that takes longer is cancelled
/// (the request's future is dropped, which closes its connection) and fails with
/// [`Error::Timeout`] naming the object, so a stalled store never pins a decoding thread.
/// Opening (the `HEAD` request) and each chunk of [`sha256`](Self::sha256) have the same
/// deadline.
#[derive(Debug)]
pub struct StoreVideo {
    store: Arc<dyn ObjectStore>,
    location: Path,
    uri: String,
    size: u64,
    e_tag: Option<String>,
    runtime: tokio::runtime::Handle,
    deadline: Duration,
    block: u64,
    capacity: usize,
    cache: Mutex<VecDeque<(u64, Bytes)>>,
    /// Where the last request ended and the read-ahead, in blocks.
    ahead: Mutex<(u64, u64)>,
    fetched: AtomicU64,
    requests: AtomicU64,
}

impl StoreVideo {
    /// Open the object at `location` in `store`; `uri` names it in errors and metadata.
    /// Reads its size (one `HEAD` request); fails with [`Error::NotFound`] if it does not exist.
    pub async fn open(
        store: Arc<dyn ObjectStore>,
        location: Path,
        uri: impl Into<String>,
    ) -> Result<Self> {
        Self::open_with_deadline(store, location, uri.into(), DEFAULT_READ_DEADLINE).await
    }

    /// Open a video by URL (`s3://bucket/videos/a.mp4`, `file:///abs/a.mp4`, `memory:///a.mp4`,
    /// …), with credentials and options from the environment as
    /// [`ObjectStoreSink::from_url`](crate::ObjectStoreSink::from_url) reads them.
    pub async fn open_url(url: &str) -> Result<Self> {
        Self::open_url_with(url, &StoreOptions::default()).await
    }

    /// [`open_url`](Self::open_url) with [`StoreOptions`]: the store's retry policy and
    /// timeouts, and the [read deadline](StoreOptions::read_deadline).
    pub async fn open_url_with(url: &str, options: &StoreOptions) -> Result<Self> {
        let (store, location) = store_from_url(url, options)?;
        Self::open_with_deadline(store, location, url.to_owned(), options.read_deadline).await
    }

    /// [`open`](Self::open) with a read deadline from the start (it bounds the `HEAD` too).
    async fn open_with_deadline(
        store: Arc<dyn ObjectStore>,
        location: Path,
        uri: String,
        deadline: Duration,
    ) -> Result<Self> {
        let deadline = deadline.max(Duration::from_millis(1));
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| Error::Backend {
            backend: "object_store",
            uri: Some(uri.clone()),
            element: None,
            source: Box::new(e),
        })?;
        let meta = match tokio::time::timeout(deadline, store.head(&location)).await {
            Ok(got) => got.map_err(|e| store_error(&uri, "head", e))?,
            Err(_) => return Err(timeout(&uri, "reading the object's size", deadline)),
        };
        Ok(StoreVideo {
            store,
            location,
            uri,
            size: meta.size,
            e_tag: meta.e_tag,
            runtime,
            deadline,
            block: DEFAULT_BLOCK_SIZE,
            capacity: DEFAULT_CACHED_BLOCKS,
            cache: Mutex::new(VecDeque::new()),
            ahead: Mutex::new((u64::MAX, 1)),
            fetched: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        })
    }

    /// Give each read at most `deadline` (see [Deadlines](Self#deadlines)); at least 1 ms.
    pub fn with_read_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline.max(Duration::from_millis(1));
        self
    }

    /// The deadline of one read (see [Deadlines](Self#deadlines)).
    pub fn read_deadline(&self) -> Duration {
        self.deadline
    }

    /// Round reads out to blocks of `bytes` (at least 4 KiB) and keep `blocks` of them.
    pub fn with_cache(mut self, bytes: u64, blocks: usize) -> Self {
        self.block = bytes.max(4096);
        self.capacity = blocks.max(1);
        self
    }

    /// The object's location in its store.
    pub fn location(&self) -> &Path {
        &self.location
    }

    /// The object's sha256 ([`ContentHash`]'s text: `sha256:` and lowercase hex), streamed
    /// through once (not counted in [`bytes_fetched`](Self::bytes_fetched); memory stays flat).
    /// The hashing runs on Tokio's blocking threads, overlapping with the reads.
    pub async fn sha256(&self) -> Result<String> {
        use futures::TryStreamExt as _;
        let options = GetOptions {
            if_match: self.e_tag.clone(),
            ..Default::default()
        };
        let stalled = || timeout(&self.uri, "hashing the object", self.deadline);
        let got = tokio::time::timeout(self.deadline, self.store.get_opts(&self.location, options))
            .await
            .map_err(|_| stalled())?
            .map_err(|e| store_error(&self.uri, "get", e))?;
        let mut stream = got.into_stream();
        let mut hasher = BlockingHasher::default();
        while let Some(chunk) = tokio::time::timeout(self.deadline, stream.try_next())
            .await
            .map_err(|_| stalled())?
            .map_err(|e| store_error(&self.uri, "get", e))?
        {
            hasher
                .update(chunk)
                .await
                .map_err(|e| hashing_failed(&self.uri, e))?;
        }
        let hash = hasher
            .finish()
            .await
            .map_err(|e| hashing_failed(&self.uri, e))?;
        Ok(hash.to_string())
    }

    /// Bytes fetched from the store so far.
    pub fn bytes_fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    /// Range requests made so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn cached(&self, block: u64) -> Option<Bytes> {
        let mut cache = self.cache.lock().ok()?;
        let pos = cache.iter().position(|(b, _)| *b == block)?;
        let entry = cache.remove(pos)?;
        let data = entry.1.clone();
        cache.push_back(entry); // most recently used last
        Some(data)
    }

    fn remember(&self, block: u64, data: Bytes) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|(b, _)| *b != block);
            while cache.len() >= self.capacity {
                cache.pop_front();
            }
            cache.push_back((block, data));
        }
    }

    /// Fetch bytes `start..end` in one conditional range request, within the read deadline.
    fn fetch(&self, start: u64, end: u64) -> Result<Bytes> {
        let store = self.store.clone();
        let location = self.location.clone();
        let options = GetOptions {
            range: Some(GetRange::Bounded(start..end)),
            if_match: self.e_tag.clone(),
            ..Default::default()
        };
        let deadline = self.deadline;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        // The request runs on the runtime under the deadline; when it passes, the request's
        // future is dropped, which cancels it and closes its connection.
        self.runtime.spawn(async move {
            let request = async {
                match store.get_opts(&location, options).await {
                    Ok(r) => r.bytes().await,
                    Err(e) => Err(e),
                }
            };
            let _ = tx.send(tokio::time::timeout(deadline, request).await);
        });
        self.requests.fetch_add(1, Ordering::Relaxed);
        let what = || format!("reading bytes {start}..{end}");
        // The runtime enforces the deadline; waiting here is bounded as well in case the
        // runtime cannot run the request at all (every worker blocked).
        let got = match rx.recv_timeout(deadline + RUNTIME_GRACE) {
            Ok(Ok(got)) => got.map_err(|e| store_error(&self.uri, "get", e))?,
            Ok(Err(_)) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                return Err(timeout(&self.uri, &what(), deadline));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Error::Backend {
                    backend: "object_store",
                    uri: Some(self.uri.clone()),
                    element: None,
                    source: "the runtime the video was opened in has shut down".into(),
                });
            }
        };
        if got.len() as u64 != end - start {
            return Err(Error::Backend {
                backend: "object_store",
                uri: Some(self.uri.clone()),
                element: None,
                source: format!(
                    "asked for bytes {start}..{end}, got {} bytes (the object changed?)",
                    got.len()
                )
                .into(),
            });
        }
        self.fetched.fetch_add(got.len() as u64, Ordering::Relaxed);
        Ok(got)
    }
}

/// How much longer than the deadline a reading thread waits for the runtime to report.
const RUNTIME_GRACE: Duration = Duration::from_secs(5);

/// A read of `uri` that did not finish within `waited`.
/// Bytes gathered before a batch is handed to a blocking thread to be hashed.
const HASH_BATCH: usize = 1024 * 1024;

/// A [`ContentHasher`] fed from async code: pieces are gathered into batches of about
/// [`HASH_BATCH`] bytes, each hashed on one of Tokio's blocking threads while the next is
/// gathered, so no hashing runs on the executor's threads. Dropped, it stops after the batch
/// being hashed.
#[derive(Debug, Default)]
struct BlockingHasher {
    /// The hasher, when no batch is being hashed.
    idle: Option<ContentHasher>,
    /// The batch being hashed, handing the hasher back.
    running: Option<tokio::task::JoinHandle<ContentHasher>>,
    gathered: Vec<Bytes>,
    gathered_bytes: usize,
}

impl BlockingHasher {
    /// Feed the next piece.
    async fn update(&mut self, piece: Bytes) -> Result<(), tokio::task::JoinError> {
        self.gathered_bytes += piece.len();
        self.gathered.push(piece);
        if self.gathered_bytes >= HASH_BATCH {
            self.hand_over().await?;
        }
        Ok(())
    }

    /// Wait for the batch being hashed (if any), then start hashing the gathered pieces.
    async fn hand_over(&mut self) -> Result<(), tokio::task::JoinError> {
        let mut hasher = self.wait().await?;
        let batch = std::mem::take(&mut self.gathered);
        self.gathered_bytes = 0;
        self.running = Some(tokio::task::spawn_blocking(move || {
            batch.iter().for_each(|b| hasher.update(b));
            hasher
        }));
        Ok(())
    }

    /// The hasher, once the batch being hashed is done. A panic while hashing is passed on;
    /// the error is a task the runtime cancelled (it is shutting down).
    async fn wait(&mut self) -> Result<ContentHasher, tokio::task::JoinError> {
        match self.running.take() {
            Some(task) => match task.await {
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                done => done,
            },
            None => Ok(self.idle.take().unwrap_or_default()),
        }
    }

    /// The hash of everything fed.
    async fn finish(mut self) -> Result<ContentHash, tokio::task::JoinError> {
        self.hand_over().await?;
        Ok(self.wait().await?.finish())
    }
}

/// Hashing `uri` stopped because the runtime cancelled its blocking task.
fn hashing_failed(uri: &str, e: tokio::task::JoinError) -> Error {
    Error::Backend {
        backend: "tokio",
        uri: Some(uri.to_owned()),
        element: None,
        source: Box::new(e),
    }
}

fn timeout(uri: &str, operation: &str, waited: Duration) -> Error {
    Error::Timeout {
        uri: uri.to_owned(),
        operation: operation.to_owned(),
        waited,
    }
}

impl ByteSource for StoreVideo {
    fn uri(&self) -> &str {
        &self.uri
    }

    fn len(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Bytes> {
        let end = offset.saturating_add(len as u64).min(self.size);
        if offset >= end {
            return Ok(Bytes::new());
        }
        let (first, last) = (offset / self.block, (end - 1) / self.block);
        let mut blocks: Vec<Option<Bytes>> = (first..=last).map(|b| self.cached(b)).collect();
        // One request for the span of missing blocks (cached blocks inside it are re-read: a
        // second request costs more than the bytes).
        let missing = blocks.iter().position(Option::is_none);
        if let Some(lo) = missing {
            let hi = blocks.iter().rposition(Option::is_none).unwrap_or(lo);
            let (b_lo, mut b_hi) = (first + lo as u64, first + hi as u64);
            if let Ok(mut ahead) = self.ahead.lock() {
                let (next, window) = *ahead;
                let window = if b_lo == next {
                    (window * 2).min(MAX_READ_AHEAD_BLOCKS)
                } else {
                    1
                };
                let last_block = (self.size - 1) / self.block;
                b_hi = b_hi.max(b_lo + window - 1).min(last_block);
                *ahead = (b_hi + 1, window);
            }
            let start = b_lo * self.block;
            let stop = ((b_hi + 1) * self.block).min(self.size);
            let data = self.fetch(start, stop)?;
            for b in b_lo..=b_hi {
                let s = ((b - b_lo) * self.block) as usize;
                let e = (s + self.block as usize).min(data.len());
                let piece = data.slice(s..e);
                self.remember(b, piece.clone());
                if let Some(slot) = blocks.get_mut((b - first) as usize) {
                    *slot = Some(piece);
                }
            }
        }
        // The part of block `first + k` inside `offset..end`.
        let part = |k: usize, data: &Bytes| {
            let base = (first + k as u64) * self.block;
            let s = offset.saturating_sub(base) as usize;
            let e = ((end - base) as usize).min(data.len());
            data.slice(s.min(e)..e)
        };
        if let [Some(only)] = blocks.as_slice() {
            return Ok(part(0, only)); // one block: a view of it, no copy
        }
        let mut out = BytesMut::with_capacity((end - offset) as usize);
        for (k, data) in blocks.iter().enumerate() {
            out.extend_from_slice(&part(k, &data.clone().unwrap_or_default()));
        }
        Ok(out.freeze())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Pieces of every size, crossing batch boundaries, hash as the whole does.
    #[tokio::test]
    async fn blocking_hasher_hashes_every_piece_in_order() {
        let data: Vec<u8> = (0..3 * HASH_BATCH + 12_345)
            .map(|i| (i % 251) as u8)
            .collect();
        for piece in [999, 65_536, HASH_BATCH - 1, HASH_BATCH + 7] {
            let mut h = BlockingHasher::default();
            for chunk in data.chunks(piece) {
                h.update(Bytes::copy_from_slice(chunk)).await.unwrap();
            }
            assert_eq!(h.finish().await.unwrap(), ContentHash::of(&data), "{piece}");
        }
        let empty = BlockingHasher::default().finish().await.unwrap();
        assert_eq!(empty, ContentHash::of(b""));
    }
}

//! The bytes of a frame, and a pool that hands the same allocations out again.
//!
//! A 1080p RGB frame is 6 MB, a 2160p one 25 MB. Allocating each anew costs what the YUV to RGB
//! conversion costs: the allocator zeroes or page-faults the whole buffer before a byte is
//! written, and the freed buffers fragment the heap. A source that makes many frames of one size
//! takes their buffers from a [`FramePool`]; a buffer goes back to its pool when the
//! [`FrameData`] holding it is dropped, so a stream of frames reuses the two or three
//! allocations that are alive at once.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, Weak};

/// The pixel bytes of a [`Frame`](crate::Frame): a `Vec<u8>` that may return to the
/// [`FramePool`] it came from when dropped.
///
/// It dereferences to `[u8]`, so it reads like a byte slice. [`FrameData::into_vec`] takes the
/// `Vec` out without copying (it then stays with the caller); `From<Vec<u8>>` wraps a `Vec`
/// that belongs to no pool. A clone is a plain copy that belongs to no pool. Equality compares
/// the bytes.
///
/// ```
/// use video_core::{FrameData, FramePool};
/// let pool = FramePool::new(1);
/// let first = pool.filled(4, 7);
/// assert_eq!(&first[..], &[7, 7, 7, 7]);
/// drop(first); // back to the pool
/// let second = pool.buffer(4); // the same allocation, still holding its old bytes
/// assert_eq!(second.len(), 4);
/// assert_eq!(pool.kept(), 0);
/// let owned: Vec<u8> = second.into_vec(); // leaves the pool for good
/// assert_eq!(owned.len(), 4);
/// assert_eq!(FrameData::from(vec![1, 2]), FrameData::from(vec![1, 2]));
/// ```
pub struct FrameData {
    bytes: Vec<u8>,
    home: Option<Weak<PoolInner>>,
}

impl FrameData {
    /// The bytes as a slice.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// The `Vec` itself, for a writer that appends (its length may change; a pooled `Vec`
    /// keeps its capacity when cleared).
    pub fn as_mut_vec(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// The bytes as a `Vec`, without copying; the allocation no longer returns to a pool.
    pub fn into_vec(mut self) -> Vec<u8> {
        self.home = None;
        std::mem::take(&mut self.bytes)
    }

    /// Whether the buffer returns to a pool when dropped.
    pub fn is_pooled(&self) -> bool {
        self.home.is_some()
    }
}

impl Drop for FrameData {
    fn drop(&mut self) {
        if let Some(pool) = self.home.take().and_then(|w| w.upgrade()) {
            pool.put(std::mem::take(&mut self.bytes));
        }
    }
}

impl Deref for FrameData {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl DerefMut for FrameData {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

impl AsRef<[u8]> for FrameData {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl AsMut<[u8]> for FrameData {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

impl From<Vec<u8>> for FrameData {
    fn from(bytes: Vec<u8>) -> Self {
        FrameData { bytes, home: None }
    }
}

impl From<FrameData> for Vec<u8> {
    fn from(data: FrameData) -> Self {
        data.into_vec()
    }
}

impl Clone for FrameData {
    fn clone(&self) -> Self {
        self.bytes.clone().into()
    }
}

impl PartialEq for FrameData {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for FrameData {}

impl PartialEq<Vec<u8>> for FrameData {
    fn eq(&self, other: &Vec<u8>) -> bool {
        &self.bytes == other
    }
}

impl PartialEq<[u8]> for FrameData {
    fn eq(&self, other: &[u8]) -> bool {
        self.bytes == other
    }
}

impl fmt::Debug for FrameData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FrameData({} bytes", self.bytes.len())?;
        if self.home.is_some() {
            f.write_str(", pooled")?;
        }
        f.write_str(")")
    }
}

/// Byte buffers for frames, handed out again after their [`FrameData`] is dropped.
///
/// The pool keeps at most `max_kept` returned buffers and frees any beyond that, so what it
/// holds is bounded however many frames pass through it; buffers still out when the pool is
/// dropped are freed when their frames are. Cloning a pool gives another handle to the same
/// buffers. Thread-safe: frames may be dropped on any thread.
#[derive(Clone)]
pub struct FramePool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    kept: Mutex<Vec<Vec<u8>>>,
    max_kept: usize,
}

impl PoolInner {
    fn put(&self, bytes: Vec<u8>) {
        if bytes.capacity() == 0 {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() < self.max_kept {
            kept.push(bytes);
        }
    }
}

impl FramePool {
    /// A pool that keeps up to `max_kept` returned buffers.
    pub fn new(max_kept: usize) -> Self {
        FramePool {
            inner: Arc::new(PoolInner {
                kept: Mutex::new(Vec::new()),
                max_kept,
            }),
        }
    }

    /// How many returned buffers the pool holds now.
    pub fn kept(&self) -> usize {
        self.inner
            .kept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    fn take(&self) -> Option<Vec<u8>> {
        self.inner
            .kept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
    }

    fn wrap(&self, bytes: Vec<u8>) -> FrameData {
        FrameData {
            bytes,
            home: Some(Arc::downgrade(&self.inner)),
        }
    }

    /// A buffer of exactly `len` bytes whose contents are unspecified: a returned buffer keeps
    /// an earlier frame's bytes (only bytes past its old length are zeroed). The caller
    /// overwrites every byte it hands on.
    pub fn buffer(&self, len: usize) -> FrameData {
        let bytes = match self.take() {
            Some(mut bytes) => {
                bytes.resize(len, 0); // truncates, or zeroes only the bytes past the old end
                bytes
            }
            // A zeroed allocation: fresh pages from the system need no zeroing by hand.
            None => vec![0; len],
        };
        self.wrap(bytes)
    }

    /// An empty buffer with room for at least `capacity` bytes, to be filled by appending
    /// through [`FrameData::as_mut_vec`].
    pub fn empty(&self, capacity: usize) -> FrameData {
        let mut bytes = self.take().unwrap_or_default();
        bytes.clear();
        bytes.reserve(capacity);
        self.wrap(bytes)
    }

    /// A buffer of `len` bytes, every one `value`.
    pub fn filled(&self, len: usize, value: u8) -> FrameData {
        let mut data = self.empty(len);
        data.as_mut_vec().resize(len, value);
        data
    }
}

impl fmt::Debug for FramePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FramePool")
            .field("kept", &self.kept())
            .field("max_kept", &self.inner.max_kept)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_buffer_is_handed_out_again_without_reallocating() {
        let pool = FramePool::new(2);
        let a = pool.filled(1000, 1);
        let ptr = a.as_ptr();
        drop(a);
        assert_eq!(pool.kept(), 1);
        let b = pool.buffer(1000);
        assert_eq!(b.as_ptr(), ptr, "the same allocation");
        assert_eq!(b[999], 1, "old bytes are kept, not zeroed");
        let c = pool.buffer(500);
        assert_ne!(c.as_ptr(), ptr);
        assert!(b.is_pooled() && c.is_pooled());
    }

    #[test]
    fn the_pool_keeps_no_more_than_asked() {
        let pool = FramePool::new(2);
        let bufs: Vec<_> = (0..5).map(|_| pool.buffer(10)).collect();
        drop(bufs);
        assert_eq!(pool.kept(), 2);
    }

    #[test]
    fn a_buffer_outliving_its_pool_is_simply_freed() {
        let pool = FramePool::new(2);
        let a = pool.buffer(10);
        drop(pool);
        assert!(a.is_pooled());
        drop(a);
    }

    #[test]
    fn into_vec_and_clone_leave_the_pool() {
        let pool = FramePool::new(2);
        let a = pool.filled(3, 9);
        let copy = a.clone();
        assert!(!copy.is_pooled());
        assert_eq!(copy, a);
        let v = a.into_vec();
        assert_eq!(v, vec![9, 9, 9]);
        drop(copy);
        assert_eq!(pool.kept(), 0);
    }

    #[test]
    fn growing_and_shrinking_keep_the_length_asked_for() {
        let pool = FramePool::new(1);
        drop(pool.filled(8, 5));
        let small = pool.buffer(4);
        assert_eq!(&small[..], &[5; 4]);
        drop(small);
        let big = pool.buffer(6);
        assert_eq!(&big[..], &[5, 5, 5, 5, 0, 0]);
        let mut e = pool.empty(16);
        assert!(e.is_empty() && e.as_mut_vec().capacity() >= 16);
        assert_eq!(format!("{big:?}"), "FrameData(6 bytes, pooled)");
    }
}

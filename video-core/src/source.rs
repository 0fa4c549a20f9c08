//! [`ByteSource`]: random-access reads of a video that is not (only) a local file.

use std::fmt::Debug;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;

use crate::{Error, Result};

/// Random-access reads of a video's bytes: an object in a store, a file, a buffer.
///
/// A backend's demuxer reads through it the byte ranges the container format needs (its
/// header, then the packets of the frames it decodes), so a video in object storage is never
/// downloaded as a whole to sample a few frames from it.
///
/// # Contract
/// - `len` is the total size and does not change while the source is in use.
/// - `read_at(offset, len)` returns exactly `len` bytes, fewer only when the range crosses the
///   end, and an empty buffer at or after the end. Reads may come from several threads at once.
/// - `read_at` may block (it is called from a backend's own threads, never from an async task)
///   and fails with an error naming [`uri`](Self::uri). It must return in bounded time (a
///   network read needs a timeout): a backend reports a stalled read as
///   [`Error::Timeout`](crate::Error::Timeout), but releasing its pipeline waits for the read
///   in progress to return.
pub trait ByteSource: Send + Sync + Debug {
    /// Where the bytes come from (a URL or a path), for messages and metadata.
    fn uri(&self) -> &str;

    /// Total size in bytes.
    fn len(&self) -> u64;

    /// Whether the source holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Read `len` bytes at `offset` (fewer at the end).
    fn read_at(&self, offset: u64, len: usize) -> Result<Bytes>;
}

macro_rules! forward_bytes {
    ($t:ty) => {
        impl<T: ByteSource + ?Sized> ByteSource for $t {
            fn uri(&self) -> &str {
                (**self).uri()
            }
            fn len(&self) -> u64 {
                (**self).len()
            }
            fn read_at(&self, offset: u64, len: usize) -> Result<Bytes> {
                (**self).read_at(offset, len)
            }
        }
    };
}
forward_bytes!(std::sync::Arc<T>);
forward_bytes!(Box<T>);
forward_bytes!(&T);

/// A local file as a [`ByteSource`] (for tests, and for hosts that keep files open).
#[derive(Debug)]
pub struct FileSource {
    path: PathBuf,
    uri: String,
    len: u64,
    file: Mutex<File>,
}

impl FileSource {
    /// Open `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let uri = path.display().to_string();
        let not_found = |e: std::io::Error| Error::NotFound {
            uri: uri.clone(),
            source: Some(Box::new(e)),
        };
        regular_file(&path, &uri)?;
        let file = open_regular_file(&path).map_err(not_found)?;
        let len = file.metadata().map_err(not_found)?.len();
        Ok(FileSource {
            path,
            uri,
            len,
            file: Mutex::new(file),
        })
    }
}

impl ByteSource for FileSource {
    fn uri(&self) -> &str {
        &self.uri
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Bytes> {
        let io = |e| Error::Io {
            path: self.path.clone(),
            operation: "read",
            source: e,
        };
        let want = (len as u64).min(self.len.saturating_sub(offset)) as usize;
        let mut buf = vec![0u8; want];
        let mut file = self.file.lock().map_err(|_| Error::Backend {
            backend: "file",
            uri: Some(self.uri.clone()),
            element: None,
            source: "file lock poisoned".into(),
        })?;
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        file.read_exact(&mut buf).map_err(io)?;
        Ok(Bytes::from(buf))
    }
}

/// [`std::io::Read`] and [`std::io::Seek`] over a [`ByteSource`], for parsers that want a reader.
#[derive(Debug)]
pub struct ByteReader<S> {
    source: S,
    pos: u64,
}

impl<S: ByteSource> ByteReader<S> {
    /// A reader at offset 0.
    pub fn new(source: S) -> Self {
        ByteReader { source, pos: 0 }
    }
}

impl<S: ByteSource> Read for ByteReader<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let bytes = self
            .source
            .read_at(self.pos, buf.len())
            .map_err(std::io::Error::other)?;
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<S: ByteSource> Seek for ByteReader<S> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.source.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        self.pos = target;
        Ok(target)
    }
}

/// The metadata of the local file at `path` (named `uri` in errors), checked to be a regular
/// file before anything opens it: a FIFO, a device or a socket would block an `open` or a
/// `read` forever, or never end.
///
/// # Errors
/// [`Error::NotFound`] when it cannot be read; [`Error::NotAVideo`] naming what it is
/// (`directory`, `FIFO`, `character device`, `block device`, `socket`) when it is not a
/// regular file.
pub fn regular_file(path: &Path, uri: &str) -> Result<std::fs::Metadata> {
    let meta = std::fs::metadata(path).map_err(|e| Error::NotFound {
        uri: uri.to_owned(),
        source: Some(Box::new(e)),
    })?;
    if meta.is_dir() {
        return Err(Error::NotAVideo {
            uri: uri.to_owned(),
            reason: "is a directory".into(),
            source: None,
        });
    }
    if !meta.is_file() {
        return Err(Error::NotAVideo {
            uri: uri.to_owned(),
            reason: format!("not a regular file ({})", file_kind(&meta.file_type())),
            source: None,
        });
    }
    Ok(meta)
}

/// Open the file at `path` for reading without ever blocking in `open` (non-blocking on Unix,
/// so a FIFO put in the file's place after [`regular_file`] checked it cannot hang), and refuse
/// what is not a regular file once open (`ErrorKind::InvalidInput`, naming what it is).
pub fn open_regular_file(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let t = file.metadata()?.file_type();
    if !t.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file ({})", file_kind(&t)),
        ));
    }
    Ok(file)
}

/// What a file that is not a regular file is, in a few words.
fn file_kind(t: &std::fs::FileType) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Special files are refused by type, naming what they are, without blocking: opening a
    /// FIFO for reading would wait for a writer forever.
    #[cfg(unix)]
    #[test]
    fn special_files_are_refused_without_blocking() {
        let dir = std::env::temp_dir().join(format!("vc-special-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let socket = dir.join("socket");
        let _ = std::fs::remove_file(&socket);
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        for (path, kind) in [
            (fifo.as_path(), "FIFO"),
            (Path::new("/dev/zero"), "character device"),
            (socket.as_path(), "socket"),
            (dir.as_path(), "is a directory"),
        ] {
            let err = FileSource::open(path).unwrap_err();
            match &err {
                Error::NotAVideo { uri, reason, .. } => {
                    assert_eq!(uri, &path.display().to_string());
                    assert!(reason.contains(kind), "{err}");
                }
                other => panic!("{}: {other:?}", path.display()),
            }
        }
        // The non-blocking open itself refuses a FIFO (a FIFO swapped in after the check).
        let e = open_regular_file(&fifo).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("FIFO"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_source_reads_ranges_and_stops_at_the_end() {
        let dir = std::env::temp_dir().join(format!("vc-src-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let src = FileSource::open(&path).unwrap();
        assert_eq!(src.len(), 1000);
        assert_eq!(&src.read_at(10, 20).unwrap()[..], &data[10..30]);
        assert_eq!(&src.read_at(990, 100).unwrap()[..], &data[990..]);
        assert!(src.read_at(1000, 5).unwrap().is_empty());
        assert!(src.read_at(5000, 5).unwrap().is_empty());
        let mut r = ByteReader::new(&src);
        r.seek(SeekFrom::End(-4)).unwrap();
        let mut tail = Vec::new();
        r.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, &data[996..]);
        assert!(r.seek(SeekFrom::Current(-2000)).is_err());
        assert!(matches!(
            FileSource::open(dir.join("missing")),
            Err(Error::NotFound { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

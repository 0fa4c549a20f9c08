//! Where a video's bytes come from: a local file (`filesrc`) or any [`ByteSource`] (`appsrc` in
//! random-access mode, so the demuxer pulls exactly the byte ranges it needs).

use std::io::{Read, Seek};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use video_core::{
    ByteReader, ByteSource, Error, Result, open_regular_file as open_regular, regular_file,
};

use crate::gsterror::make;

/// A read failure of a [`ByteSource`], kept so the pipeline's generic "read error" on the bus
/// can be reported as what actually failed.
pub(crate) type InputError = Arc<Mutex<Option<Error>>>;

/// The input of a pipeline.
#[derive(Clone, Debug)]
pub(crate) enum Input {
    /// A local file, read by `filesrc`.
    File(PathBuf),
    /// Random-access reads through a [`ByteSource`].
    Bytes(Arc<dyn ByteSource>),
}

/// Something to parse a container header from.
pub(crate) trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Where a reader over a [`ByteSource`] keeps the first error the source returned, so that a
/// caller whose parser only sees "could not read" (the header readers answer `None`) can still
/// report the source's own error (a stalled store's [`Error::Timeout`], say) instead of trying
/// again by another route.
pub(crate) type SourceErrorSlot = Arc<Mutex<Option<Error>>>;

/// A reader over a [`ByteSource`] that keeps the source's first error in a [`SourceErrorSlot`].
struct WatchedReader<'a> {
    inner: ByteReader<&'a dyn ByteSource>,
    error: SourceErrorSlot,
}

impl Read for WatchedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let message = e.to_string();
            match e.into_inner().map(|inner| inner.downcast::<Error>()) {
                Some(Ok(source_error)) => {
                    if let Ok(mut slot) = self.error.lock() {
                        slot.get_or_insert(*source_error);
                    }
                    std::io::Error::other(message)
                }
                Some(Err(other)) => std::io::Error::other(other),
                None => std::io::Error::other(message),
            }
        })
    }
}

impl Seek for WatchedReader<'_> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(to)
    }
}

impl Input {
    /// The path or URL, for messages and metadata.
    pub(crate) fn uri(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Bytes(b) => b.uri().to_owned(),
        }
    }

    /// Total size in bytes, when it can be read.
    pub(crate) fn len(&self) -> Option<u64> {
        match self {
            Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Input::Bytes(b) => Some(b.len()),
        }
    }

    /// A reader over the input's bytes, for container header parsing.
    /// A reader of the input that keeps a [`ByteSource`]'s first error in `slot`.
    pub(crate) fn watched_reader(&self, slot: &SourceErrorSlot) -> Option<Box<dyn ReadSeek + '_>> {
        match self {
            Input::File(_) => self.reader(),
            Input::Bytes(b) => Some(Box::new(WatchedReader {
                inner: ByteReader::new(b.as_ref()),
                error: slot.clone(),
            })),
        }
    }

    pub(crate) fn reader(&self) -> Option<Box<dyn ReadSeek + '_>> {
        match self {
            Input::File(p) => open_regular(p)
                .ok()
                .map(|f| Box::new(f) as Box<dyn ReadSeek>),
            Input::Bytes(b) => Some(Box::new(ByteReader::new(b.as_ref()))),
        }
    }

    /// Check the input can be a video before building a pipeline: it exists, is not empty and
    /// is not a format GStreamer handles badly.
    pub(crate) fn check(&self) -> Result<()> {
        let uri = self.uri();
        let head = match self {
            Input::File(path) => {
                let meta = regular_file(path, &uri)?;
                if meta.len() == 0 {
                    return Err(not_a_video(&uri, "the file is empty"));
                }
                let mut head = Vec::with_capacity(6);
                open_regular(path)
                    .and_then(|f| f.take(6).read_to_end(&mut head))
                    .map_err(|e| Error::NotFound {
                        uri: uri.clone(),
                        source: Some(Box::new(e)),
                    })?;
                head
            }
            Input::Bytes(b) => {
                if b.is_empty() {
                    return Err(not_a_video(&uri, "the object is empty"));
                }
                b.read_at(0, 6)?.to_vec()
            }
        };
        if head == b"GIF87a" || head == b"GIF89a" {
            // GStreamer 1.22's GIF demuxer stamps every frame 0 and never ends (it spins).
            return Err(Error::Unsupported {
                uri,
                reason: "animated GIF: GStreamer 1.22's GIF demuxer gives every frame the timestamp 0 and never ends, so frames cannot be identified (the video-gif backend reads GIFs)".into(),
            });
        }
        Ok(())
    }

    /// The source element, and where a [`ByteSource`] read error is kept. Once `stop` is set,
    /// a [`ByteSource`] input reads nothing more and ends the stream.
    pub(crate) fn element(&self, stop: Arc<AtomicBool>) -> Result<(gst::Element, InputError)> {
        let uri = self.uri();
        let failed = InputError::default();
        match self {
            Input::File(path) => {
                let src = make(&uri, "filesrc")?;
                src.set_property("location", path.to_string_lossy().as_ref());
                Ok((src, failed))
            }
            Input::Bytes(bytes) => {
                let total = bytes.len();
                let src = gst_app::AppSrc::builder()
                    .name("bytesource")
                    .stream_type(gst_app::AppStreamType::RandomAccess)
                    .format(gst::Format::Bytes)
                    .size(i64::try_from(total).unwrap_or(i64::MAX))
                    .build();
                // appsrc tells where the next read starts (seek-data) and how much is wanted
                // (need-data); both arrive on the thread that pulls, one request at a time.
                let offset = Arc::new(AtomicU64::new(0));
                let (o2, b2, f2) = (offset.clone(), bytes.clone(), failed.clone());
                src.set_callbacks(
                    gst_app::AppSrcCallbacks::builder()
                        .seek_data(move |_, to| {
                            offset.store(to, Ordering::SeqCst);
                            true
                        })
                        .need_data(move |src, want| {
                            let at = o2.load(Ordering::SeqCst);
                            if at >= total || stop.load(Ordering::SeqCst) {
                                let _ = src.end_of_stream();
                                return;
                            }
                            match b2.read_at(at, want as usize) {
                                Ok(data) if !data.is_empty() => {
                                    o2.store(at + data.len() as u64, Ordering::SeqCst);
                                    let mut buf = gst::Buffer::from_slice(data);
                                    if let Some(b) = buf.get_mut() {
                                        b.set_offset(at);
                                    }
                                    let _ = src.push_buffer(buf);
                                }
                                Ok(_) => {
                                    let _ = src.end_of_stream();
                                }
                                Err(e) => {
                                    let text = e.to_string();
                                    if let Ok(mut f) = f2.lock() {
                                        f.get_or_insert(e);
                                    }
                                    src.post_error_message(gst::error_msg!(
                                        gst::ResourceError::Read,
                                        ["{}", text]
                                    ));
                                    let _ = src.end_of_stream();
                                }
                            }
                        })
                        .build(),
                );
                // Demuxers derive stream ids from the upstream URI (random without one); the
                // decode pass finds the stream the probe chose by its id, so answer with ours.
                if let Some(pad) = src.static_pad("src") {
                    let uri = uri.clone();
                    pad.add_probe(gst::PadProbeType::QUERY_UPSTREAM, move |_, info| {
                        if let Some(gst::PadProbeData::Query(q)) = info.data.as_mut()
                            && let gst::QueryViewMut::Uri(u) = q.view_mut()
                        {
                            u.set_uri(Some(uri.as_str()));
                            return gst::PadProbeReturn::Handled;
                        }
                        gst::PadProbeReturn::Ok
                    });
                }
                Ok((src.upcast(), failed))
            }
        }
    }
}

fn not_a_video(uri: &str, reason: &str) -> Error {
    Error::NotAVideo {
        uri: uri.to_owned(),
        reason: reason.to_owned(),
        source: None,
    }
}

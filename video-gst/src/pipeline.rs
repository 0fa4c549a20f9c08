//! Pipeline plumbing shared by the demux and decode passes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use video_core::{Error, Result};

use crate::gsterror::{backend, from_bus_error, make};
use crate::input::{Input, InputError};

/// Initialise GStreamer once; errors if the library cannot start.
pub(crate) fn init(uri: &str) -> Result<()> {
    gst::init().map_err(|e| Error::Backend {
        backend: "gstreamer",
        uri: Some(uri.to_owned()),
        element: None,
        source: Box::new(e),
    })
}

/// A progress counter the streaming threads bump, so a watcher can tell a stall from slow work.
#[derive(Clone, Debug, Default)]
pub(crate) struct Progress(Arc<AtomicU64>);

impl Progress {
    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Watches a [`Progress`] counter for a stall: [`check`](Self::check) fails with
/// [`Error::Timeout`] once the counter has not moved for longer than the limit.
pub(crate) struct StallWatch<'a> {
    progress: &'a Progress,
    last: u64,
    since: Instant,
}

impl<'a> StallWatch<'a> {
    /// Starts watching `progress` now.
    pub(crate) fn new(progress: &'a Progress) -> Self {
        StallWatch {
            last: progress.get(),
            progress,
            since: Instant::now(),
        }
    }

    /// The counter as last seen.
    pub(crate) fn count(&self) -> u64 {
        self.last
    }

    /// `Ok` while the counter moved less than `limit` ago; a timeout of `operation` on `uri`
    /// otherwise.
    pub(crate) fn check(
        &mut self,
        limit: Duration,
        uri: &str,
        operation: impl std::fmt::Display,
    ) -> Result<()> {
        let now = self.progress.get();
        if now != self.last {
            self.last = now;
            self.since = Instant::now();
        } else if self.since.elapsed() > limit {
            return Err(Error::Timeout {
                uri: uri.to_owned(),
                operation: operation.to_string(),
                waited: self.since.elapsed(),
            });
        }
        Ok(())
    }
}

/// A wall-clock limit on a whole operation (a probe, a decode), beside the stall timeout: the
/// operation fails with [`Error::Timeout`] once it has run this long, progress or not.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    started: Instant,
    limit: Option<Duration>,
}

impl Deadline {
    /// A deadline `limit` from now (none: never).
    pub(crate) fn after(limit: Option<Duration>) -> Self {
        Deadline {
            started: Instant::now(),
            limit,
        }
    }

    /// `Err(Error::Timeout)` naming `uri`, what was being done and the deadline, once it has
    /// passed. `what` is formatted only then (the check runs once per decoded frame).
    pub(crate) fn check(&self, uri: &str, what: impl std::fmt::Display) -> Result<()> {
        match self.limit {
            Some(limit) if self.started.elapsed() >= limit => Err(Error::Timeout {
                uri: uri.to_owned(),
                operation: format!("{what}, past the deadline of {limit:?}"),
                waited: self.started.elapsed(),
            }),
            _ => Ok(()),
        }
    }
}

/// Owns a pipeline and sets it to NULL when dropped, on every path.
#[derive(Debug)]
pub(crate) struct PipelineGuard {
    pub(crate) pipeline: gst::Pipeline,
    pub(crate) uri: String,
    /// A read error of the input, reported instead of the bus's generic one.
    pub(crate) input_error: InputError,
}

impl Drop for PipelineGuard {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
        // Sinks kept out of the pipeline's state changes (see `discard`) are stopped by hand.
        for el in self.pipeline.iterate_elements().into_iter().flatten() {
            if el.is_locked_state() {
                let _ = el.set_state(gst::State::Null);
            }
        }
    }
}

impl PipelineGuard {
    /// The error for a bus error message: the input's own read error when there is one.
    fn error_of(&self, e: &gst::message::Error) -> Error {
        self.input_error
            .lock()
            .ok()
            .and_then(|mut f| f.take())
            .unwrap_or_else(|| from_bus_error(&self.uri, e))
    }

    /// Change state; on failure, report the error the bus holds (the return value only says
    /// "failed").
    pub(crate) fn set_state(&self, state: gst::State) -> Result<()> {
        match self.pipeline.set_state(state) {
            Ok(_) => Ok(()),
            Err(_) => Err(self
                .bus_error(Duration::from_millis(200))
                .unwrap_or_else(|| {
                    backend(
                        &self.uri,
                        None,
                        format!("failed to change the pipeline state to {state:?}"),
                    )
                })),
        }
    }

    /// The first error message on the bus, waiting at most `wait`.
    pub(crate) fn bus_error(&self, wait: Duration) -> Option<Error> {
        let bus = self.pipeline.bus()?;
        let msg = bus.timed_pop_filtered(
            gst::ClockTime::from_nseconds(wait.as_nanos() as u64),
            &[gst::MessageType::Error],
        )?;
        match msg.view() {
            gst::MessageView::Error(e) => Some(self.error_of(e)),
            _ => None,
        }
    }

    /// Drain pending bus messages: an error becomes `Err`, EOS is reported as `Ok(true)`.
    pub(crate) fn poll_bus(&self) -> Result<bool> {
        let Some(bus) = self.pipeline.bus() else {
            return Ok(false);
        };
        let mut eos = false;
        while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error, gst::MessageType::Eos]) {
            match msg.view() {
                gst::MessageView::Error(e) => return Err(self.error_of(e)),
                gst::MessageView::Eos(_) => eos = true,
                _ => {}
            }
        }
        Ok(eos)
    }

    /// Tell [`wait_eos`](Self::wait_eos) to return now, as if the stream had ended (from any
    /// thread; the pipeline goes on until dropped).
    pub(crate) fn done(pipeline: &gst::Pipeline) {
        let msg = gst::message::Application::new(gst::Structure::new_empty(DONE));
        let _ = pipeline.post_message(msg);
    }

    /// Wait for EOS (or [`done`](Self::done)), failing on a bus error, when `progress` stops
    /// moving for `stall`, or when `deadline` passes.
    /// Before any progress at all, `first` is the limit instead of `stall`.
    pub(crate) fn wait_eos(
        &self,
        progress: &Progress,
        stall: Duration,
        first: Duration,
        what: &str,
        deadline: Deadline,
    ) -> Result<()> {
        let bus = self
            .pipeline
            .bus()
            .ok_or_else(|| backend(&self.uri, None, "pipeline has no bus"))?;
        let mut watch = StallWatch::new(progress);
        loop {
            deadline.check(&self.uri, what)?;
            if let Some(msg) = bus.timed_pop_filtered(
                gst::ClockTime::from_mseconds(50),
                &[
                    gst::MessageType::Error,
                    gst::MessageType::Eos,
                    gst::MessageType::Application,
                ],
            ) {
                match msg.view() {
                    gst::MessageView::Error(e) => return Err(self.error_of(e)),
                    gst::MessageView::Eos(_) => return Ok(()),
                    gst::MessageView::Application(a)
                        if a.structure().is_some_and(|s| s.name() == DONE) =>
                    {
                        return Ok(());
                    }
                    _ => {}
                }
            }
            let limit = if watch.count() == 0 { first } else { stall };
            watch.check(limit, &self.uri, what)?;
        }
    }
}

/// Name of the application message that ends [`PipelineGuard::wait_eos`] early.
const DONE: &str = "video-dataset-done";

/// Build `<source> ! typefind ! parsebin` in a new pipeline. The typefind element is returned
/// so its caps can be read; `on_pad` is called for every stream parsebin exposes. Once
/// `stop_reading` is set, a [`ByteSource`](video_core::ByteSource) input reads nothing more
/// (the demuxer sees the end of the stream).
pub(crate) fn parse_pipeline(
    input: &Input,
    stop_reading: Arc<std::sync::atomic::AtomicBool>,
    on_pad: impl Fn(&gst::Pipeline, &gst::Pad) + Send + Sync + 'static,
) -> Result<(PipelineGuard, gst::Element)> {
    let uri = input.uri();
    init(&uri)?;
    let (src, input_error) = input.element(stop_reading)?;
    let pipeline = gst::Pipeline::new();
    let guard = PipelineGuard {
        pipeline: pipeline.clone(),
        uri: uri.clone(),
        input_error,
    };
    let typefind = make(&uri, "typefind")?;
    let parsebin = make(&uri, "parsebin")?;
    pipeline
        .add_many([&src, &typefind, &parsebin])
        .map_err(|e| backend(&uri, None, e.to_string()))?;
    gst::Element::link_many([&src, &typefind, &parsebin])
        .map_err(|e| backend(&uri, Some("parsebin"), e.to_string()))?;
    // Parsers parsebin plugs: H.264/HEVC in MP4 stored as Annex-B (start codes, no avcC/hvcC)
    // is declared to them as byte-stream, which is what it is.
    pipeline.connect_deep_element_added(|_, _, element| {
        if element.factory().is_some_and(|f| f.name() == "avidemux") {
            // Runs before parsebin's own handler (connected after the element was added), so
            // parsebin sees the codec and plugs its parser.
            element.connect_pad_added(|_, pad| name_avi_fourcc(pad));
            return;
        }
        let is_parser = element
            .factory()
            .is_some_and(|f| matches!(f.name().as_str(), "h264parse" | "h265parse"));
        if is_parser && let Some(sinkpad) = element.static_pad("sink") {
            sinkpad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, |_, info| {
                if let Some(gst::PadProbeData::Event(ev)) = &mut info.data
                    && let gst::EventView::Caps(c) = ev.view()
                    && let Some(caps) = annex_b_caps(c.caps())
                {
                    *ev = gst::event::Caps::new(&caps);
                }
                gst::PadProbeReturn::Ok
            });
        }
    });
    let weak = pipeline.downgrade();
    parsebin.connect_pad_added(move |_, pad| {
        if let Some(p) = weak.upgrade() {
            on_pad(&p, pad);
        }
    });
    Ok((guard, typefind))
}

/// avidemux 1.22 has no mapping for the AV1 and VP9 FourCCs (`AV01`, `VP90`) and exposes such
/// streams as `video/x-avi-unknown`: name the codec on the pad (its sticky caps now, its caps
/// events later), so the stream is parsed and decoded like AV1 or VP9 in any other container.
fn name_avi_fourcc(pad: &gst::Pad) {
    let rename = |caps: &gst::CapsRef| -> Option<gst::Caps> {
        let s = caps.structure(0)?;
        if s.name() != "video/x-avi-unknown" {
            return None;
        }
        let fourcc = s.get::<i32>("fourcc").ok()?.to_le_bytes();
        let name = match &fourcc.map(|b| b.to_ascii_uppercase()) {
            b"AV01" => "video/x-av1",
            b"VP90" => "video/x-vp9",
            _ => return None,
        };
        let mut out = gst::Caps::builder(name);
        for field in ["width", "height", "framerate", "pixel-aspect-ratio"] {
            if let Ok(v) = s.value(field) {
                out = out.field(field, v.clone());
            }
        }
        Some(out.build())
    };
    pad.sticky_events_foreach(|ev| {
        if let gst::EventView::Caps(c) = ev.view()
            && let Some(caps) = rename(c.caps())
        {
            return std::ops::ControlFlow::Continue(gst::EventForeachAction::Replace(
                gst::event::Caps::new(&caps),
            ));
        }
        std::ops::ControlFlow::Continue(gst::EventForeachAction::Keep)
    });
    pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        if let Some(gst::PadProbeData::Event(ev)) = &mut info.data
            && let gst::EventView::Caps(c) = ev.view()
            && let Some(caps) = rename(c.caps())
        {
            *ev = gst::event::Caps::new(&caps);
        }
        gst::PadProbeReturn::Ok
    });
}

/// The caps to give a parser instead of `caps` when they declare H.264 or HEVC in the MP4
/// layout (`avc`, `hvc1`, `hev1`: length-prefixed NAL units, set-up in `codec_data`) but carry
/// no `codec_data`: such a track (`annex-b.mp4` in the corpus) stores its samples in Annex-B
/// form, with start codes and the parameter sets in-band, as FFmpeg detects. Said to be
/// `byte-stream`, the parser reads them; as they are, it refuses the caps and qtdemux stops
/// with "not-negotiated".
fn annex_b_caps(caps: &gst::CapsRef) -> Option<gst::Caps> {
    let s = caps.structure(0)?;
    let mp4_layout = matches!(
        (s.name().as_str(), s.get::<&str>("stream-format").ok()),
        ("video/x-h264", Some("avc" | "avc3")) | ("video/x-h265", Some("hvc1" | "hev1"))
    );
    let no_setup = match s.get::<gst::Buffer>("codec_data") {
        Ok(b) => b.size() == 0,
        Err(_) => true,
    };
    if !(mp4_layout && no_setup) {
        return None;
    }
    let mut out = caps.to_owned();
    let st = out.make_mut().structure_mut(0)?;
    st.remove_field("codec_data");
    st.set("stream-format", "byte-stream");
    Some(out)
}

/// Swallow a stream we do not want: link it to a `fakesink` kept in PLAYING whatever the
/// pipeline's state, so it never prerolls (a prerolling sink would block the demuxer's thread
/// while the pipeline is PAUSED, before the wanted stream prerolls).
pub(crate) fn discard(pipeline: &gst::Pipeline, pad: &gst::Pad) {
    let Ok(sink) = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .property("async", false)
        .build()
    else {
        return;
    };
    sink.set_locked_state(true);
    if pipeline.add(&sink).is_err() {
        return;
    }
    let _ = sink.set_state(gst::State::Playing);
    if let Some(sinkpad) = sink.static_pad("sink") {
        let _ = pad.link(&sinkpad);
    }
}

/// Which video stream of a demuxed input a pipeline takes: the one with this stream id, else
/// the `index`-th video pad to appear. Shared by the pad-added callback of a pipeline.
#[derive(Debug, Default)]
pub(crate) struct VideoChoice {
    /// The wanted stream's id, when known.
    pub(crate) stream_id: Option<String>,
    /// The wanted stream's ordinal among the video pads, without an id.
    pub(crate) index: usize,
    /// Video pads seen so far.
    seen: std::sync::Mutex<usize>,
}

impl VideoChoice {
    /// Takes the stream with id `stream_id`, else the `index`-th video pad.
    pub(crate) fn new(stream_id: Option<String>, index: usize) -> Self {
        VideoChoice {
            stream_id,
            index,
            seen: std::sync::Mutex::new(0),
        }
    }

    /// Whether `pad` is the chosen video stream; any other pad is [`discard`]ed.
    pub(crate) fn take(&self, pipeline: &gst::Pipeline, pad: &gst::Pad) -> bool {
        let Some(caps) = pad_caps(pad) else {
            discard(pipeline, pad);
            return false;
        };
        if !is_video(&caps) {
            discard(pipeline, pad);
            return false;
        }
        let ordinal = {
            let Ok(mut n) = self.seen.lock() else {
                return false;
            };
            *n += 1;
            *n - 1
        };
        let chosen = match &self.stream_id {
            Some(id) => pad.stream_id().is_some_and(|s| s.as_str() == id),
            None => ordinal == self.index,
        };
        if !chosen {
            discard(pipeline, pad);
        }
        chosen
    }
}

/// The kind of stream a pad carries, from its caps.
pub(crate) fn pad_caps(pad: &gst::Pad) -> Option<gst::Caps> {
    pad.current_caps().or_else(|| Some(pad.query_caps(None)))
}

/// Whether the caps are of a video stream (including undecodable AVI ones).
pub(crate) fn is_video(caps: &gst::CapsRef) -> bool {
    caps.structure(0).is_some_and(|s| {
        let n = s.name().as_str();
        n.starts_with("video/") || n == "image/jpeg" || n == "image/gif" || n == "image/png"
    })
}

/// Whether the caps are of an audio stream.
pub(crate) fn is_audio(caps: &gst::CapsRef) -> bool {
    caps.structure(0)
        .is_some_and(|s| s.name().as_str().starts_with("audio/"))
}

/// The container's short name from typefind caps.
pub(crate) fn container_name(caps: Option<&gst::CapsRef>) -> String {
    let Some(s) = caps.and_then(|c| c.structure(0)) else {
        return "unknown".into();
    };
    match s.name().as_str() {
        "video/quicktime" => match s.get::<String>("variant").ok().as_deref() {
            Some("iso") | Some("iso-fragmented") => "mp4".into(),
            _ => "mov".into(),
        },
        "video/x-matroska" => "matroska".into(),
        "video/webm" => "webm".into(),
        "video/x-msvideo" => "avi".into(),
        "video/mpegts" => "mpegts".into(),
        "video/mpeg" => "mpeg-ps".into(),
        "image/gif" => "gif".into(),
        "video/x-flv" => "flv".into(),
        "application/ogg" => "ogg".into(),
        other => other.to_owned(),
    }
}

//! The encode pipeline:
//!
//! `appsrc [! videoflip] ! videoscale ! videoconvert ! capsfilter ! <encoder> ! capsfilter !
//! h264parse ! mp4mux ! filesink`, and with audio `<source> ! typefind ! parsebin`, its first
//! audio stream cut to the map's time and `queue ! aacparse` (AAC) or `queue ! <decoder> !
//! audioconvert ! audioresample ! <aac encoder>` into the same `mp4mux`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use video_core::{Error, Result};

use super::{AudioOutcome, RateControl, TranscodeOptions, aac_encoder};
use crate::gsterror::{backend, make};
use crate::input::Input;
use crate::pipeline::{PipelineGuard, Progress, discard, init, is_audio, pad_caps, parse_pipeline};

/// The source time an audio stream is cut to, and where it goes in the output.
#[derive(Clone, Copy, Debug)]
pub(super) struct AudioWindow {
    /// Source stream time of the output's first frame.
    pub(super) from: gst::ClockTime,
    /// Source stream time where the output ends.
    pub(super) to: gst::ClockTime,
    /// Output time of `from`.
    pub(super) out_at: gst::ClockTime,
}

/// What the pipeline is built from.
pub(super) struct Spec<'a> {
    pub(super) uri: &'a str,
    pub(super) input: &'a Input,
    /// Caps of the frames pushed into the appsrc.
    pub(super) caps: gst::Caps,
    /// `videoflip` method that applies the rotation, when it is applied.
    pub(super) flip: Option<&'static str>,
    /// Encoded size.
    pub(super) size: (u32, u32),
    pub(super) encoder: &'a str,
    pub(super) options: &'a TranscodeOptions,
    /// Most frames between key frames.
    pub(super) key_int_max: u32,
    /// Track timescale to ask of the muxer (variable frame rates), or automatic.
    pub(super) timescale: Option<u32>,
    pub(super) audio: Option<AudioWindow>,
    /// The file written.
    pub(super) location: &'a Path,
    /// Bytes the appsrc may queue.
    pub(super) queue_bytes: u64,
}

/// The built pipeline and what its handlers report.
pub(super) struct Graph {
    pub(super) guard: PipelineGuard,
    pub(super) appsrc: gst_app::AppSrc,
    /// Set by the appsrc's need-data, waited on while its queue is full.
    pub(super) room: Arc<(Mutex<bool>, Condvar)>,
    /// Buffers into the encoder and out of the parser: a stall is no change here.
    pub(super) progress: Progress,
    /// Encoded video frames out of the parser.
    pub(super) encoded: Arc<AtomicU64>,
    /// The filesink received the end of the stream: the file is complete.
    pub(super) finished: Arc<AtomicBool>,
    /// A failure of the audio branch (linked on a streaming thread).
    pub(super) failure: Arc<Mutex<Option<Error>>>,
    pub(super) audio: Arc<Mutex<AudioOutcome>>,
}

impl Graph {
    /// Start the pipeline.
    pub(super) fn start(&self) -> Result<()> {
        self.guard.set_state(gst::State::Playing)
    }

    /// The first failure of a handler or on the bus.
    pub(super) fn check(&self) -> Result<bool> {
        if let Some(e) = self.failure.lock().ok().and_then(|mut f| f.take()) {
            return Err(e);
        }
        self.guard.poll_bus()
    }
}

pub(super) fn build(spec: &Spec<'_>) -> Result<Graph> {
    let uri = spec.uri;
    init(uri)?;
    let stop = Arc::new(AtomicBool::new(false));
    let failure: Arc<Mutex<Option<Error>>> = Arc::default();
    let audio = Arc::new(Mutex::new(AudioOutcome::None));
    let mux = make(uri, "mp4mux")?;
    mux.set_property("faststart", true);
    let guard = match spec.audio {
        Some(window) => audio_source(spec, &mux, window, &stop, &failure, &audio)?,
        None => PipelineGuard {
            pipeline: gst::Pipeline::new(),
            uri: uri.to_owned(),
            input_error: Default::default(),
        },
    };
    let pipeline = guard.pipeline.clone();

    let room = Arc::new((Mutex::new(false), Condvar::new()));
    let room2 = room.clone();
    let appsrc = gst_app::AppSrc::builder()
        .caps(&spec.caps)
        .format(gst::Format::Time)
        .stream_type(gst_app::AppStreamType::Stream)
        .is_live(false)
        .block(false)
        .max_bytes(spec.queue_bytes)
        .callbacks(
            gst_app::AppSrcCallbacks::builder()
                .need_data(move |_, _| {
                    let (lock, cvar) = &*room2;
                    if let Ok(mut r) = lock.lock() {
                        *r = true;
                    }
                    cvar.notify_all();
                })
                .build(),
        )
        .build();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1);
    let mut chain: Vec<gst::Element> = vec![appsrc.clone().upcast()];
    if let Some(method) = spec.flip {
        let flip = make(uri, "videoflip")?;
        flip.set_property_from_str("method", method);
        chain.push(flip);
    }
    for name in ["videoscale", "videoconvert"] {
        let e = make(uri, name)?;
        if e.has_property("n-threads") {
            e.set_property("n-threads", threads);
        }
        chain.push(e);
    }
    let raw = make(uri, "capsfilter")?;
    raw.set_property(
        "caps",
        gst::Caps::builder("video/x-raw")
            .field("format", "I420")
            .field("width", i32::try_from(spec.size.0).unwrap_or(i32::MAX))
            .field("height", i32::try_from(spec.size.1).unwrap_or(i32::MAX))
            .build(),
    );
    chain.push(raw);
    let encoder = make(uri, spec.encoder)?;
    configure_encoder(&encoder, spec.encoder, spec.options, spec.key_int_max);
    chain.push(encoder.clone());
    let coded = make(uri, "capsfilter")?;
    let mut h264 = gst::Caps::builder("video/x-h264");
    if spec.encoder == "x264enc" {
        h264 = h264.field("profile", "high");
    }
    coded.set_property("caps", h264.build());
    chain.push(coded);
    let parse = make(uri, "h264parse")?;
    chain.push(parse.clone());
    let sink = make(uri, "filesink")?;
    sink.set_property("location", spec.location.to_string_lossy().as_ref());
    sink.set_property("sync", false);
    pipeline
        .add_many(chain.iter().chain([&mux, &sink]))
        .map_err(|e| backend(uri, None, e.to_string()))?;
    gst::Element::link_many(&chain).map_err(|e| backend(uri, Some(spec.encoder), e.to_string()))?;
    mux.link(&sink)
        .map_err(|e| backend(uri, Some("mp4mux"), e.to_string()))?;
    let video_pad = mux
        .request_pad_simple("video_%u")
        .ok_or_else(|| backend(uri, Some("mp4mux"), "no video pad"))?;
    if let Some(scale) = spec.timescale {
        video_pad.set_property("trak-timescale", scale);
    }
    parse
        .static_pad("src")
        .ok_or_else(|| backend(uri, Some("h264parse"), "no source pad"))?
        .link(&video_pad)
        .map_err(|e| backend(uri, Some("mp4mux"), format!("{e:?}")))?;

    let progress = Progress::default();
    let encoded = Arc::new(AtomicU64::new(0));
    if let Some(pad) = encoder.static_pad("sink") {
        let p = progress.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            p.bump();
            gst::PadProbeReturn::Ok
        });
    }
    if let Some(pad) = parse.static_pad("src") {
        let (p, n) = (progress.clone(), encoded.clone());
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            p.bump();
            n.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    }
    let finished = Arc::new(AtomicBool::new(false));
    if let Some(pad) = sink.static_pad("sink") {
        let f = finished.clone();
        let stop = stop.clone();
        let p = progress.clone();
        // Writing is progress too: with faststart, mp4mux copies all the media data out of its
        // temporary file after the last frame.
        pad.add_probe(
            gst::PadProbeType::EVENT_DOWNSTREAM | gst::PadProbeType::BUFFER,
            move |_, info| {
                match &info.data {
                    Some(gst::PadProbeData::Buffer(_)) => p.bump(),
                    Some(gst::PadProbeData::Event(ev)) if ev.type_() == gst::EventType::Eos => {
                        f.store(true, Ordering::SeqCst);
                        stop.store(true, Ordering::SeqCst);
                    }
                    _ => {}
                }
                gst::PadProbeReturn::Ok
            },
        );
    }
    Ok(Graph {
        guard,
        appsrc,
        room,
        progress,
        encoded,
        finished,
        failure,
        audio,
    })
}

/// The encoder's settings from the options: x264enc in full, openh264enc what it has, any
/// other element only its key frame distance when it has `key-int-max`.
fn configure_encoder(enc: &gst::Element, name: &str, o: &TranscodeOptions, key_int_max: u32) {
    match name {
        "x264enc" => {
            enc.set_property_from_str("speed-preset", o.speed_preset.name());
            match o.quality {
                RateControl::ConstantQuality(q) => {
                    enc.set_property_from_str("pass", "qual");
                    set_number(enc, "quantizer", u64::from(q));
                    // x264enc caps constant quality with a VBV of its `bitrate` (2 Mbit/s by
                    // default), which libx264's CRF does not have: no buffer, no cap.
                    set_number(enc, "vbv-buf-capacity", 0);
                }
                RateControl::Bitrate(kbit) => {
                    enc.set_property_from_str("pass", "cbr");
                    set_number(enc, "bitrate", u64::from(kbit));
                }
            }
            set_number(enc, "key-int-max", u64::from(key_int_max));
        }
        "openh264enc" => {
            set_number(enc, "gop-size", u64::from(key_int_max));
            if let RateControl::Bitrate(kbit) = o.quality {
                set_number(enc, "bitrate", u64::from(kbit) * 1000);
            }
        }
        _ => set_number(enc, "key-int-max", u64::from(key_int_max)),
    }
}

/// Set an integer property of whatever integer type it has, when the element has it and the
/// value fits (never a panic on a foreign element).
fn set_number(e: &gst::Element, name: &str, v: u64) {
    let Some(spec) = e.find_property(name) else {
        return;
    };
    let t = spec.value_type();
    if t == u32::static_type() {
        if let Ok(v) = u32::try_from(v) {
            e.set_property(name, v);
        }
    } else if t == i32::static_type() {
        if let Ok(v) = i32::try_from(v) {
            e.set_property(name, v);
        }
    } else if t == u64::static_type() {
        e.set_property(name, v);
    } else if t == i64::static_type()
        && let Ok(v) = i64::try_from(v)
    {
        e.set_property(name, v);
    }
}

/// Build `<source> ! typefind ! parsebin` in a new pipeline whose first audio stream is cut to
/// `window` and linked to a request pad of `mux`; every other stream is discarded.
fn audio_source(
    spec: &Spec<'_>,
    mux: &gst::Element,
    window: AudioWindow,
    stop: &Arc<AtomicBool>,
    failure: &Arc<Mutex<Option<Error>>>,
    audio: &Arc<Mutex<AudioOutcome>>,
) -> Result<PipelineGuard> {
    let uri = spec.uri.to_owned();
    let mux_pad = mux
        .request_pad_simple("audio_%u")
        .ok_or_else(|| backend(&uri, Some("mp4mux"), "no audio pad"))?;
    let linked = Arc::new(AtomicBool::new(false));
    let (l2, f2, a2, p2, s2, u2) = (
        linked.clone(),
        failure.clone(),
        audio.clone(),
        mux_pad.clone(),
        stop.clone(),
        uri.clone(),
    );
    let (guard, _typefind) = parse_pipeline(spec.input, stop.clone(), move |pipeline, pad| {
        let Some(caps) = pad_caps(pad) else {
            return discard(pipeline, pad);
        };
        if !is_audio(&caps) || l2.swap(true, Ordering::SeqCst) {
            return discard(pipeline, pad);
        }
        match link_audio(&u2, pipeline, pad, &caps, &p2, window, &s2) {
            Ok(outcome) => {
                if let Ok(mut a) = a2.lock() {
                    *a = outcome;
                }
            }
            Err(e) => {
                if let Ok(mut f) = f2.lock() {
                    f.get_or_insert(e);
                }
            }
        }
    })?;
    // A source whose audio parsebin does not expose: the muxer must not wait for it.
    let parsebin = guard
        .pipeline
        .iterate_elements()
        .into_iter()
        .flatten()
        .find(|e| e.factory().is_some_and(|f| f.name() == "parsebin"));
    if let Some(parsebin) = parsebin {
        let mux = mux.clone();
        parsebin.connect_no_more_pads(move |_| {
            if !linked.load(Ordering::SeqCst) {
                mux.release_request_pad(&mux_pad);
            }
        });
    }
    Ok(guard)
}

/// Link the audio stream on `pad` to `mux_pad`: AAC copied, anything else encoded to AAC.
fn link_audio(
    uri: &str,
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    caps: &gst::Caps,
    mux_pad: &gst::Pad,
    window: AudioWindow,
    stop: &Arc<AtomicBool>,
) -> Result<AudioOutcome> {
    let s = caps
        .structure(0)
        .ok_or_else(|| backend(uri, None, "audio stream without caps"))?;
    let is_aac = s.name() == "audio/mpeg" && s.get::<i32>("mpegversion").ok() == Some(4);
    let queue = make(uri, "queue")?;
    let mut chain = vec![queue.clone()];
    let outcome = if is_aac {
        chain.push(make(uri, "aacparse")?);
        AudioOutcome::Copied
    } else {
        let factory = audio_decoder(caps).ok_or_else(|| {
            let (codec, element, package) = crate::gsterror::codec_of(caps);
            Error::UnsupportedCodec {
                uri: uri.to_owned(),
                codec,
                element: element.map(str::to_owned),
                package: package.map(str::to_owned),
            }
        })?;
        let decoder = factory
            .create()
            .build()
            .map_err(|e| backend(uri, Some(factory.name().as_str()), e.to_string()))?;
        chain.push(decoder);
        chain.push(make(uri, "audioconvert")?);
        chain.push(make(uri, "audioresample")?);
        chain.push(make(uri, aac_encoder()?)?);
        AudioOutcome::Reencoded {
            from: audio_codec_name(s),
        }
    };
    pipeline
        .add_many(&chain)
        .map_err(|e| backend(uri, None, e.to_string()))?;
    gst::Element::link_many(&chain).map_err(|e| backend(uri, None, e.to_string()))?;
    let last = chain
        .last()
        .and_then(|e| e.static_pad("src"))
        .ok_or_else(|| backend(uri, None, "audio branch without source pad"))?;
    last.link(mux_pad)
        .map_err(|e| backend(uri, Some("mp4mux"), format!("cannot link the audio: {e:?}")))?;
    for e in &chain {
        e.sync_state_with_parent()
            .map_err(|e| backend(uri, None, e.to_string()))?;
    }
    clip_audio(pad, window, stop.clone());
    let sinkpad = queue
        .static_pad("sink")
        .ok_or_else(|| backend(uri, Some("queue"), "no sink pad"))?;
    pad.link(&sinkpad)
        .map_err(|e| backend(uri, None, format!("cannot link the audio stream: {e:?}")))?;
    Ok(outcome)
}

/// Audio decoders for `caps`, best first.
fn audio_decoder(caps: &gst::CapsRef) -> Option<gst::ElementFactory> {
    let mut list: Vec<gst::ElementFactory> = gst::ElementFactory::factories_with_type(
        gst::ElementFactoryType::DECODER | gst::ElementFactoryType::MEDIA_AUDIO,
        gst::Rank::MARGINAL,
    )
    .into_iter()
    .filter(|f| f.can_sink_any_caps(caps))
    .collect();
    // Decoders that take every variant of the caps first (an MP3 stream's pad may not name
    // its layer yet, and an MPEG-1 layer 1 decoder accepts some of `audio/mpeg, mpegversion=1`).
    list.sort_by_key(|f| std::cmp::Reverse((f.can_sink_all_caps(caps), f.rank())));
    list.into_iter().next()
}

/// A short codec name for audio caps (`mp3`, `opus`, `vorbis`, `ac3`, …).
fn audio_codec_name(s: &gst::StructureRef) -> String {
    match (s.name().as_str(), s.get::<i32>("mpegversion").ok()) {
        ("audio/mpeg", Some(1)) => match s.get::<i32>("layer").ok() {
            Some(2) => "mp2".into(),
            _ => "mp3".into(),
        },
        (name, _) => name
            .trim_start_matches("audio/")
            .trim_start_matches("x-")
            .to_owned(),
    }
}

/// Where the clip of an audio stream is.
const RUNNING: u8 = 0;
const ENDING: u8 = 1;
const ENDED: u8 = 2;

/// Cut the stream on `pad` to `window`: buffers are identified by stream time, dropped outside
/// the window and re-stamped to output time; the segment becomes a plain one from 0; past the
/// end the branch gets its EOS at once and the source stops reading (a byte source).
fn clip_audio(pad: &gst::Pad, window: AudioWindow, stop: Arc<AtomicBool>) {
    let segment: Mutex<Option<gst::FormattedSegment<gst::ClockTime>>> = Mutex::new(None);
    let state = AtomicU8::new(RUNNING);
    // A packet that starts this little before the window is kept (container rounding).
    let slack = gst::ClockTime::from_mseconds(1);
    pad.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |pad, info| {
            match &mut info.data {
                Some(gst::PadProbeData::Event(ev)) => match ev.view() {
                    gst::EventView::Segment(s) => {
                        if let Ok(mut seg) = segment.lock() {
                            *seg = s.segment().downcast_ref::<gst::ClockTime>().cloned();
                        }
                        let plain = gst::FormattedSegment::<gst::ClockTime>::new();
                        *ev = gst::event::Segment::new(&plain);
                    }
                    gst::EventView::Eos(_) if state.load(Ordering::SeqCst) == ENDED => {
                        return gst::PadProbeReturn::Drop;
                    }
                    _ => {}
                },
                Some(gst::PadProbeData::Buffer(buffer)) => {
                    if state.load(Ordering::SeqCst) != RUNNING {
                        return gst::PadProbeReturn::Drop;
                    }
                    let Some(pts) = buffer.pts() else {
                        return gst::PadProbeReturn::Drop;
                    };
                    let st = match segment.lock().ok().and_then(|s| s.clone()) {
                        Some(seg) => seg.to_stream_time(pts),
                        None => Some(pts),
                    };
                    let Some(st) = st else {
                        return gst::PadProbeReturn::Drop;
                    };
                    if st >= window.to {
                        state.store(ENDING, Ordering::SeqCst);
                        let _ = pad.push_event(gst::event::Eos::new());
                        state.store(ENDED, Ordering::SeqCst);
                        stop.store(true, Ordering::SeqCst);
                        return gst::PadProbeReturn::Drop;
                    }
                    if st + slack < window.from {
                        return gst::PadProbeReturn::Drop;
                    }
                    let out = window.out_at + st.saturating_sub(window.from);
                    let b = buffer.make_mut();
                    b.set_pts(out);
                    b.set_dts(out);
                }
                _ => {}
            }
            gst::PadProbeReturn::Ok
        },
    );
}

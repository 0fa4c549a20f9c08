//! The decode pipeline: `<source> ! typefind ! parsebin ! <decoder> [! videoflip ! videoconvert
//! [! videoscale] ! capsfilter] ! appsink` for the chosen video stream.

use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use video_core::{Error, Result};

use super::md5::Md5Tap;
use super::options::{DecodeOptions, Orientation, OutputFormat};
use super::skip::SkipTap;
use crate::gsterror::{backend, codec_of, make};
use crate::input::Input;
use crate::pipeline::{PipelineGuard, Progress, pad_caps, parse_pipeline};

/// The sink end of a decode pipeline and what the pad-added handler reports.
pub(super) struct Graph {
    pub(super) guard: PipelineGuard,
    pub(super) appsink: gst_app::AppSink,
    pub(super) failure: Arc<Mutex<Option<Error>>>,
    /// Frames out of the decoder.
    pub(super) decoded: Progress,
    /// The md5 of the targets' native planes, with [`DecodeOptions::framemd5`].
    pub(super) md5: Option<Arc<Md5Tap>>,
    /// Counts (and with [`DecodeOptions::skip_unreferenced`] drops) what enters the decoder.
    pub(super) skip: Option<Arc<SkipTap>>,
}

impl Graph {
    /// The first failure of the pad-added handler or on the bus.
    pub(super) fn check(&self) -> Result<()> {
        if let Some(e) = self.failure.lock().ok().and_then(|mut f| f.take()) {
            return Err(e);
        }
        self.guard.poll_bus().map(|_| ())
    }
}

/// Build `filesrc ! typefind ! parsebin ! <decoder> [...] ! appsink` for the chosen stream.
#[allow(clippy::too_many_arguments)]
pub(super) fn build_graph(
    input: &Input,
    uri: &str,
    want_id: Option<String>,
    want_index: usize,
    opts: DecodeOptions,
    size: (u32, u32),
    oriented: bool,
    md5: Option<Arc<Md5Tap>>,
    skip: Option<Arc<SkipTap>>,
) -> Result<Graph> {
    let uri_owned = uri.to_owned();
    let appsink = gst_app::AppSink::builder()
        .sync(false)
        // One decoded picture waits while the previous one is converted: at 4K each is 12 MB
        // of the decoder's output pool.
        .max_buffers(1)
        .drop(false)
        .enable_last_sample(false)
        .build();
    let failure: Arc<Mutex<Option<Error>>> = Arc::default();
    let decoded = Progress::default();
    let choice = crate::pipeline::VideoChoice::new(want_id, want_index);
    let branch_sink = appsink.clone();
    let (f2, d2, m2, s2) = (failure.clone(), decoded.clone(), md5.clone(), skip.clone());
    let (guard, _typefind) = parse_pipeline(input, Arc::default(), move |pipeline, pad| {
        if !choice.take(pipeline, pad) {
            return;
        }
        let Some(caps) = pad_caps(pad) else {
            return;
        };
        if let Err(e) = link_branch(
            &uri_owned,
            pipeline,
            pad,
            &caps,
            &branch_sink,
            &opts,
            size,
            oriented,
            &d2,
            m2.as_ref(),
            s2.as_ref(),
        ) && let Ok(mut f) = f2.lock()
        {
            *f = Some(e);
        }
    })?;
    guard
        .pipeline
        .add(&appsink)
        .map_err(|e| backend(uri, Some("appsink"), e.to_string()))?;
    Ok(Graph {
        guard,
        appsink,
        failure,
        decoded,
        md5,
        skip,
    })
}

/// Width and height in the stream's caps, when they say.
fn coded_size(caps: &gst::CapsRef) -> Option<(u32, u32)> {
    let s = caps.structure(0)?;
    let w = s.get::<i32>("width").ok()?;
    let h = s.get::<i32>("height").ok()?;
    Some((u32::try_from(w).ok()?, u32::try_from(h).ok()?))
}

/// Decoder factories for `caps`, best first. Alpha-combining bins are skipped: they fail on
/// streams that flag alpha but carry none, and the colour planes are the same without them.
fn decoders_for(caps: &gst::CapsRef) -> Vec<gst::ElementFactory> {
    let mut list: Vec<gst::ElementFactory> = gst::ElementFactory::factories_with_type(
        gst::ElementFactoryType::DECODER,
        gst::Rank::MARGINAL,
    )
    .into_iter()
    .filter(|f| {
        let klass = f.klass();
        (klass.contains("Video") || klass.contains("Image"))
            && !f.name().contains("alpha")
            && f.can_sink_any_caps(caps)
    })
    .collect();
    list.sort_by_key(|f| std::cmp::Reverse(f.rank()));
    list
}

/// Link the chosen stream: decoder, optional flip/convert/scale, into the appsink.
#[allow(clippy::too_many_arguments)]
fn link_branch(
    uri: &str,
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    caps: &gst::Caps,
    appsink: &gst_app::AppSink,
    opts: &DecodeOptions,
    size: (u32, u32),
    oriented: bool,
    decoded: &Progress,
    md5: Option<&Arc<Md5Tap>>,
    skip: Option<&Arc<SkipTap>>,
) -> Result<()> {
    let Some(factory) = decoders_for(caps).into_iter().next() else {
        let (codec, element, package) = codec_of(caps);
        return Err(Error::UnsupportedCodec {
            uri: uri.to_owned(),
            codec,
            element: element.map(str::to_owned),
            package: package.map(str::to_owned),
        });
    };
    let decoder = factory
        .create()
        .build()
        .map_err(|e| backend(uri, Some(factory.name().as_str()), e.to_string()))?;
    if factory.name().starts_with("avdec_")
        && decoder.has_property("max-threads")
        && let Some((w, h)) = coded_size(caps)
    {
        // libavcodec's frame threads each keep a picture in flight: few for huge pictures.
        let cores = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1);
        let threads = opts.decoder_threads((w, h));
        if threads < cores {
            decoder.set_property("max-threads", i32::try_from(threads).unwrap_or(1));
        }
    }
    if decoder.has_property("output-corrupt") {
        // Never hand out frames decoded from missing references.
        decoder.set_property("output-corrupt", false);
    }
    if factory.name().starts_with("avdec_")
        && let Some(sinkpad) = decoder.static_pad("sink")
    {
        // GStreamer 1.22's parsers drop the VUI full-range flag and write a limited-range
        // `colorimetry` into the caps, which avdec then trusts over the bitstream. Without the
        // field, libavcodec's own reading (range, matrix, primaries, transfer) is used, as in
        // FFmpeg.
        sinkpad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, |_, info| {
            if let Some(gst::PadProbeData::Event(ev)) = &mut info.data
                && let gst::EventView::Caps(c) = ev.view()
                && c.caps()
                    .structure(0)
                    .is_some_and(|s| s.has_field("colorimetry"))
            {
                let mut caps = c.caps_owned();
                if let Some(s) = caps.make_mut().structure_mut(0) {
                    s.remove_field("colorimetry");
                }
                *ev = gst::event::Caps::new(&caps);
            }
            gst::PadProbeReturn::Ok
        });
    }
    let mut chain = vec![decoder.clone()];
    if opts.output == OutputFormat::Rgb8 {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1);
        if opts.orientation == Orientation::Display && oriented {
            // Only when the stream asks for it: `videoflip` with nothing to do still copies
            // every frame (GStreamer 1.22, `video-direction=auto`).
            let flip = make(uri, "videoflip")?;
            flip.set_property_from_str("video-direction", "auto");
            chain.push(flip);
        }
        let convert = make(uri, "videoconvert")?;
        if convert.has_property("n-threads") {
            convert.set_property("n-threads", threads);
        }
        chain.push(convert);
        // 8-bit planar YUV passes through and is converted to RGB here, after frames the plan
        // does not want were dropped (and ~3× faster than videoconvert); anything else is
        // converted to RGB by videoconvert.
        let mut out = gst::Caps::builder("video/x-raw")
            .field("format", gst::List::new(["I420", "Y42B", "Y444", "RGB"]));
        if opts.resize.is_some() {
            let scale = make(uri, "videoscale")?;
            if scale.has_property("n-threads") {
                scale.set_property("n-threads", threads);
            }
            chain.push(scale);
            out = out
                .field("width", size.0 as i32)
                .field("height", size.1 as i32);
        }
        let filter = make(uri, "capsfilter")?;
        filter.set_property("caps", out.build());
        chain.push(filter);
    }
    pipeline
        .add_many(&chain)
        .map_err(|e| backend(uri, None, e.to_string()))?;
    let mut all: Vec<&gst::Element> = chain.iter().collect();
    let sink_el: &gst::Element = appsink.upcast_ref();
    all.push(sink_el);
    gst::Element::link_many(all)
        .map_err(|e| backend(uri, Some(factory.name().as_str()), e.to_string()))?;
    if let Some(src) = decoder.static_pad("src") {
        let d = decoded.clone();
        src.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            d.bump();
            gst::PadProbeReturn::Ok
        });
        if let Some(tap) = md5 {
            // Native planes: before videoflip, videoconvert and videoscale.
            tap.attach(&src);
        }
    }
    for e in &chain {
        e.sync_state_with_parent()
            .map_err(|e| backend(uri, None, e.to_string()))?;
    }
    let sinkpad = decoder.static_pad("sink").ok_or_else(|| {
        backend(
            uri,
            Some(factory.name().as_str()),
            "decoder without sink pad",
        )
    })?;
    if let Some(tap) = skip {
        // Before the decoder: frames no target needs are dropped here.
        tap.attach(&sinkpad);
    }
    pad.link(&sinkpad).map_err(|e| {
        backend(
            uri,
            Some(factory.name().as_str()),
            format!("cannot link the stream to the decoder: {e:?}"),
        )
    })?;
    Ok(())
}

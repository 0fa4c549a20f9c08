//! Frames no target needs never reach the decoder: a probe on the decoder's sink pad drops each
//! access unit that is not a target and that no later frame may reference, read from its NAL
//! headers (H.264 `nal_ref_idc == 0`; HEVC sub-layer non-reference pictures of the highest
//! sub-layer). Access units are identified by stream time through the frame table, as decoded
//! frames are.
//!
//! Exact by construction: a non-reference picture is never used for inter prediction, and
//! H.264's `frame_num` only counts reference pictures, so the pictures left decode to the same
//! samples. Other codecs pass untouched (MPEG-2 and MPEG-4 part 2 B-frames would qualify too,
//! but their tables come from decoding in AVI, where the buffers' timestamps cannot identify
//! them; VP8/VP9/AV1 are left alone).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use video_core::{FrameTable, Timestamp};

use crate::nal::{self, Codec, Format, Framing};

/// What the caps say; `None` codec: pass everything.
#[derive(Debug, Default)]
struct Stream {
    codec: Option<(Codec, Framing)>,
    /// HEVC: the highest `sps_max_sub_layers_minus1` seen (codec_data or in band).
    hevc_top_sub_layer: Option<u8>,
}

/// Drops unreferenced non-target access units before the decoder, and counts.
#[derive(Debug)]
pub(super) struct SkipTap {
    table: Arc<FrameTable>,
    targets: HashSet<u64>,
    tolerance: Duration,
    /// Drop (`false`: only count and classify).
    enabled: bool,
    stream: Mutex<Stream>,
    handed: AtomicU64,
    dropped: AtomicU64,
    /// Each identified access unit seen: whether a later frame may reference it.
    reference: Mutex<HashMap<u64, bool>>,
    /// The first identified access unit since the last flush (seek).
    first: Mutex<Option<u64>>,
}

impl SkipTap {
    pub(super) fn new(
        table: Arc<FrameTable>,
        targets: &[u64],
        tolerance: Duration,
        enabled: bool,
    ) -> Self {
        SkipTap {
            table,
            targets: targets.iter().copied().collect(),
            tolerance,
            enabled,
            stream: Mutex::default(),
            handed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            reference: Mutex::default(),
            first: Mutex::default(),
        }
    }

    /// Watch (and thin out) the buffers entering `pad` (the decoder's sink pad).
    pub(super) fn attach(self: &Arc<Self>, pad: &gst::Pad) {
        let tap = Arc::clone(self);
        pad.add_probe(
            gst::PadProbeType::BUFFER
                | gst::PadProbeType::EVENT_DOWNSTREAM
                | gst::PadProbeType::EVENT_FLUSH,
            move |pad, info| match &info.data {
                Some(gst::PadProbeData::Buffer(buffer)) => {
                    if tap.on_buffer(pad, buffer) {
                        tap.handed.fetch_add(1, Ordering::Relaxed);
                        gst::PadProbeReturn::Ok
                    } else {
                        tap.dropped.fetch_add(1, Ordering::Relaxed);
                        // Handled, not Drop: gstreamer-rs has taken the buffer out of the probe
                        // info (and unrefs it), so with Drop the core would unref NULL.
                        gst::PadProbeReturn::Handled
                    }
                }
                Some(gst::PadProbeData::Event(ev)) => {
                    match ev.view() {
                        gst::EventView::Caps(c) => tap.on_caps(c.caps()),
                        gst::EventView::FlushStop(_) => {
                            if let Ok(mut f) = tap.first.lock() {
                                *f = None;
                            }
                        }
                        _ => {}
                    }
                    gst::PadProbeReturn::Ok
                }
                _ => gst::PadProbeReturn::Ok,
            },
        );
    }

    /// The first frame that entered the decoder since the last seek (or the start).
    pub(super) fn first_after_flush(&self) -> Option<u64> {
        self.first.lock().ok().and_then(|f| *f)
    }

    /// Access units handed to the decoder.
    pub(super) fn handed(&self) -> u64 {
        self.handed.load(Ordering::Relaxed)
    }

    /// Access units dropped before the decoder.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The least a decoder that skips only unreferenced pictures must be handed for the
    /// targets: each target, and every frame that may be referenced (as far as its NAL headers
    /// tell; frames not classified count as referenced) between the target's key frame and
    /// the target in decode order.
    pub(super) fn lower_bound(&self) -> u64 {
        let Ok(reference) = self.reference.lock() else {
            return 0;
        };
        let frames = self.table.as_slice();
        let order = |i: u64| frames.get(i as usize).map(|f| f.decode_order);
        let mut spans: Vec<(u64, u64)> = self
            .targets
            .iter()
            .filter_map(|&t| {
                let k = self.table.decode_start(t)?;
                Some((order(k)?, order(t)?))
            })
            .collect();
        spans.sort_unstable();
        let needed = frames
            .iter()
            .filter(|f| {
                !self.targets.contains(&f.index)
                    && reference.get(&f.index).copied().unwrap_or(true)
                    && spans
                        .iter()
                        .any(|&(a, b)| a <= f.decode_order && f.decode_order < b)
            })
            .count() as u64;
        needed + self.targets.len() as u64
    }

    fn on_caps(&self, caps: &gst::CapsRef) {
        match Format::of_caps(caps) {
            Some(f) => self.set_stream(Some((f.codec, f.framing)), f.top_sub_layer),
            None => self.set_stream(None, None),
        }
    }

    fn set_stream(&self, codec: Option<(Codec, Framing)>, top: Option<u8>) {
        if let Ok(mut st) = self.stream.lock() {
            st.codec = codec;
            st.hevc_top_sub_layer = match (st.hevc_top_sub_layer, top) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
    }

    /// Whether the buffer goes on to the decoder.
    fn on_buffer(&self, pad: &gst::Pad, buffer: &gst::Buffer) -> bool {
        let Ok(mut st) = self.stream.lock() else {
            return true;
        };
        let Some((codec, framing)) = st.codec else {
            return true;
        };
        let Ok(map) = buffer.map_readable() else {
            return true;
        };
        let units = nal::units(map.as_slice(), framing);
        let referenced = match codec {
            Codec::H264 => h264_referenced(&units),
            Codec::H265 => {
                for nal in &units {
                    // SPS in band: the sub-layers a picture may belong to.
                    if nal.len() > 2
                        && nal::hevc_type(nal) == Some(nal::HEVC_SPS)
                        && let Some(m) = nal::sps_max_sub_layers_minus1(nal)
                    {
                        st.hevc_top_sub_layer = Some(st.hevc_top_sub_layer.map_or(m, |t| t.max(m)));
                    }
                }
                h265_referenced(&units, st.hevc_top_sub_layer)
            }
        };
        drop(st);
        let Some(index) = self.identify(pad, buffer) else {
            return true;
        };
        if let Ok(mut r) = self.reference.lock() {
            r.insert(index, referenced);
        }
        if let Ok(mut f) = self.first.lock()
            && f.is_none()
        {
            *f = Some(index);
        }
        !self.enabled || referenced || self.targets.contains(&index)
    }

    /// The frame table index of a buffer, from its stream time (as the decode loop does).
    fn identify(&self, pad: &gst::Pad, buffer: &gst::BufferRef) -> Option<u64> {
        let pts = buffer.pts()?;
        let segment = pad
            .sticky_event::<gst::event::Segment>(0)
            .and_then(|ev| ev.segment().downcast_ref::<gst::ClockTime>().cloned());
        let st = match segment {
            Some(seg) => seg.to_stream_time(pts)?,
            None => pts,
        };
        self.table.nearest_index(
            Timestamp::from_nanos(i64::try_from(st.nseconds()).ok()?),
            self.tolerance,
        )
    }
}

/// Whether an H.264 access unit may be referenced: not unless it has slices and every slice
/// has `nal_ref_idc == 0` (IDR slices never do). Extension slices (SVC, MVC) count as
/// referenced.
fn h264_referenced(units: &[&[u8]]) -> bool {
    let mut slices = 0;
    for nal in units {
        let Some(&h) = nal.first() else { continue };
        let (ref_idc, kind) = ((h >> 5) & 3, h & 0x1f);
        match kind {
            1..=5 => {
                if ref_idc != 0 || kind == 5 {
                    return true;
                }
                slices += 1;
            }
            14 | 20 | 21 => return true,
            _ => {}
        }
    }
    slices == 0
}

/// Whether an HEVC access unit may be referenced: not unless every picture NAL unit (base
/// layer) is a sub-layer non-reference type (0, 2, …, 14: TRAIL_N, TSA_N, STSA_N, RADL_N,
/// RASL_N, reserved) of the highest sub-layer the SPS allows (a lower sub-layer's
/// non-reference picture may be referenced by a higher sub-layer). Unknown SPS: referenced.
fn h265_referenced(units: &[&[u8]], top_sub_layer: Option<u8>) -> bool {
    let Some(top) = top_sub_layer else {
        return true;
    };
    let mut slices = 0;
    for nal in units {
        let (Some(&h0), Some(&h1)) = (nal.first(), nal.get(1)) else {
            continue;
        };
        let kind = (h0 >> 1) & 0x3f;
        let layer = ((h0 & 1) << 5) | (h1 >> 3);
        let tid = (h1 & 7).saturating_sub(1);
        if kind < 32 {
            if layer != 0 || kind > 14 || kind % 2 == 1 || tid != top {
                return true;
            }
            slices += 1;
        }
    }
    slices == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_only_all_non_reference_slices_are_unreferenced() {
        let aud: &[u8] = &[0x09, 0xf0];
        let b_nonref: &[u8] = &[0x01, 0x9e]; // nal_ref_idc 0, non-IDR slice
        let b_ref: &[u8] = &[0x21, 0x9e]; // nal_ref_idc 1
        let idr: &[u8] = &[0x65, 0x88];
        assert!(!h264_referenced(&[aud, b_nonref, b_nonref]));
        assert!(h264_referenced(&[aud, b_nonref, b_ref]));
        assert!(h264_referenced(&[idr]));
        assert!(h264_referenced(&[aud]), "no slice: keep");
        assert!(
            h264_referenced(&[b_nonref, &[0x14, 0]]),
            "MVC extension: keep"
        );
    }

    #[test]
    fn h265_non_reference_only_on_the_top_sub_layer() {
        let trail_n: &[u8] = &[0x00, 0x01]; // type 0, tid 0
        let trail_r: &[u8] = &[0x02, 0x01]; // type 1
        let rasl_n: &[u8] = &[8 << 1, 0x01];
        let idr: &[u8] = &[19 << 1, 0x01];
        let trail_n_tid1: &[u8] = &[0x00, 0x02];
        assert!(!h265_referenced(&[trail_n], Some(0)));
        assert!(!h265_referenced(&[rasl_n, trail_n], Some(0)));
        assert!(h265_referenced(&[trail_r], Some(0)));
        assert!(h265_referenced(&[idr], Some(0)));
        assert!(h265_referenced(&[trail_n], None), "SPS unknown: keep");
        assert!(
            h265_referenced(&[trail_n], Some(1)),
            "a higher sub-layer may reference it"
        );
        assert!(!h265_referenced(&[trail_n_tid1], Some(1)));
    }
}

//! H.264 and HEVC access units, read from their NAL units: how they are framed (from the caps),
//! the NAL header fields, and whether a decoder can start at one (a random access point).
//!
//! Shared by the demux pass (`demux/scan.rs`: key frames of the frame table) and the decoder's
//! sink-pad probe (`decode/skip.rs`: which pictures may be referenced).

use gstreamer as gst;

/// The bitstreams read here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    /// H.264 / AVC.
    H264,
    /// H.265 / HEVC.
    H265,
}

/// How the NAL units of an access unit are framed, from the caps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Annex B start codes.
    ByteStream,
    /// NAL units prefixed by their length in this many bytes (`avc`, `hvc1`, `hev1`).
    Length(usize),
}

/// What the caps of a parsed H.264/HEVC stream say about its buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Format {
    /// The codec.
    pub(crate) codec: Codec,
    /// The framing of NAL units in a buffer.
    pub(crate) framing: Framing,
    /// HEVC: the highest `sps_max_sub_layers_minus1` of the SPSs in `codec_data`.
    pub(crate) top_sub_layer: Option<u8>,
}

impl Format {
    /// The format of `caps`; `None` when they are not H.264/HEVC with one access unit per
    /// buffer (`alignment=au`) in a known framing.
    pub(crate) fn of_caps(caps: &gst::CapsRef) -> Option<Format> {
        let s = caps.structure(0)?;
        let codec = match s.name().as_str() {
            "video/x-h264" => Codec::H264,
            "video/x-h265" => Codec::H265,
            _ => return None,
        };
        if s.get::<&str>("alignment").ok() != Some("au") {
            // One buffer might not be one picture.
            return None;
        }
        let codec_data = s.get::<gst::Buffer>("codec_data").ok();
        let map = codec_data.as_ref().and_then(|b| b.map_readable().ok());
        let cd: &[u8] = map.as_ref().map(|m| m.as_slice()).unwrap_or(&[]);
        let framing = match s.get::<&str>("stream-format").ok()? {
            "byte-stream" => Framing::ByteStream,
            "avc" | "avc3" => Framing::Length(usize::from(cd.get(4)? & 3) + 1),
            "hvc1" | "hev1" => Framing::Length(usize::from(cd.get(21)? & 3) + 1),
            _ => return None,
        };
        let top_sub_layer = if codec == Codec::H265 {
            hvcc_sps(cd).filter_map(sps_max_sub_layers_minus1).max()
        } else {
            None
        };
        Some(Format {
            codec,
            framing,
            top_sub_layer,
        })
    }
}

/// Call `f` with each NAL unit (header included) of an access unit.
pub(crate) fn for_each_nal<'a>(data: &'a [u8], framing: Framing, mut f: impl FnMut(&'a [u8])) {
    match framing {
        Framing::Length(n) => {
            let mut rest = data;
            while rest.len() >= n {
                let len = rest[..n]
                    .iter()
                    .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
                rest = &rest[n..];
                let Some(nal) = rest.get(..len) else {
                    // Truncated: report what is there, so the unit is not taken as droppable.
                    f(rest);
                    return;
                };
                f(nal);
                rest = &rest[len..];
            }
        }
        Framing::ByteStream => {
            let mut starts = Vec::new();
            let mut i = 0;
            while i + 3 <= data.len() {
                if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
                    starts.push(i + 3);
                    i += 3;
                } else {
                    i += 1;
                }
            }
            for (k, &s) in starts.iter().enumerate() {
                let end = starts.get(k + 1).map_or(data.len(), |&n| n - 3);
                if let Some(nal) = data.get(s..end.max(s)) {
                    f(nal);
                }
            }
        }
    }
}

/// The NAL units of an access unit.
pub(crate) fn units(data: &[u8], framing: Framing) -> Vec<&[u8]> {
    let mut v = Vec::new();
    for_each_nal(data, framing, |n| v.push(n));
    v
}

/// `sps_max_sub_layers_minus1` of an HEVC SPS NAL unit (header included): the 3 bits after
/// the 4-bit VPS id, before any emulation prevention byte can occur.
pub(crate) fn sps_max_sub_layers_minus1(nal: &[u8]) -> Option<u8> {
    nal.get(2).map(|b| (b >> 1) & 7)
}

/// HEVC NAL unit type of an SPS.
pub(crate) const HEVC_SPS: u8 = 33;

/// The HEVC NAL unit type (header included).
pub(crate) fn hevc_type(nal: &[u8]) -> Option<u8> {
    nal.first().map(|h| (h >> 1) & 0x3f)
}

/// The SPS NAL units of an `hvcC` record.
pub(crate) fn hvcc_sps(cd: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut out = Vec::new();
    let mut pos = 23;
    let arrays = cd.get(22).copied().unwrap_or(0);
    for _ in 0..arrays {
        let (Some(&kind), Some(n)) = (cd.get(pos), cd.get(pos + 1..pos + 3)) else {
            break;
        };
        let count = u16::from_be_bytes([n[0], n[1]]);
        pos += 3;
        for _ in 0..count {
            let Some(l) = cd.get(pos..pos + 2) else { break };
            let len = usize::from(u16::from_be_bytes([l[0], l[1]]));
            pos += 2;
            if let Some(nal) = cd.get(pos..pos + len)
                && kind & 0x3f == HEVC_SPS
            {
                out.push(nal);
            }
            pos += len;
        }
    }
    out.into_iter()
}

/// Whether a decoder can start at this access unit: every picture shown from it on (in
/// presentation order) decodes exactly, without anything before it in decode order.
///
/// - HEVC: an IRAP picture (BLA, IDR, CRA: NAL unit types 16..=23) of the base layer. The
///   leading pictures of a CRA/BLA (shown before it) are not covered; a frame table sends them
///   one key frame further back (`FrameTable::decode_start`).
/// - H.264: an IDR picture (NAL unit type 5), or a picture all of whose slices are I/SI with a
///   recovery point SEI of `recovery_frame_cnt` 0 (the SEI says every picture from it on in
///   output order is correct; open-GOP I frames). A recovery point further away (gradual
///   decoding refresh) or a plain I picture (later pictures may reference pictures before it)
///   is not a random access point.
///
/// h264parse/h265parse flag more access units as key frames than this (every I slice and every
/// recovery point SEI), which is why the frame table does not take their flag.
pub(crate) fn random_access(codec: Codec, units: &[&[u8]]) -> bool {
    match codec {
        Codec::H264 => h264_random_access(units),
        Codec::H265 => h265_random_access(units),
    }
}

fn h265_random_access(units: &[&[u8]]) -> bool {
    for nal in units {
        let (Some(&h0), Some(&h1)) = (nal.first(), nal.get(1)) else {
            continue;
        };
        let kind = (h0 >> 1) & 0x3f;
        let layer = ((h0 & 1) << 5) | (h1 >> 3);
        if kind < 32 && layer == 0 {
            // The first picture NAL unit of the base layer decides (all slices of a picture
            // have the same type).
            return (16..=23).contains(&kind);
        }
    }
    false
}

fn h264_random_access(units: &[&[u8]]) -> bool {
    let mut recovery_now = false;
    let mut slices = 0;
    for nal in units {
        let Some(&h) = nal.first() else { continue };
        match h & 0x1f {
            5 => return true,
            6 => recovery_now |= h264_sei_recovery_frame_cnt(nal) == Some(0),
            1 => {
                // slice_type 2 or 7: I, 4 or 9: SI.
                match Rbsp::slice_type(nal) {
                    Some(t) if t % 5 == 2 || t % 5 == 4 => slices += 1,
                    _ => return false,
                }
            }
            // Data partitions and extension slices: not judged, not a random access point.
            2..=4 | 20 | 21 => return false,
            _ => {}
        }
    }
    recovery_now && slices > 0
}

/// `recovery_frame_cnt` of the first recovery point message in an H.264 SEI NAL unit (header
/// included).
fn h264_sei_recovery_frame_cnt(nal: &[u8]) -> Option<u32> {
    let rbsp = unescape(nal.get(1..)?, 4096);
    let mut pos = 0;
    while pos < rbsp.len() && !(rbsp[pos] == 0x80 && pos + 1 == rbsp.len()) {
        let mut read = || -> Option<u32> {
            let mut v = 0u32;
            loop {
                let b = *rbsp.get(pos)?;
                pos += 1;
                v = v.checked_add(u32::from(b))?;
                if b != 0xff {
                    return Some(v);
                }
            }
        };
        let kind = read()?;
        let size = read()? as usize;
        let payload = rbsp.get(pos..pos + size)?;
        if kind == 6 {
            return Rbsp::new(payload).ue();
        }
        pos += size;
    }
    None
}

/// Up to `max` bytes of the RBSP of `data` (emulation prevention bytes removed).
fn unescape(data: &[u8], max: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().min(max));
    let mut zeros = 0;
    for &b in data {
        if out.len() >= max {
            break;
        }
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// An exp-Golomb reader over the start of an RBSP.
struct Rbsp {
    bytes: Vec<u8>,
    bit: usize,
}

impl Rbsp {
    fn new(escaped: &[u8]) -> Rbsp {
        Rbsp {
            bytes: unescape(escaped, 64),
            bit: 0,
        }
    }

    /// The second `ue(v)` of a slice NAL unit (header included): `slice_type` after
    /// `first_mb_in_slice`.
    fn slice_type(nal: &[u8]) -> Option<u32> {
        let mut r = Rbsp::new(nal.get(1..)?);
        r.ue()?;
        r.ue()
    }

    fn bit(&mut self) -> Option<u32> {
        let b = self.bytes.get(self.bit / 8)?;
        let v = (b >> (7 - self.bit % 8)) & 1;
        self.bit += 1;
        Some(u32::from(v))
    }

    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let mut v = 1u64;
        for _ in 0..zeros {
            v = (v << 1) | u64::from(self.bit()?);
        }
        u32::try_from(v - 1).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nal_units_of_both_framings() {
        let bs = [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x01, 0xaa, 0xbb];
        assert_eq!(
            units(&bs, Framing::ByteStream),
            vec![&[0x09, 0xf0][..], &[0x01, 0xaa, 0xbb]]
        );
        let avc = [0, 0, 0, 2, 0x09, 0xf0, 0, 0, 0, 3, 0x01, 0xaa, 0xbb];
        assert_eq!(
            units(&avc, Framing::Length(4)),
            vec![&[0x09, 0xf0][..], &[0x01, 0xaa, 0xbb]]
        );
    }

    #[test]
    fn hvcc_sps_is_found() {
        let mut cd = vec![0u8; 22];
        cd[21] = 3;
        cd.push(2); // two arrays
        cd.extend([0x20, 0, 1, 0, 3, 0x40, 0x01, 0x0c]); // VPS
        cd.extend([0x21, 0, 1, 0, 3, 0x42, 0x01, 0x05]); // SPS: max_sub_layers_minus1 = 2
        let sps: Vec<&[u8]> = hvcc_sps(&cd).collect();
        assert_eq!(sps, vec![&[0x42, 0x01, 0x05][..]]);
        assert_eq!(sps_max_sub_layers_minus1(sps[0]), Some(2));
    }

    #[test]
    fn hevc_random_access_is_irap_only() {
        let hdr = |t: u8| [t << 1, 0x01, 0xaf];
        for t in 0..=21u8 {
            let (aud, pic) = (hdr(35), hdr(t));
            let au: [&[u8]; 2] = [&aud, &pic];
            assert_eq!(
                random_access(Codec::H265, &au),
                (16..=21).contains(&t),
                "{t}"
            );
        }
        // An enhancement layer's IRAP (nuh_layer_id 1) does not make a base-layer TRAIL_R one.
        let enh: &[u8] = &[19 << 1, 0x09];
        let trail_r: &[u8] = &[1 << 1, 0x01];
        assert!(!random_access(Codec::H265, &[enh, trail_r]));
        assert!(
            !random_access(Codec::H265, &[&hdr(32), &hdr(33)]),
            "no picture"
        );
    }

    #[test]
    fn h264_random_access_is_idr_or_an_i_picture_recovered_at_once() {
        let idr: &[u8] = &[0x65, 0x88];
        // first_mb_in_slice 0 ("1"), slice_type 7 ("0001000"): 1000 1000 -> 0x88.
        let i_slice: &[u8] = &[0x41, 0x88, 0x80];
        // slice_type 5 (P): "1" "00110" -> 1001 1000 -> 0x98.
        let p_slice: &[u8] = &[0x41, 0x98];
        // SEI: payload type 6, size 1, recovery_frame_cnt 0 ("1"), flags 0, then trailing.
        let rp0: &[u8] = &[0x06, 0x06, 0x01, 0x80, 0x80];
        // recovery_frame_cnt 3 ("00100" + 3 zero bits): 0010 0000 -> 0x20.
        let rp3: &[u8] = &[0x06, 0x06, 0x01, 0x20, 0x80];
        // A user data SEI (type 5, 2 bytes) before the recovery point.
        let rp0_late: &[u8] = &[0x06, 0x05, 0x02, 0xaa, 0xbb, 0x06, 0x01, 0x80, 0x80];
        let aud: &[u8] = &[0x09, 0xf0];
        assert!(random_access(Codec::H264, &[aud, idr]));
        assert!(random_access(Codec::H264, &[aud, rp0, i_slice, i_slice]));
        assert!(random_access(Codec::H264, &[aud, rp0_late, i_slice]));
        assert!(!random_access(Codec::H264, &[aud, i_slice]), "plain I");
        assert!(!random_access(Codec::H264, &[aud, rp3, i_slice]), "GDR");
        assert!(!random_access(Codec::H264, &[aud, rp0, p_slice]));
        assert!(!random_access(Codec::H264, &[aud, rp0, i_slice, p_slice]));
        assert!(!random_access(Codec::H264, &[aud, rp0]), "no slice");
    }

    #[test]
    fn emulation_prevention_is_removed() {
        assert_eq!(
            unescape(&[0, 0, 3, 1, 0, 0, 3, 0], 64),
            vec![0, 0, 1, 0, 0, 0]
        );
        assert_eq!(unescape(&[1, 2, 3, 4], 2), vec![1, 2]);
    }
}

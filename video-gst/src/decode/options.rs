//! The options of a frame source, and the limits it inherits from its demuxer.

use std::time::Duration;

use video_core::{Error, Result, VideoMetadata};

/// The time limits and the size limit a frame source works under (from its demuxer's builder).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    /// No progress for this long fails the decode.
    pub(crate) stall: Duration,
    /// One `frames` stream may take at most this long in all.
    pub(crate) deadline: Option<Duration>,
    /// Largest width or height of a decoded frame.
    pub(crate) max_dimension: u32,
}

/// Pixel format of decoded frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputFormat {
    /// Packed 8-bit RGB. YUV is converted with the matrix and range the stream signals; untagged
    /// streams use BT.709 when at least 720 rows high and BT.601 below (GStreamer's default,
    /// which is what players do). 8-bit planar YUV (4:2:0, 4:2:2, 4:4:4) is converted only for
    /// the frames of the plan, on the consumer's side of the pipeline, with `yuvutils-rs`;
    /// other formats (10-bit, packed) go through GStreamer's `videoconvert`.
    #[default]
    Rgb8,
    /// The decoder's own pixel format and planes (for bit-exact comparisons); never resized or
    /// rotated.
    Native,
}

/// Which way up frames come out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Orientation {
    /// As a player shows them: the container's rotation is applied.
    #[default]
    Display,
    /// As stored in the bitstream.
    Stored,
}

/// Resizing of RGB output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resize {
    /// Exactly this size (aspect ratio not kept).
    Exact {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// Scale down (never up) so that neither side exceeds `max_side`, keeping the aspect ratio.
    FitWithin {
        /// The largest allowed side in pixels.
        max_side: u32,
    },
}

/// The one description of a resize, which manifests record as `sampling.resize`:
/// `{width}x{height}` for [`Resize::Exact`], `max-side:{n}` for [`Resize::FitWithin`].
///
/// ```
/// use video_gst::Resize;
/// assert_eq!(Resize::Exact { width: 640, height: 360 }.to_string(), "640x360");
/// assert_eq!(Resize::FitWithin { max_side: 512 }.to_string(), "max-side:512");
/// ```
impl std::fmt::Display for Resize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resize::Exact { width, height } => write!(f, "{width}x{height}"),
            Resize::FitWithin { max_side } => write!(f, "max-side:{max_side}"),
        }
    }
}

/// Options of [`GstFrameSource`](crate::GstFrameSource).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Pixel format. Default: [`OutputFormat::Rgb8`].
    pub output: OutputFormat,
    /// Orientation. Default: [`Orientation::Display`].
    pub orientation: Orientation,
    /// Resizing (RGB output only). Default: none.
    pub resize: Option<Resize>,
    /// Decoded frames buffered ahead of the consumer, at most. Default: 4.
    pub buffer_frames: usize,
    /// Bytes of decoded frames buffered ahead of the consumer, at most: large frames are
    /// buffered fewer than [`buffer_frames`](Self::buffer_frames), never fewer than one. A frame
    /// counts 3 bytes a pixel of its output size. Default: 32 MiB (4 frames of 1080p RGB, one
    /// of 4K, whose 25 MB each would otherwise dominate the memory a decode needs).
    pub buffer_bytes: usize,
    /// Bytes of decoded pictures the decoder's frame threads may keep in flight: threads are
    /// limited to this divided by the size of one decoded picture (1.5 bytes a pixel, 4:2:0),
    /// never fewer than one, never more than the decoder's own choice (one a core). Each frame
    /// thread holds a picture of its own and lengthens the decoder's output delay, which at 4K
    /// costs several 12 MB pictures a thread. Default: no limit (`usize::MAX`: speed first;
    /// 16 MiB decodes 1080p on up to 5 threads and 4K on one, which takes about a third off
    /// the peak memory of a 4K decode and doubles its wall time on two cores; see
    /// `benches/README.md`).
    pub decoder_thread_bytes: usize,
    /// How many times to restart from an earlier key frame when a frame does not come out of
    /// the decoder where the frame table says it should. Default: 2.
    pub max_retries: u32,
    /// Give each frame the md5 of its decoded native planes ([`Frame::framemd5`]), exactly as
    /// `ffmpeg -f framemd5` prints it: hashed as the frame leaves the decoder, before any flip,
    /// conversion to RGB or resizing, whatever the output. Only the frames of the plan are
    /// hashed (about 5 ms a 1080p frame). Default: false.
    ///
    /// [`Frame::framemd5`]: video_core::Frame::framemd5
    pub framemd5: bool,
    /// Drop, before the decoder, the frames no target needs: frames that are not in the plan
    /// and that no later frame references, as their NAL headers say (H.264 `nal_ref_idc == 0`;
    /// HEVC sub-layer non-reference pictures of the highest sub-layer). The frames of the plan
    /// come out identical, decoded from less. Other codecs, and streams whose frames are
    /// identified by position, are decoded whole. Default: true.
    pub skip_unreferenced: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            output: OutputFormat::Rgb8,
            orientation: Orientation::Display,
            resize: None,
            buffer_frames: 4,
            buffer_bytes: 32 << 20,
            decoder_thread_bytes: usize::MAX,
            max_retries: 2,
            framemd5: false,
            skip_unreferenced: true,
        }
    }
}

impl DecodeOptions {
    /// Set [`output`](Self::output).
    pub fn output(mut self, v: OutputFormat) -> Self {
        self.output = v;
        self
    }
    /// Set [`orientation`](Self::orientation).
    pub fn orientation(mut self, v: Orientation) -> Self {
        self.orientation = v;
        self
    }
    /// Set [`resize`](Self::resize).
    pub fn resize(mut self, v: Option<Resize>) -> Self {
        self.resize = v;
        self
    }
    /// Set [`buffer_frames`](Self::buffer_frames).
    pub fn buffer_frames(mut self, v: usize) -> Self {
        self.buffer_frames = v;
        self
    }
    /// Set [`buffer_bytes`](Self::buffer_bytes).
    pub fn buffer_bytes(mut self, v: usize) -> Self {
        self.buffer_bytes = v;
        self
    }
    /// Set [`decoder_thread_bytes`](Self::decoder_thread_bytes).
    pub fn decoder_thread_bytes(mut self, v: usize) -> Self {
        self.decoder_thread_bytes = v;
        self
    }
    /// Set [`max_retries`](Self::max_retries).
    pub fn max_retries(mut self, v: u32) -> Self {
        self.max_retries = v;
        self
    }
    /// Set [`framemd5`](Self::framemd5).
    pub fn framemd5(mut self, v: bool) -> Self {
        self.framemd5 = v;
        self
    }

    /// Set [`skip_unreferenced`](Self::skip_unreferenced).
    pub fn skip_unreferenced(mut self, v: bool) -> Self {
        self.skip_unreferenced = v;
        self
    }

    /// [`Error::InvalidOption`] for options that do not go together or cannot be met.
    pub(super) fn validate(&self) -> Result<()> {
        if self.output == OutputFormat::Native && self.resize.is_some() {
            return Err(Error::InvalidOption {
                option: "resize".into(),
                reason: "resize needs RGB output, not the decoder's native format".into(),
            });
        }
        if self.buffer_frames == 0 {
            return Err(Error::InvalidOption {
                option: "buffer_frames".into(),
                reason: "must be at least 1".into(),
            });
        }
        if matches!(
            self.resize,
            Some(
                Resize::Exact { width: 0, .. }
                    | Resize::Exact { height: 0, .. }
                    | Resize::FitWithin { max_side: 0 }
            )
        ) {
            return Err(Error::InvalidOption {
                option: "resize".into(),
                reason: "resize to a zero size".into(),
            });
        }
        Ok(())
    }

    /// How many frames of `size` (output pixels) to buffer ahead of the consumer:
    /// [`buffer_frames`](Self::buffer_frames) within [`buffer_bytes`](Self::buffer_bytes), at
    /// least one.
    pub(super) fn frames_ahead(&self, size: (u32, u32)) -> usize {
        let frame_bytes = (u64::from(size.0) * u64::from(size.1) * 3).max(1);
        let fit = usize::try_from(self.buffer_bytes as u64 / frame_bytes).unwrap_or(usize::MAX);
        fit.min(self.buffer_frames).max(1)
    }

    /// The most decoder threads for pictures of `size` (stored pixels), by
    /// [`decoder_thread_bytes`](Self::decoder_thread_bytes): at least one.
    pub(super) fn decoder_threads(&self, size: (u32, u32)) -> u32 {
        let picture = (u64::from(size.0) * u64::from(size.1) * 3 / 2).max(1);
        let fit = self.decoder_thread_bytes as u64 / picture;
        u32::try_from(fit).unwrap_or(u32::MAX).max(1)
    }

    /// The output size for RGB frames of a stream with metadata `m`, after rotation and
    /// resizing.
    pub(super) fn output_size(&self, m: &VideoMetadata) -> (u32, u32) {
        let (w, h) = match self.orientation {
            Orientation::Display if self.output == OutputFormat::Rgb8 => (m.width, m.height),
            _ => (m.stored_width, m.stored_height),
        };
        match self.resize {
            None => (w, h),
            Some(Resize::Exact { width, height }) => (width, height),
            Some(Resize::FitWithin { max_side }) => {
                let long = w.max(h);
                if long <= max_side || long == 0 {
                    (w, h)
                } else {
                    let s = f64::from(max_side) / f64::from(long);
                    (
                        ((f64::from(w) * s).round() as u32).max(1),
                        ((f64::from(h) * s).round() as u32).max(1),
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod resize_tests {
    use super::*;

    #[test]
    fn frames_ahead_are_bounded_by_bytes_and_count() {
        let o = DecodeOptions::default();
        assert_eq!(o.frames_ahead((1920, 1080)), 4);
        assert_eq!(o.frames_ahead((3840, 2160)), 1);
        assert_eq!(o.frames_ahead((2560, 1440)), 3);
        assert_eq!(o.frames_ahead((7680, 4320)), 1);
        assert_eq!(o.frames_ahead((320, 240)), 4);
        assert_eq!(o.clone().buffer_frames(8).frames_ahead((1280, 720)), 8);
        assert_eq!(o.clone().buffer_bytes(0).frames_ahead((320, 240)), 1);
        assert_eq!(o.buffer_bytes(usize::MAX).frames_ahead((0, 0)), 4);
    }

    #[test]
    fn decoder_threads_are_bounded_by_picture_bytes() {
        assert_eq!(
            DecodeOptions::default().decoder_threads((3840, 2160)),
            u32::MAX,
            "no limit by default"
        );
        let o = DecodeOptions::default().decoder_thread_bytes(16 << 20);
        assert_eq!(o.decoder_threads((3840, 2160)), 1);
        assert_eq!(o.decoder_threads((7680, 4320)), 1);
        assert_eq!(o.decoder_threads((2560, 1440)), 3);
        assert_eq!(o.decoder_threads((1920, 1080)), 5);
        assert_eq!(
            o.clone().decoder_thread_bytes(0).decoder_threads((64, 64)),
            1
        );
        assert_eq!(o.decoder_threads((0, 0)), 16 << 20);
    }

    /// Pinned: existing manifests hold these strings.
    #[test]
    fn resize_descriptions() {
        let exact = Resize::Exact {
            width: 1,
            height: 20,
        };
        assert_eq!(exact.to_string(), "1x20");
        assert_eq!(Resize::FitWithin { max_side: 0 }.to_string(), "max-side:0");
    }
}

//! Transcoding: a source video and a [`FrameMap`] into a local, web-ready H.264 MP4.
//!
//! The source is decoded by this crate's own frame-accurate decoder ([`GstFrameSource`] with
//! [`OutputFormat::Native`]: the decoder's planes, frames identified by timestamp through the
//! frame table), and every output frame of the map is pushed into
//!
//! `appsrc [! videoflip] ! videoscale ! videoconvert ! capsfilter(I420, size) ! x264enc !
//! capsfilter(profile=high) ! h264parse ! mp4mux faststart=true ! filesink`
//!
//! at the map's output timestamp, so the output has exactly one frame per entry of the map and
//! keeps variable frame rates. With audio, a second branch of the same pipeline reads the
//! source again (`<source> ! typefind ! parsebin`), cuts its first audio stream to the time the
//! map covers and copies it (AAC) or re-encodes it to AAC into the same `mp4mux`.
//!
//! - [`graph`]: building the pipeline.
//! - [`run`]: the loop that decodes, pushes and waits for the file.
//! - [`matrix`]: the display matrix of a rotation kept as metadata, written into the file.
//!
//! [`GstFrameSource`]: crate::GstFrameSource

mod graph;
mod matrix;

pub(crate) use matrix::write_rotation;
mod run;

use std::path::Path;
use std::time::Duration;

use gstreamer as gst;
use video_core::prepare::FrameMap;
use video_core::{Error, Result};

use crate::decode::Orientation;
use crate::demux::GstDemuxer;

#[cfg(doc)]
use crate::OutputFormat;

/// x264's speed/quality trade-off (`x264enc speed-preset`, libx264's `-preset`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpeedPreset {
    /// `ultrafast`.
    Ultrafast,
    /// `superfast`.
    Superfast,
    /// `veryfast` (the default, as `ffmpeg -c:v libx264 -preset veryfast`).
    #[default]
    Veryfast,
    /// `faster`.
    Faster,
    /// `fast`.
    Fast,
    /// `medium` (libx264's own default).
    Medium,
    /// `slow`.
    Slow,
    /// `slower`.
    Slower,
    /// `veryslow`.
    Veryslow,
}

impl SpeedPreset {
    /// The preset's name, as x264 and `x264enc` spell it.
    pub fn name(self) -> &'static str {
        match self {
            SpeedPreset::Ultrafast => "ultrafast",
            SpeedPreset::Superfast => "superfast",
            SpeedPreset::Veryfast => "veryfast",
            SpeedPreset::Faster => "faster",
            SpeedPreset::Fast => "fast",
            SpeedPreset::Medium => "medium",
            SpeedPreset::Slow => "slow",
            SpeedPreset::Slower => "slower",
            SpeedPreset::Veryslow => "veryslow",
        }
    }
}

/// Rate control of the H.264 encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateControl {
    /// Constant quality, 0 (lossless) to 50 (worst): `x264enc pass=qual quantizer=N
    /// vbv-buf-capacity=0`, which is libx264's CRF mode (`-crf N`, no bitrate cap). Default: 23,
    /// libx264's default CRF.
    ConstantQuality(u32),
    /// An average bitrate in kbit/s (`x264enc pass=cbr bitrate=N`).
    Bitrate(u32),
}

impl Default for RateControl {
    fn default() -> Self {
        RateControl::ConstantQuality(23)
    }
}

/// Which H.264 encoder element to use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncoderChoice {
    /// `x264enc` (Debian: `gstreamer1.0-plugins-ugly`), else `openh264enc`
    /// (`gstreamer1.0-plugins-bad`; it has no High profile, no CRF and no speed presets).
    #[default]
    Auto,
    /// This GStreamer element, which must output `video/x-h264`.
    Named(String),
}

/// Options of [`GstDemuxer::transcode`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TranscodeOptions {
    /// Fit the output within this many pixels on its longer side, keeping the aspect ratio and
    /// never scaling up; `None` keeps the size. Either way both sides are made even (rounded
    /// down), as 4:2:0 H.264 needs. Default: `Some(2048)`.
    pub max_side: Option<u32>,
    /// [`Orientation::Display`] (default): the container's rotation is applied to the pixels
    /// and the output carries none. [`Orientation::Stored`]: frames are encoded as stored and
    /// the rotation is written as the track's display matrix, so players still show them
    /// upright.
    pub orientation: Orientation,
    /// At most this long between two key frames of the output: the encoder's most frames
    /// between key frames (`x264enc key-int-max`) is the fewest frames any stretch of this
    /// length holds (`interval x fps` for a constant rate; variable rates are judged by their
    /// sparsest stretch). Default: 2 s.
    pub keyframe_interval: Duration,
    /// The encoder's speed preset. Default: [`SpeedPreset::Veryfast`].
    pub speed_preset: SpeedPreset,
    /// The encoder's rate control. Default: [`RateControl::ConstantQuality`]`(23)`.
    pub quality: RateControl,
    /// Keep the source's first audio stream, cut to the time the map covers: AAC is copied,
    /// anything else is decoded and encoded to AAC (`avenc_aac`, else `voaacenc`). Default:
    /// true.
    pub audio: bool,
    /// The H.264 encoder. Default: [`EncoderChoice::Auto`].
    pub encoder: EncoderChoice,
}

impl Default for TranscodeOptions {
    fn default() -> Self {
        TranscodeOptions {
            max_side: Some(2048),
            orientation: Orientation::Display,
            keyframe_interval: Duration::from_secs(2),
            speed_preset: SpeedPreset::Veryfast,
            quality: RateControl::default(),
            audio: true,
            encoder: EncoderChoice::Auto,
        }
    }
}

impl TranscodeOptions {
    /// Set [`max_side`](Self::max_side).
    pub fn max_side(mut self, v: Option<u32>) -> Self {
        self.max_side = v;
        self
    }
    /// Set [`orientation`](Self::orientation).
    pub fn orientation(mut self, v: Orientation) -> Self {
        self.orientation = v;
        self
    }
    /// Set [`keyframe_interval`](Self::keyframe_interval).
    pub fn keyframe_interval(mut self, v: Duration) -> Self {
        self.keyframe_interval = v;
        self
    }
    /// Set [`speed_preset`](Self::speed_preset).
    pub fn speed_preset(mut self, v: SpeedPreset) -> Self {
        self.speed_preset = v;
        self
    }
    /// Set [`quality`](Self::quality).
    pub fn quality(mut self, v: RateControl) -> Self {
        self.quality = v;
        self
    }
    /// Set [`audio`](Self::audio).
    pub fn audio(mut self, v: bool) -> Self {
        self.audio = v;
        self
    }
    /// Set [`encoder`](Self::encoder).
    pub fn encoder(mut self, v: EncoderChoice) -> Self {
        self.encoder = v;
        self
    }

    /// [`Error::InvalidOption`] for options that cannot be met.
    fn validate(&self) -> Result<()> {
        let invalid = |option: &str, reason: &str| {
            Err(Error::InvalidOption {
                option: option.into(),
                reason: reason.into(),
            })
        };
        if self.max_side.is_some_and(|m| m < 2) {
            return invalid("max_side", "must be at least 2");
        }
        if self.keyframe_interval.is_zero() {
            return invalid("keyframe_interval", "must be positive");
        }
        match self.quality {
            RateControl::ConstantQuality(q) if q > 50 => {
                invalid("quality", "constant quality must be within 0..=50")
            }
            RateControl::Bitrate(0) => invalid("quality", "bitrate must be positive"),
            _ => Ok(()),
        }
    }
}

/// What happened to the source's audio.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AudioOutcome {
    /// The output has no audio: the source has none, or [`TranscodeOptions::audio`] is off.
    None,
    /// The source's AAC was copied.
    Copied,
    /// The source's audio was encoded to AAC.
    Reencoded {
        /// The source's audio codec (`mp3`, `opus`, `vorbis`, …).
        from: String,
    },
}

/// What [`GstDemuxer::transcode`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TranscodeReport {
    /// Video frames in the output: one per entry of the map (checked on the encoder's output).
    pub frames: u64,
    /// Width of the encoded frames.
    pub width: u32,
    /// Height of the encoded frames.
    pub height: u32,
    /// The H.264 encoder element used.
    pub encoder: String,
    /// What happened to the audio.
    pub audio: AudioOutcome,
    /// The clockwise rotation written as the track's display matrix
    /// ([`Orientation::Stored`] of a rotated source); `None` when the output carries none.
    pub rotation_metadata: Option<u32>,
    /// Size of the output file in bytes.
    pub bytes: u64,
}

/// H.264 encoders tried by [`EncoderChoice::Auto`], best first, with their Debian packages.
const H264_ENCODERS: [(&str, &str); 2] = [
    ("x264enc", "gstreamer1.0-plugins-ugly"),
    ("openh264enc", "gstreamer1.0-plugins-bad"),
];

/// AAC encoders, best first, with their Debian packages.
const AAC_ENCODERS: [(&str, &str); 2] = [
    ("avenc_aac", "gstreamer1.0-libav"),
    ("voaacenc", "gstreamer1.0-plugins-bad"),
];

/// The H.264 encoder element `choice` selects on this machine.
///
/// # Errors
/// [`Error::NoEncoder`] naming the elements tried and the Debian package of the preferred one
/// when none is installed (or the named element does not output H.264); [`Error::Backend`]
/// when GStreamer cannot start.
pub fn h264_encoder(choice: &EncoderChoice) -> Result<String> {
    crate::pipeline::init("h264 encoder")?;
    let outputs_h264 = |name: &str| {
        gst::ElementFactory::find(name).is_some_and(|f| {
            f.can_src_any_caps(&gst::Caps::new_empty_simple("video/x-h264"))
                && f.klass().contains("Encoder")
        })
    };
    match choice {
        EncoderChoice::Auto => H264_ENCODERS
            .iter()
            .map(|(name, _)| *name)
            .find(|name| outputs_h264(name))
            .map(str::to_owned)
            .ok_or_else(|| no_encoder("h264", &H264_ENCODERS)),
        EncoderChoice::Named(name) if outputs_h264(name) => Ok(name.clone()),
        EncoderChoice::Named(name) => Err(Error::NoEncoder {
            codec: "h264".into(),
            tried: name.clone(),
            package: package_of(name).unwrap_or(H264_ENCODERS[0].1).into(),
        }),
    }
}

/// The AAC encoder element on this machine.
fn aac_encoder() -> Result<&'static str> {
    AAC_ENCODERS
        .iter()
        .map(|(name, _)| *name)
        .find(|name| gst::ElementFactory::find(name).is_some())
        .ok_or_else(|| no_encoder("aac", &AAC_ENCODERS))
}

fn package_of(element: &str) -> Option<&'static str> {
    H264_ENCODERS
        .iter()
        .chain(AAC_ENCODERS.iter())
        .find(|(name, _)| *name == element)
        .map(|(_, package)| *package)
}

fn no_encoder(codec: &str, list: &[(&str, &str)]) -> Error {
    Error::NoEncoder {
        codec: codec.into(),
        tried: list
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", "),
        package: list.first().map_or("", |(_, p)| *p).into(),
    }
}

/// The encoded size for frames of `width` x `height` (already oriented as they will be
/// encoded): within `max_side` keeping the aspect ratio, never larger, both sides even.
pub(crate) fn target_size(width: u32, height: u32, max_side: Option<u32>) -> (u32, u32) {
    let long = width.max(height);
    let (w, h) = match max_side {
        Some(max) if long > max && long > 0 => {
            let s = f64::from(max) / f64::from(long);
            (
                (f64::from(width) * s).round() as u32,
                (f64::from(height) * s).round() as u32,
            )
        }
        _ => (width, height),
    };
    ((w & !1).max(2), (h & !1).max(2))
}

/// `e` as an [`Error::Transcode`] naming the source and the output ([`Error::NoEncoder`] and
/// errors that already are stay as they are).
fn in_context(uri: &str, output: &Path, e: Error) -> Error {
    match e {
        Error::NoEncoder { .. } | Error::Transcode { .. } => e,
        other => {
            // The reason says it all, causes included (a backend error's cause is its detail).
            let mut reason = other.to_string();
            let mut cause = std::error::Error::source(&other);
            while let Some(c) = cause {
                reason = format!("{reason}: {c}");
                cause = c.source();
            }
            Error::Transcode {
                uri: uri.to_owned(),
                output: output.display().to_string(),
                reason,
                source: Some(Box::new(other)),
            }
        }
    }
}

impl GstDemuxer {
    /// Write `output`, a local MP4 file, showing the frames of `map`: output frame `i` is
    /// source frame `map.frames[i].source_index` at `map.frames[i].pts`, encoded to H.264
    /// (High profile, 4:2:0 8-bit, `moov` first) as [`TranscodeOptions`] say, with the
    /// source's audio over the same time when there is one.
    ///
    /// The map's source indices must not decrease (a frame may repeat). Frames are decoded by
    /// the frame-accurate decoder ([`GstDemuxer::frame_source`], native planes) and encoded at
    /// the map's timestamps: one output frame per map entry, none dropped or added. The file
    /// is written under a temporary name next to `output` and renamed when complete; on error,
    /// or when the future is dropped (the work stops at the next frame), nothing is left
    /// behind. The demuxer's stall timeout applies to every step, its decode
    /// deadline to the whole transcode.
    ///
    /// # Errors
    /// [`Error::NoEncoder`] when no H.264 (or, for audio that is not AAC, no AAC) encoder is
    /// installed; otherwise every failure is an [`Error::Transcode`] naming the source and
    /// `output`, whose source is the underlying error (a decode error, a
    /// [`Timeout`](Error::Timeout), the pipeline's bus error, an invalid map or option).
    pub async fn transcode(
        &mut self,
        map: &FrameMap,
        output: &Path,
        options: &TranscodeOptions,
    ) -> Result<TranscodeReport> {
        let uri = self.uri();
        let encoder = h264_encoder(&options.encoder)?;
        let prepared = self.prepare_transcode(map, options).await;
        let job = match prepared {
            Ok((source, metadata)) => run::Job {
                uri: uri.clone(),
                input: self.input().clone(),
                source,
                metadata,
                map: map.clone(),
                output: output.to_owned(),
                options: options.clone(),
                encoder,
                stall: self.stall_timeout(),
                deadline: self.decode_deadline(),
            },
            Err(e) => return Err(in_context(&uri, output, e)),
        };
        // The loop waits on the decoder's stream and the encoder: a thread of its own, as a
        // stream driver (not the pool of short tasks), whose only item is the report.
        // Dropping the future stops the loop at the next frame (and removes the partial file).
        let mut stream = video_core::blocking::stream("video-gst transcode", 0, move |tx| {
            let result = job.run(&|| tx.is_closed());
            let _ = futures::executor::block_on(futures::SinkExt::send(tx, result));
            Ok(())
        })
        .map_err(|e| {
            in_context(
                &uri,
                output,
                Error::Backend {
                    backend: "gstreamer",
                    uri: Some(uri.clone()),
                    element: None,
                    source: Box::new(e),
                },
            )
        })?;
        let result = futures::StreamExt::next(&mut stream).await;
        match result {
            Some(Ok(report)) => Ok(report),
            Some(Err(e)) => Err(in_context(&uri, output, e)),
            None => Err(in_context(
                &uri,
                output,
                Error::Panicked {
                    task: "video-gst transcode",
                    message: "the transcode ended without a result".into(),
                },
            )),
        }
    }

    /// Check the map and options and open the frame source.
    async fn prepare_transcode(
        &mut self,
        map: &FrameMap,
        options: &TranscodeOptions,
    ) -> Result<(crate::GstFrameSource, video_core::VideoMetadata)> {
        options.validate()?;
        let metadata = self.probed().await?.metadata.clone();
        let source = self
            .frame_source(
                crate::DecodeOptions::default()
                    .output(crate::OutputFormat::Native)
                    .orientation(Orientation::Stored),
            )
            .await?;
        let table = source.frame_table();
        if map.is_empty() {
            return Err(Error::InvalidPlan {
                reason: "frame map: no frame to encode".into(),
            });
        }
        map.validate(table.len())?;
        if let Some((i, w)) = map
            .frames
            .windows(2)
            .enumerate()
            .find(|(_, w)| w[1].source_index < w[0].source_index)
        {
            return Err(Error::InvalidPlan {
                reason: format!(
                    "frame map: output frame {} shows source frame {}, before source frame {} \
                     of output frame {i}; source frames must not go backwards",
                    i + 1,
                    w[1].source_index,
                    w[0].source_index
                ),
            });
        }
        Ok((source, metadata))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_sizes_fit_keep_aspect_and_are_even() {
        assert_eq!(target_size(1920, 1080, Some(2048)), (1920, 1080));
        assert_eq!(target_size(3840, 2160, Some(2048)), (2048, 1152));
        assert_eq!(target_size(2160, 3840, Some(2048)), (1152, 2048));
        assert_eq!(target_size(322, 186, Some(2048)), (322, 186));
        assert_eq!(target_size(321, 185, Some(2048)), (320, 184));
        assert_eq!(target_size(321, 185, None), (320, 184));
        assert_eq!(target_size(4000, 10, Some(2048)), (2048, 4));
        assert_eq!(target_size(1, 1, Some(2048)), (2, 2));
    }

    #[test]
    fn options_are_checked() {
        assert!(TranscodeOptions::default().validate().is_ok());
        let bad = [
            TranscodeOptions::default().max_side(Some(1)),
            TranscodeOptions::default().keyframe_interval(Duration::ZERO),
            TranscodeOptions::default().quality(RateControl::ConstantQuality(51)),
            TranscodeOptions::default().quality(RateControl::Bitrate(0)),
        ];
        for o in bad {
            assert!(
                matches!(o.validate(), Err(Error::InvalidOption { .. })),
                "{o:?}"
            );
        }
    }
}

//! Turning GStreamer failures into `video_core::Error`.

use gstreamer as gst;
use gstreamer::prelude::*;
use video_core::{Error, Result};

/// Codec short name, decoder element and Debian package for a caps structure name.
pub(crate) fn codec_of(
    caps: &gst::CapsRef,
) -> (String, Option<&'static str>, Option<&'static str>) {
    let Some(s) = caps.structure(0) else {
        return ("unknown".into(), None, None);
    };
    let name = s.name().as_str();
    let (codec, element, package): (&str, Option<&'static str>, Option<&'static str>) = match name {
        "video/x-h264" => ("h264", Some("avdec_h264"), Some("gstreamer1.0-libav")),
        "video/x-h265" => ("hevc", Some("avdec_h265"), Some("gstreamer1.0-libav")),
        "video/x-vp8" => ("vp8", Some("vp8dec"), Some("gstreamer1.0-plugins-good")),
        "video/x-vp9" => ("vp9", Some("vp9dec"), Some("gstreamer1.0-plugins-good")),
        "video/x-av1" => ("av1", Some("av1dec"), Some("gstreamer1.0-plugins-bad")),
        "image/jpeg" => ("mjpeg", Some("jpegdec"), Some("gstreamer1.0-plugins-good")),
        "video/x-prores" => ("prores", Some("avdec_prores"), Some("gstreamer1.0-libav")),
        "video/x-theora" => (
            "theora",
            Some("theoradec"),
            Some("gstreamer1.0-plugins-base"),
        ),
        "image/gif" => ("gif", Some("avdec_gif"), Some("gstreamer1.0-libav")),
        "image/png" => ("png", Some("pngdec"), Some("gstreamer1.0-plugins-good")),
        "video/x-divx" | "video/x-xvid" => {
            ("mpeg4", Some("avdec_mpeg4"), Some("gstreamer1.0-libav"))
        }
        "video/x-dnxhd" => ("dnxhd", Some("avdec_dnxhd"), Some("gstreamer1.0-libav")),
        "video/x-ffv" => ("ffv1", Some("avdec_ffv1"), Some("gstreamer1.0-libav")),
        "video/x-raw" => ("rawvideo", None, None),
        "video/mpeg" => match s.get::<i32>("mpegversion").unwrap_or(0) {
            4 => ("mpeg4", Some("avdec_mpeg4"), Some("gstreamer1.0-libav")),
            2 => (
                "mpeg2video",
                Some("avdec_mpeg2video"),
                Some("gstreamer1.0-libav"),
            ),
            1 => (
                "mpeg1video",
                Some("avdec_mpeg2video"),
                Some("gstreamer1.0-libav"),
            ),
            _ => ("mpeg", None, None),
        },
        "video/x-avi-unknown" => {
            // avidemux could not map the FourCC: say which it was.
            let fourcc = s.get::<String>("fourcc").ok().or_else(|| {
                s.get::<i32>("fourcc")
                    .ok()
                    .map(|v| String::from_utf8_lossy(&v.to_le_bytes()).into_owned())
            });
            let codec = match fourcc.as_deref().map(str::to_ascii_uppercase).as_deref() {
                Some("AV01") => "av1 (in AVI)",
                Some("VP90") => "vp9 (in AVI)",
                _ => "unknown AVI FourCC",
            };
            return (
                fourcc
                    .map(|f| format!("{codec} {f}"))
                    .unwrap_or_else(|| codec.to_owned()),
                None,
                None,
            );
        }
        other => return (other.to_owned(), None, None),
    };
    (codec.to_owned(), element, package)
}

/// Map a bus error message to a typed error.
pub(crate) fn from_bus_error(uri: &str, err: &gst::message::Error) -> Error {
    let element = err.src().map(|s| s.path_string().to_string());
    let gerr = err.error();
    let debug = err.debug().map(|d| d.to_string()).unwrap_or_default();
    let src_name = err.src().map(|s| s.name().to_string()).unwrap_or_default();
    let not_a_video =
        |reason: String, error: gstreamer::glib::Error, debug: String| Error::NotAVideo {
            uri: uri.to_owned(),
            reason,
            source: Some(Box::new(BusError { error, debug })),
        };
    if let Some(e) = gerr.kind::<gst::StreamError>() {
        match e {
            gst::StreamError::TypeNotFound | gst::StreamError::WrongType => {
                return not_a_video(
                    "the content is not a known media format".into(),
                    gerr,
                    debug,
                );
            }
            gst::StreamError::CodecNotFound => {
                return Error::UnsupportedCodec {
                    uri: uri.to_owned(),
                    codec: gerr.message().to_owned(),
                    element,
                    package: None,
                };
            }
            gst::StreamError::Demux if src_name.contains("typefind") => {
                return not_a_video(
                    "the content is not a known media format".into(),
                    gerr,
                    debug,
                );
            }
            gst::StreamError::Demux | gst::StreamError::Format => {
                return not_a_video(
                    format!("{src_name} could not read the container"),
                    gerr,
                    debug,
                );
            }
            _ => {}
        }
    }
    if let Some(gst::ResourceError::NotFound | gst::ResourceError::OpenRead) =
        gerr.kind::<gst::ResourceError>()
    {
        return Error::NotFound {
            uri: uri.to_owned(),
            source: Some(Box::new(gerr)),
        };
    }
    Error::Backend {
        backend: "gstreamer",
        uri: Some(uri.to_owned()),
        element,
        source: Box::new(BusError { error: gerr, debug }),
    }
}

/// A bus error with its debug text (kept as the `source` of [`Error::Backend`]).
#[derive(Debug)]
struct BusError {
    error: gstreamer::glib::Error,
    debug: String,
}

impl std::fmt::Display for BusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // One line: GStreamer's message, then its debug text (which names the element).
        let debug = self.debug.split_whitespace().collect::<Vec<_>>().join(" ");
        if debug.is_empty() {
            write!(f, "{}", self.error)
        } else {
            write!(f, "{} ({debug})", self.error)
        }
    }
}

/// The `glib::Error` is shown in this error's own message, so it is not repeated as a source.
impl std::error::Error for BusError {}

/// An error from a GStreamer call (state change, element creation, linking).
pub(crate) fn backend(uri: &str, element: Option<&str>, what: impl Into<String>) -> Error {
    Error::Backend {
        backend: "gstreamer",
        uri: Some(uri.to_owned()),
        element: element.map(str::to_owned),
        source: what.into().into(),
    }
}

/// Make an element, naming the Debian package when it is missing.
pub(crate) fn make(uri: &str, factory: &str) -> Result<gst::Element> {
    gst::ElementFactory::make(factory).build().map_err(|_| {
        let package = match factory {
            "parsebin" | "typefind" | "appsink" | "videoconvert" | "videoscale" | "videoflip" => {
                "gstreamer1.0-plugins-base"
            }
            _ => "a GStreamer plugins package",
        };
        backend(
            uri,
            Some(factory),
            format!("cannot create the GStreamer element {factory}: install {package}"),
        )
    })
}

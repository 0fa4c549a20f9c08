//! The one error type of video-dataset.

use std::path::PathBuf;

/// A boxed error kept as the `source` of a variant.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in video-dataset.
///
/// Every variant names what it is about (the file or URI, the frame index, the timestamp, the
/// element) so that a message alone is enough to reproduce the failure. Underlying errors are kept
/// as [`std::error::Error::source`] and never repeated in the message: print the chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input does not exist or cannot be opened.
    #[error("{uri}: not found or not readable")]
    NotFound {
        /// The file or URI that was asked for.
        uri: String,
        /// What the operating system or store said.
        #[source]
        source: Option<BoxError>,
    },
    /// The input exists but is not a video container the backend can read (text, random bytes,
    /// an empty file, a cut-off header).
    #[error("{uri}: not a video: {reason}")]
    NotAVideo {
        /// The file or URI.
        uri: String,
        /// What was wrong, in a few words.
        reason: String,
        /// The backend's own error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The container holds no video stream (an audio-only file), or not the one asked for.
    #[error("{uri}: no video stream{}", match .requested { Some(i) => format!(" with index {i}"), None => String::new() })]
    NoVideoStream {
        /// The file or URI.
        uri: String,
        /// The video stream index that was asked for, if one was.
        requested: Option<usize>,
    },
    /// The video codec (or container) cannot be decoded with what is installed.
    #[error("{uri}: unsupported codec {codec}{}", match (.element, .package) {
        (Some(e), Some(p)) => format!(" (missing GStreamer element {e}; install the Debian package {p})"),
        (Some(e), None) => format!(" (missing GStreamer element {e})"),
        (None, Some(p)) => format!(" (install the Debian package {p})"),
        (None, None) => String::new(),
    })]
    UnsupportedCodec {
        /// The file or URI.
        uri: String,
        /// The codec's short name (`h264`, `av1`, …) or its caps when it has none.
        codec: String,
        /// The GStreamer element that would decode it, when one is missing.
        element: Option<String>,
        /// The Debian package that provides that element.
        package: Option<String>,
    },
    /// The input is a video, but something in it is not supported (for example a container
    /// that gives no timestamps, so frames cannot be identified).
    #[error("{uri}: unsupported: {reason}")]
    Unsupported {
        /// The file or URI.
        uri: String,
        /// What is not supported.
        reason: String,
    },
    /// A sampling plan or an option has a value that cannot work.
    #[error("invalid plan: {reason}")]
    InvalidPlan {
        /// What is wrong, naming the value.
        reason: String,
    },
    /// A frame index past the end of the video.
    #[error("frame index {index} out of range: the video has {frame_count} frames")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// How many frames the video has.
        frame_count: u64,
    },
    /// A pipeline made no progress for longer than the configured limit.
    #[error("{uri}: timed out after {waited:?} while {operation}")]
    Timeout {
        /// The file or URI.
        uri: String,
        /// What was being done.
        operation: String,
        /// How long it waited.
        waited: std::time::Duration,
    },
    /// A frame that the frame table lists could not be decoded.
    #[error("{uri}: could not decode frame {}{}: {reason}",
        .index.map(|i| i.to_string()).unwrap_or_else(|| "?".into()),
        .pts.map(|p| format!(" (pts {p})")).unwrap_or_default())]
    Decode {
        /// The file or URI.
        uri: String,
        /// The frame index, when known.
        index: Option<u64>,
        /// The frame's timestamp, when known.
        pts: Option<crate::Timestamp>,
        /// What went wrong.
        reason: String,
    },
    /// An image could not be encoded or written.
    #[error("could not encode frame {index} as {format}")]
    Encode {
        /// The frame index.
        index: u64,
        /// The image format (`jpeg`, `png`).
        format: &'static str,
        /// The encoder's error.
        #[source]
        source: BoxError,
    },
    /// A dataset folder, video name or object key that is not allowed (it could escape the
    /// dataset's prefix, or is empty).
    #[error("invalid dataset path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A configured limit was exceeded (dimensions, frame count, bytes).
    #[error("{what}: limit {limit} exceeded (got {actual})")]
    LimitExceeded {
        /// What was limited.
        what: String,
        /// The limit.
        limit: u64,
        /// The value seen.
        actual: u64,
    },
    /// A file is larger than the size limit it was given; nothing was written.
    #[error("{uri}: {size} bytes is more than the limit of {limit} bytes")]
    TooLarge {
        /// The file or URI.
        uri: String,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// An I/O error on a local path.
    #[error("{}: {operation} failed", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What was being done (`create`, `write`, `rename`, …).
        operation: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A failure inside a backend that fits no other variant.
    #[error("{backend} backend failed{}{}", .element.as_ref().map(|e| format!(" in {e}")).unwrap_or_default(),
        .uri.as_ref().map(|u| format!(" on {u}")).unwrap_or_default())]
    Backend {
        /// The backend's name (`gstreamer`, `object_store`).
        backend: &'static str,
        /// The file or URI, when known.
        uri: Option<String>,
        /// The element (or component) that failed, when known.
        element: Option<String>,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// An annotation or project meta that is malformed or inconsistent, or that cannot be
    /// converted or written. `location` names the place (`objects[3] (key "car-1")`,
    /// `frames[2] (frame 12) / figures[7] (key "f7")`), so the message alone finds it.
    #[error("{source_name}: {}{reason}", if .location.is_empty() { String::new() } else { format!("{}: ", .location) })]
    Annotation {
        /// The file or document the annotation came from (or the model's name when it was
        /// built in memory).
        source_name: String,
        /// Where in it: a path of JSON members with the object, figure and frame involved;
        /// empty for the document as a whole.
        location: String,
        /// What is wrong, in a few words.
        reason: String,
        /// The parser's, decoder's or writer's own error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// A trait method that an implementation does not provide.
    #[error("{operation} is not implemented by {implementer}")]
    NotImplemented {
        /// The method.
        operation: &'static str,
        /// The implementation.
        implementer: &'static str,
    },
    /// A request to an object store failed after the retries its policy allows (or at once, for
    /// a failure no retry can fix: refused permission, a malformed request). `transient` tells
    /// whether trying again later may succeed: a connection refused, reset or timed out, a
    /// server error (5xx), throttling. A missing object or bucket is [`Error::NotFound`]
    /// instead, and a read that exceeded its own deadline [`Error::Timeout`].
    #[error("{uri}: store {operation} failed{}", if *.transient { " (transient: a retry may succeed)" } else { "" })]
    Store {
        /// The object key (or URL) the request was about.
        uri: String,
        /// What was being done (`get`, `put`, `list`, `head`, `multipart upload`, …).
        operation: &'static str,
        /// Whether a later retry may succeed.
        transient: bool,
        /// The store's error.
        #[source]
        source: BoxError,
    },
    /// An option has a value that cannot work (a JPEG quality out of range, zero writes in
    /// flight, a resize to a zero size); plans have [`Error::InvalidPlan`].
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The option, as its setter is named (`quality`, `writes_in_flight`, `resize`).
        option: String,
        /// What is wrong, naming the value.
        reason: String,
    },
    /// A decoded frame could not be converted to another pixel format (its planes do not fit
    /// its layout, or no conversion exists for its format).
    #[error("could not convert frame {index} from {from} to {to}")]
    Convert {
        /// The frame index.
        index: u64,
        /// The frame's pixel format (`I420`, `Y444`, …).
        from: String,
        /// The pixel format asked for (`RGB`).
        to: &'static str,
        /// What went wrong.
        #[source]
        source: BoxError,
    },
    /// Work on a thread of its own (a blocking task, a stream's driver) panicked. This is a bug;
    /// it is reported as an error instead of a hang or a short stream.
    #[error("{task} panicked: {message}")]
    Panicked {
        /// What was running (`blocking task`, `video-gst decode`, …).
        task: &'static str,
        /// The panic's message, when it was a string.
        message: String,
    },
    /// `video_dataset::JobHandle::wait` (a job of many videos) reached its deadline before the job ended. The job keeps running: wait again, or read its record.
    #[error("job {job_id} still running after waiting {waited:?}")]
    PollTimeout {
        /// The job's id.
        job_id: String,
        /// How long the caller waited.
        waited: std::time::Duration,
    },
    /// No installed GStreamer element can encode to the codec asked for.
    #[error("no encoder for {codec}: tried {tried}; install the Debian package {package}")]
    NoEncoder {
        /// The codec (`h264`, `aac`).
        codec: String,
        /// The GStreamer elements tried, in order, comma-separated.
        tried: String,
        /// The Debian package that provides the preferred one.
        package: String,
    },
    /// Transcoding or remuxing a video into a prepared output failed.
    #[error("{uri}: could not write {output}: {reason}")]
    Transcode {
        /// The source video's file or URI.
        uri: String,
        /// The output being written (a local path or a dataset key).
        output: String,
        /// What went wrong.
        reason: String,
        /// The backend's own error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// A time outside the video: before its first frame or at or after its end. Times count
    /// from the first frame's presentation time, as the plans' seconds do.
    #[error("{uri}: time {seconds}s is outside the video (it lasts {duration:?})")]
    TimeOutOfRange {
        /// The file or URI.
        uri: String,
        /// The time asked for, in seconds.
        seconds: f64,
        /// How long the video lasts, from its first frame to its end.
        duration: std::time::Duration,
    },
}

impl Error {
    /// The variant's name in snake case (`not_a_video`, `store`, `poll_timeout`, …): a stable,
    /// machine-readable kind for records that keep an error as text (a job's record).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::NotAVideo { .. } => "not_a_video",
            Error::NoVideoStream { .. } => "no_video_stream",
            Error::UnsupportedCodec { .. } => "unsupported_codec",
            Error::Unsupported { .. } => "unsupported",
            Error::InvalidPlan { .. } => "invalid_plan",
            Error::IndexOutOfRange { .. } => "index_out_of_range",
            Error::Timeout { .. } => "timeout",
            Error::Decode { .. } => "decode",
            Error::Encode { .. } => "encode",
            Error::InvalidPath { .. } => "invalid_path",
            Error::LimitExceeded { .. } => "limit_exceeded",
            Error::TooLarge { .. } => "too_large",
            Error::Io { .. } => "io",
            Error::Backend { .. } => "backend",
            Error::Annotation { .. } => "annotation",
            Error::NotImplemented { .. } => "not_implemented",
            Error::Store { .. } => "store",
            Error::InvalidOption { .. } => "invalid_option",
            Error::Convert { .. } => "convert",
            Error::Panicked { .. } => "panicked",
            Error::PollTimeout { .. } => "poll_timeout",
            Error::NoEncoder { .. } => "no_encoder",
            Error::Transcode { .. } => "transcode",
            Error::TimeOutOfRange { .. } => "time_out_of_range",
        }
    }

    /// Whether retrying the same call later could succeed: a [`Timeout`](Error::Timeout), and a
    /// [`Store`](Error::Store) failure that is `transient` (the store could not be reached, reset
    /// the connection, timed out or answered with a server error after every retry).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Timeout { .. }
                | Error::Store {
                    transient: true,
                    ..
                }
        )
    }
}

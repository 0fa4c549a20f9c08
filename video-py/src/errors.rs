//! The Python exception classes, one per kind of `video_dataset::Error`.
//!
//! All derive from `VideoDatasetError`; where a Python built-in exception means the same, a
//! class derives from it too (an index past the end is an `IndexError`, an invalid option a
//! `ValueError`, a missing file a `FileNotFoundError`), so Python code that catches the
//! built-in still works. Every raised exception carries `kind` (the Rust kind's snake-case
//! name, `Error::kind`), `transient` (`Error::is_transient`: a retry later could succeed) and,
//! where the error has them, `uri`, `index` and `frame_count`.

use pyo3::prelude::*;
use video_dataset::Error;

/// Each Python exception class (defined in `video_dataset/errors.py`) and the Rust kinds
/// (`Error::kind`) it stands for. A kind missing here raises `VideoDatasetError` itself.
pub(crate) const CLASSES: &[(&str, &[&str])] = &[
    ("NotFoundError", &["not_found"]),
    ("NotAVideoError", &["not_a_video"]),
    ("NoVideoStreamError", &["no_video_stream"]),
    ("UnsupportedCodecError", &["unsupported_codec"]),
    ("UnsupportedError", &["unsupported", "not_implemented"]),
    ("InvalidPlanError", &["invalid_plan"]),
    ("IndexOutOfRangeError", &["index_out_of_range"]),
    ("TimeOutOfRangeError", &["time_out_of_range"]),
    ("StallTimeoutError", &["timeout", "poll_timeout"]),
    ("DecodeError", &["decode", "convert"]),
    ("EncodeError", &["encode", "transcode", "no_encoder"]),
    ("InvalidPathError", &["invalid_path"]),
    ("LimitExceededError", &["limit_exceeded", "too_large"]),
    ("IoError", &["io"]),
    ("StoreError", &["store"]),
    ("AnnotationError", &["annotation"]),
    ("InvalidOptionError", &["invalid_option"]),
    ("BackendError", &["backend", "panicked"]),
];

/// The class name for a kind.
fn class_name(kind: &str) -> &'static str {
    CLASSES
        .iter()
        .find(|(_, kinds)| kinds.contains(&kind))
        .map_or("VideoDatasetError", |(name, _)| name)
}

/// Adds `ERROR_CLASSES` (class name → kinds) to the module, which `errors.py` checks itself
/// against.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let d = pyo3::types::PyDict::new(m.py());
    for (name, kinds) in CLASSES {
        d.set_item(name, kinds.to_vec())?;
    }
    m.add("ERROR_CLASSES", d)
}

/// A Rust error as the Python exception of its kind, with the error chain as its message and
/// `kind`, `uri`, `index`, `frame_count` attributes where known.
pub(crate) fn to_py(e: Error) -> PyErr {
    Python::attach(|py| {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        let name = class_name(e.kind());
        let value = match py
            .import("video_dataset.errors")
            .and_then(|m| m.getattr(name))
            .and_then(|class| class.call1((message.clone(),)))
        {
            Ok(v) => v,
            Err(import_error) => return import_error,
        };
        let _ = value.setattr("kind", e.kind());
        let _ = value.setattr("transient", e.is_transient());
        let (uri, index, frame_count) = match &e {
            Error::IndexOutOfRange { index, frame_count } => {
                (None, Some(*index), Some(*frame_count))
            }
            Error::Decode { uri, index, .. } => (Some(uri.clone()), *index, None),
            Error::NotFound { uri, .. }
            | Error::NotAVideo { uri, .. }
            | Error::NoVideoStream { uri, .. }
            | Error::UnsupportedCodec { uri, .. }
            | Error::Unsupported { uri, .. }
            | Error::Timeout { uri, .. }
            | Error::TimeOutOfRange { uri, .. }
            | Error::Transcode { uri, .. } => (Some(uri.clone()), None, None),
            _ => (None, None, None),
        };
        let _ = value.setattr("uri", uri);
        let _ = value.setattr("index", index);
        let _ = value.setattr("frame_count", frame_count);
        PyErr::from_value(value)
    })
}

//! Limits checked before any preparation work.

use crate::{Error, Result, VideoMetadata};

/// Largest source file prepared by default: 5 GB.
pub const DEFAULT_MAX_BYTES: u64 = 5_000_000_000;
/// Most source frames prepared by default: 36,000 (20 minutes at 30 fps).
pub const DEFAULT_MAX_FRAMES: u64 = 36_000;

/// The largest video a preparation takes. Checked against the source's size and its probed
/// metadata before anything is decoded or written; a video over a limit fails with
/// [`Error::LimitExceeded`] naming the file and the limit.
///
/// ```
/// use video_core::prepare::PrepareLimits;
/// let l = PrepareLimits::default().max_seconds(Some(600.0)).max_frames(None);
/// assert_eq!(l.max_bytes, Some(5_000_000_000));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct PrepareLimits {
    /// Largest file size in bytes. Default: [`DEFAULT_MAX_BYTES`].
    pub max_bytes: Option<u64>,
    /// Longest duration in seconds. Default: none.
    pub max_seconds: Option<f64>,
    /// Most frames (the exact count of the frame table). Default: [`DEFAULT_MAX_FRAMES`].
    pub max_frames: Option<u64>,
}

impl Default for PrepareLimits {
    fn default() -> Self {
        PrepareLimits {
            max_bytes: Some(DEFAULT_MAX_BYTES),
            max_seconds: None,
            max_frames: Some(DEFAULT_MAX_FRAMES),
        }
    }
}

impl PrepareLimits {
    /// No limit at all.
    pub fn none() -> Self {
        PrepareLimits {
            max_bytes: None,
            max_seconds: None,
            max_frames: None,
        }
    }

    /// Set [`max_bytes`](Self::max_bytes).
    pub fn max_bytes(mut self, v: Option<u64>) -> Self {
        self.max_bytes = v;
        self
    }

    /// Set [`max_seconds`](Self::max_seconds).
    pub fn max_seconds(mut self, v: Option<f64>) -> Self {
        self.max_seconds = v;
        self
    }

    /// Set [`max_frames`](Self::max_frames).
    pub fn max_frames(mut self, v: Option<u64>) -> Self {
        self.max_frames = v;
        self
    }

    /// Checks a source file's size (before probing).
    pub fn check_size(&self, uri: &str, bytes: u64) -> Result<()> {
        match self.max_bytes {
            Some(limit) if bytes > limit => Err(Error::TooLarge {
                uri: uri.to_owned(),
                size: bytes,
                limit,
            }),
            _ => Ok(()),
        }
    }

    /// Checks a probed video's duration and exact frame count.
    pub fn check_metadata(&self, meta: &VideoMetadata) -> Result<()> {
        if let Some(limit) = self.max_frames
            && meta.frame_count > limit
        {
            return Err(Error::LimitExceeded {
                what: format!("{}: frame count", meta.uri),
                limit,
                actual: meta.frame_count,
            });
        }
        if let (Some(limit), Some(d)) = (self.max_seconds, meta.duration)
            && d.as_secs_f64() > limit
        {
            return Err(Error::LimitExceeded {
                what: format!("{}: duration in whole seconds", meta.uri),
                limit: limit.floor() as u64,
                actual: d.as_secs_f64().ceil() as u64,
            });
        }
        Ok(())
    }

    /// Checks the limits' own values.
    pub fn validate(&self) -> Result<()> {
        if let Some(s) = self.max_seconds
            && !(s.is_finite() && s > 0.0)
        {
            return Err(Error::InvalidOption {
                option: "max_seconds".into(),
                reason: format!("must be a positive number of seconds (got {s})"),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn limits_name_the_file_and_the_limit() {
        let l = PrepareLimits::default();
        assert!(l.check_size("a.mp4", DEFAULT_MAX_BYTES).is_ok());
        let e = l.check_size("a.mp4", DEFAULT_MAX_BYTES + 1).unwrap_err();
        assert!(e.to_string().contains("a.mp4"), "{e}");
        let mut m = VideoMetadata::new("b.mp4");
        m.frame_count = DEFAULT_MAX_FRAMES;
        l.check_metadata(&m).unwrap();
        m.frame_count += 1;
        let e = l.check_metadata(&m).unwrap_err();
        assert!(matches!(
            e,
            Error::LimitExceeded {
                limit: DEFAULT_MAX_FRAMES,
                ..
            }
        ));
        assert!(e.to_string().contains("b.mp4"), "{e}");
        m.frame_count = 10;
        m.duration = Some(Duration::from_secs_f64(60.5));
        l.max_seconds(Some(60.0)).check_metadata(&m).unwrap_err();
        l.max_seconds(Some(61.0)).check_metadata(&m).unwrap();
        PrepareLimits::none().check_size("a", u64::MAX).unwrap();
        assert!(l.max_seconds(Some(-1.0)).validate().is_err());
    }
}

//! How a [`Resize`] is described in manifests and messages: its `Display`, the one place that
//! spells it. (Kept in a file of its own while decode.rs is being split; it belongs beside the
//! enum.)

use std::fmt;

use crate::Resize;

/// The description manifests record as `sampling.resize`: `{width}x{height}` for
/// [`Resize::Exact`], `max-side:{n}` for [`Resize::FitWithin`].
///
/// ```
/// use video_gst::Resize;
/// assert_eq!(Resize::Exact { width: 640, height: 360 }.to_string(), "640x360");
/// assert_eq!(Resize::FitWithin { max_side: 512 }.to_string(), "max-side:512");
/// ```
impl fmt::Display for Resize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resize::Exact { width, height } => write!(f, "{width}x{height}"),
            Resize::FitWithin { max_side } => write!(f, "max-side:{max_side}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pinned: existing manifests hold these strings.
    #[test]
    fn descriptions() {
        assert_eq!(
            Resize::Exact {
                width: 1,
                height: 20
            }
            .to_string(),
            "1x20"
        );
        assert_eq!(Resize::FitWithin { max_side: 0 }.to_string(), "max-side:0");
    }
}

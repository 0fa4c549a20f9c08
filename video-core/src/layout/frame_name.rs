//! [`FrameName`]: the template that names frame images.

use std::fmt;

use crate::{Error, Result};

/// The default template: `{video}_{index}.{ext}` (`clip_000042.jpg`).
pub const DEFAULT_FRAME_NAME: &str = "{video}_{index}.{ext}";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Video,
    Index { width: usize },
    Ext,
}

/// How frame images are named inside their video's folder, from a template with placeholders:
///
/// | placeholder | becomes |
/// |---|---|
/// | `{video}` | the video's name (its file stem) |
/// | `{index}` | the frame index, zero-padded to 6 digits |
/// | `{index:0N}` | the frame index, zero-padded to `N` digits (1–20) |
/// | `{ext}` | `jpg` or `png` |
///
/// A template must contain `{index}` (or `{index:0N}`) exactly once, so that every frame gets its
/// own name; its literal text must not contain `/`, `\`, `..`, braces or control characters, so a
/// name stays one file inside the video's folder. Zero-padding never truncates: indices wider
/// than `N` digits are written in full.
///
/// ```
/// use video_core::layout::FrameName;
/// let name: FrameName = "frames-{video}-{index:08}.{ext}".parse()?;
/// assert_eq!(name.render("clip", 42, "jpg"), "frames-clip-00000042.jpg");
/// assert!("{video}.{ext}".parse::<FrameName>().is_err()); // no index
/// assert!("../{index}.{ext}".parse::<FrameName>().is_err());
/// # Ok::<(), video_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameName {
    template: String,
    parts: Vec<Part>,
}

impl FrameName {
    /// Parse and check a template.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] naming the template and what is wrong with it.
    pub fn parse(template: &str) -> Result<Self> {
        let bad = |reason: String| Error::InvalidPath {
            path: template.to_owned(),
            reason: format!("frame name template: {reason}"),
        };
        let mut parts = Vec::new();
        let mut rest = template;
        let mut indices = 0;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                Some(0) => {
                    let end = rest
                        .find('}')
                        .filter(|_| rest.starts_with('{'))
                        .ok_or_else(|| bad("unmatched brace".into()))?;
                    let name = &rest[1..end];
                    let part = match name {
                        "video" => Part::Video,
                        "ext" => Part::Ext,
                        "index" => Part::Index { width: 6 },
                        other => match other.strip_prefix("index:0").map(str::parse::<usize>) {
                            Some(Ok(width @ 1..=20)) => Part::Index { width },
                            _ => {
                                return Err(bad(format!(
                                    "unknown placeholder {{{other}}} (use {{video}}, {{index}}, {{index:0N}} with N from 1 to 20, {{ext}})"
                                )));
                            }
                        },
                    };
                    if matches!(part, Part::Index { .. }) {
                        indices += 1;
                    }
                    parts.push(part);
                    rest = &rest[end + 1..];
                }
                found => {
                    let (lit, tail) = rest.split_at(found.unwrap_or(rest.len()));
                    if lit.contains('/') || lit.contains('\\') {
                        return Err(bad(
                            "a frame name cannot contain '/' or '\\' (folders come from the video's folder)"
                                .into(),
                        ));
                    }
                    if lit.contains("..") {
                        return Err(bad("'..' is not allowed".into()));
                    }
                    if lit.chars().any(char::is_control) {
                        return Err(bad("control characters are not allowed".into()));
                    }
                    parts.push(Part::Literal(lit.to_owned()));
                    rest = tail;
                }
            }
        }
        if indices != 1 {
            return Err(bad(format!(
                "must contain {{index}} exactly once (found {indices})"
            )));
        }
        Ok(FrameName {
            template: template.to_owned(),
            parts,
        })
    }

    /// The file name of frame `index` of `video`, with extension `ext`.
    pub fn render(&self, video: &str, index: u64, ext: &str) -> String {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Literal(l) => s.push_str(l),
                Part::Video => s.push_str(video),
                Part::Index { width } => s.push_str(&format!("{index:0width$}")),
                Part::Ext => s.push_str(ext),
            }
        }
        s
    }

    /// The frame index of `file_name` if it is a name this template gives a frame of `video`
    /// (with any extension of ASCII letters and digits), `None` otherwise.
    ///
    /// ```
    /// use video_core::layout::FrameName;
    /// let name = FrameName::default();
    /// assert_eq!(name.index_of("clip", "clip_000042.png"), Some(42));
    /// assert_eq!(name.index_of("clip", "clip_1234567.jpg"), Some(1234567));
    /// assert_eq!(name.index_of("clip", "clip_2_000042.jpg"), None);
    /// assert_eq!(name.index_of("clip", "clip_000042.jpg.json"), None);
    /// ```
    pub fn index_of(&self, video: &str, file_name: &str) -> Option<u64> {
        match_parts(&self.parts, video, file_name, None)
    }

    /// The template as given.
    pub fn as_str(&self) -> &str {
        &self.template
    }
}

/// Match `rest` against `parts`, trying every split where a placeholder's length can vary;
/// returns the index matched.
fn match_parts(parts: &[Part], video: &str, rest: &str, index: Option<u64>) -> Option<u64> {
    let Some((part, tail)) = parts.split_first() else {
        return if rest.is_empty() { index } else { None };
    };
    match part {
        Part::Literal(l) => match_parts(tail, video, rest.strip_prefix(l.as_str())?, index),
        Part::Video => match_parts(tail, video, rest.strip_prefix(video)?, index),
        Part::Index { .. } => {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            (1..=digits).find_map(|n| {
                let i = rest[..n].parse().ok()?;
                match_parts(tail, video, &rest[n..], Some(i))
            })
        }
        Part::Ext => {
            let run = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
            (1..=run).find_map(|n| match_parts(tail, video, &rest[n..], index))
        }
    }
}

impl Default for FrameName {
    fn default() -> Self {
        FrameName {
            template: DEFAULT_FRAME_NAME.to_owned(),
            parts: vec![
                Part::Video,
                Part::Literal("_".into()),
                Part::Index { width: 6 },
                Part::Literal(".".into()),
                Part::Ext,
            ],
        }
    }
}

impl std::str::FromStr for FrameName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl fmt::Display for FrameName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.template)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn default_matches_its_template() {
        assert_eq!(
            FrameName::parse(DEFAULT_FRAME_NAME).unwrap(),
            FrameName::default()
        );
        assert_eq!(
            FrameName::default().render("clip", 42, "jpg"),
            "clip_000042.jpg"
        );
    }

    #[test]
    fn names_are_matched_back_to_their_index() {
        let n = FrameName::parse("{index:03}-{video}.{ext}").unwrap();
        for (video, i, ext) in [("a", 7, "png"), ("a-1", 12345, "jpg"), ("00", 0, "png")] {
            assert_eq!(n.index_of(video, &n.render(video, i, ext)), Some(i));
        }
        assert_eq!(n.index_of("a", "007-b.png"), None);
        assert_eq!(n.index_of("a", "007-a.png#1"), None);
        assert_eq!(n.index_of("a", "-a.png"), None);
        // A literal of digits after the index: the split that matches is found.
        let n = FrameName::parse("{video}{index}0.{ext}").unwrap();
        assert_eq!(n.index_of("v", &n.render("v", 120, "jpg")), Some(120));
    }

    #[test]
    fn renders_and_rejects() {
        let n = FrameName::parse("{index:03}-{video}.{ext}").unwrap();
        assert_eq!(n.render("a", 7, "png"), "007-a.png");
        assert_eq!(n.render("a", 12345, "png"), "12345-a.png");
        assert_eq!(
            FrameName::parse("{index:01}")
                .unwrap()
                .render("v", 0, "jpg"),
            "0"
        );
        for t in [
            "",
            "{video}.{ext}",
            "{index}{index}.{ext}",
            "a/{index}.{ext}",
            "a\\{index}",
            "..{index}",
            "{index}..{ext}",
            "{index",
            "{index}}",
            "}{index}",
            "{frame}{index}",
            "{index:8}",
            "{index:00}",
            "{index:021}",
            "{index}\n",
        ] {
            let e = FrameName::parse(t).unwrap_err();
            assert!(
                matches!(e, Error::InvalidPath { ref path, .. } if path == t),
                "{t:?}: {e}"
            );
        }
    }
}

//! [`ContentHash`]: the content hashes of stored images and videos, written `sha256:<hex>`.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

use crate::{Error, Result};

/// The prefix of a content hash's text form.
const PREFIX: &str = "sha256:";

/// The sha256 of some content (an encoded image, a whole video file), as records, manifests and
/// uploads write it: `sha256:` and 64 lower-case hex digits.
///
/// ```
/// use video_core::ContentHash;
/// let h = ContentHash::of(b"abc");
/// assert_eq!(
///     h.to_string(),
///     "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// assert_eq!(h.to_string().parse::<ContentHash>()?, h);
/// assert!("md5:900150983cd24fb0".parse::<ContentHash>().is_err());
/// # Ok::<(), video_core::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// The hash of `bytes` (for content already in memory; see [`ContentHasher`] for streams).
    pub fn of(bytes: &[u8]) -> Self {
        ContentHash(Sha256::digest(bytes).into())
    }

    /// A hash from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ContentHash(bytes)
    }

    /// The hash's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parse `sha256:` and 64 hex digits (upper- or lower-case).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] (option `content_hash`) quoting the text otherwise.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || Error::InvalidOption {
            option: "content_hash".into(),
            reason: format!("{text:?} is not `sha256:` and 64 hex digits"),
        };
        let hex = text.strip_prefix(PREFIX).ok_or_else(bad)?.as_bytes();
        if hex.len() != 64 {
            return Err(bad());
        }
        let digit = |c: u8| {
            char::from(c)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        };
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            let (Some(hi), Some(lo)) = (digit(pair[0]), digit(pair[1])) else {
                return Err(bad());
            };
            *byte = hi << 4 | lo;
        }
        Ok(ContentHash(out))
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({self})")
    }
}

impl FromStr for ContentHash {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl From<ContentHash> for String {
    fn from(h: ContentHash) -> String {
        h.to_string()
    }
}

impl serde::Serialize for ContentHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ContentHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A [`ContentHash`] computed over content fed in pieces ([`update`](Self::update), or
/// [`std::io::Write`] so that `std::io::copy` can feed it). Hashing is CPU work: async code
/// feeds it off the executor's threads.
///
/// ```
/// use video_core::{ContentHash, ContentHasher};
/// let mut h = ContentHasher::new();
/// h.update(b"a");
/// h.update(b"bc");
/// assert_eq!(h.finish(), ContentHash::of(b"abc"));
/// ```
#[derive(Clone, Default)]
pub struct ContentHasher(Sha256);

impl ContentHasher {
    /// A hasher that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next piece of content.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The hash of everything fed.
    pub fn finish(self) -> ContentHash {
        ContentHash(self.0.finalize().into())
    }
}

impl fmt::Debug for ContentHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentHasher").finish_non_exhaustive()
    }
}

impl std::io::Write for ContentHasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The text form is pinned: records and manifests of existing datasets hold it.
    #[test]
    fn text_form() {
        let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(ContentHash::of(b"").to_string(), empty);
        assert_eq!(ContentHash::parse(empty).unwrap(), ContentHash::of(b""));
        assert_eq!(
            ContentHash::parse(&empty.to_uppercase().replace("SHA256:", "sha256:")).unwrap(),
            ContentHash::of(b"")
        );
        assert_eq!(
            serde_json::to_string(&ContentHash::of(b"")).unwrap(),
            format!("\"{empty}\"")
        );
        let back: ContentHash = serde_json::from_str(&format!("\"{empty}\"")).unwrap();
        assert_eq!(back, ContentHash::of(b""));
        for bad in [
            "",
            "sha256:",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
            "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:+3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:é3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8",
        ] {
            assert!(
                matches!(ContentHash::parse(bad), Err(Error::InvalidOption { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn hasher_matches_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut h = ContentHasher::new();
        for piece in data.chunks(333) {
            h.update(piece);
        }
        assert_eq!(h.finish(), ContentHash::of(&data));
        let mut h = ContentHasher::new();
        std::io::copy(&mut data.as_slice(), &mut h).unwrap();
        assert_eq!(h.finish(), ContentHash::of(&data));
    }
}

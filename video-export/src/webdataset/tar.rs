//! A minimal, deterministic tar writer: POSIX ustar members (regular files only), a PAX extended
//! header for a name that ustar's `prefix` + `name` fields cannot hold, data padded to 512-byte
//! blocks, two zero blocks at the end.
//!
//! Every header has the same mode (`0644`), owner (uid/gid 0, no user or group names) and
//! modification time ([`MTIME`]), so the same members give the same bytes.

use std::io::Write;

use video_core::{Error, Result};

/// The tar block size.
pub(crate) const BLOCK: u64 = 512;

/// The bytes that end an archive: two zero blocks.
pub(crate) const END_LEN: u64 = 2 * BLOCK;

/// The modification time of every member: 2000-01-01T00:00:00Z, fixed so that a re-run writes
/// the same bytes (and not 0, which some tools flag as suspicious).
pub(crate) const MTIME: u64 = 946_684_800;

/// The largest size ustar's 11 octal digits hold (8 GiB - 1).
const MAX_SIZE: u64 = 0o777_7777_7777;

/// `len` rounded up to whole blocks.
pub(crate) fn padded(len: u64) -> u64 {
    len.div_ceil(BLOCK) * BLOCK
}

/// The header block(s) of a regular file `name` of `size` bytes: one ustar header, preceded
/// by a PAX extended header (and its data) when the name does not fit ustar's fields.
///
/// # Errors
/// [`Error::LimitExceeded`] for a file of 8 GiB or more.
pub(crate) fn member_headers(name: &str, size: u64) -> Result<Vec<u8>> {
    if size > MAX_SIZE {
        return Err(Error::LimitExceeded {
            what: format!("tar member {name:?}: size"),
            limit: MAX_SIZE,
            actual: size,
        });
    }
    let mut out = Vec::with_capacity(BLOCK as usize);
    match split_name(name) {
        Some((prefix, rest)) => out.extend_from_slice(&header(rest, prefix, size, b'0')),
        None => {
            // A PAX extended header whose `path` record holds the whole name; the ustar header
            // after it carries a truncated name that readers without PAX support fall back to.
            let record = pax_record("path", name);
            let short = truncated(name.rsplit('/').next().unwrap_or(name), 90);
            let pax_name = format!("PaxHeader/{short}");
            out.extend_from_slice(&header(pax_name.as_bytes(), b"", record.len() as u64, b'x'));
            out.extend_from_slice(&record);
            out.resize(padded(out.len() as u64) as usize, 0);
            out.extend_from_slice(&header(truncated(name, 100).as_bytes(), b"", size, b'0'));
        }
    }
    Ok(out)
}

/// The bytes a member `name` of `size` bytes takes in an archive: headers and padded data.
pub(crate) fn member_len(name: &str, size: u64) -> Result<u64> {
    Ok(member_headers(name, size)?.len() as u64 + padded(size))
}

/// `(prefix, name)` fields for `name` when ustar can hold it: the whole name in the 100-byte
/// `name` field, or split at a `/` into at most 155 bytes of prefix and 100 of name.
fn split_name(name: &str) -> Option<(&[u8], &[u8])> {
    let bytes = name.as_bytes();
    if bytes.len() <= 100 {
        return Some((b"", bytes));
    }
    // The shortest prefix that leaves at most 100 bytes of name.
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'/' && i > 0 && i <= 155)
        .map(|(i, _)| (&bytes[..i], &bytes[i + 1..]))
        .find(|(_, rest)| !rest.is_empty() && rest.len() <= 100)
}

/// The last at most `max` bytes of `s`, cut at a character boundary.
fn truncated(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// One PAX record, `"{len} {key}={value}\n"`, `len` counting the whole record.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + body.to_string().len();
    if len.to_string().len() > body.to_string().len() {
        len += 1;
    }
    format!("{len} {key}={value}\n").into_bytes()
}

/// A 512-byte ustar header.
fn header(name: &[u8], prefix: &[u8], size: u64, typeflag: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    octal(&mut h[100..108], 0o644);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], MTIME);
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    octal(&mut h[329..337], 0);
    octal(&mut h[337..345], 0);
    h[345..345 + prefix.len()].copy_from_slice(prefix);
    // The checksum: the sum of the header's bytes with its own field as spaces, written as six
    // octal digits, a NUL and a space.
    h[148..156].fill(b' ');
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    h[148..154].copy_from_slice(format!("{sum:06o}").as_bytes());
    h[154] = 0;
    h
}

/// `v` in octal, zero-padded to fill `field` but its last byte, which is NUL.
fn octal(field: &mut [u8], v: u64) {
    let width = field.len() - 1;
    let digits = format!("{v:0width$o}");
    field[..width].copy_from_slice(&digits.as_bytes()[digits.len() - width..]);
    field[width] = 0;
}

/// Writes members to `W`, counting the bytes.
#[derive(Debug)]
pub(crate) struct TarWriter<W> {
    out: W,
    len: u64,
}

impl<W: Write> TarWriter<W> {
    /// An archive written to `out`.
    pub(crate) fn new(out: W) -> Self {
        TarWriter { out, len: 0 }
    }

    /// The bytes written so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Append the regular file `name` holding `data`.
    pub(crate) fn append(&mut self, name: &str, data: &[u8]) -> std::io::Result<()> {
        let headers = member_headers(name, data.len() as u64).map_err(std::io::Error::other)?;
        self.out.write_all(&headers)?;
        self.out.write_all(data)?;
        let pad = padded(data.len() as u64) - data.len() as u64;
        self.out.write_all(&[0u8; BLOCK as usize][..pad as usize])?;
        self.len += headers.len() as u64 + padded(data.len() as u64);
        Ok(())
    }

    /// End the archive (two zero blocks) and flush it. Nothing may be appended after.
    pub(crate) fn finish(&mut self) -> std::io::Result<()> {
        self.out.write_all(&[0u8; END_LEN as usize])?;
        self.len += END_LEN;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    //! Archives read back by Python's `tarfile` and GNU tar, not by this module.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::process::Command;

    /// Members whose names and sizes exercise every path: short, split into prefix + name,
    /// PAX (a 101-byte base name, a 300-byte path), non-ASCII, empty, and sizes around a block.
    fn members() -> Vec<(String, Vec<u8>)> {
        let deep = format!("{}/{}", "d".repeat(120), "n".repeat(90));
        let long_base = format!("dir/{}", "b".repeat(101));
        let very_long = format!("{}/{}/x.json", "p".repeat(150), "q".repeat(140));
        let exact = "e".repeat(100);
        vec![
            ("a.jpg".into(), b"hello".to_vec()),
            ("train/cam1/clip_000001.json".into(), vec![]),
            (deep, vec![7u8; 511]),
            (long_base, vec![8u8; 512]),
            (very_long, vec![9u8; 513]),
            (exact, (0..=255u8).cycle().take(1500).collect()),
            ("vidéo/ünï_000002.png".into(), vec![1, 2, 3]),
        ]
    }

    fn archive(dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("t.tar");
        let file = std::fs::File::create(&path).unwrap();
        let mut w = TarWriter::new(std::io::BufWriter::new(file));
        let mut expected = 0;
        for (name, data) in members() {
            expected += member_len(&name, data.len() as u64).unwrap();
            w.append(&name, &data).unwrap();
            assert_eq!(w.len(), expected, "{name}");
        }
        w.finish().unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        assert_eq!(size, expected + END_LEN);
        assert_eq!(size % BLOCK, 0);
        path
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("video-export-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn python_tarfile_reads_every_member_back() {
        let dir = scratch("tarfile");
        let path = archive(&dir);
        // tarfile checks every header's checksum (a bad one raises), the ustar magic, and
        // reads PAX headers; print name, size, mode, mtime, uid, type and the data's hex.
        let script = r#"
import sys, tarfile
with tarfile.open(sys.argv[1], "r:") as t:
    for m in t:
        d = t.extractfile(m).read()
        print(repr(m.name), m.size, oct(m.mode), m.mtime, m.uid, m.gid, m.type.decode(), d.hex())
"#;
        let out = video_testkit::run_ok(
            Command::new("python3")
                .args(["-c", script])
                .arg(&path)
                .env("PYTHONIOENCODING", "utf-8"),
        );
        let got: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let want: Vec<String> = members()
            .iter()
            .map(|(name, data)| {
                let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                let name = format!("{name:?}").replace('"', "'");
                format!("{name} {} 0o644 {MTIME} 0 0 0 {hex}", data.len())
            })
            .collect();
        assert_eq!(got, want);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn gnu_tar_lists_every_member() {
        let dir = scratch("gnutar");
        let path = archive(&dir);
        let out = video_testkit::run_ok(
            Command::new("tar")
                .args(["--list", "--verbose", "--numeric-owner", "--utc", "-f"])
                .arg(&path)
                .env("LC_ALL", "C.UTF-8"),
        );
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let members = members();
        assert_eq!(lines.len(), members.len(), "{text}");
        for (line, (name, data)) in lines.iter().zip(&members) {
            // -rw-r--r-- 0/0  5 2000-01-01 00:00 a.jpg
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f[0], "-rw-r--r--", "{line}");
            assert_eq!(f[1], "0/0", "{line}");
            assert_eq!(f[2], data.len().to_string(), "{line}");
            assert_eq!(f[3], "2000-01-01", "{line}");
            assert_eq!(f[5..].join(" "), *name, "{line}");
        }
        // The data too, through GNU tar's own extraction.
        let out = dir.join("x");
        std::fs::create_dir_all(&out).unwrap();
        video_testkit::run_ok(
            Command::new("tar")
                .arg("-xf")
                .arg(&path)
                .arg("-C")
                .arg(&out),
        );
        for (name, data) in &members {
            assert_eq!(std::fs::read(out.join(name)).unwrap(), *data, "{name}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn headers_pin_the_fields() {
        let h = member_headers("a.jpg", 5).unwrap();
        assert_eq!(h.len(), 512);
        assert_eq!(&h[..6], b"a.jpg\0");
        assert_eq!(&h[100..108], b"0000644\0");
        assert_eq!(&h[124..136], b"00000000005\0");
        assert_eq!(&h[136..148], format!("{MTIME:011o}\0").as_bytes());
        assert_eq!(&h[257..265], b"ustar\x0000");
        // The checksum: the unsigned sum with the field as spaces.
        let mut copy = h.clone();
        copy[148..156].fill(b' ');
        let sum: u64 = copy.iter().map(|&b| u64::from(b)).sum();
        let field = std::str::from_utf8(&h[148..154]).unwrap();
        assert_eq!(u64::from_str_radix(field, 8).unwrap(), sum);
        assert_eq!(&h[154..156], b"\0 ");
        // A name of 101 bytes with a '/' goes to prefix + name; one without, to PAX.
        let split = format!("{}/{}", "a".repeat(50), "b".repeat(50));
        let h = member_headers(&split, 0).unwrap();
        assert_eq!(h.len(), 512);
        assert_eq!(&h[345..395], "a".repeat(50).as_bytes());
        assert_eq!(&h[..51], format!("{}\0", "b".repeat(50)).as_bytes());
        assert_eq!(member_headers(&"c".repeat(101), 0).unwrap().len(), 3 * 512);
        assert_eq!(padded(0), 0);
        assert_eq!(padded(1), 512);
        assert_eq!(padded(512), 512);
        assert_eq!(padded(513), 1024);
        assert!(matches!(
            member_headers("big", MAX_SIZE + 1),
            Err(Error::LimitExceeded { .. })
        ));
    }

    #[test]
    fn pax_record_lengths_count_themselves() {
        for n in [0, 1, 85, 86, 87, 88, 89, 90, 990, 995, 996, 1000] {
            let v = "v".repeat(n);
            let r = pax_record("path", &v);
            let (len, _) = std::str::from_utf8(&r).unwrap().split_once(' ').unwrap();
            assert_eq!(len.parse::<usize>().unwrap(), r.len(), "{n}");
        }
    }
}

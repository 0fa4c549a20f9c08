//! The `index.html` of a dataset folder: a static page (inline CSS, no script) that shows each
//! video's facts and contact sheet and links every stored frame.

use std::fmt::Write as _;

use video_core::{DatasetSink, Result, VideoManifest, VideoRef, layout};

use super::{ContactSheet, frame_label};

/// One video of an index page.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct IndexEntry<'a> {
    /// The video.
    pub video: &'a VideoRef,
    /// Its manifest: its facts and frames.
    pub manifest: &'a VideoManifest,
    /// Its contact sheet, when one was made.
    pub contact_sheet: Option<&'a ContactSheet>,
}

impl<'a> IndexEntry<'a> {
    /// An entry without a contact sheet.
    pub fn new(video: &'a VideoRef, manifest: &'a VideoManifest) -> Self {
        IndexEntry {
            video,
            manifest,
            contact_sheet: None,
        }
    }

    /// Set [`contact_sheet`](Self::contact_sheet).
    #[must_use]
    pub fn contact_sheet(mut self, sheet: &'a ContactSheet) -> Self {
        self.contact_sheet = Some(sheet);
        self
    }
}

/// Write `text` with `& < > " '` escaped, for HTML text and double-quoted attributes.
fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

fn escaped(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    escape(&mut s, text);
    s
}

/// Percent-encode one path segment: every byte of its UTF-8 but the unreserved characters of
/// RFC 3986 (`A-Z a-z 0-9 - . _ ~`), so that no `/ ? # % :` or space in a name changes the URL.
fn encode_segment(out: &mut String, segment: &str) {
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// The relative URL of the dataset key `key` from a page stored in the dataset folder `folder`
/// (`""` for the top), each segment percent-encoded.
///
/// ```
/// use video_export::relative_href;
/// assert_eq!(relative_href("train", "train/clip_000001.jpg"), "clip_000001.jpg");
/// assert_eq!(relative_href("train", "train/img/a b#1.jpg"), "img/a%20b%231.jpg");
/// assert_eq!(relative_href("a/b", "a/c/x.png"), "../c/x.png");
/// assert_eq!(relative_href("", "é.jpg"), "%C3%A9.jpg");
/// ```
pub fn relative_href(folder: &str, key: &str) -> String {
    let from: Vec<&str> = folder.split('/').filter(|s| !s.is_empty()).collect();
    let to: Vec<&str> = key.split('/').collect();
    let (dirs, _) = to.split_at(to.len() - 1);
    let common = from.iter().zip(dirs).take_while(|(a, b)| a == b).count();
    let mut out = "../".repeat(from.len() - common);
    for (i, seg) in to[common..].iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        encode_segment(&mut out, seg);
    }
    out
}

const STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:1.5rem;background:#fafafa;color:#222}\
h1{font-size:1.4rem}h2{font-size:1.15rem;margin:0 0 .4rem}\
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1rem;margin:1rem 0}\
table.facts{border-collapse:collapse;margin:.3rem 0 .8rem}\
table.facts th{text-align:left;font-weight:600;padding:.1rem 1rem .1rem 0;color:#555}\
table.facts td{padding:.1rem 1rem .1rem 0}\
img.sheet{max-width:100%;height:auto;display:block}\
p.caption{color:#555;margin:.3rem 0}\
ol.frames{columns:14rem;font-family:ui-monospace,monospace;font-size:.85rem}\
";

/// The page [`write_index_html`] stores for `folder`, as text.
///
/// For each entry: the video's name, then its facts (frames stored, of how many in the video,
/// frame rate, size, codec, duration, source), its contact sheet (an `<img>` linked to the
/// PNG), and a list of links to every frame image, labelled like the sheet's tiles. Every link
/// is relative to the page ([`relative_href`]) and names the file as the store keeps it
/// (`stored_name`: [`DatasetSink::stored_name`] of the dataset's sink), so the folder can be
/// opened from disk, copied or served as is.
pub fn index_html(
    folder: &str,
    entries: &[IndexEntry<'_>],
    stored_name: &dyn Fn(&str) -> String,
) -> String {
    let page_dir = if folder.is_empty() {
        String::new()
    } else {
        stored_name(folder)
    };
    let href = |key: &str| escaped(&relative_href(&page_dir, &stored_name(key)));
    let title = if folder.is_empty() {
        "Dataset".to_owned()
    } else {
        format!("Dataset folder {folder}")
    };
    let frames: usize = entries.iter().map(|e| e.manifest.frames.len()).sum();
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(h, "<title>{}</title>", escaped(&title));
    let _ = writeln!(h, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(h, "<h1>{}</h1>", escaped(&title));
    let _ = writeln!(
        h,
        "<p>{} video{}, {frames} frame{} stored.</p>",
        entries.len(),
        if entries.len() == 1 { "" } else { "s" },
        if frames == 1 { "" } else { "s" }
    );
    for e in entries {
        let (m, name) = (e.manifest, &e.video.name);
        h.push_str("<section class=\"video\">\n");
        let _ = writeln!(h, "<h2>{}</h2>", escaped(name));
        h.push_str("<table class=\"facts\">\n");
        let mut fact = |k: &str, v: String| {
            let _ = writeln!(h, "<tr><th>{k}</th><td>{}</td></tr>", escaped(&v));
        };
        let md = &m.metadata;
        fact(
            "frames",
            format!(
                "{} stored of {} in the video",
                m.frames.len(),
                md.frame_count
            ),
        );
        if let Some(fps) = md.avg_fps {
            fact("frame rate", format!("{fps:.3} fps"));
        }
        fact("size", format!("{}\u{d7}{}", md.width, md.height));
        fact("codec", md.codec.clone());
        if let Some(d) = md.duration {
            fact("duration", super::format_time(d.as_secs_f64()));
        }
        fact("source", m.source.location.clone());
        h.push_str("</table>\n");
        if let Some(sheet) = e.contact_sheet {
            let href = href(&sheet.key);
            let _ = writeln!(
                h,
                "<a href=\"{href}\"><img class=\"sheet\" src=\"{href}\" width=\"{}\" height=\"{}\" \
                 alt=\"Contact sheet of {}\"></a>",
                sheet.width,
                sheet.height,
                escaped(name)
            );
            let _ = writeln!(h, "<p class=\"caption\">{}</p>", escaped(&sheet.caption));
        }
        let _ = writeln!(
            h,
            "<details>\n<summary>{} frame image{}</summary>\n<ol class=\"frames\">",
            m.frames.len(),
            if m.frames.len() == 1 { "" } else { "s" }
        );
        for f in &m.frames {
            let label = escaped(&frame_label(f.index, f.pts_seconds));
            // A key that could leave the dataset (a hand-edited manifest) gets no link.
            if layout::check_key(&f.key).is_ok() {
                let _ = writeln!(h, "<li><a href=\"{}\">{label}</a></li>", href(&f.key));
            } else {
                let _ = writeln!(h, "<li>{label} ({})</li>", escaped(&f.key));
            }
        }
        h.push_str("</ol>\n</details>\n</section>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}

/// Store [`index_html`]`(folder, entries)` as [`layout::index_html_key`]`(folder)` and return
/// the key. Write it after the contact sheets it shows.
///
/// # Errors
/// [`Error::InvalidPath`](video_core::Error::InvalidPath) for a folder that is not a dataset
/// folder; the sink's errors.
pub async fn write_index_html(
    sink: &dyn DatasetSink,
    folder: &str,
    entries: &[IndexEntry<'_>],
) -> Result<String> {
    if !folder.is_empty() {
        layout::check_key(folder)?;
    }
    let key = layout::index_html_key(folder);
    let page = index_html(folder, entries, &|k| sink.stored_name(k));
    sink.write_dataset_file(&key, page.as_bytes()).await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        assert_eq!(
            escaped(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn the_page_escapes_names_and_links_by_stored_name() {
        use video_core::{FrameRecord, VideoMetadata};
        let video = VideoRef {
            folder: "f".into(),
            name: "a<b>&\"c\" é".into(),
        };
        let record = |index: u64| FrameRecord {
            index,
            pts_seconds: index as f64 * 0.5,
            key: format!("f/{}_{index:06}.jpg", video.name),
            width: 4,
            height: 2,
            bytes: 1,
            content_hash: None,
            annotation_key: None,
            framemd5: None,
        };
        let manifest =
            VideoManifest::new(VideoMetadata::new("x.mp4")).frames(vec![record(0), record(7)]);
        let mut manifest = manifest;
        manifest.frames.push(FrameRecord {
            key: "../../etc/passwd".into(),
            ..record(9)
        });
        let entries = [IndexEntry::new(&video, &manifest)];
        // A store that keeps `é` as `%C3%A9` (as object_store does).
        let stored = |k: &str| k.replace('é', "%C3%A9");
        let page = index_html("f", &entries, &stored);
        assert!(
            page.contains("<h2>a&lt;b&gt;&amp;&quot;c&quot; é</h2>"),
            "{page}"
        );
        assert!(
            page.contains(
                "<li><a href=\"a%3Cb%3E%26%22c%22%20%25C3%25A9_000007.jpg\">#7  00:03.500</a></li>"
            ),
            "{page}"
        );
        assert_eq!(page.matches("<li>").count(), 3);
        assert_eq!(
            page.matches("<li><a href").count(),
            2,
            "no link leaves the dataset"
        );
        assert!(!page.contains("<img"), "no sheet, no image");
        assert!(!page.contains("<script"));
    }

    #[test]
    fn hrefs_are_relative_and_encoded() {
        assert_eq!(relative_href("", "a.jpg"), "a.jpg");
        assert_eq!(relative_href("", "x/a.jpg"), "x/a.jpg");
        assert_eq!(relative_href("x", "a.jpg"), "../a.jpg");
        assert_eq!(relative_href("a/b/c", "a/x/y/z.jpg"), "../../x/y/z.jpg");
        assert_eq!(relative_href("a", "a/b:c.jpg"), "b%3Ac.jpg");
        assert_eq!(relative_href("a", "a/50%?.jpg"), "50%25%3F.jpg");
        assert_eq!(relative_href("日本", "日本/ü.png"), "%C3%BC.png");
    }
}

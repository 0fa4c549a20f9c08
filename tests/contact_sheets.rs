//! Contact sheets and a folder's index.html, end to end: frames of a barcode clip (every frame
//! shows its own number) are extracted into a dataset, then `video_export` draws a sheet per
//! video and the folder's page. Each tile is judged against its stored frame shrunk by ffmpeg's
//! own area scaler and by the barcode it shows; the page's every link must resolve to a stored
//! file, and headless Chromium must show the sheets in it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use video_dataset::core::{DatasetSink, SamplingPlan, VideoManifest};
use video_dataset::export::{
    BACKGROUND, ContactSheet, ContactSheetOptions, FolderSheets, write_contact_sheets,
};
use video_dataset::storage::ObjectStoreSink;
use video_dataset::{ExtractOptions, ImageFormat, extract_frames};

#[path = "../video-gst/tests/support/mod.rs"]
mod support;

const FOLDER: &str = "cams/day 1";
/// A name with a space and a letter outside ASCII: links must encode both.
const ODD_NAME: &str = "clip é 1";
/// 320 pixels to 200: every tile pixel covers 1.6 frame pixels, partly covered ones weighted.
const TILE_W: u32 = 200;
/// The fixture is 320x240.
const TILE_H: u32 = 150;
/// Mean absolute difference (0–255) allowed between a tile and ffmpeg's area-scaled frame.
/// Measured: 0.01. ffmpeg's own nearest-neighbour and bilinear scalers land 0.32 and 0.49 from
/// its area one on these frames, and two adjacent frames 58 apart: a scaler that is not an area
/// filter fails here, and so does a tile of another frame.
const MAX_MAD: f64 = 0.15;

/// The 60-frame 320x240 barcode clip, copied under `name`.mp4 in `dir`.
fn clip(dir: &Path, name: &str) -> PathBuf {
    let source = support::barcode::generate(&support::barcode::h264_mp4_bframes());
    let to = dir.join(format!("{name}.mp4"));
    std::fs::copy(&source, &to).unwrap();
    to
}

/// The packed RGB pixels of the rectangle `(x, y, w, h)` of an image `width` pixels wide.
fn crop(pixels: &[u8], width: u32, (x, y, w, h): (u32, u32, u32, u32)) -> Vec<u8> {
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for row in y..y + h {
        let at = ((row * width + x) * 3) as usize;
        out.extend_from_slice(&pixels[at..at + (w * 3) as usize]);
    }
    out
}

fn mad(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.len() as f64
}

/// The image file `path` shrunk to `w` x `h` by ffmpeg's area scaler, as packed RGB.
fn ffmpeg_area(path: &Path, (w, h): (u32, u32)) -> Vec<u8> {
    let out = video_testkit::run_ok(
        Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(path)
            .args(["-vf", &format!("scale={w}:{h}:flags=area")])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]),
    );
    assert_eq!(out.len(), (w * h * 3) as usize, "{}", path.display());
    out
}

/// The tiles ffmpeg would show: frame `i` of the sheet evenly spaced over `n` stored frames,
/// computed here in floating point (the library does it in integers).
fn evenly_spaced(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    (0..max)
        .map(|i| (i as f64 * (n - 1) as f64 / (max - 1) as f64).round() as usize)
        .collect()
}

/// Check `sheet`, stored in the local dataset `dataset`, against `manifest` and the frames it
/// lists. Returns the worst tile's difference from ffmpeg's.
fn check_sheet(
    dataset: &Path,
    sink: &ObjectStoreSink,
    sheet: &ContactSheet,
    manifest: &VideoManifest,
    max_tiles: usize,
) -> f64 {
    let file = dataset.join(sink.stored_name(&sheet.key));
    let (w, h, pixels) = video_testkit::png::png_rgb(&file);
    assert_eq!((w, h), (sheet.width, sheet.height), "{}", sheet.key);

    // Which frames: all, or `max_tiles` evenly spaced.
    let want: Vec<u64> = evenly_spaced(manifest.frames.len(), max_tiles)
        .into_iter()
        .map(|i| manifest.frames[i].index)
        .collect();
    let shown: Vec<u64> = sheet.tiles.iter().map(|t| t.index).collect();
    assert_eq!(shown, want, "{}", sheet.key);
    assert_eq!(sheet.frames_stored, manifest.frames.len());
    if want.len() < manifest.frames.len() {
        assert!(
            sheet.caption.contains(&format!(
                "{} of {} frames",
                want.len(),
                manifest.frames.len()
            )),
            "{}",
            sheet.caption
        );
    }

    // Geometry: a grid of `columns` cells a row, row by row, at a constant pitch, inside the
    // sheet, and no larger than its tiles and labels need.
    assert_eq!((sheet.tile_width, sheet.tile_height), (TILE_W, TILE_H));
    let n = sheet.tiles.len() as u32;
    assert_eq!(sheet.rows, n.div_ceil(sheet.columns));
    let t0 = &sheet.tiles[0];
    let pitch_x = sheet.tiles.get(1).map_or(0, |t| t.x - t0.x);
    let pitch_y = sheet
        .tiles
        .get(sheet.columns as usize)
        .map_or(0, |t| t.y - t0.y);
    if sheet.columns > 1 {
        assert!(pitch_x >= TILE_W, "{pitch_x}");
    }
    if sheet.rows > 1 {
        assert!(pitch_y >= TILE_H + sheet.label_height, "{pitch_y}");
    }
    for (i, t) in sheet.tiles.iter().enumerate() {
        let (col, row) = (i as u32 % sheet.columns, i as u32 / sheet.columns);
        assert_eq!(
            (t.x, t.y),
            (t0.x + col * pitch_x, t0.y + row * pitch_y),
            "tile {i}"
        );
        assert_eq!((t.width, t.height), (TILE_W, TILE_H), "tile {i}");
        assert_eq!(t.label_y, t.y + TILE_H);
        assert!(t.x + TILE_W <= w && t.label_y + sheet.label_height <= h);
    }
    assert!(
        w <= sheet.columns * TILE_W + 2 * 40 + sheet.columns * 20,
        "{w}"
    );
    assert!(
        h <= sheet.rows * (TILE_H + sheet.label_height) + 120 + sheet.rows * 20,
        "{h}"
    );

    // Each tile is its own frame: close to ffmpeg's area-scaled stored image, closer to it than
    // to any other tile's, and showing the frame's number.
    let refs: Vec<Vec<u8>> = sheet
        .tiles
        .iter()
        .map(|t| {
            ffmpeg_area(
                &dataset.join(sink.stored_name(&t.frame_key)),
                (TILE_W, TILE_H),
            )
        })
        .collect();
    let mut worst = 0f64;
    let mut labels: Vec<Vec<u8>> = Vec::new();
    for (i, t) in sheet.tiles.iter().enumerate() {
        let tile = crop(&pixels, w, (t.x, t.y, TILE_W, TILE_H));
        let own = mad(&tile, &refs[i]);
        worst = worst.max(own);
        assert!(
            own < MAX_MAD,
            "{} tile {i} (frame {}): {own:.2}",
            sheet.key,
            t.index
        );
        for (j, other) in refs.iter().enumerate() {
            if j != i {
                let d = mad(&tile, other);
                assert!(
                    own < d,
                    "tile {i} is as close to frame {}'s image ({d:.2}) as to its own ({own:.2})",
                    sheet.tiles[j].index
                );
            }
        }
        let number = video_testkit::barcode::read_barcode(
            &tile,
            TILE_W as usize,
            TILE_H as usize,
            TILE_W as usize * 3,
        );
        assert_eq!(number, Some(t.index as u32), "tile {i}'s barcode");
        // Its label: some light text on the dark band, unlike every other tile's.
        let band = crop(&pixels, w, (t.x, t.label_y, TILE_W, sheet.label_height));
        assert!(
            band.chunks(3)
                .filter(|p| p.iter().all(|c| *c > 200))
                .count()
                > 40,
            "tile {i} has a label"
        );
        assert!(
            !labels.contains(&band),
            "tile {i}'s label is another tile's"
        );
        labels.push(band);
        assert_eq!(
            t.label,
            format!("#{}  00:{:06.3}", t.index, t.index as f64 / 30.0),
            "tile {i}"
        );
    }
    worst
}

/// The values of every `href="…"` and `src="…"` attribute of `html`, with `&amp;`-style
/// escapes undone, as (attribute, value).
fn links(html: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for attr in ["href", "src"] {
        let open = format!(" {attr}=\"");
        let mut rest = html;
        while let Some(at) = rest.find(&open) {
            rest = &rest[at + open.len()..];
            let end = rest.find('"').expect("a closing quote");
            let value = rest[..end]
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            out.push((attr, value));
            rest = &rest[end..];
        }
    }
    out
}

/// `%XX` escapes of a URL path undone.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A `file://` URL of an absolute path, every byte but unreserved ones and `/` escaped.
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for b in path.to_str().unwrap().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// Where in `shot` (packed RGB, `width` wide) the `sheet_pixels` (`w` x `h`) are shown at scale
/// 1, judged by a mean difference under 2: the top-left corner of the first match.
fn find_in(
    shot: &[u8],
    (width, height): (u32, u32),
    sheet_pixels: &[u8],
    (w, h): (u32, u32),
) -> Option<(u32, u32)> {
    let first_row = &sheet_pixels[..(w * 3) as usize];
    for y in 0..height.saturating_sub(h) {
        for x in 0..width.saturating_sub(w) {
            // The sheet's top-left corner: its background, with none left of it or above it.
            let at = ((y * width + x) * 3) as usize;
            let is_bg = |i: usize| shot[i..i + 3] == BACKGROUND;
            if !is_bg(at) || (x > 0 && is_bg(at - 3)) || (y > 0 && is_bg(at - width as usize * 3)) {
                continue;
            }
            if mad(&shot[at..at + first_row.len()], first_row) > 2.0 {
                continue;
            }
            if mad(&crop(shot, width, (x, y, w, h)), sheet_pixels) < 2.0 {
                return Some((x, y));
            }
        }
    }
    None
}

async fn extract(clip: &Path, dataset: &str, plan: SamplingPlan, format: ImageFormat) {
    let options = ExtractOptions::default()
        .folder_path(FOLDER)
        .plan(plan)
        .format(format);
    extract_frames(clip, dataset, options)
        .await
        .unwrap_or_else(|e| panic!("{}: {}", clip.display(), video_testkit::error_chain(&e)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_sheets_show_each_frame_and_the_index_links_every_file() {
    let dir = common::scratch("contact-sheets");
    let dataset = dir.join("dataset");
    let url = dataset.to_str().unwrap();
    // Every third frame as JPEG (20 frames, all shown); every frame as PNG (60 frames, 24
    // shown evenly spaced).
    extract(
        &clip(&dir, ODD_NAME),
        url,
        SamplingPlan::every(3),
        ImageFormat::Jpeg,
    )
    .await;
    extract(
        &clip(&dir, "plain"),
        url,
        SamplingPlan::all(),
        ImageFormat::Png,
    )
    .await;

    let sink = ObjectStoreSink::from_url(url).unwrap();
    let videos = sink.video_manifests(FOLDER).await.unwrap();
    let names: Vec<&str> = videos.iter().map(|(v, _)| v.name.as_str()).collect();
    assert_eq!(names, [ODD_NAME, "plain"]);
    let max_tiles = 24;
    let options = ContactSheetOptions::default()
        .columns(5)
        .tile_width(TILE_W)
        .max_tiles(max_tiles);
    let started = std::time::Instant::now();
    let FolderSheets {
        sheets, index_key, ..
    } = write_contact_sheets(&sink, FOLDER, &videos, &options)
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(index_key, "cams/day 1/index.html");
    let mut worst = 0f64;
    for (sheet, (video, manifest)) in sheets.iter().zip(&videos) {
        assert_eq!(&sheet.video, video);
        assert_eq!(
            sheet.key,
            format!("{FOLDER}/{}.contact.png", video.name),
            "beside the manifest"
        );
        worst = worst.max(check_sheet(&dataset, &sink, sheet, manifest, max_tiles));
    }
    assert_eq!(sheets[0].tiles.len(), 20);
    assert_eq!(sheets[1].tiles.len(), 24);
    eprintln!(
        "contact sheets: {} and {} tiles in {took:.2?}; worst tile vs ffmpeg area: MAD {worst:.2}",
        sheets[0].tiles.len(),
        sheets[1].tiles.len()
    );

    // The index: every link resolves to a stored file; together they are the sheets and every
    // frame of every manifest.
    let index = dataset.join(sink.stored_name(&index_key));
    let html = std::fs::read_to_string(&index).unwrap();
    let page_dir = index.parent().unwrap();
    let mut targets = BTreeSet::new();
    let found = links(&html);
    for (attr, value) in &found {
        assert!(
            !value.contains(" ") && !value.contains(":") && value.is_ascii(),
            "{attr}={value:?} is not a relative, encoded URL"
        );
        let file = page_dir.join(percent_decode(value));
        assert!(
            file.is_file(),
            "{attr}={value:?}: {} is missing",
            file.display()
        );
        targets.insert(file.canonicalize().unwrap());
    }
    let mut want = BTreeSet::new();
    for (sheet, (_, m)) in sheets.iter().zip(&videos) {
        want.insert(dataset.join(sink.stored_name(&sheet.key)));
        for f in &m.frames {
            want.insert(dataset.join(sink.stored_name(&f.key)));
        }
    }
    let want: BTreeSet<PathBuf> = want.iter().map(|p| p.canonicalize().unwrap()).collect();
    assert_eq!(targets, want);
    assert_eq!(
        found.iter().filter(|(a, _)| *a == "src").count(),
        2,
        "one <img> per sheet"
    );
    assert!(
        html.contains("<h2>clip é 1</h2>"),
        "names are shown as they are"
    );

    // Headless Chromium shows both sheets, pixel for pixel.
    let Some(chromium) = video_testkit::chromium("contact_sheets") else {
        return;
    };
    let shot = dir.join("index.png");
    let window = (1280, 2600);
    video_testkit::screenshot(&chromium, &file_url(&index), &shot, window);
    let png = std::fs::read(&shot).unwrap();
    let shown = video_dataset::image::decode_image("screenshot", &png, 1 << 26).unwrap();
    assert_eq!((shown.width, shown.height), window);
    let mut at = Vec::new();
    for sheet in &sheets {
        let (w, h, px) = video_testkit::png::png_rgb(&dataset.join(sink.stored_name(&sheet.key)));
        let place = find_in(&shown.pixels, (shown.width, shown.height), &px, (w, h));
        assert!(
            place.is_some(),
            "{} is not shown in the screenshot {}",
            sheet.key,
            shot.display()
        );
        at.push(place.unwrap());
    }
    assert!(
        at[0].1 + sheets[0].height <= at[1].1,
        "sheets in order: {at:?}"
    );
    eprintln!("chromium shows the sheets at {at:?} ({})", shot.display());
}

/// `video-dataset export contact-sheets` writes the same sheets and page.
#[cfg(feature = "cli")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_writes_sheets_and_the_index() {
    let dir = common::scratch("contact-sheets-cli");
    let dataset = dir.join("dataset");
    let url = dataset.to_str().unwrap();
    extract(
        &clip(&dir, "plain"),
        url,
        SamplingPlan::every(10),
        ImageFormat::Jpeg,
    )
    .await;
    let out = common::cli(
        &[
            "export",
            "contact-sheets",
            url,
            "--folder",
            FOLDER,
            "--columns",
            "4",
            "--tile-width",
            "100",
            "--json",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["index_key"], "cams/day 1/index.html");
    let sheet = &done["sheets"][0];
    assert_eq!(sheet["key"], "cams/day 1/plain.contact.png");
    assert_eq!(
        (sheet["columns"].as_u64(), sheet["rows"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(sheet["tile_width"], 100);
    assert_eq!(sheet["tiles"].as_array().unwrap().len(), 6);
    let (w, h) = video_testkit::png::png_file_size(&dataset.join("cams/day 1/plain.contact.png"));
    assert_eq!(
        (Some(u64::from(w)), Some(u64::from(h))),
        (sheet["width"].as_u64(), sheet["height"].as_u64())
    );
    assert!(dataset.join("cams/day 1/index.html").is_file());

    // A folder without videos is an error naming it.
    let out = common::cli(
        &["export", "contact-sheets", url, "--folder", "nothing"],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("no finished video in folder \"nothing\""),
        "{}",
        common::stderr(&out)
    );
}

/// On S3: the sheets and the page are written there and read back.
#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_sheets_on_s3() {
    let Some(url) = video_testkit::s3_test_url("contact_sheets_on_s3") else {
        return;
    };
    let dir = common::scratch("contact-sheets-s3");
    extract(
        &clip(&dir, ODD_NAME),
        &url,
        SamplingPlan::every(6),
        ImageFormat::Jpeg,
    )
    .await;
    let sink = ObjectStoreSink::from_url(&url).unwrap();
    let videos = sink.video_manifests(FOLDER).await.unwrap();
    assert_eq!(videos.len(), 1);
    let options = ContactSheetOptions::default().tile_width(TILE_W);
    let done = write_contact_sheets(&sink, FOLDER, &videos, &options)
        .await
        .unwrap();
    let sheet = &done.sheets[0];
    assert_eq!(sheet.key, format!("{FOLDER}/{ODD_NAME}.contact.png"));
    let png = sink.read_dataset_file(&sheet.key).await.unwrap().unwrap();
    let image = video_dataset::image::decode_image(&sheet.key, &png, 1 << 26).unwrap();
    assert_eq!((image.width, image.height), (sheet.width, sheet.height));
    let shown: Vec<u64> = sheet.tiles.iter().map(|t| t.index).collect();
    assert_eq!(shown, (0..10).map(|i| i * 6).collect::<Vec<_>>());
    for t in &sheet.tiles {
        let tile = crop(&image.pixels, image.width, (t.x, t.y, t.width, t.height));
        let n = video_testkit::barcode::read_barcode(
            &tile,
            t.width as usize,
            t.height as usize,
            t.width as usize * 3,
        );
        assert_eq!(n, Some(t.index as u32));
    }
    // Every link of the page names a stored object, by its stored name.
    let html = sink
        .read_dataset_file(&done.index_key)
        .await
        .unwrap()
        .unwrap();
    let html = String::from_utf8(html).unwrap();
    let listed: BTreeSet<String> = sink
        .list_keys(FOLDER)
        .await
        .unwrap()
        .into_iter()
        .map(|k| sink.stored_name(&k))
        .collect();
    let found = links(&html);
    assert_eq!(found.len(), 10 + 2);
    for (attr, value) in found {
        let stored = format!("{}/{}", sink.stored_name(FOLDER), percent_decode(&value));
        assert!(
            listed.contains(&stored),
            "{attr}={value:?}: no object {stored:?}"
        );
    }
}

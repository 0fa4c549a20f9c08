//! Contact sheets: one PNG per video with a grid of its sampled frames, each labelled with its
//! index and presentation time, and an `index.html` for a dataset folder that shows each
//! video's sheet and links its frames.
//!
//! Everything is read and written through [`DatasetSink`]: the frames a video's
//! [`VideoManifest`] lists, decoded one at a time ([`video_image::decode_image`]), shrunk with an
//! area filter, pasted into the sheet; the sheet stored beside the manifest
//! ([`layout::contact_sheet_key`]) and the page at [`layout::index_html_key`].
//!
//! A sheet's layout, top to bottom: a header (the video's name, then a caption: how many frames
//! the sheet shows of how many stored, and the frames' size), then rows of `columns` cells. A
//! cell is a tile of `tile_width` pixels wide, as high as the first frame's aspect makes it, with
//! the frame scaled into it (aspect kept, centred), over a label band reading
//! `#{index}  {mm:ss.mmm}` (`h:mm:ss.mmm` past an hour). Text is drawn with a 5x7 bitmap font of
//! this crate's own at twice its size (labels at its own size when the widest does not fit).

mod font;
mod html;
mod scale;

pub use html::{IndexEntry, index_html, relative_href, write_index_html};

use futures::StreamExt as _;
use video_core::{DatasetSink, Error, Result, VideoManifest, VideoRef, blocking, layout};

/// Outer margin of a sheet, in pixels.
const MARGIN: u32 = 12;
/// Space between two cells.
const GAP: u32 = 8;
/// Font scale of labels and header.
const TEXT_SCALE: u32 = 2;
/// Height of a text line at [`TEXT_SCALE`], with its spacing.
const LINE: u32 = font::GLYPH_H * TEXT_SCALE + 8;
/// Height of the header: two lines.
const HEADER: u32 = MARGIN + 2 * LINE;
/// Height of a label band under a tile.
const LABEL: u32 = font::GLYPH_H * TEXT_SCALE + 8;

/// The sheet's background.
pub const BACKGROUND: [u8; 3] = [30, 32, 38];
/// Behind a frame that does not fill its tile (another aspect than the first frame's).
const TILE_BACKGROUND: [u8; 3] = [0, 0, 0];
/// Labels and the video's name.
const TEXT: [u8; 3] = [240, 240, 240];
/// The caption.
const CAPTION: [u8; 3] = [170, 180, 190];

/// The largest sheet [`write_contact_sheet`] makes, in pixels (16384 x 16384).
pub const MAX_SHEET_PIXELS: u64 = 1 << 28;

/// Options of [`write_contact_sheet`].
///
/// ```
/// use video_export::ContactSheetOptions;
/// let options = ContactSheetOptions::default().columns(4).tile_width(160).max_tiles(20);
/// assert_eq!((options.columns, options.tile_width, options.max_tiles), (4, 160, 20));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContactSheetOptions {
    /// Width of a tile in pixels, 32 to 2048; its height follows the first frame's aspect.
    ///
    /// Default: 240.
    pub tile_width: u32,
    /// Tiles per row, 1 to 64 (fewer when the sheet has fewer tiles).
    ///
    /// Default: 6.
    pub columns: u32,
    /// The most tiles a sheet shows, at least 1: a video with more stored frames shows this
    /// many, evenly spaced over them (the first and the last among them), and its caption says
    /// so.
    ///
    /// Default: 60.
    pub max_tiles: usize,
    /// Frame images read ahead while one is decoded (their encoded bytes only), at least 1.
    ///
    /// Default: 4.
    pub reads_in_flight: usize,
}

impl Default for ContactSheetOptions {
    fn default() -> Self {
        ContactSheetOptions {
            tile_width: 240,
            columns: 6,
            max_tiles: 60,
            reads_in_flight: 4,
        }
    }
}

impl ContactSheetOptions {
    /// Set [`tile_width`](Self::tile_width).
    #[must_use]
    pub fn tile_width(mut self, v: u32) -> Self {
        self.tile_width = v;
        self
    }
    /// Set [`columns`](Self::columns).
    #[must_use]
    pub fn columns(mut self, v: u32) -> Self {
        self.columns = v;
        self
    }
    /// Set [`max_tiles`](Self::max_tiles).
    #[must_use]
    pub fn max_tiles(mut self, v: usize) -> Self {
        self.max_tiles = v;
        self
    }
    /// Set [`reads_in_flight`](Self::reads_in_flight).
    #[must_use]
    pub fn reads_in_flight(mut self, v: usize) -> Self {
        self.reads_in_flight = v;
        self
    }

    fn check(&self) -> Result<()> {
        let bad = |option: &str, reason: String| {
            Err(Error::InvalidOption {
                option: option.into(),
                reason,
            })
        };
        if !(32..=2048).contains(&self.tile_width) {
            return bad(
                "tile_width",
                format!("{} pixels (use 32 to 2048)", self.tile_width),
            );
        }
        if !(1..=64).contains(&self.columns) {
            return bad("columns", format!("{} (use 1 to 64)", self.columns));
        }
        if self.max_tiles == 0 {
            return bad("max_tiles", "0 (use 1 or more)".into());
        }
        if self.reads_in_flight == 0 {
            return bad("reads_in_flight", "0 (use 1 or more)".into());
        }
        Ok(())
    }
}

/// One tile of a [`ContactSheet`]: which frame it shows and where.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct SheetTile {
    /// The frame's index in the video.
    pub index: u64,
    /// The frame's presentation time in seconds.
    pub pts_seconds: f64,
    /// The frame image's key in the dataset.
    pub frame_key: String,
    /// The frame's pixels on the sheet: left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width (the tile's, unless the frame's aspect differs from the first frame's).
    pub width: u32,
    /// Height.
    pub height: u32,
    /// The label under the tile.
    pub label: String,
    /// Top edge of the label band (as wide as the tile, [`ContactSheet::label_height`] high).
    pub label_y: u32,
}

/// A contact sheet that [`write_contact_sheet`] stored.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ContactSheet {
    /// The sheet's key in the dataset ([`layout::contact_sheet_key`]).
    pub key: String,
    /// The video.
    pub video: VideoRef,
    /// Sheet width in pixels.
    pub width: u32,
    /// Sheet height in pixels.
    pub height: u32,
    /// Tiles per row.
    pub columns: u32,
    /// Rows of tiles.
    pub rows: u32,
    /// Width of every tile.
    pub tile_width: u32,
    /// Height of every tile (the frame area; the label band is below it).
    pub tile_height: u32,
    /// Height of the label band under each tile.
    pub label_height: u32,
    /// Frames the manifest lists.
    pub frames_stored: usize,
    /// The tiles, in frame order (row by row, left to right).
    pub tiles: Vec<SheetTile>,
    /// The caption in the header.
    pub caption: String,
}

/// A frame's time as a label shows it: `mm:ss.mmm`, or `h:mm:ss.mmm` from an hour on.
///
/// ```
/// assert_eq!(video_export::format_time(0.04), "00:00.040");
/// assert_eq!(video_export::format_time(83.4567), "01:23.457");
/// assert_eq!(video_export::format_time(3723.5), "1:02:03.500");
/// ```
pub fn format_time(seconds: f64) -> String {
    let ms = (seconds.abs() * 1000.0).round() as u64;
    let sign = if seconds < 0.0 && ms > 0 { "-" } else { "" };
    let (h, m, s, ms) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    if h > 0 {
        format!("{sign}{h}:{m:02}:{s:02}.{ms:03}")
    } else {
        format!("{sign}{m:02}:{s:02}.{ms:03}")
    }
}

/// The label of a frame: `#{index}  {time}` ([`format_time`]).
///
/// ```
/// assert_eq!(video_export::frame_label(42, 1.4), "#42  00:01.400");
/// ```
pub fn frame_label(index: u64, pts_seconds: f64) -> String {
    format!("#{index}  {}", format_time(pts_seconds))
}

/// Which of `n` frames a sheet of at most `max` tiles shows: all when `n <= max`, else `max`
/// positions evenly spaced from the first to the last.
///
/// ```
/// assert_eq!(video_export::tile_positions(4, 60), [0, 1, 2, 3]);
/// assert_eq!(video_export::tile_positions(10, 4), [0, 3, 6, 9]);
/// assert_eq!(video_export::tile_positions(10, 1), [0]);
/// ```
pub fn tile_positions(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    if max <= 1 {
        return vec![0; max.min(n)];
    }
    // Position i of max: round(i * (n - 1) / (max - 1)), strictly increasing since n > max.
    (0..max)
        .map(|i| (i * (n - 1) * 2 + (max - 1)) / ((max - 1) * 2))
        .collect()
}

/// Draw the contact sheet of `video` from its `manifest`'s frames and store it as
/// [`layout::contact_sheet_key`]`(video)`, a PNG.
///
/// Each frame image (JPEG or PNG) is read from `sink`, decoded and shrunk on
/// [`video_core::blocking`]'s pool, one at a time: memory holds the sheet, one decoded frame and
/// at most [`reads_in_flight`](ContactSheetOptions::reads_in_flight) encoded ones. The tile
/// height follows the first frame's aspect; a frame of another aspect is fitted into its tile.
/// A manifest without frames makes a sheet with the header only.
///
/// # Errors
/// [`Error::InvalidOption`] for options out of range; [`Error::NotFound`] naming the key of a
/// frame the manifest lists that the dataset does not have; [`Error::Decode`] naming the key of
/// one that does not decode; [`Error::LimitExceeded`] for a sheet over [`MAX_SHEET_PIXELS`];
/// the sink's errors.
pub async fn write_contact_sheet(
    sink: &dyn DatasetSink,
    video: &VideoRef,
    manifest: &VideoManifest,
    options: &ContactSheetOptions,
) -> Result<ContactSheet> {
    options.check()?;
    layout::check_video(video)?;
    let key = layout::contact_sheet_key(video);
    let frames = &manifest.frames;
    let shown: Vec<&video_core::FrameRecord> = tile_positions(frames.len(), options.max_tiles)
        .into_iter()
        .map(|i| &frames[i])
        .collect();

    // Geometry.
    let tile_width = options.tile_width;
    let (fw, fh) = shown
        .first()
        .map(|f| (f.width, f.height))
        .filter(|(w, h)| *w > 0 && *h > 0)
        .unwrap_or((
            manifest.metadata.width.max(1),
            manifest.metadata.height.max(1),
        ));
    let tile_height = ((u64::from(tile_width) * u64::from(fh) + u64::from(fw) / 2) / u64::from(fw))
        .clamp(1, u64::from(tile_width) * 4) as u32;
    let count = shown.len() as u32;
    let columns = options.columns.min(count).max(1);
    let rows = count.div_ceil(columns);
    let cell_height = tile_height + LABEL;
    let grid_width = columns * tile_width + (columns - 1) * GAP;
    let width = (2 * MARGIN + grid_width).max(320);
    let height = HEADER + rows * cell_height + rows.saturating_sub(1) * GAP + MARGIN;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_SHEET_PIXELS {
        return Err(Error::LimitExceeded {
            what: format!("{key}: pixels of a contact sheet"),
            limit: MAX_SHEET_PIXELS,
            actual: pixels,
        });
    }

    let caption = if shown.len() < frames.len() {
        format!(
            "{} of {} frames shown, evenly spaced ({fw}x{fh})",
            shown.len(),
            frames.len()
        )
    } else {
        format!(
            "{} frame{} ({fw}x{fh})",
            frames.len(),
            if frames.len() == 1 { "" } else { "s" }
        )
    };
    let mut sheet = BACKGROUND.repeat((width * height) as usize);
    let size = (width, height);
    font::draw_text(
        &mut sheet,
        size,
        (MARGIN, MARGIN),
        width - MARGIN,
        &video.name,
        TEXT_SCALE,
        TEXT,
    );
    font::draw_text(
        &mut sheet,
        size,
        (MARGIN, MARGIN + LINE),
        width - MARGIN,
        &caption,
        TEXT_SCALE,
        CAPTION,
    );

    // One text size for every label: twice the font's when the widest fits its tile.
    let widest = shown
        .iter()
        .map(|f| font::text_width(&frame_label(f.index, f.pts_seconds), TEXT_SCALE))
        .max()
        .unwrap_or(0);
    let label_scale = if widest <= tile_width { TEXT_SCALE } else { 1 };

    // Tiles: read ahead, decode and shrink one at a time, paste.
    let mut tiles = Vec::with_capacity(shown.len());
    let mut reads = futures::stream::iter(shown.iter().map(|f| {
        let key = f.key.clone();
        async move {
            match sink.read_dataset_file(&key).await? {
                Some(bytes) => Ok((key, bytes)),
                None => Err(Error::NotFound {
                    uri: key,
                    source: None,
                }),
            }
        }
    }))
    .buffered(options.reads_in_flight);
    let mut n = 0u32;
    while let Some(read) = reads.next().await {
        let (frame_key, bytes) = read?;
        let record = shown[n as usize];
        let (col, row) = (n % columns, n / columns);
        let cell_x = MARGIN + col * (tile_width + GAP);
        let cell_y = HEADER + row * (cell_height + GAP);
        let name = frame_key.clone();
        let (thumb, tw, th) = blocking::run(move || {
            let image = video_image::decode_image(&name, &bytes, video_image::DEFAULT_MAX_PIXELS)?;
            let (tw, th) = fit((image.width, image.height), (tile_width, tile_height));
            let thumb = scale::resize_area(&image.pixels, (image.width, image.height), (tw, th));
            Ok((thumb, tw, th))
        })
        .await?;
        fill(
            &mut sheet,
            width,
            (cell_x, cell_y, tile_width, tile_height),
            TILE_BACKGROUND,
        );
        let (x, y) = (
            cell_x + (tile_width - tw) / 2,
            cell_y + (tile_height - th) / 2,
        );
        paste(&mut sheet, width, &thumb, (x, y, tw, th));
        let label = frame_label(record.index, record.pts_seconds);
        let label_y = cell_y + tile_height;
        font::draw_text(
            &mut sheet,
            size,
            (cell_x, label_y + (LABEL - font::GLYPH_H * label_scale) / 2),
            cell_x + tile_width,
            &label,
            label_scale,
            TEXT,
        );
        tiles.push(SheetTile {
            index: record.index,
            pts_seconds: record.pts_seconds,
            frame_key,
            x,
            y,
            width: tw,
            height: th,
            label,
            label_y,
        });
        n += 1;
    }

    let png = blocking::run(move || encode_png(&sheet, width, height)).await?;
    sink.write_dataset_file(&key, &png).await?;
    Ok(ContactSheet {
        key,
        video: video.clone(),
        width,
        height,
        columns,
        rows,
        tile_width,
        tile_height,
        label_height: LABEL,
        frames_stored: frames.len(),
        tiles,
        caption,
    })
}

/// What [`write_contact_sheets`] stored for a folder.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct FolderSheets {
    /// The sheets, in the order of the videos given.
    pub sheets: Vec<ContactSheet>,
    /// The key of the folder's `index.html`.
    pub index_key: String,
}

/// The contact sheet of each of `videos` (their manifests, as
/// `video_storage::ObjectStoreSink::video_manifests` lists a folder's), then, last, the
/// `index.html` of `folder` showing them ([`write_index_html`]).
///
/// # Errors
/// As [`write_contact_sheet`] and [`write_index_html`]; the first error stops the work, and
/// the index is then not written.
pub async fn write_contact_sheets(
    sink: &dyn DatasetSink,
    folder: &str,
    videos: &[(VideoRef, VideoManifest)],
    options: &ContactSheetOptions,
) -> Result<FolderSheets> {
    let mut sheets = Vec::with_capacity(videos.len());
    for (video, manifest) in videos {
        sheets.push(write_contact_sheet(sink, video, manifest, options).await?);
    }
    let entries: Vec<IndexEntry<'_>> = videos
        .iter()
        .zip(&sheets)
        .map(|((video, manifest), sheet)| IndexEntry::new(video, manifest).contact_sheet(sheet))
        .collect();
    let index_key = write_index_html(sink, folder, &entries).await?;
    Ok(FolderSheets { sheets, index_key })
}

/// The largest size of `(w, h)`'s aspect within `(max_w, max_h)`, at least 1x1.
fn fit((w, h): (u32, u32), (max_w, max_h): (u32, u32)) -> (u32, u32) {
    let (w, h, mw, mh) = (
        u64::from(w),
        u64::from(h),
        u64::from(max_w),
        u64::from(max_h),
    );
    if w * mh >= h * mw {
        // As wide as the tile.
        (max_w, ((h * mw + w / 2) / w).clamp(1, mh) as u32)
    } else {
        (((w * mh + h / 2) / h).clamp(1, mw) as u32, max_h)
    }
}

/// Fill a rectangle of the packed RGB image `img` (`width` pixels a row) with `color`.
fn fill(img: &mut [u8], width: u32, (x, y, w, h): (u32, u32, u32, u32), color: [u8; 3]) {
    for row in y..y + h {
        let start = ((row * width + x) * 3) as usize;
        for px in img[start..start + w as usize * 3].chunks_exact_mut(3) {
            px.copy_from_slice(&color);
        }
    }
}

/// Copy the packed RGB image `src` (`w` x `h`) into `img` at `(x, y)`.
fn paste(img: &mut [u8], width: u32, src: &[u8], (x, y, w, h): (u32, u32, u32, u32)) {
    let row_bytes = w as usize * 3;
    for (r, line) in src.chunks_exact(row_bytes).take(h as usize).enumerate() {
        let start = (((y + r as u32) * width + x) * 3) as usize;
        img[start..start + row_bytes].copy_from_slice(line);
    }
}

fn encode_png(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    let encode = || -> std::result::Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        encoder.set_filter(png::FilterType::Paeth);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(pixels)?;
        writer.finish()?;
        Ok(out)
    };
    encode().map_err(|e| Error::Encode {
        index: 0,
        format: "png",
        source: Box::new(e),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use video_core::testing::MemorySink;
    use video_core::{FrameRecord, VideoMetadata};

    fn flat_png(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut e = png::Encoder::new(&mut out, w, h);
            e.set_color(png::ColorType::Rgb);
            let mut wr = e.write_header().unwrap();
            wr.write_image_data(&rgb.repeat((w * h) as usize)).unwrap();
        }
        out
    }

    fn record(index: u64, key: &str, (width, height): (u32, u32)) -> FrameRecord {
        FrameRecord {
            index,
            pts_seconds: index as f64 / 25.0,
            key: key.into(),
            width,
            height,
            bytes: 0,
            content_hash: None,
            annotation_key: None,
            framemd5: None,
        }
    }

    /// Five flat frames of distinct colours in `sink`, the third in portrait.
    fn five_frames(sink: &MemorySink) -> (VideoRef, VideoManifest, Vec<[u8; 3]>) {
        let video = VideoRef {
            folder: "cams/a b".into(),
            name: "clip".into(),
        };
        let colors = vec![
            [200, 30, 30],
            [30, 200, 30],
            [30, 30, 200],
            [200, 200, 30],
            [30, 200, 200],
        ];
        let mut frames = Vec::new();
        for (i, c) in colors.iter().enumerate() {
            let size = if i == 2 { (36, 64) } else { (64, 36) };
            let key = format!("cams/a b/clip_{i:06}.png");
            let bytes = flat_png(size.0, size.1, *c);
            futures::executor::block_on(sink.write_dataset_file(&key, &bytes)).unwrap();
            frames.push(record(i as u64 * 10, &key, size));
        }
        let manifest = VideoManifest::new(VideoMetadata::new("clip.mp4")).frames(frames);
        (video, manifest, colors)
    }

    #[test]
    fn a_sheet_shows_each_frame_in_its_tile_with_its_label() {
        let sink = MemorySink::new();
        let (video, manifest, colors) = five_frames(&sink);
        let options = ContactSheetOptions::default().columns(2).tile_width(64);
        let sheet =
            futures::executor::block_on(write_contact_sheet(&sink, &video, &manifest, &options))
                .unwrap();
        assert_eq!(sheet.key, "cams/a b/clip.contact.png");
        assert_eq!((sheet.columns, sheet.rows), (2, 3));
        assert_eq!((sheet.tile_width, sheet.tile_height), (64, 36));
        let png = sink.file(&sheet.key).unwrap();
        let img = video_image::decode_image("sheet", &png, 1 << 24).unwrap();
        assert_eq!((img.width, img.height), (sheet.width, sheet.height));
        let at = |x: u32, y: u32| {
            let i = ((y * img.width + x) * 3) as usize;
            [img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]]
        };
        let mut labels = Vec::new();
        for (i, (tile, color)) in sheet.tiles.iter().zip(&colors).enumerate() {
            assert_eq!(tile.index, i as u64 * 10);
            // Every pixel of the frame's rectangle is the frame's colour (flat PNG, exact).
            for y in tile.y..tile.y + tile.height {
                for x in tile.x..tile.x + tile.width {
                    assert_eq!(at(x, y), *color, "tile {i} at {x},{y}");
                }
            }
            // Row-major grid.
            let col = i as u32 % 2;
            assert_eq!(tile.label_y, tile.y - (36 - tile.height) / 2 + 36);
            assert!(tile.label_y + sheet.label_height <= sheet.height);
            if col == 1 {
                assert!(tile.x > sheet.tiles[i - 1].x);
            }
            // The label band holds text pixels, and differs from every other tile's.
            let cell_x = tile.x - (64 - tile.width) / 2;
            let band: Vec<[u8; 3]> = (tile.label_y..tile.label_y + sheet.label_height)
                .flat_map(|y| (cell_x..cell_x + 64).map(move |x| (x, y)))
                .map(|(x, y)| at(x, y))
                .collect();
            assert!(band.contains(&TEXT), "tile {i} has a label");
            assert!(!labels.contains(&band), "tile {i}'s label is another's");
            labels.push(band);
        }
        // The portrait frame is fitted into its tile, centred, black around it.
        let t = &sheet.tiles[2];
        assert_eq!((t.width, t.height), (20, 36));
        assert_eq!(at(t.x - 1, t.y), TILE_BACKGROUND);
        assert_eq!(at(t.x + t.width, t.y), TILE_BACKGROUND);
        assert_eq!(sheet.caption, "5 frames (64x36)");
    }

    #[test]
    fn a_long_video_shows_evenly_spaced_frames_and_says_so() {
        let sink = MemorySink::new();
        let (video, manifest, _) = five_frames(&sink);
        let options = ContactSheetOptions::default().max_tiles(3);
        let sheet =
            futures::executor::block_on(write_contact_sheet(&sink, &video, &manifest, &options))
                .unwrap();
        let shown: Vec<u64> = sheet.tiles.iter().map(|t| t.index).collect();
        assert_eq!(shown, [0, 20, 40]);
        assert_eq!(sheet.frames_stored, 5);
        assert!(
            sheet.caption.starts_with("3 of 5 frames shown"),
            "{}",
            sheet.caption
        );
    }

    #[test]
    fn a_missing_frame_is_named() {
        let sink = MemorySink::new();
        let (video, mut manifest, _) = five_frames(&sink);
        manifest.frames[3].key = "cams/a b/gone.png".into();
        let e = futures::executor::block_on(write_contact_sheet(
            &sink,
            &video,
            &manifest,
            &ContactSheetOptions::default(),
        ))
        .unwrap_err();
        assert!(
            matches!(&e, Error::NotFound { uri, .. } if uri == "cams/a b/gone.png"),
            "{e}"
        );
        assert!(sink.file("cams/a b/clip.contact.png").is_none());
    }

    #[test]
    fn positions_are_evenly_spaced_and_distinct() {
        for n in [1usize, 2, 7, 60, 61, 300, 10_000] {
            for max in [1usize, 2, 5, 60] {
                let p = tile_positions(n, max);
                assert_eq!(p.len(), n.min(max), "{n} {max}");
                assert!(p.windows(2).all(|w| w[0] < w[1]), "{n} {max}: {p:?}");
                assert_eq!(p[0], 0);
                if max > 1 {
                    assert_eq!(*p.last().unwrap(), n - 1, "{n} {max}");
                }
                if n > max && max > 1 {
                    // Gaps differ by at most one frame.
                    let gaps: Vec<usize> = p.windows(2).map(|w| w[1] - w[0]).collect();
                    let (lo, hi) = (gaps.iter().min().unwrap(), gaps.iter().max().unwrap());
                    assert!(hi - lo <= 1, "{n} {max}: {gaps:?}");
                }
            }
        }
    }

    #[test]
    fn times_and_labels() {
        assert_eq!(format_time(0.0), "00:00.000");
        assert_eq!(format_time(59.9995), "01:00.000");
        assert_eq!(format_time(-0.5), "-00:00.500");
        assert_eq!(format_time(36_000.001), "10:00:00.001");
        assert_eq!(frame_label(0, 0.0), "#0  00:00.000");
    }

    #[test]
    fn fit_keeps_the_aspect() {
        assert_eq!(fit((1920, 1080), (240, 135)), (240, 135));
        assert_eq!(fit((1080, 1920), (240, 135)), (76, 135));
        assert_eq!(fit((4000, 10), (240, 135)), (240, 1));
    }

    #[test]
    fn options_are_checked() {
        let ok = ContactSheetOptions::default();
        assert!(ok.check().is_ok());
        for bad in [
            ok.clone().tile_width(31),
            ok.clone().tile_width(2049),
            ok.clone().columns(0),
            ok.clone().columns(65),
            ok.clone().max_tiles(0),
            ok.clone().reads_in_flight(0),
        ] {
            assert!(
                matches!(bad.check(), Err(Error::InvalidOption { .. })),
                "{bad:?}"
            );
        }
    }
}

//! Animated GIF backend of video-dataset, in pure Rust on the [`gif`] crate: a
//! [`Demuxer`] ([`GifDemuxer`]) and a [`FrameSource`] ([`GifFrameSource`]) that give what
//! FFmpeg gives for a GIF.
//!
//! GStreamer 1.22's GIF demuxer stamps every frame 0 and never ends, so the GStreamer backend
//! refuses GIFs; this backend serves them behind the same traits, chosen by content
//! ([`is_gif`]). Frame `N` is FFmpeg's frame `N`:
//!
//! - timing as FFmpeg's GIF demuxer sets it: each image lasts its graphic control extension's
//!   delay in hundredths of a second, and a delay under 2 (browsers' rule) counts as 10;
//!   the first image is at 0;
//! - pixels as FFmpeg's GIF decoder composes them (disposal methods applied on a canvas the
//!   size of the logical screen), as 8-bit RGB with the alpha channel dropped (what
//!   `ffmpeg -pix_fmt rgb24` gives: the canvas starts as the background colour, or, when the
//!   first image has a transparent index, as FFmpeg's transparent colour, white with alpha 0,
//!   so white).
//!
//! Every frame depends on the canvas the frames before it left, so decoding always starts at
//! the first image (only frame 0 is a key frame).
//!
//! ```no_run
//! use futures::StreamExt;
//! use video_core::{Demuxer, FrameSource, SamplingPlan};
//! # async fn run() -> video_core::Result<()> {
//! let mut demuxer = video_gif::GifDemuxer::open("anim.gif")?;
//! let table = demuxer.frame_table().await?;
//! let plan = SamplingPlan::indices([0, 5]).resolve(&table)?;
//! let mut source = demuxer.frame_source().await?;
//! let mut frames = source.frames(&plan);
//! while let Some(frame) = frames.next().await {
//!     let rgb = frame?; // frame.info.index is 0, then 5
//! #   let _ = rgb;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! | Feature | Enables | Default |
//! |---|---|---|
//! | (none) | everything above | yes |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(rustdoc::broken_intra_doc_links)]

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::SinkExt;
use futures::channel::mpsc;
use futures::stream::{BoxStream, StreamExt};
use video_core::{
    ByteReader, ByteSource, DecodeStats, Demuxer, Error, Frame, FrameInfo, FrameSource, FrameTable,
    PixelFormat, Plane, ResolvedPlan, Result, Timestamp, VideoMetadata,
};

pub use gif;

/// Largest GIF read, in bytes (the whole file is kept in memory): 512 MiB.
pub const MAX_BYTES: u64 = 512 * 1024 * 1024;
/// Most images in one GIF: 10 000 000 (as the GStreamer backend's frame-table limit).
pub const MAX_FRAMES: u64 = 10_000_000;
/// Largest logical-screen width or height: 16 384 pixels (as the GStreamer backend's limit).
pub const MAX_DIMENSION: u32 = 16_384;

/// Delays under this many hundredths of a second are replaced by [`DEFAULT_DELAY`] (FFmpeg's
/// `min_delay`).
const MIN_DELAY: u16 = 2;
/// The delay FFmpeg gives an image whose own is under [`MIN_DELAY`] (`default_delay`).
const DEFAULT_DELAY: u16 = 10;

/// Whether `head` (a file's first bytes) starts a GIF (`GIF87a` or `GIF89a`).
pub fn is_gif(head: &[u8]) -> bool {
    head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a")
}

/// Whether the file at `path` is a GIF, by its first bytes. A path that cannot be read, or is
/// not a regular file (a FIFO is never waited on), is not: the caller's other backend then says
/// what is wrong with it.
pub fn is_gif_file(path: &std::path::Path) -> bool {
    let mut head = Vec::with_capacity(6);
    video_core::open_regular_file(path)
        .and_then(|f| f.take(6).read_to_end(&mut head))
        .is_ok()
        && is_gif(&head)
}

/// Where a GIF's bytes come from.
#[derive(Clone, Debug)]
enum Input {
    File(PathBuf),
    Bytes(Arc<dyn ByteSource>),
}

impl Input {
    fn uri(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Bytes(b) => b.uri().to_owned(),
        }
    }

    /// The whole file, at most [`MAX_BYTES`].
    fn read_all(&self) -> Result<Arc<Vec<u8>>> {
        let uri = self.uri();
        let too_large = |size: u64| Error::LimitExceeded {
            what: format!("{uri}: GIF size in bytes"),
            limit: MAX_BYTES,
            actual: size,
        };
        let bytes = match self {
            Input::File(path) => {
                // A FIFO or a device would block or never end.
                let meta = video_core::regular_file(path, &uri)?;
                if meta.len() > MAX_BYTES {
                    return Err(too_large(meta.len()));
                }
                let mut out = Vec::with_capacity(meta.len() as usize);
                video_core::open_regular_file(path)
                    .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut out))
                    .map_err(|e| Error::Io {
                        path: path.clone(),
                        operation: "read",
                        source: e,
                    })?;
                out
            }
            Input::Bytes(source) => {
                if source.len() > MAX_BYTES {
                    return Err(too_large(source.len()));
                }
                let mut out = Vec::with_capacity(source.len() as usize);
                ByteReader::new(source.as_ref())
                    .read_to_end(&mut out)
                    .map_err(|e| Error::Backend {
                        backend: "gif",
                        uri: Some(uri.clone()),
                        element: None,
                        source: Box::new(e),
                    })?;
                out
            }
        };
        if bytes.len() as u64 > MAX_BYTES {
            return Err(too_large(bytes.len() as u64));
        }
        if !is_gif(&bytes) {
            return Err(Error::NotAVideo {
                uri,
                reason: "not a GIF (no GIF87a/GIF89a signature)".into(),
                source: None,
            });
        }
        Ok(Arc::new(bytes))
    }
}

/// What the probe learned, shared with the frame source.
#[derive(Debug)]
struct Probed {
    bytes: Arc<Vec<u8>>,
    metadata: VideoMetadata,
    table: Arc<FrameTable>,
}

/// [`Demuxer`] for animated GIF (see the [crate docs](crate)).
///
/// The probe reads the whole file once, walking its blocks without decompressing the images;
/// the frame table has one frame per image, timed as FFmpeg times it.
#[derive(Debug)]
pub struct GifDemuxer {
    input: Input,
    probed: Option<Arc<Probed>>,
}

impl GifDemuxer {
    /// A demuxer for the GIF file at `path`. Nothing is read until the probe.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        Ok(GifDemuxer {
            input: Input::File(path.into()),
            probed: None,
        })
    }

    /// A demuxer reading the GIF through `source` (an object in a store, say).
    pub fn from_source(source: Arc<dyn ByteSource>) -> Result<Self> {
        Ok(GifDemuxer {
            input: Input::Bytes(source),
            probed: None,
        })
    }

    /// The path or URL this demuxer reads.
    pub fn uri(&self) -> String {
        self.input.uri()
    }

    async fn probed(&mut self) -> Result<Arc<Probed>> {
        if let Some(p) = &self.probed {
            return Ok(p.clone());
        }
        let input = self.input.clone();
        let p = Arc::new(video_core::blocking::run(move || probe(&input)).await?);
        self.probed = Some(p.clone());
        Ok(p)
    }

    /// A frame source for the GIF's frames (probing first if needed): RGB, as FFmpeg composes
    /// them.
    pub async fn frame_source(&mut self) -> Result<GifFrameSource> {
        let probed = self.probed().await?;
        Ok(GifFrameSource {
            uri: self.uri(),
            probed,
            stats: Arc::default(),
        })
    }
}

#[async_trait]
impl Demuxer for GifDemuxer {
    async fn probe(&mut self) -> Result<VideoMetadata> {
        Ok(self.probed().await?.metadata.clone())
    }

    async fn frame_table(&mut self) -> Result<Arc<FrameTable>> {
        Ok(self.probed().await?.table.clone())
    }

    /// [`GifDemuxer::frame_source`], boxed.
    async fn frame_source(&mut self) -> Result<Box<dyn video_core::FrameSource>> {
        Ok(Box::new(GifDemuxer::frame_source(self).await?))
    }
}

/// A `gif` decoding error as [`Error::NotAVideo`]: the bytes are in memory, so a read error is
/// a GIF cut short.
fn gif_error(uri: &str, e: gif::DecodingError) -> Error {
    let reason = match &e {
        gif::DecodingError::Io(_) => "truncated GIF",
        _ => "malformed GIF",
    };
    Error::NotAVideo {
        uri: uri.to_owned(),
        reason: reason.into(),
        source: Some(Box::new(e)),
    }
}

/// A decoder over `bytes`, with the canvas and frame limits.
fn decoder<'a>(uri: &str, bytes: &'a [u8], indexed: bool) -> Result<gif::Decoder<&'a [u8]>> {
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(if indexed {
        gif::ColorOutput::Indexed
    } else {
        gif::ColorOutput::RGBA
    });
    // One image's pixels at most: the largest canvas the limits allow.
    let most = u64::from(MAX_DIMENSION) * u64::from(MAX_DIMENSION) * 4;
    if let Some(limit) = std::num::NonZeroU64::new(most) {
        opts.set_memory_limit(gif::MemoryLimit::Bytes(limit));
    }
    opts.allow_unknown_blocks(true);
    let d = opts.read_info(bytes).map_err(|e| gif_error(uri, e))?;
    for (side, v) in [("width", d.width()), ("height", d.height())] {
        if u32::from(v) > MAX_DIMENSION {
            return Err(Error::LimitExceeded {
                what: format!("{uri}: GIF {side}"),
                limit: u64::from(MAX_DIMENSION),
                actual: u64::from(v),
            });
        }
    }
    if d.width() == 0 || d.height() == 0 {
        return Err(Error::NotAVideo {
            uri: uri.to_owned(),
            reason: "the GIF's logical screen is empty".into(),
            source: None,
        });
    }
    Ok(d)
}

fn probe(input: &Input) -> Result<Probed> {
    let uri = input.uri();
    let bytes = input.read_all()?;
    let mut d = decoder(&uri, &bytes, true)?;
    let (w, h) = (u32::from(d.width()), u32::from(d.height()));
    let mut frames = Vec::new();
    let mut pts = 0i64;
    // Only the block structure: next_frame_info skips each image's data.
    while let Some(f) = d.next_frame_info().map_err(|e| gif_error(&uri, e))? {
        if frames.len() as u64 >= MAX_FRAMES {
            return Err(Error::LimitExceeded {
                what: format!("{uri}: frame table"),
                limit: MAX_FRAMES,
                actual: frames.len() as u64 + 1,
            });
        }
        let delay = if f.delay < MIN_DELAY {
            DEFAULT_DELAY
        } else {
            f.delay
        };
        let duration = Duration::from_millis(u64::from(delay) * 10);
        let index = frames.len() as u64;
        frames.push(FrameInfo {
            index,
            pts: Timestamp::from_nanos(pts),
            duration: Some(duration),
            keyframe: index == 0,
            decode_order: index,
        });
        pts += i64::from(delay) * 10_000_000;
    }
    if frames.is_empty() {
        return Err(Error::NotAVideo {
            uri,
            reason: "the GIF holds no image".into(),
            source: None,
        });
    }
    let table = FrameTable::from_presentation_order(frames);
    let mut m = VideoMetadata::new(uri);
    m.container = "gif".into();
    m.codec = "gif".into();
    m.pixel_format = Some("BGRA".into());
    m.bit_depth = Some(8);
    (m.width, m.height, m.stored_width, m.stored_height) = (w, h, w, h);
    m.video_streams = 1;
    m.fill_from_table(&table);
    m.container_duration = m.duration;
    if let Some(d) = m.duration.filter(|d| !d.is_zero()) {
        m.bitrate = Some((bytes.len() as f64 * 8.0 / d.as_secs_f64()) as u64);
    }
    Ok(Probed {
        bytes,
        metadata: m,
        table: Arc::new(table),
    })
}

/// [`FrameSource`] for animated GIF: 8-bit RGB frames of the logical screen's size, composed
/// as FFmpeg's decoder composes them. Each `frames` call decodes from the first image up to the
/// last target.
#[derive(Debug)]
pub struct GifFrameSource {
    uri: String,
    probed: Arc<Probed>,
    stats: Arc<Mutex<DecodeStats>>,
}

impl GifFrameSource {
    /// The frame table frames are identified with.
    pub fn frame_table(&self) -> &Arc<FrameTable> {
        &self.probed.table
    }

    /// The size of the frames: the GIF's logical screen.
    pub fn output_size(&self) -> (u32, u32) {
        (
            self.probed.metadata.stored_width,
            self.probed.metadata.stored_height,
        )
    }
}

impl FrameSource for GifFrameSource {
    fn frames(&mut self, plan: &ResolvedPlan) -> BoxStream<'_, Result<Frame>> {
        if let Ok(mut s) = self.stats.lock() {
            *s = DecodeStats::default();
        }
        let table = self.probed.table.clone();
        if let Some(&bad) = plan.indices().iter().find(|&&i| i >= table.len()) {
            return futures::stream::iter([Err(Error::IndexOutOfRange {
                index: bad,
                frame_count: table.len(),
            })])
            .boxed();
        }
        if plan.is_empty() {
            return futures::stream::empty().boxed();
        }
        let (uri, probed, stats) = (self.uri.clone(), self.probed.clone(), self.stats.clone());
        let targets = plan.indices().to_vec();
        // Composing blocks while the consumer does not read: a stream driver.
        let composed = video_core::blocking::stream("video-gif decode", 2, move |tx| {
            compose(&uri, &probed, &targets, &stats, tx)
        });
        match composed {
            Ok(frames) => frames,
            Err(e) => futures::stream::iter([Err(Error::Backend {
                backend: "gif",
                uri: Some(self.uri.clone()),
                element: None,
                source: Box::new(e),
            })])
            .boxed(),
        }
    }

    fn stats(&self) -> DecodeStats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }
}

/// A canvas pixel: RGBA.
type Rgba = [u8; 4];

/// What FFmpeg's GIF decoder leaves where no image painted: transparent white.
const TRANSPARENT: Rgba = [255, 255, 255, 0];

/// Decode from the first image, composing each on the canvas, and send the targets (sorted,
/// as a resolved plan's are) as RGB frames.
fn compose(
    uri: &str,
    probed: &Probed,
    targets: &[u64],
    stats: &Mutex<DecodeStats>,
    tx: &mut mpsc::Sender<Result<Frame>>,
) -> Result<()> {
    let mut d = decoder(uri, &probed.bytes, true)?;
    let (w, h) = (usize::from(d.width()), usize::from(d.height()));
    let global: Vec<u8> = d.global_palette().map(<[u8]>::to_vec).unwrap_or_default();
    let bg_index = d.bg_color();
    let mut canvas: Vec<Rgba> = vec![TRANSPARENT; w * h];
    // The disposal the previous image asked for, with its rectangle and what to restore.
    let mut pending: Option<(gif::DisposalMethod, Rect, Option<Vec<Rgba>>, Rgba)> = None;
    let mut next = 0usize;
    let mut index = 0u64;
    while next < targets.len() {
        let Some(f) = d.read_next_frame().map_err(|e| gif_error(uri, e))? else {
            return Err(Error::Decode {
                uri: uri.to_owned(),
                index: Some(targets[next]),
                pts: probed.table.pts_of(targets[next]),
                reason: "the GIF ended before this image".into(),
            });
        };
        if index == 0 {
            // FFmpeg starts from the background colour, or from transparency when the first
            // image has a transparent index.
            if let (None, Some(i)) = (f.transparent, bg_index)
                && !global.is_empty()
            {
                canvas.fill(colour(&global, i));
            }
        }
        if let Some((method, rect, saved, bg)) = pending.take() {
            match method {
                gif::DisposalMethod::Background => rect.fill(&mut canvas, w, h, bg),
                gif::DisposalMethod::Previous => {
                    if let Some(saved) = saved {
                        rect.put(&mut canvas, w, h, &saved);
                    }
                }
                _ => {}
            }
        }
        let rect = Rect {
            left: usize::from(f.left),
            top: usize::from(f.top),
            width: usize::from(f.width),
            height: usize::from(f.height),
        };
        let palette: &[u8] = f.palette.as_deref().unwrap_or(&global);
        let transparent = f.transparent.map(usize::from);
        // Restore-to-background paints the background colour, or transparency when the image
        // has a transparent index (as FFmpeg does).
        let bg = match (transparent, bg_index) {
            (None, Some(i)) if !global.is_empty() => colour(&global, i),
            _ => TRANSPARENT,
        };
        let saved = (f.dispose == gif::DisposalMethod::Previous).then(|| rect.get(&canvas, w, h));
        pending = Some((f.dispose, rect, saved, bg));
        let pixels = &f.buffer;
        for y in 0..rect.height {
            let cy = rect.top + y;
            if cy >= h {
                break;
            }
            for x in 0..rect.width {
                let cx = rect.left + x;
                if cx >= w {
                    break;
                }
                let Some(&i) = pixels.get(y * rect.width + x) else {
                    continue;
                };
                let i = usize::from(i);
                if Some(i) == transparent {
                    continue;
                }
                canvas[cy * w + cx] = colour(palette, i);
            }
        }
        if let Ok(mut s) = stats.lock() {
            s.frames_decoded += 1;
        }
        if targets[next] == index {
            let info = *probed.table.frame(index)?;
            let mut data = Vec::with_capacity(w * h * 3);
            for p in &canvas {
                data.extend_from_slice(&p[..3]);
            }
            let frame = Frame {
                info,
                width: w as u32,
                height: h as u32,
                format: PixelFormat::Rgb8,
                planes: vec![Plane {
                    offset: 0,
                    stride: w * 3,
                    row_bytes: w * 3,
                    rows: h,
                }],
                data: data.into(),
                framemd5: None,
            };
            if futures::executor::block_on(tx.send(Ok(frame))).is_err() {
                return Ok(()); // the consumer dropped the stream
            }
            if let Ok(mut s) = stats.lock() {
                s.frames_emitted += 1;
            }
            next += 1;
            // A resolved plan is sorted; repeated indices are sent once each.
            while next < targets.len() && targets[next] <= index {
                next += 1;
            }
        }
        index += 1;
    }
    Ok(())
}

/// Palette entry `i` as an opaque pixel (black past the palette's end, as FFmpeg's zeroed
/// palette gives).
fn colour(palette: &[u8], i: usize) -> Rgba {
    match palette.get(i * 3..i * 3 + 3) {
        Some(c) => [c[0], c[1], c[2], 255],
        None => [0, 0, 0, 255],
    }
}

/// An image's rectangle on the canvas.
#[derive(Clone, Copy, Debug)]
struct Rect {
    left: usize,
    top: usize,
    width: usize,
    height: usize,
}

impl Rect {
    /// The canvas positions inside both the rectangle and the canvas.
    fn positions(self, w: usize, h: usize) -> impl Iterator<Item = usize> {
        let (x0, x1) = (self.left.min(w), (self.left + self.width).min(w));
        let (y0, y1) = (self.top.min(h), (self.top + self.height).min(h));
        (y0..y1).flat_map(move |y| (x0..x1).map(move |x| y * w + x))
    }

    fn fill(self, canvas: &mut [Rgba], w: usize, h: usize, value: Rgba) {
        for p in self.positions(w, h) {
            canvas[p] = value;
        }
    }

    fn get(self, canvas: &[Rgba], w: usize, h: usize) -> Vec<Rgba> {
        self.positions(w, h).map(|p| canvas[p]).collect()
    }

    fn put(self, canvas: &mut [Rgba], w: usize, h: usize, saved: &[Rgba]) {
        for (p, v) in self.positions(w, h).zip(saved) {
            canvas[p] = *v;
        }
    }
}

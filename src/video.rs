//! One video opened once, its frames asked for by index or time, in the caller's order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use video_core::{
    EncodedFrame, Error, Frame, FrameEncoder, FrameSource, FrameTable, ImageFormat, ResolvedPlan,
    Result, SamplingPlan, VideoMetadata,
};
use video_gst::Resize;
use video_image::{EncodeOptions, ImageEncoder};
use video_storage::StoreOptions;

use crate::VideoInput;
use crate::job::{Backend, open_video};

/// How a [`Video`] is opened and what its frames look like.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VideoOptions {
    /// Resize every frame. Default: the video's size.
    pub resize: Option<Resize>,
    /// How a video given by URL is read. Default: [`StoreOptions::default`].
    pub store: StoreOptions,
    /// No progress for this long fails a decode. Default: 30 s.
    pub stall_timeout: Duration,
    /// The longest one probe or one decode may take in all. Default: none.
    pub deadline: Option<Duration>,
}

impl Default for VideoOptions {
    fn default() -> Self {
        VideoOptions {
            resize: None,
            store: StoreOptions::default(),
            stall_timeout: Duration::from_secs(30),
            deadline: None,
        }
    }
}

impl VideoOptions {
    /// Set [`resize`](Self::resize).
    pub fn resize(mut self, v: Option<Resize>) -> Self {
        self.resize = v;
        self
    }

    /// Set [`store`](Self::store).
    pub fn store(mut self, v: StoreOptions) -> Self {
        self.store = v;
        self
    }

    /// Set [`stall_timeout`](Self::stall_timeout).
    pub fn stall_timeout(mut self, v: Duration) -> Self {
        self.stall_timeout = v;
        self
    }

    /// Set [`deadline`](Self::deadline).
    pub fn deadline(mut self, v: Option<Duration>) -> Self {
        self.deadline = v;
        self
    }
}

/// One video, opened and probed once, whose frames are asked for by index or by time: frame
/// `N` is the `N`-th frame a player shows (ffmpeg's `-fps_mode passthrough` numbering), RGB,
/// upright (rotation applied), at the video's size or [`VideoOptions::resize`].
///
/// Every call decodes only the GOPs its frames are in, each frame once, and hands frames out in
/// the order asked, duplicates included ([`frames`](Self::frames)). A batch is decoded in
/// index order whatever the order asked, so asking for many frames in one call is faster than
/// one call per frame.
///
/// ```no_run
/// # async fn run() -> video_dataset::Result<()> {
/// use video_dataset::Video;
/// let mut video = Video::open("clip.mp4").await?;
/// println!("{} frames", video.len());
/// let frames = video.frames(&[30, 0, 30]).await?; // in this order, frame 30 twice
/// assert_eq!(frames[0].info.index, 30);
/// let at_two_seconds = video.frames_at(&[2.0]).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Video {
    backend: Backend,
    location: String,
    metadata: VideoMetadata,
    table: Arc<FrameTable>,
    resize: Option<Resize>,
    source: Option<(Box<dyn FrameSource>, (u32, u32))>,
}

impl Video {
    /// Opens and probes `video` (a path, a store URL such as `s3://bucket/a.mp4`, or an opened
    /// stored object) with default options.
    pub async fn open(video: impl Into<VideoInput>) -> Result<Video> {
        Video::open_with(video, VideoOptions::default()).await
    }

    /// Opens and probes `video` with `options`.
    pub async fn open_with(video: impl Into<VideoInput>, options: VideoOptions) -> Result<Video> {
        let (_, location, mut backend) = open_video(
            video.into(),
            &options.store,
            options.stall_timeout,
            options.deadline,
        )
        .await?;
        let metadata = backend.as_dyn().probe().await?;
        let table = backend.as_dyn().frame_table().await?;
        Ok(Video {
            backend,
            location,
            metadata,
            table,
            resize: options.resize,
            source: None,
        })
    }

    /// The path or URL the video was opened from.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// What probing said.
    pub fn metadata(&self) -> &VideoMetadata {
        &self.metadata
    }

    /// Every frame's index, timestamps and key frame flag.
    pub fn frame_table(&self) -> &Arc<FrameTable> {
        &self.table
    }

    /// How many frames the video has.
    pub fn len(&self) -> u64 {
        self.table.len()
    }

    /// Whether the video has no frame.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The size of the frames handed out (after rotation and resizing).
    pub async fn frame_size(&mut self) -> Result<(u32, u32)> {
        Ok(self.source().await?.1)
    }

    /// The frame shown `seconds` after the first frame (the last frame whose presentation time
    /// is at or before it), the rule of [`SamplingPlan::fps`] and of players.
    ///
    /// # Errors
    /// [`Error::TimeOutOfRange`] for a time before 0, not a number, or at or after the video's
    /// end.
    pub fn index_at(&self, seconds: f64) -> Result<u64> {
        let out_of_range = || Error::TimeOutOfRange {
            uri: self.location.clone(),
            seconds,
            duration: self.table.duration().unwrap_or_default(),
        };
        let (Some(first), Some(duration)) = (self.table.first(), self.table.duration()) else {
            return Err(out_of_range());
        };
        if !(seconds >= 0.0 && seconds < duration.as_secs_f64()) {
            return Err(out_of_range());
        }
        let t = first
            .pts
            .checked_add(Duration::from_secs_f64(seconds))
            .ok_or_else(out_of_range)?;
        self.table.index_at_time(t).ok_or_else(out_of_range)
    }

    /// Frame `index`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] naming the index and the frame count, and any decode error.
    pub async fn frame(&mut self, index: u64) -> Result<Frame> {
        let mut frames = self.frames(&[index]).await?;
        frames.pop().ok_or_else(|| self.missing(index))
    }

    /// The frames at `indices`, in that order, duplicates included: each distinct frame is
    /// decoded once (in index order) and handed out as many times as asked. Holds the distinct
    /// frames in memory until all are decoded; [`sample`](Self::sample) streams instead.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] (before anything is decoded) for the first index past the end.
    pub async fn frames(&mut self, indices: &[u64]) -> Result<Vec<Frame>> {
        let plan = self.plan_of(indices)?;
        let mut decoded: HashMap<u64, Frame> = HashMap::with_capacity(plan.len());
        {
            let (source, _) = self.source().await?;
            let mut stream = source.frames(&plan);
            while let Some(frame) = stream.next().await {
                let frame = frame?;
                decoded.insert(frame.info.index, frame);
            }
        }
        in_order(indices, decoded, |i| self.missing(i))
    }

    /// The frames shown at `seconds` (see [`index_at`](Self::index_at)), in that order.
    pub async fn frames_at(&mut self, seconds: &[f64]) -> Result<Vec<Frame>> {
        let indices = seconds
            .iter()
            .map(|&s| self.index_at(s))
            .collect::<Result<Vec<_>>>()?;
        self.frames(&indices).await
    }

    /// The frames of `plan`, in index order, as they are decoded: memory stays bounded by the
    /// decoder's buffering whatever the plan's length.
    pub async fn sample(&mut self, plan: &SamplingPlan) -> Result<BoxStream<'_, Result<Frame>>> {
        let plan = plan.resolve(&self.table)?;
        let (source, _) = self.source().await?;
        Ok(source.frames(&plan))
    }

    /// The frames at `indices`, encoded by `encoder`, in that order, duplicates included (each
    /// distinct frame decoded and encoded once).
    pub async fn encoded_frames(
        &mut self,
        indices: &[u64],
        encoder: &dyn FrameEncoder,
    ) -> Result<Vec<EncodedFrame>> {
        let plan = self.plan_of(indices)?;
        let mut encoded: HashMap<u64, EncodedFrame> = HashMap::with_capacity(plan.len());
        {
            let (source, _) = self.source().await?;
            let mut stream = source.frames(&plan);
            while let Some(frame) = stream.next().await {
                let frame = frame?;
                encoded.insert(frame.info.index, encoder.encode(&frame)?);
            }
        }
        in_order(indices, encoded, |i| self.missing(i))
    }

    /// Writes frame `index` to `path` for every `(index, path)` of `targets`, as JPEG or PNG by
    /// the path's extension (`.jpg`/`.jpeg`/`.png`), JPEG at `jpeg_quality`. Frames are decoded
    /// in index order and written as they come (memory stays bounded); each file is written
    /// under a temporary name and renamed, so a path holds a whole image or nothing. Parent
    /// directories are created.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] or [`Error::InvalidPath`] (an extension that is not an image
    /// format) before anything is decoded; [`Error::Io`] naming the path that failed.
    pub async fn write_frames(
        &mut self,
        targets: &[(u64, PathBuf)],
        jpeg_quality: u8,
    ) -> Result<()> {
        let indices: Vec<u64> = targets.iter().map(|(i, _)| *i).collect();
        let plan = self.plan_of(&indices)?;
        let mut by_index: HashMap<u64, Vec<(&Path, ImageFormat)>> = HashMap::new();
        for (i, path) in targets {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            let format = ext.parse::<ImageFormat>().map_err(|_| Error::InvalidPath {
                path: path.display().to_string(),
                reason: "the extension must be .jpg, .jpeg or .png".into(),
            })?;
            by_index.entry(*i).or_default().push((path, format));
        }
        let jpeg = ImageEncoder::new(
            EncodeOptions::default()
                .format(ImageFormat::Jpeg)
                .jpeg_quality(jpeg_quality),
        )?;
        let png = ImageEncoder::new(EncodeOptions::default().format(ImageFormat::Png))?;
        let (source, _) = self.source().await?;
        let mut stream = source.frames(&plan);
        while let Some(frame) = stream.next().await {
            let frame = frame?;
            let Some(paths) = by_index.get(&frame.info.index) else {
                continue;
            };
            let mut images: Vec<(ImageFormat, Vec<u8>)> = Vec::new();
            for &(path, format) in paths {
                if !images.iter().any(|(f, _)| *f == format) {
                    let encoder = match format {
                        ImageFormat::Jpeg => &jpeg,
                        _ => &png,
                    };
                    images.push((format, encoder.encode(&frame)?.bytes));
                }
                let bytes = images
                    .iter()
                    .find(|(f, _)| *f == format)
                    .map(|(_, b)| b.as_slice())
                    .unwrap_or_default();
                write_whole(path, bytes).await?;
            }
        }
        Ok(())
    }

    /// The resolved plan of `indices`, after checking every one is a frame of the video.
    fn plan_of(&self, indices: &[u64]) -> Result<ResolvedPlan> {
        let frame_count = self.table.len();
        if let Some(&index) = indices.iter().find(|&&i| i >= frame_count) {
            return Err(Error::IndexOutOfRange { index, frame_count });
        }
        Ok(ResolvedPlan::from_indices(indices.to_vec()))
    }

    /// The frame source, made on first use and kept.
    async fn source(&mut self) -> Result<&mut (Box<dyn FrameSource>, (u32, u32))> {
        if self.source.is_none() {
            let made = self.backend.frame_source(self.resize, false).await?;
            self.source = Some(made);
        }
        self.source.as_mut().ok_or_else(|| Error::Decode {
            uri: self.location.clone(),
            index: None,
            pts: None,
            reason: "no frame source".into(),
        })
    }

    fn missing(&self, index: u64) -> Error {
        Error::Decode {
            uri: self.location.clone(),
            index: Some(index),
            pts: self.table.pts_of(index),
            reason: "the decoder did not give this frame".into(),
        }
    }
}

/// `by_index`'s values in the order of `indices`, each as many times as it is asked for (cloned
/// but for its last use, which takes it); `missing` makes the error for an index not there.
fn in_order<T: Clone>(
    indices: &[u64],
    mut by_index: HashMap<u64, T>,
    missing: impl Fn(u64) -> Error,
) -> Result<Vec<T>> {
    let mut uses: HashMap<u64, usize> = HashMap::new();
    for &i in indices {
        *uses.entry(i).or_default() += 1;
    }
    let mut out = Vec::with_capacity(indices.len());
    for &i in indices {
        let left = uses.get_mut(&i).map(|n| {
            *n -= 1;
            *n
        });
        let item = if left == Some(0) {
            by_index.remove(&i)
        } else {
            by_index.get(&i).cloned()
        };
        out.push(item.ok_or_else(|| missing(i))?);
    }
    Ok(out)
}

/// Writes `bytes` to `path` under a temporary name in the same directory, then renames it.
async fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let path = path.to_owned();
    let bytes = bytes.to_vec();
    video_core::blocking::run(move || {
        let io = |path: &Path, operation: &'static str| {
            let path = path.to_owned();
            move |source: std::io::Error| Error::Io {
                path,
                operation,
                source,
            }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir, "create"))?;
        }
        let mut tmp = path.clone().into_os_string();
        tmp.push(format!(".tmp-{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, &bytes).map_err(io(&tmp, "write"))?;
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(&path, "rename")(e)
        })
    })
    .await
}

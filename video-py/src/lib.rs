//! Python bindings of video-dataset: the extension module `video_dataset._native`, which the
//! Python package `video_dataset` (in `python/`) re-exports with its stubs.
//!
//! Every call that decodes, probes or writes releases the GIL (`Python::detach`) and runs on
//! one shared Tokio runtime; frames become NumPy arrays that own the decoded bytes (no copy when
//! the rows are not padded).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use futures::StreamExt;
use numpy::ndarray::Array3;
use numpy::{PyArray1, PyArray3};
use pyo3::exceptions::{PyException, PyRuntimeError, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PySlice};
use tokio::sync::Mutex;
use video_dataset::core::{Frame, ImageFormat, SamplingPlan};
use video_dataset::{
    Error, ExtractOptions, Resize, Video as RustVideo, VideoInput, VideoOptions, extract_frames,
};

mod errors;

use errors::to_py;

/// The runtime every call runs on (object_store needs Tokio; decoding runs on threads of its
/// own).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("video-dataset")
            .enable_all()
            .build()
            .expect("a Tokio runtime")
    })
}

/// Runs `future` on the runtime with the GIL released.
fn run<T: Send>(py: Python<'_>, future: impl Future<Output = T> + Send) -> T {
    py.detach(|| runtime().block_on(future))
}

/// A path (`str` or `os.PathLike`) or a URL, as a video input.
fn input_of(video: &Bound<'_, PyAny>) -> PyResult<VideoInput> {
    if let Ok(s) = video.extract::<String>() {
        return Ok(VideoInput::from(s));
    }
    let path: PathBuf = video.extract()?;
    Ok(VideoInput::from(path))
}

/// `None`, an int (the longest side) or a `(width, height)` pair.
fn resize_of(resize: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Resize>> {
    let Some(r) = resize.filter(|r| !r.is_none()) else {
        return Ok(None);
    };
    if let Ok(max_side) = r.extract::<u32>() {
        return Ok(Some(Resize::FitWithin { max_side }));
    }
    let (width, height): (u32, u32) = r.extract().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(
            "resize must be None, an int (the longest side) or a (width, height) tuple",
        )
    })?;
    Ok(Some(Resize::Exact { width, height }))
}

/// A JSON-serialisable value as Python objects (through the `json` module).
fn to_python<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| PyException::new_err(format!("could not serialise: {e}")))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// An RGB frame as an `H×W×3` `uint8` array owning its bytes (moved, not copied, when rows are
/// not padded).
fn to_array<'py>(py: Python<'py>, frame: Frame) -> PyResult<Bound<'py, PyArray3<u8>>> {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let row = w * 3;
    let plane = frame.planes.first().cloned();
    let (offset, stride) = plane.map_or((0, row), |p| (p.offset, p.stride));
    let shape_error = |e: numpy::ndarray::ShapeError| {
        PyException::new_err(format!("frame {}: {e}", frame.info.index))
    };
    let array = if offset == 0 && stride == row && frame.data.len() == row * h {
        Array3::from_shape_vec((h, w, 3), frame.data.into_vec()).map_err(shape_error)?
    } else {
        let mut packed = Vec::with_capacity(row * h);
        for y in 0..h {
            let start = offset + y * stride;
            let line = frame.data.get(start..start + row).ok_or_else(|| {
                PyException::new_err(format!(
                    "frame {}: its bytes do not hold {h} rows",
                    frame.info.index
                ))
            })?;
            packed.extend_from_slice(line);
        }
        Array3::from_shape_vec((h, w, 3), packed).map_err(shape_error)?
    };
    Ok(PyArray3::from_owned_array(py, array))
}

/// Probes a video (path or URL) and returns its metadata as a dict.
#[pyfunction]
fn probe<'py>(py: Python<'py>, video: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let input = input_of(video)?;
    let video = run(py, RustVideo::open(input)).map_err(to_py)?;
    to_python(py, video.metadata())
}

/// A video opened once; see the stubs (`video_dataset/__init__.pyi`) for the Python API.
#[pyclass(module = "video_dataset._native", name = "Video")]
struct PyVideo {
    inner: Arc<Mutex<RustVideo>>,
    len: u64,
    location: String,
    metadata: video_dataset::VideoMetadata,
    table: Arc<video_dataset::FrameTable>,
    /// Set while a `sample()` iterator holds the video.
    iterating: Arc<AtomicBool>,
}

impl PyVideo {
    /// The video, once no `sample()` iterator holds it: an iterator dropped a moment ago lets go
    /// within a few milliseconds; one still open makes this fail (rather than wait for ever).
    fn video(&self, py: Python<'_>) -> PyResult<Arc<Mutex<RustVideo>>> {
        if self.iterating.load(Ordering::SeqCst) {
            let flag = self.iterating.clone();
            let free = py.detach(move || {
                let started = std::time::Instant::now();
                while flag.load(Ordering::SeqCst) {
                    if started.elapsed() > std::time::Duration::from_secs(1) {
                        return false;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                true
            });
            if !free {
                return Err(PyRuntimeError::new_err(format!(
                    "{}: a sample() iterator of this video is still open: exhaust or delete it \
                     first, or open the video again for a second reader",
                    self.location
                )));
            }
        }
        Ok(self.inner.clone())
    }

    /// A Python index (negative counts from the end) as a frame index.
    fn index(&self, i: i64) -> PyResult<u64> {
        let n = self.len as i64;
        let j = if i < 0 { i + n } else { i };
        if j < 0 || j >= n {
            return Err(to_py(Error::IndexOutOfRange {
                index: if i < 0 { i.unsigned_abs() } else { i as u64 },
                frame_count: self.len,
            }));
        }
        Ok(j as u64)
    }

    fn frames_list<'py>(&self, py: Python<'py>, indices: Vec<u64>) -> PyResult<Bound<'py, PyList>> {
        let inner = self.video(py)?;
        let frames =
            run(py, async move { inner.lock().await.frames(&indices).await }).map_err(to_py)?;
        let arrays = frames
            .into_iter()
            .map(|f| to_array(py, f))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, arrays)
    }
}

#[pymethods]
impl PyVideo {
    #[new]
    #[pyo3(signature = (video, *, resize=None))]
    fn new(
        py: Python<'_>,
        video: &Bound<'_, PyAny>,
        resize: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let input = input_of(video)?;
        let options = VideoOptions::default().resize(resize_of(resize)?);
        let video = run(py, RustVideo::open_with(input, options)).map_err(to_py)?;
        Ok(PyVideo {
            len: video.len(),
            location: video.location().to_owned(),
            metadata: video.metadata().clone(),
            table: video.frame_table().clone(),
            iterating: Arc::new(AtomicBool::new(false)),
            inner: Arc::new(Mutex::new(video)),
        })
    }

    fn __len__(&self) -> usize {
        self.len as usize
    }

    fn __repr__(&self) -> String {
        format!("Video({:?}, frames={})", self.location, self.len)
    }

    /// The path or URL the video was opened from.
    #[getter]
    fn location(&self) -> &str {
        &self.location
    }

    /// What probing said, as a dict.
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.metadata)
    }

    /// Every frame's presentation time, duration (seconds) and key frame flag, as NumPy arrays.
    #[getter]
    fn frame_table<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let table = &self.table;
        let first = table.first().map(|f| f.pts.as_seconds()).unwrap_or(0.0);
        let pts: Vec<f64> = table.iter().map(|f| f.pts.as_seconds() - first).collect();
        let duration: Vec<f64> = table
            .iter()
            .map(|f| f.duration.map_or(f64::NAN, |d| d.as_secs_f64()))
            .collect();
        let keyframe: Vec<bool> = table.iter().map(|f| f.keyframe).collect();
        let d = PyDict::new(py);
        d.set_item("pts", PyArray1::from_vec(py, pts))?;
        d.set_item("duration", PyArray1::from_vec(py, duration))?;
        d.set_item("keyframe", PyArray1::from_vec(py, keyframe))?;
        Ok(d)
    }

    /// Frame `index` (negative counts from the end) as an H×W×3 uint8 array.
    fn get_frame<'py>(&self, py: Python<'py>, index: i64) -> PyResult<Bound<'py, PyArray3<u8>>> {
        let i = self.index(index)?;
        let inner = self.video(py)?;
        let frame = run(py, async move { inner.lock().await.frame(i).await }).map_err(to_py)?;
        to_array(py, frame)
    }

    /// The frames at `indices`, in that order (duplicates allowed), as a list of arrays.
    fn get_frames<'py>(&self, py: Python<'py>, indices: Vec<i64>) -> PyResult<Bound<'py, PyList>> {
        let indices = indices
            .into_iter()
            .map(|i| self.index(i))
            .collect::<PyResult<Vec<_>>>()?;
        self.frames_list(py, indices)
    }

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Ok(slice) = key.cast::<PySlice>() {
            let s = slice.indices(self.len as isize)?;
            let indices: Vec<u64> = (0..s.slicelength)
                .map(|k| (s.start + k as isize * s.step) as u64)
                .collect();
            return Ok(self.frames_list(py, indices)?.into_any());
        }
        let i: i64 = key.extract()?;
        Ok(self.get_frame(py, i)?.into_any())
    }

    /// The frames shown at `seconds` (a number or a list of numbers) after the first frame.
    fn frames_at<'py>(
        &self,
        py: Python<'py>,
        seconds: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let one = seconds.extract::<f64>().ok();
        let times: Vec<f64> = match one {
            Some(t) => vec![t],
            None => seconds.extract()?,
        };
        let inner = self.video(py)?;
        let frames = run(
            py,
            async move { inner.lock().await.frames_at(&times).await },
        )
        .map_err(to_py)?;
        let mut arrays = frames
            .into_iter()
            .map(|f| to_array(py, f))
            .collect::<PyResult<Vec<_>>>()?;
        match one {
            Some(_) => Ok(arrays.remove(0).into_any()),
            None => Ok(PyList::new(py, arrays)?.into_any()),
        }
    }

    /// The index of the frame shown at `seconds` after the first frame.
    fn index_at(&self, py: Python<'_>, seconds: f64) -> PyResult<u64> {
        let inner = self.video(py)?;
        run(py, async move { inner.lock().await.index_at(seconds) }).map_err(to_py)
    }

    /// The frames at `indices` encoded as JPEG or PNG bytes, in that order.
    #[pyo3(signature = (indices, *, format="jpeg", quality=90))]
    fn encode_frames<'py>(
        &self,
        py: Python<'py>,
        indices: Vec<i64>,
        format: &str,
        quality: u8,
    ) -> PyResult<Bound<'py, PyList>> {
        let indices = indices
            .into_iter()
            .map(|i| self.index(i))
            .collect::<PyResult<Vec<_>>>()?;
        let format: ImageFormat = format.parse().map_err(to_py)?;
        let encoder = video_dataset::ImageEncoder::new(
            video_dataset::EncodeOptions::default()
                .format(format)
                .jpeg_quality(quality),
        )
        .map_err(to_py)?;
        let inner = self.video(py)?;
        let images = run(py, async move {
            inner.lock().await.encoded_frames(&indices, &encoder).await
        })
        .map_err(to_py)?;
        let bytes: Vec<Bound<'py, pyo3::types::PyBytes>> = images
            .iter()
            .map(|e| pyo3::types::PyBytes::new(py, &e.bytes))
            .collect();
        PyList::new(py, bytes)
    }

    /// Writes frames to files: `targets` maps frame index to path (or is a list of
    /// `(index, path)` pairs); JPEG or PNG by the path's extension.
    #[pyo3(signature = (targets, *, quality=90))]
    fn write_frames(
        &self,
        py: Python<'_>,
        targets: &Bound<'_, PyAny>,
        quality: u8,
    ) -> PyResult<()> {
        let pairs: Vec<(i64, PathBuf)> = match targets.cast::<PyDict>() {
            Ok(d) => d
                .iter()
                .map(|(k, v)| Ok((k.extract()?, v.extract()?)))
                .collect::<PyResult<_>>()?,
            Err(_) => targets.extract()?,
        };
        let pairs = pairs
            .into_iter()
            .map(|(i, p)| Ok((self.index(i)?, p)))
            .collect::<PyResult<Vec<_>>>()?;
        let inner = self.video(py)?;
        run(py, async move {
            inner.lock().await.write_frames(&pairs, quality).await
        })
        .map_err(to_py)
    }

    /// Iterates over the frames of a sampling plan, in index order, as `(index, seconds,
    /// array)`; memory stays bounded whatever the plan's length.
    #[pyo3(signature = (*, indices=None, step=None, fps=None, start=None, end=None, max_frames=None))]
    #[allow(clippy::too_many_arguments)]
    fn sample(
        &self,
        py: Python<'_>,
        indices: Option<Vec<u64>>,
        step: Option<u64>,
        fps: Option<f64>,
        start: Option<f64>,
        end: Option<f64>,
        max_frames: Option<u64>,
    ) -> PyResult<FrameIterator> {
        let plan = plan_of(indices, step, fps, start, end, max_frames)?;
        // The plan's errors (an invalid step) are raised here, not at the first frame.
        plan.resolve(&self.table).map_err(to_py)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<video_dataset::Result<Frame>>(2);
        let inner = self.video(py)?;
        // Taken now, so that the video is busy from the call on (other calls fail fast while
        // the iterator is open, see `video`).
        let guard = run(py, inner.lock_owned());
        let iterating = self.iterating.clone();
        iterating.store(true, Ordering::SeqCst);
        let start_pts = self
            .table
            .first()
            .map(|f| f.pts.as_seconds())
            .unwrap_or(0.0);
        runtime().spawn(async move {
            let mut video = guard;
            {
                match video.sample(&plan).await {
                    Ok(mut stream) => {
                        while let Some(frame) = stream.next().await {
                            if tx.send(frame).await.is_err() {
                                break;
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                    }
                }
            }
            // The video is free before the consumer sees the end (the sender goes last).
            drop(video);
            iterating.store(false, Ordering::SeqCst);
            drop(tx);
        });
        Ok(FrameIterator {
            rx: Arc::new(std::sync::Mutex::new(rx)),
            start_pts,
        })
    }
}

/// A plan from the keyword arguments of `Video.sample` and `extract`.
fn plan_of(
    indices: Option<Vec<u64>>,
    step: Option<u64>,
    fps: Option<f64>,
    start: Option<f64>,
    end: Option<f64>,
    max_frames: Option<u64>,
) -> PyResult<SamplingPlan> {
    let invalid = |reason: &str| {
        to_py(Error::InvalidPlan {
            reason: reason.into(),
        })
    };
    let mut plan = match (indices, step, fps) {
        (Some(i), None, None) => SamplingPlan::indices(i),
        (None, Some(s), None) => SamplingPlan::every(s),
        (None, None, Some(f)) => SamplingPlan::fps(f),
        (None, None, None) => SamplingPlan::all(),
        _ => return Err(invalid("give at most one of indices, step and fps")),
    };
    if start.is_some() || end.is_some() {
        plan = plan.seconds(start, end);
    }
    if let Some(n) = max_frames {
        plan = plan.max_frames(n);
    }
    Ok(plan)
}

/// The iterator `Video.sample` returns.
#[pyclass(module = "video_dataset._native")]
struct FrameIterator {
    rx: Arc<std::sync::Mutex<tokio::sync::mpsc::Receiver<video_dataset::Result<Frame>>>>,
    start_pts: f64,
}

#[pymethods]
impl FrameIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<(u64, f64, Bound<'py, PyArray3<u8>>)> {
        let rx = self.rx.clone();
        let next = py.detach(move || {
            rx.lock()
                .map_err(|_| PyException::new_err("the frame iterator is poisoned"))
                .map(|mut rx| rx.blocking_recv())
        })?;
        match next {
            None => Err(PyStopIteration::new_err(())),
            Some(Err(e)) => Err(to_py(e)),
            Some(Ok(frame)) => {
                let (index, t) = (
                    frame.info.index,
                    frame.info.pts.as_seconds() - self.start_pts,
                );
                Ok((index, t, to_array(py, frame)?))
            }
        }
    }
}

/// A path (`str` or `os.PathLike`) or a URL, as text.
fn location_of(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    match obj.extract::<String>() {
        Ok(s) => Ok(s),
        Err(_) => Ok(obj.extract::<PathBuf>()?.display().to_string()),
    }
}

/// The extraction options of the keyword arguments `extract` and `extract_tree` share.
fn extract_options(
    plan: SamplingPlan,
    format: &str,
    quality: u8,
    resize: Option<&Bound<'_, PyAny>>,
) -> PyResult<ExtractOptions> {
    Ok(ExtractOptions::default()
        .plan(plan)
        .format(format.parse().map_err(to_py)?)
        .quality(quality)
        .resize(resize_of(resize)?))
}

/// Extracts frames of `video` into the dataset at `dataset` (a directory or a store URL) and
/// returns the report as a dict.
#[pyfunction]
#[pyo3(signature = (video, dataset, *, indices=None, step=None, fps=None, start=None, end=None,
    max_frames=None, format="jpg", quality=90, resize=None, folder=None))]
#[allow(clippy::too_many_arguments)]
fn extract<'py>(
    py: Python<'py>,
    video: &Bound<'py, PyAny>,
    dataset: &Bound<'py, PyAny>,
    indices: Option<Vec<u64>>,
    step: Option<u64>,
    fps: Option<f64>,
    start: Option<f64>,
    end: Option<f64>,
    max_frames: Option<u64>,
    format: &str,
    quality: u8,
    resize: Option<&Bound<'py, PyAny>>,
    folder: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let input = input_of(video)?;
    let dataset = location_of(dataset)?;
    let plan = plan_of(indices, step, fps, start, end, max_frames)?;
    let mut options = extract_options(plan, format, quality, resize)?;
    if let Some(f) = folder {
        options = options.folder_path(f);
    }
    let report = run(py, extract_frames(input, &dataset, options)).map_err(to_py)?;
    to_python(py, &report)
}

/// Extracts frames from every video of a tree (a directory or a store prefix URL) into the
/// dataset at `dataset`, as one job of `concurrency` videos at a time, and returns what it did.
/// Ctrl-C cancels the job (a re-run completes it).
#[pyfunction]
#[pyo3(signature = (source, dataset, *, step=None, fps=None, start=None, end=None,
    max_frames=None, format="jpg", quality=90, resize=None, concurrency=2))]
#[allow(clippy::too_many_arguments)]
fn extract_tree<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    dataset: &Bound<'py, PyAny>,
    step: Option<u64>,
    fps: Option<f64>,
    start: Option<f64>,
    end: Option<f64>,
    max_frames: Option<u64>,
    format: &str,
    quality: u8,
    resize: Option<&Bound<'py, PyAny>>,
    concurrency: usize,
) -> PyResult<Bound<'py, PyAny>> {
    use video_dataset::{JobSpec, JobStatus, TreeOptions, discover_tree, submit};
    let source = location_of(source)?;
    let dataset = location_of(dataset)?;
    let plan = plan_of(None, step, fps, start, end, max_frames)?;
    let options = extract_options(plan, format, quality, resize)?;
    let tree = run(py, async {
        discover_tree(source.as_str(), &TreeOptions::default()).await
    })
    .map_err(to_py)?;
    let spec = JobSpec::from_tree(dataset, &tree)
        .options(options)
        .concurrency(concurrency);
    let handle = {
        let _runtime = runtime().enter();
        submit(spec).map_err(to_py)?
    };
    // Waits in short steps, so that Ctrl-C (a signal Python sees between them) cancels.
    let status = loop {
        let status = run(py, handle.wait(std::time::Duration::from_millis(200)));
        match status {
            Ok(s) if s.is_final() => break s,
            Ok(_) | Err(Error::PollTimeout { .. }) => {}
            Err(e) => return Err(to_py(e)),
        }
        if let Err(interrupt) = py.check_signals() {
            handle.cancel();
            let _ = run(py, handle.wait(std::time::Duration::from_secs(30)));
            return Err(interrupt);
        }
    };
    let out = PyDict::new(py);
    out.set_item("job_id", handle.id())?;
    let (state, report, failures) = match &status {
        JobStatus::Succeeded(r) => ("succeeded", Some(r.clone()), Vec::new()),
        JobStatus::PartiallyFailed { report, failures } => {
            ("partially_failed", Some(report.clone()), failures.clone())
        }
        JobStatus::Cancelled => ("cancelled", None, Vec::new()),
        JobStatus::Failed(e) => {
            let e = Error::Unsupported {
                uri: handle.id().to_owned(),
                reason: format!("the job could not run: {e}"),
            };
            return Err(to_py(e));
        }
        _ => ("running", None, Vec::new()),
    };
    out.set_item("state", state)?;
    out.set_item(
        "report",
        match report {
            Some(r) => to_python(py, &r)?,
            None => py.None().into_bound(py),
        },
    )?;
    let failed = PyList::empty(py);
    for f in failures {
        let d = PyDict::new(py);
        d.set_item("source", &f.source)?;
        d.set_item("folder_path", &f.folder_path)?;
        d.set_item("error", f.error.to_string())?;
        d.set_item("kind", f.error.kind())?;
        failed.append(d)?;
    }
    out.set_item("failures", failed)?;
    Ok(out.into_any())
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(probe, m)?)?;
    m.add_function(wrap_pyfunction!(extract, m)?)?;
    m.add_function(wrap_pyfunction!(extract_tree, m)?)?;
    m.add_class::<PyVideo>()?;
    m.add_class::<FrameIterator>()?;
    errors::register(m)?;
    Ok(())
}

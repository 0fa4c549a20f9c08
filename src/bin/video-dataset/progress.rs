//! Progress on stderr: an `indicatif` bar when stderr is a terminal, otherwise a plain line at
//! most once a second (and one at the end), so logs stay short.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use video_dataset::ExtractProgress;
use video_dataset::core::FrameRecord;

/// How often a plain line is written at most.
const PLAIN_EVERY: Duration = Duration::from_secs(1);

/// What is counted.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Frames,
    Bytes,
    /// Videos of a job done (of `total`), and frames stored.
    Videos,
    /// Prepared outputs stored (of `total`, once the preparation has planned them).
    Outputs,
}

/// The progress of one command: frames stored, or bytes sent.
pub(crate) struct Progress {
    unit: Unit,
    /// The bar, on a terminal.
    bar: Option<ProgressBar>,
    /// The count so far (frames, or bytes).
    done: AtomicU64,
    /// Videos done (with [`Unit::Videos`]).
    videos_done: AtomicU64,
    /// The total, when known.
    total: Option<u64>,
    /// When the last plain line was written, or the work started (not on a terminal).
    last_line: Mutex<Instant>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("unit", &self.unit)
            .field("bar", &self.bar.is_some())
            .field("done", &self.done)
            .finish()
    }
}

impl Progress {
    /// Frames stored by an extraction (their number is not known in advance); none if `quiet`.
    pub(crate) fn frames(quiet: bool) -> Option<Arc<Progress>> {
        Self::new(quiet, Unit::Frames, None)
    }

    /// Bytes sent by an upload of `total` bytes; none if `quiet`.
    pub(crate) fn bytes(quiet: bool, total: Option<u64>) -> Option<Arc<Progress>> {
        Self::new(quiet, Unit::Bytes, total)
    }

    /// The videos of a job (`total` of them) and the frames they store; none if `quiet`.
    pub(crate) fn videos(quiet: bool, total: u64) -> Option<Arc<Progress>> {
        Self::new(quiet, Unit::Videos, Some(total))
    }

    /// The outputs of a preparation; none if `quiet`.
    pub(crate) fn outputs(quiet: bool) -> Option<Arc<Progress>> {
        Self::new(quiet, Unit::Outputs, None)
    }

    fn new(quiet: bool, unit: Unit, total: Option<u64>) -> Option<Arc<Progress>> {
        if quiet {
            return None;
        }
        let bar = crate::stderr_is_terminal().then(|| {
            let (bar, template) = match (unit, total) {
                (Unit::Frames, _) => (
                    ProgressBar::new_spinner(),
                    "{spinner} {pos} frames stored [{elapsed}, {per_sec}]",
                ),
                (Unit::Bytes, Some(n)) => (
                    ProgressBar::new(n),
                    "{bar:40} {bytes}/{total_bytes} [{elapsed}, {bytes_per_sec}, {eta} left]",
                ),
                (Unit::Videos, total) => (
                    ProgressBar::new(total.unwrap_or(0)),
                    "{bar:40} {pos}/{len} videos, {msg} [{elapsed}]",
                ),
                (Unit::Bytes, None) => (
                    ProgressBar::new_spinner(),
                    "{spinner} {bytes} sent [{elapsed}, {bytes_per_sec}]",
                ),
                (Unit::Outputs, _) => (
                    ProgressBar::new(0),
                    "{bar:40} {pos}/{len} outputs stored [{elapsed}]",
                ),
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Some(Arc::new(Progress {
            unit,
            bar,
            done: AtomicU64::new(0),
            videos_done: AtomicU64::new(0),
            total,
            last_line: Mutex::new(Instant::now()),
        }))
    }

    /// An upload has sent `sent` bytes so far.
    pub(crate) fn bytes_sent(&self, sent: u64) {
        self.done.store(sent, Ordering::Relaxed);
        match &self.bar {
            Some(bar) => bar.set_position(sent),
            None => self.plain_line(false),
        }
    }

    /// A job has finished `done` of its videos.
    pub(crate) fn videos_done(&self, done: u64) {
        if self.videos_done.swap(done, Ordering::Relaxed) == done {
            return;
        }
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None => self.plain_line(false),
        }
    }

    /// The work ended (well or not): the bar is cleared, a last plain line written.
    pub(crate) fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => self.plain_line(true),
        }
    }

    /// A plain line with the count, if a second has passed since the last one (or the start),
    /// or if this is the `last` one and something was done.
    fn plain_line(&self, last: bool) {
        let Ok(mut when) = self.last_line.lock() else {
            return;
        };
        let now = Instant::now();
        let done = self.done.load(Ordering::Relaxed);
        let videos = self.videos_done.load(Ordering::Relaxed);
        if if last {
            done == 0 && videos == 0
        } else {
            now.duration_since(*when) < PLAIN_EVERY
        } {
            return;
        }
        *when = now;
        let line = match (self.unit, self.total) {
            (Unit::Frames, _) => format!("{done} frames stored"),
            (Unit::Bytes, Some(total)) => format!("{done} of {total} bytes sent"),
            (Unit::Bytes, None) => format!("{done} bytes sent"),
            (Unit::Videos, total) => format!(
                "{videos} of {} videos done, {done} frames stored",
                total.unwrap_or(0)
            ),
            (Unit::Outputs, _) => format!(
                "{done} of {} outputs stored",
                self.videos_done.load(Ordering::Relaxed)
            ),
        };
        // Progress is not worth failing for (stderr closed).
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

impl ExtractProgress for Progress {
    fn frame_stored(&self, _record: &FrameRecord) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        match &self.bar {
            Some(bar) if matches!(self.unit, Unit::Videos) => {
                bar.set_message(format!("{done} frames stored"));
            }
            Some(bar) => bar.inc(1),
            None => self.plain_line(false),
        }
    }
}

impl video_dataset::PrepareProgress for Progress {
    fn planned(&self, outputs: usize, skipped: usize) {
        // (`videos_done` holds the number of outputs for this unit.)
        self.videos_done.store(outputs as u64, Ordering::Relaxed);
        self.done.store(skipped as u64, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_length(outputs as u64);
            bar.set_position(skipped as u64);
        }
    }

    fn output_stored(&self, _output: &video_dataset::core::prepare::PreparedOutput) {
        self.done.fetch_add(1, Ordering::Relaxed);
        match &self.bar {
            Some(bar) => bar.inc(1),
            None => self.plain_line(false),
        }
    }
}

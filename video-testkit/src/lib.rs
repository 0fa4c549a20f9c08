//! Helpers shared by the tests of the video-dataset workspace: a dev-dependency only, never
//! published, **not covered by semver**.
//!
//! | item | for |
//! |---|---|
//! | [`block_on`] | running one future to its end in a synchronous test |
//! | [`guarded`] | running a call that could hang on a thread of its own, with a time limit |
//! | [`corpus_dir`] | the shared corpus of real videos (skipped loudly when missing) |
//! | [`s3_test_url`] | a fresh prefix on the S3 test server (skipped loudly without one) |
//! | [`test_python`] | the test Python environment, with the packages a test imports (skipped loudly without one) |
//! | [`chromium`], [`screenshot`] | headless Chromium, to render a page a test made (skipped loudly without it) |
//! | [`png`] | reading a stored PNG's size, checking it is whole, decoding it to RGB |
//! | [`barcode`] | reading the frame number painted into a barcode fixture's frames |
//! | [`fixtures`] | clips made once with the ffmpeg CLI, encoded frames for sinks |
//! | [`fuzz`] | the fuzz targets' budgeted proptest runner and JSON generators |
//!
//! In-memory implementations of the traits (`MemorySink`, `SyntheticSource`) are
//! `video_core::testing` (feature `testing`), since users may test with them too.
//!
//! Helpers panic (with a message) instead of returning errors: they serve tests.
#![deny(rustdoc::broken_intra_doc_links)]
#![allow(clippy::unwrap_used)]

pub mod barcode;
pub mod fixtures;
pub mod fuzz;
pub mod png;

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Run `future` to its end on the current thread (for synchronous `#[test]`s of async code
/// that needs no Tokio runtime).
pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    futures::executor::block_on(future)
}

/// Write a loud `*** SKIPPED … ***` line straight to the process's stderr (not through
/// `eprintln!`, which the test harness captures and hides for passing tests).
pub fn skipped(why: &str) {
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED {why} ***\n");
}

/// Environment variable naming the directory of the shared video corpus (real videos with FFmpeg
/// ground truth, described by its `MANIFEST.json`).
pub const CORPUS_ENV: &str = "VIDEO_DATASET_CORPUS";

/// The shared video corpus directory, for tests that need real videos: `$VIDEO_DATASET_CORPUS`
/// when set, else `<workspace root>/../shared/corpus`.
///
/// Returns `None` when the directory holds no `MANIFEST.json`, after writing a loud
/// `*** SKIPPED: corpus not found … ***` line straight to the process's stderr: a test that
/// needs the corpus returns early on `None`, and the skip is seen. A clone of the repository
/// without the corpus still passes its tests; the tests that need nothing but generated videos
/// run everywhere.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os(CORPUS_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("..").join("shared").join("corpus"),
    };
    if dir.join("MANIFEST.json").is_file() {
        return Some(dir);
    }
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: corpus not found at {} (no MANIFEST.json); set {CORPUS_ENV} to the \
         corpus directory to run the tests that need it ***\n",
        dir.display()
    );
    None
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().unwrap_or(crate_dir).to_path_buf()
}

/// The S3-compatible test server's URL under a fresh prefix for `test`
/// (`{VIDEO_TEST_S3_URL}/{test}-{pid}-{nanos}`), when `VIDEO_TEST_INTEGRATION` and
/// `VIDEO_TEST_S3_URL` are set (`scripts/test.sh` starts the server and sets both). Otherwise
/// `None`, after a loud `SKIPPED` line on stderr.
pub fn s3_test_url(test: &str) -> Option<String> {
    let (Some(_), Ok(url)) = (
        std::env::var_os("VIDEO_TEST_INTEGRATION"),
        std::env::var("VIDEO_TEST_S3_URL"),
    ) else {
        skipped(&format!(
            "{test}: set VIDEO_TEST_INTEGRATION and VIDEO_TEST_S3_URL (scripts/test.sh does)"
        ));
        return None;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Some(format!(
        "{}/{test}-{}-{nanos}",
        url.trim_end_matches('/'),
        std::process::id()
    ))
}

/// Environment variable naming the Python interpreter of the test environment
/// (`scripts/python-env.sh` makes it; `scripts/test.sh` sets this variable).
pub const PYTHON_ENV: &str = "VIDEO_TEST_PYTHON";

/// The test environment's Python interpreter, for tests that run Python code: `$VIDEO_TEST_PYTHON`
/// when it is set and can import every module of `modules`.
///
/// Otherwise `None`, after a loud `SKIPPED` line on stderr, unless `VIDEO_TEST_INTEGRATION` is
/// set (as `scripts/test.sh` sets it): then the test command promised the environment, and its
/// absence panics.
pub fn test_python(test: &str, modules: &[&str]) -> Option<PathBuf> {
    let integration = std::env::var_os("VIDEO_TEST_INTEGRATION").is_some();
    let why = match std::env::var_os(PYTHON_ENV) {
        Some(python) if !python.is_empty() => {
            let python = PathBuf::from(python);
            let imports = modules
                .iter()
                .map(|m| format!("import {m}"))
                .collect::<Vec<_>>()
                .join("; ");
            match std::process::Command::new(&python)
                .args(["-c", &imports])
                .output()
            {
                Ok(out) if out.status.success() => return Some(python),
                Ok(out) => format!(
                    "{} cannot `{imports}`: {}",
                    python.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                Err(e) => format!("{} does not run: {e}", python.display()),
            }
        }
        _ => format!("{PYTHON_ENV} is not set (scripts/python-env.sh makes the environment)"),
    };
    assert!(!integration, "{test}: {why}");
    skipped(&format!("{test}: {why}"));
    None
}

/// Runs `f` on a thread of its own and returns its result, failing the test if `f` panics
/// (its panic goes on) or takes longer than `limit` (a hang: the thread is left behind, the test
/// has failed anyway). `what` names the call in the failure.
pub fn guarded<T: Send + 'static>(
    what: String,
    limit: std::time::Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    use std::sync::mpsc::{RecvTimeoutError, channel};
    let (tx, rx) = channel();
    let started = std::time::Instant::now();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            let _ = handle.join();
            value
        }
        Err(RecvTimeoutError::Timeout) => {
            panic!("{what}: no answer after {:?}: hang", started.elapsed())
        }
        Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => panic!("{what}: the thread ended without an answer"),
        },
    }
}

/// Environment variable naming the Chromium binary of the tests (default `/usr/bin/chromium`,
/// Debian's `chromium`, which `scripts/setup.sh --test` installs).
pub const CHROMIUM_ENV: &str = "VIDEO_TEST_CHROMIUM";

/// The Chromium binary, for tests that render a page ([`screenshot`]): `$VIDEO_TEST_CHROMIUM`
/// or `/usr/bin/chromium`, when it runs (`--version`).
///
/// Otherwise `None`, after a loud `SKIPPED` line on stderr, unless `VIDEO_TEST_INTEGRATION` is
/// set (as `scripts/test.sh` sets it, after installing it): then its absence panics.
pub fn chromium(test: &str) -> Option<PathBuf> {
    let bin = match std::env::var_os(CHROMIUM_ENV) {
        Some(b) if !b.is_empty() => PathBuf::from(b),
        _ => PathBuf::from("/usr/bin/chromium"),
    };
    let why = match std::process::Command::new(&bin).arg("--version").output() {
        Ok(out) if out.status.success() => return Some(bin),
        Ok(out) => format!(
            "{} --version failed: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!(
            "{} does not run ({e}); install Debian's chromium (scripts/setup.sh --test) or set \
             {CHROMIUM_ENV}",
            bin.display()
        ),
    };
    assert!(
        std::env::var_os("VIDEO_TEST_INTEGRATION").is_none(),
        "{test}: {why}"
    );
    skipped(&format!("{test}: {why}"));
    None
}

/// Render `url` (a `file://` URL of a page a test wrote) with headless `chromium` in a window of
/// `width` x `height` CSS pixels at scale 1, and write the screenshot as the PNG `out`. Each
/// call has a fresh profile under `out`'s folder, and no network but the page's own files.
pub fn screenshot(chromium: &Path, url: &str, out: &Path, (width, height): (u32, u32)) {
    let profile = out.with_extension("profile");
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_file(out);
    let mut screenshot = std::ffi::OsString::from("--screenshot=");
    screenshot.push(out);
    let mut user_data = std::ffi::OsString::from("--user-data-dir=");
    user_data.push(&profile);
    let status = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--force-color-profile=srgb",
        ])
        .arg(user_data)
        .arg(screenshot)
        .arg(format!("--window-size={width},{height}"))
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        status.success() && out.is_file(),
        "{} made no screenshot of {url} ({status})",
        chromium.display()
    );
}

/// An error and its sources on one line, `outer <- inner <- …`, for assertion messages.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(" <- ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

/// The standard output of `cmd`, which must succeed (panics with the command and its standard
/// error otherwise).
pub fn run_ok(cmd: &mut std::process::Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

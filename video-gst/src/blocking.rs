//! Running blocking GStreamer work off the caller's executor, without tying us to a runtime.

use futures::channel::oneshot;
use video_core::{Error, Result};

/// Run `f` on a new thread; the future resolves with its result. Dropping the future lets the
/// thread finish on its own (its work is bounded by the stall timeout).
pub(crate) async fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("video-gst-probe".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| Error::Backend {
            backend: "gstreamer",
            uri: None,
            element: None,
            source: Box::new(e),
        })?;
    rx.await.map_err(|_| Error::Backend {
        backend: "gstreamer",
        uri: None,
        element: None,
        source: "worker thread panicked".into(),
    })?
}

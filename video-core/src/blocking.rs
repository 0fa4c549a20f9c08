//! Blocking work off the caller's executor, on threads of this crate's own, for any async
//! runtime (or none).
//!
//! Two kinds of work block a thread, and they need different pools:
//!
//! - **Short tasks** ([`run`]): a probe, hashing, encoding one image. They finish on their own
//!   in bounded time. They run on one pool of at most as many threads as the machine has cores
//!   ([`std::thread::available_parallelism`]); tasks beyond that wait in a queue, in order. The
//!   future resolves with the task's result.
//! - **Stream drivers** ([`stream`]): a decode loop that produces a stream's items and blocks
//!   while the stream's bounded channel is full, that is for as long as its consumer does not
//!   read. A driver's lifetime is the consumer's to decide, so drivers must never wait in a
//!   queue for a free thread: a consumer that opens more streams than the pool has threads and
//!   reads the last one first would wait forever for a driver queued behind drivers that wait
//!   for it. Each driver therefore gets a thread at once. Threads are reused: a finished driver's
//!   thread waits a few seconds for the next driver before it ends, so opening stream after
//!   stream does not create a thread each time. The number of threads is bounded by the number
//!   of streams open at once (plus those idle for at most a few seconds), which the caller
//!   bounds.
//!
//! A panic in a task or a driver is reported as [`Error::Panicked`], never as a hang or a
//! silently short stream, and the thread lives on.
//!
//! ```
//! use futures::StreamExt;
//! use video_core::blocking;
//! # futures::executor::block_on(async {
//! // A short task: its result, computed on a pool thread.
//! let sum = blocking::run(|| Ok((1..=100u64).sum::<u64>())).await?;
//! assert_eq!(sum, 5050);
//!
//! // A driver: blocks on `send` while the stream's buffer of 2 is full.
//! let mut squares = blocking::stream("squares", 2, |tx| {
//!     for i in 0..5u64 {
//!         if futures::executor::block_on(futures::SinkExt::send(tx, Ok(i * i))).is_err() {
//!             break; // the consumer dropped the stream
//!         }
//!     }
//!     Ok(())
//! })
//! .expect("a thread");
//! let all: Vec<u64> = squares.map(|r| r.expect("no error")).collect().await;
//! assert_eq!(all, [0, 1, 4, 9, 16]);
//! # Ok::<(), video_core::Error>(())
//! # }).unwrap();
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::SinkExt;
use futures::channel::{mpsc, oneshot};
use futures::stream::{BoxStream, StreamExt};

use crate::{Error, Result};

/// How long an idle thread waits for work before it ends.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Runs `f` on the pool of short blocking tasks; the future resolves with its result.
///
/// The pool has at most as many threads as [`std::thread::available_parallelism`] (threads are
/// started when needed and end after a few idle seconds); tasks beyond that wait in a queue and
/// start in the order they were submitted. Use it for work that ends on its own in bounded time.
/// Work that waits for a consumer (a producer blocked on a full channel) belongs in [`stream`],
/// and a task must not wait for another task of this pool: with every thread waiting, nothing
/// would run.
///
/// Dropping the future does not stop a task that has started (a thread cannot be interrupted);
/// one that has not started yet is skipped.
///
/// # Errors
/// `f`'s error; [`Error::Panicked`] when `f` panics; [`Error::Backend`] when no thread could be
/// started.
pub fn run<T, F>(f: F) -> Run<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    run_on(short_pool(), f)
}

/// The future of a [`run`] task.
#[must_use = "futures do nothing unless polled; dropping it skips a task that has not started"]
pub struct Run<T> {
    state: RunState<T>,
}

enum RunState<T> {
    Waiting(oneshot::Receiver<Result<T>>),
    Failed(Option<Error>),
}

impl<T> fmt::Debug for Run<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            RunState::Waiting(_) => "waiting",
            RunState::Failed(_) => "failed",
        };
        f.debug_struct("Run").field("state", &state).finish()
    }
}

impl<T> Future for Run<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        match &mut self.get_mut().state {
            RunState::Waiting(rx) => match Pin::new(rx).poll(cx) {
                Poll::Ready(Ok(out)) => Poll::Ready(out),
                // The job was dropped without running: only when its thread died outside it.
                Poll::Ready(Err(oneshot::Canceled)) => Poll::Ready(Err(Error::Panicked {
                    task: "blocking task",
                    message: "the task ended without a result".into(),
                })),
                Poll::Pending => Poll::Pending,
            },
            RunState::Failed(e) => Poll::Ready(Err(e.take().unwrap_or_else(|| Error::Panicked {
                task: "blocking task",
                message: "polled after completion".into(),
            }))),
        }
    }
}

/// Runs `f` on a thread of its own (a reused one when one is idle) as the driver of a stream,
/// and returns the stream: what `f` sends on the channel of `buffer` slots (as
/// [`mpsc::channel`] counts them), then `f`'s error, if it returns one.
///
/// `f` typically blocks on `futures::executor::block_on(tx.send(item))` while the channel is
/// full, and stops when sending fails (the consumer dropped the stream). A driver never waits
/// for a free thread (see the [module docs](self) for why), so the number of threads follows
/// the number of streams open at once: bound that in the caller. `task` names the driver in
/// [`Error::Panicked`].
///
/// # Errors
/// The operating system's error when no thread could be started.
pub fn stream<T, F>(
    task: &'static str,
    buffer: usize,
    f: F,
) -> std::io::Result<BoxStream<'static, Result<T>>>
where
    T: Send + 'static,
    F: FnOnce(&mut mpsc::Sender<Result<T>>) -> Result<()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(buffer);
    driver_pool().submit(Box::new(move || {
        let mut tx = tx;
        let failure = match catch_unwind(AssertUnwindSafe(|| f(&mut tx))) {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(panic) => Some(Error::Panicked {
                task,
                message: panic_message(panic.as_ref()),
            }),
        };
        if let Some(e) = failure {
            let _ = futures::executor::block_on(tx.send(Err(e)));
        }
    }))?;
    Ok(rx.boxed())
}

fn short_pool() -> &'static Arc<Pool> {
    static POOL: OnceLock<Arc<Pool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Pool::new("video-blocking", Some(cores), KEEP_ALIVE)
    })
}

fn driver_pool() -> &'static Arc<Pool> {
    static POOL: OnceLock<Arc<Pool>> = OnceLock::new();
    POOL.get_or_init(|| Pool::new("video-stream", None, KEEP_ALIVE))
}

fn run_on<T, F>(pool: &Arc<Pool>, f: F) -> Run<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let submitted = pool.submit(Box::new(move || {
        if tx.is_canceled() {
            return; // the future was dropped before the task started
        }
        let out = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
            Err(Error::Panicked {
                task: "blocking task",
                message: panic_message(panic.as_ref()),
            })
        });
        let _ = tx.send(out);
    }));
    let state = match submitted {
        Ok(()) => RunState::Waiting(rx),
        Err(e) => RunState::Failed(Some(Error::Backend {
            backend: "blocking",
            uri: None,
            element: Some("thread pool".into()),
            source: Box::new(e),
        })),
    };
    Run { state }
}

/// A panic's message, when it is a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Threads started on demand, up to `max_threads` (unbounded with `None`), that take jobs from
/// one FIFO queue and end after `keep_alive` without work.
struct Pool {
    name: &'static str,
    max_threads: Option<usize>,
    keep_alive: Duration,
    state: Mutex<State>,
    work: Condvar,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Threads alive.
    threads: usize,
    /// Threads waiting for a job.
    idle: usize,
    /// Threads ever started (for tests).
    started: usize,
}

impl Pool {
    fn new(name: &'static str, max_threads: Option<usize>, keep_alive: Duration) -> Arc<Self> {
        Arc::new(Pool {
            name,
            max_threads: max_threads.map(|n| n.max(1)),
            keep_alive,
            state: Mutex::default(),
            work: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock and never panic inside it; a poisoned lock still holds a
        // consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job`, waking an idle thread or starting one when every thread is taken (and the
    /// bound allows).
    fn submit(self: &Arc<Self>, job: Job) -> std::io::Result<()> {
        let mut st = self.lock();
        st.queue.push_back(job);
        let under_bound = self.max_threads.is_none_or(|max| st.threads < max);
        if st.queue.len() > st.idle && under_bound {
            let pool = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name(self.name.into())
                .spawn(move || pool.work_loop());
            match spawned {
                Ok(_) => {
                    st.threads += 1;
                    st.started += 1;
                }
                // Without a thread of its own the job could wait forever (a driver) or for
                // ever, if no thread is left to take it.
                Err(e) if self.max_threads.is_none() || st.threads == 0 => {
                    st.queue.pop_back();
                    return Err(e);
                }
                Err(_) => {} // a running thread takes it later
            }
        }
        drop(st);
        self.work.notify_one();
        Ok(())
    }

    fn work_loop(self: Arc<Self>) {
        let mut st = self.lock();
        loop {
            if let Some(job) = st.queue.pop_front() {
                drop(st);
                // Jobs catch their own panics; this keeps the counts right if one does not.
                let _ = catch_unwind(AssertUnwindSafe(job));
                st = self.lock();
                continue;
            }
            st.idle += 1;
            let (guard, _) = self
                .work
                .wait_timeout_while(st, self.keep_alive, |s| s.queue.is_empty())
                .unwrap_or_else(PoisonError::into_inner);
            st = guard;
            st.idle -= 1;
            if st.queue.is_empty() {
                st.threads -= 1;
                return;
            }
        }
    }

    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
        let st = self.lock();
        (st.threads, st.started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::mpsc as std_mpsc;
    use std::time::Instant;

    /// Waits until `cond` holds, at most 5 s.
    fn eventually(mut cond: impl FnMut() -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if cond() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn tasks_beyond_the_bound_queue_and_run_in_order() {
        let pool = Pool::new("test-queue", Some(1), Duration::from_secs(5));
        let order = Arc::new(Mutex::new(Vec::new()));
        let futures: Vec<_> = (0..6)
            .map(|i| {
                let order = order.clone();
                run_on(&pool, move || {
                    std::thread::sleep(Duration::from_millis(2));
                    order.lock().expect("lock").push(i);
                    Ok(i * 10)
                })
            })
            .collect();
        let results: Vec<u64> = futures
            .into_iter()
            .map(|f| block_on(f).expect("runs"))
            .collect();
        assert_eq!(results, [0, 10, 20, 30, 40, 50]);
        assert_eq!(*order.lock().expect("lock"), [0, 1, 2, 3, 4, 5]);
        assert_eq!(pool.counts().1, 1, "one thread did all");
    }

    #[test]
    fn the_bound_is_respected() {
        let pool = Pool::new("test-bound", Some(3), Duration::from_secs(5));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let futures: Vec<_> = (0..12)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                run_on(&pool, move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                })
            })
            .collect();
        for f in futures {
            block_on(f).expect("runs");
        }
        assert_eq!(most.load(Ordering::SeqCst), 3);
        assert!(pool.counts().1 <= 3, "{:?}", pool.counts());
    }

    #[test]
    fn a_panic_is_an_error_and_the_pool_lives_on() {
        let pool = Pool::new("test-panic", Some(1), Duration::from_secs(5));
        let err = block_on(run_on(&pool, || -> Result<()> { panic!("boom {}", 42) }))
            .expect_err("panicked");
        match err {
            Error::Panicked { task, message } => {
                assert_eq!(task, "blocking task");
                assert_eq!(message, "boom 42");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(block_on(run_on(&pool, || Ok(7))).expect("runs"), 7);
        assert_eq!(pool.counts(), (1, 1), "the same thread took the next task");
    }

    #[test]
    fn a_dropped_future_skips_its_task_and_hangs_nothing() {
        let pool = Pool::new("test-drop", Some(1), Duration::from_secs(5));
        let (release, wait) = std_mpsc::channel::<()>();
        let busy = run_on(&pool, move || {
            let _ = wait.recv();
            Ok(())
        });
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let dropped = run_on(&pool, move || {
            r.store(true, Ordering::SeqCst);
            Ok(())
        });
        drop(dropped);
        release.send(()).expect("the task waits");
        block_on(busy).expect("runs");
        assert_eq!(block_on(run_on(&pool, || Ok(1))).expect("runs"), 1);
        assert!(
            !ran.load(Ordering::SeqCst),
            "a task nobody waits for was skipped"
        );
        // A started task whose future is dropped finishes and frees its thread.
        let (release, wait) = std_mpsc::channel::<()>();
        drop(run_on(&pool, move || {
            let _ = wait.recv();
            Ok(())
        }));
        release.send(()).ok();
        assert_eq!(block_on(run_on(&pool, || Ok(2))).expect("runs"), 2);
    }

    #[test]
    fn idle_threads_are_reused_and_end_after_the_keep_alive() {
        let pool = Pool::new("test-reuse", None, Duration::from_millis(300));
        // The result arrives just before the thread goes back to waiting: wait for that.
        let id = || {
            let id = block_on(run_on(&pool, || Ok(std::thread::current().id()))).expect("runs");
            assert!(eventually(|| {
                let st = pool.lock();
                st.idle == st.threads
            }));
            id
        };
        let first = id();
        assert_eq!(id(), first);
        assert_eq!(id(), first);
        assert_eq!(pool.counts(), (1, 1));
        assert!(eventually(|| pool.counts().0 == 0), "the idle thread ended");
        assert_ne!(id(), first, "a new thread after the keep-alive");
    }

    #[test]
    fn drivers_never_wait_for_a_thread() {
        // Eight streams open at once, each driver blocked on its full channel, read last one
        // first: in a pool of fewer threads than streams this would never end.
        let streams: Vec<_> = (0..8u64)
            .map(|s| {
                stream("test driver", 0, move |tx| {
                    for i in 0..4 {
                        if block_on(tx.send(Ok(s * 100 + i))).is_err() {
                            break;
                        }
                    }
                    Ok(())
                })
                .expect("a thread")
            })
            .collect();
        for (s, st) in streams.into_iter().enumerate().rev() {
            let got: Vec<u64> = block_on(st.map(|r| r.expect("item")).collect());
            let s = s as u64;
            assert_eq!(got, [s * 100, s * 100 + 1, s * 100 + 2, s * 100 + 3]);
        }
    }

    #[test]
    fn a_driver_error_or_panic_ends_its_stream() {
        let items: Vec<Result<u8>> = block_on(
            stream("test driver", 1, |tx| {
                block_on(tx.send(Ok(1))).ok();
                Err(Error::InvalidPlan {
                    reason: "stop".into(),
                })
            })
            .expect("a thread")
            .collect(),
        );
        assert!(matches!(items[..], [Ok(1), Err(Error::InvalidPlan { .. })]));
        let items: Vec<Result<u8>> = block_on(
            stream("test driver", 1, |_| panic!("driver bug"))
                .expect("a thread")
                .collect(),
        );
        match &items[..] {
            [Err(Error::Panicked { task, message })] => {
                assert_eq!((*task, message.as_str()), ("test driver", "driver bug"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_dropped_stream_stops_its_driver_and_frees_the_thread() {
        let stopped = Arc::new(AtomicBool::new(false));
        let s = stopped.clone();
        let mut st = stream("test driver", 0, move |tx| {
            let mut i = 0u32;
            while block_on(tx.send(Ok(i))).is_ok() {
                i += 1;
            }
            s.store(true, Ordering::SeqCst);
            Ok(())
        })
        .expect("a thread");
        assert_eq!(block_on(st.next()).and_then(Result::ok), Some(0));
        drop(st);
        assert!(eventually(|| stopped.load(Ordering::SeqCst)));
    }
}

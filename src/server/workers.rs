//! Connection threads: each runs its own single-threaded tokio runtime and
//! serves the connections handed to it, from the TLS handshake to the close.
//!
//! Why not the shared multi-threaded runtime: under a moderate load each
//! request arrives while the workers are idle, and tokio's work-stealing
//! scheduler then wakes a second worker to look for work it will not find.
//! On a small machine those extra wake-ups (futex calls and context
//! switches) cost more CPU than the request itself and make the latency
//! tail. A thread that owns its connections wakes only for its own sockets.
//! A new connection goes to the thread with the fewest open ones.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

struct Worker {
    handle: Handle,
    /// Connections being served on this thread.
    open: Arc<AtomicUsize>,
}

pub(crate) struct Workers {
    workers: Vec<Worker>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// Ends every thread's runtime (and drops what it still holds).
    stop: CancellationToken,
}

/// Blocking-pool threads (writes waiting on an fsync, key generation)
/// shared out among the connection threads: as many in all as one
/// multi-threaded runtime would have.
const BLOCKING_THREADS: usize = 512;

impl Workers {
    /// Starts `threads` connection threads (at least one).
    pub(crate) fn start(threads: usize) -> std::io::Result<Self> {
        let n = threads.max(1);
        let mut started = Self {
            workers: Vec::with_capacity(n),
            threads: Vec::with_capacity(n),
            stop: CancellationToken::new(),
        };
        for i in 0..n {
            // The runtime is built on its own thread, so a failure to
            // start one never drops a runtime inside this (async) caller.
            let (tx, rx) = std::sync::mpsc::channel();
            let stop = started.stop.clone();
            let thread = std::thread::Builder::new()
                .name(format!("lkm-io-{i}"))
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .thread_name(format!("lkm-io-{i}-blocking"))
                        .max_blocking_threads((BLOCKING_THREADS / n).max(16))
                        .build();
                    match rt {
                        Ok(rt) => {
                            let _ = tx.send(Ok(rt.handle().clone()));
                            rt.block_on(stop.cancelled());
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                })?;
            started.threads.push(thread);
            let handle = rx.recv().map_err(|_| {
                std::io::Error::other(format!("connection thread {i} ended before it started"))
            })??;
            started.workers.push(Worker {
                handle,
                open: Arc::new(AtomicUsize::new(0)),
            });
        }
        Ok(started)
    }

    /// Runs a connection's future on the least busy thread.
    pub(crate) fn spawn<F>(&self, connection: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Some(w) = self.workers.iter().min_by_key(|w| w.open.load(Relaxed)) else {
            return;
        };
        w.open.fetch_add(1, Relaxed);
        // Made before the task, so a task dropped unpolled counts out too.
        let done = Decrement(w.open.clone());
        w.handle.spawn(async move {
            let _done = done;
            connection.await;
        });
    }

    /// Stops the threads and waits for them: connections still open are
    /// dropped, and blocking work they started (a write waiting on its
    /// fsync) finishes first. Blocks: call it off the async workers.
    pub(crate) fn stop_and_join(mut self) {
        self.stop.cancel();
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                tracing::warn!("a connection thread panicked");
            }
        }
    }
}

impl Drop for Workers {
    /// A server dropped without a shutdown (a test's runtime ending, a
    /// panic) does not leave its threads behind.
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Counts a connection out even if its future is dropped unfinished.
struct Decrement(Arc<AtomicUsize>);

impl Drop for Decrement {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn connections_are_spread_and_counted_out() {
        let workers = Workers::start(2).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let release = CancellationToken::new();
        for _ in 0..4 {
            let tx = tx.clone();
            let release = release.clone();
            workers.spawn(async move {
                let _ = tx.send(std::thread::current().name().map(str::to_owned));
                release.cancelled().await;
            });
        }
        let mut names = Vec::new();
        for _ in 0..4 {
            names.push(rx.recv().await.unwrap().unwrap());
        }
        names.sort();
        assert_eq!(names, ["lkm-io-0", "lkm-io-0", "lkm-io-1", "lkm-io-1"]);
        assert_eq!(workers.workers[0].open.load(Relaxed), 2);
        release.cancel();
        for _ in 0..200 {
            if workers.workers.iter().all(|w| w.open.load(Relaxed) == 0) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(workers.workers.iter().all(|w| w.open.load(Relaxed) == 0));
        tokio::task::spawn_blocking(move || workers.stop_and_join())
            .await
            .unwrap();
    }
}

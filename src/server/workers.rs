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
    /// Ends every thread's runtime (and drops what it still holds).
    stop: CancellationToken,
}

impl Workers {
    /// Starts `threads` connection threads (at least one).
    pub(crate) fn start(threads: usize) -> std::io::Result<Self> {
        let stop = CancellationToken::new();
        let mut workers = Vec::with_capacity(threads.max(1));
        for i in 0..threads.max(1) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name(format!("lkm-io-{i}"))
                .build()?;
            workers.push(Worker {
                handle: rt.handle().clone(),
                open: Arc::new(AtomicUsize::new(0)),
            });
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(format!("lkm-io-{i}"))
                .spawn(move || rt.block_on(stop.cancelled()))?;
        }
        Ok(Self { workers, stop })
    }

    /// Runs a connection's future on the least busy thread.
    pub(crate) fn spawn<F>(&self, connection: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Some(w) = self.workers.iter().min_by_key(|w| w.open.load(Relaxed)) else {
            return;
        };
        let open = w.open.clone();
        open.fetch_add(1, Relaxed);
        w.handle.spawn(async move {
            let _done = Decrement(open);
            connection.await;
        });
    }

    /// Stops the threads; connections still open are dropped.
    pub(crate) fn stop(&self) {
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
        workers.stop();
    }
}

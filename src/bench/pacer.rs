//! Open-loop pacing: one thread releases send tokens on a fixed schedule
//! (request k is due at start + k / rate) and any free connection takes
//! the next one. Latency is measured from the token's due time, so when
//! every connection is busy the wait is counted, as a real client's
//! would be (no coordinated omission).
//!
//! A thread with `std::thread::sleep` rather than tokio timers: those
//! fire in whole milliseconds, which would send requests in bursts and
//! charge the server with the client's timer slack.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

pub(crate) struct Pacer {
    tokens: Semaphore,
    taken: AtomicU64,
    start: Instant,
    rate: f64,
    /// Number of real tokens (those due before the end), if the run ends
    /// by time.
    limit: Option<u64>,
    connections: usize,
}

/// A due time, or the end of the run.
pub(crate) enum Token {
    Due(tokio::time::Instant),
    End,
}

impl Pacer {
    /// Starts the pacing thread. `until`: end of a timed run.
    pub(crate) fn start(
        rate: f64,
        start: tokio::time::Instant,
        until: Option<tokio::time::Instant>,
        connections: usize,
    ) -> std::io::Result<Arc<Self>> {
        let start = start.into_std();
        let limit = until.map(|u| {
            let span = u.into_std().saturating_duration_since(start).as_secs_f64();
            (span * rate).ceil() as u64
        });
        let pacer = Arc::new(Self {
            tokens: Semaphore::new(0),
            taken: AtomicU64::new(0),
            start,
            rate,
            limit,
            connections,
        });
        let p = pacer.clone();
        std::thread::Builder::new()
            .name("lkm-bench-pacer".into())
            .spawn(move || p.release_loop())?;
        Ok(pacer)
    }

    fn due(&self, k: u64) -> Instant {
        self.start + Duration::from_secs_f64(k as f64 / self.rate)
    }

    fn release_loop(&self) {
        let mut released: u64 = 0;
        loop {
            if self.tokens.is_closed() {
                return;
            }
            let elapsed = Instant::now().saturating_duration_since(self.start);
            // Tokens 0..=k are due once start + k / rate has passed.
            let mut due = (elapsed.as_secs_f64() * self.rate).floor() as u64 + 1;
            if let Some(l) = self.limit {
                due = due.min(l);
            }
            if due > released {
                self.tokens
                    .add_permits(usize::try_from(due - released).unwrap_or(usize::MAX >> 4));
                released = due;
            }
            if self.limit.is_some_and(|l| released >= l) {
                // One end token per connection, after every real one.
                self.tokens.add_permits(self.connections);
                return;
            }
            let next = self.due(released);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    }

    /// Waits for the next token.
    pub(crate) async fn next(&self) -> Token {
        match self.tokens.acquire().await {
            Ok(permit) => {
                permit.forget();
                let k = self.taken.fetch_add(1, Relaxed);
                if self.limit.is_some_and(|l| k >= l) {
                    Token::End
                } else {
                    Token::Due(tokio::time::Instant::from_std(self.due(k)))
                }
            }
            Err(_) => Token::End,
        }
    }

    /// Ends the run now (request count reached): waiting connections get
    /// End and the thread exits.
    pub(crate) fn stop(&self) {
        self.tokens.close();
    }
}

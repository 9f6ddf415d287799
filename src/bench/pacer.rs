//! Open-loop pacing: request k is due at start + k / rate, and any free
//! connection takes the next due one. Latency is measured from the due
//! time, so when every connection is busy the wait is counted, as a real
//! client's would be (no coordinated omission).
//!
//! The clock is a `timerfd`, armed for the next due time (absolute, so
//! it cannot drift from the schedule) and read by a task on the client's
//! own runtime: tokio's timers fire in whole milliseconds, which would send
//! requests in bursts, and a pacing thread would have to wake a runtime
//! thread for every token. Each wake-up of this kind costs a context
//! switch on a machine the client shares with the server, so it shows up
//! in the very latency being measured.

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
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

/// The timer, as tokio's reactor needs it.
struct Ticks(TimerFd);

impl AsRawFd for Ticks {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// The timer fires no more often than this; each firing releases every
/// token that has come due. A token can so wait up to this long, which is
/// counted in its latency; ticking faster costs the shared CPUs a
/// wake-up (and, in a VM, a timer exit) per request for no better
/// figure.
const MIN_TICK: Duration = Duration::from_micros(100);

impl Pacer {
    /// Starts the pacing task on the current runtime. `until`: end of a
    /// timed run.
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
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // SAFETY: `Ticks` owns the timer's file descriptor for as long as
        // the AsyncFd holds it, and `as_raw_fd` always returns that one.
        let ticks = unsafe { AsyncFd::register_with_interest(Ticks(timer), Interest::READABLE) }
            .map_err(std::io::Error::from)?;
        let pacer = Arc::new(Self {
            tokens: Semaphore::new(0),
            taken: AtomicU64::new(0),
            start,
            rate,
            limit,
            connections,
        });
        tokio::spawn(pacer.clone().release_loop(ticks));
        Ok(pacer)
    }

    fn due(&self, k: u64) -> Instant {
        self.start + Duration::from_secs_f64(k as f64 / self.rate)
    }

    async fn release_loop(self: Arc<Self>, ticks: AsyncFd<Ticks>) {
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
                self.end();
                return;
            }
            let wake = self.due(released).max(Instant::now() + MIN_TICK);
            if let Err(e) = wait_until(&ticks, wake).await {
                // The timer is gone: end the run rather than stall it.
                tracing::warn!(error = %e, "open-loop pacing timer failed; ending the run");
                self.stop();
                return;
            }
        }
    }

    /// One end token per connection, after every real one.
    fn end(&self) {
        self.tokens.add_permits(self.connections);
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

/// Arms the timer for `wake` and waits for it. The time is converted to
/// CLOCK_MONOTONIC (the clock of `Instant` on Linux) as an absolute
/// value, so the schedule does not drift with the time spent between
/// firings.
async fn wait_until(ticks: &AsyncFd<Ticks>, wake: Instant) -> std::io::Result<()> {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)?;
    let at = now + TimeSpec::from(wake.saturating_duration_since(Instant::now()));
    ticks.get_ref().0.set(
        Expiration::OneShot(at),
        TimerSetTimeFlags::TFD_TIMER_ABSTIME,
    )?;
    loop {
        let mut ready = ticks.readable().await?;
        match ready.try_io(|t| t.get_ref().0.wait().map_err(std::io::Error::from)) {
            Ok(result) => return result,
            Err(_would_block) => continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokens are released on their due time, not on a grid of ticks
    /// that drifts from it: at 333/s (a period that is no whole number
    /// of nanoseconds) each is handed out within a millisecond of its
    /// due time, not up to a period (3 ms) after.
    #[tokio::test(flavor = "current_thread")]
    async fn low_rates_are_not_late_by_a_period() {
        let start = tokio::time::Instant::now();
        let until = start + Duration::from_millis(150);
        let pacer = Pacer::start(333.0, start, Some(until), 1).unwrap();
        let mut late = Vec::new();
        while let Token::Due(t) = pacer.next().await {
            late.push(tokio::time::Instant::now().saturating_duration_since(t));
        }
        assert_eq!(late.len(), 50);
        let median = {
            late.sort();
            late[late.len() / 2]
        };
        assert!(
            median < Duration::from_millis(1),
            "median lateness {median:?}"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn releases_each_token_at_its_due_time_then_ends() {
        let start = tokio::time::Instant::now();
        let until = start + Duration::from_millis(100);
        let pacer = Pacer::start(1_000.0, start, Some(until), 2).unwrap();
        let mut dues = Vec::new();
        let mut ends = 0;
        while ends < 2 {
            match pacer.next().await {
                Token::Due(t) => {
                    // Never handed out early.
                    assert!(tokio::time::Instant::now() >= t);
                    dues.push(t);
                }
                Token::End => ends += 1,
            }
        }
        assert_eq!(dues.len(), 100);
        for (k, t) in dues.iter().enumerate() {
            let expected = start + Duration::from_secs_f64(k as f64 / 1_000.0);
            let off =
                t.saturating_duration_since(expected) + expected.saturating_duration_since(*t);
            assert!(off < Duration::from_micros(2), "token {k} off by {off:?}");
        }
    }
}

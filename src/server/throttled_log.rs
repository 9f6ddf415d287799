//! Warnings about refused connections, at most one a second per kind: a
//! flood of refusals must not become a flood of log lines (a disk filled
//! by an attacker's traffic is a denial of service of its own).

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) struct ThrottledLog {
    every: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl ThrottledLog {
    pub(crate) const fn per_second() -> ThrottledLog {
        ThrottledLog {
            every: Duration::from_secs(1),
            state: Mutex::new((None, 0)),
        }
    }

    /// Whether to log this event now; if so, also how many like it were
    /// not logged since the last line.
    pub(crate) fn allow(&self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> Option<u64> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match st.0 {
            Some(last) if now.duration_since(last) < self.every => {
                st.1 += 1;
                None
            }
            _ => {
                let suppressed = st.1;
                *st = (Some(now), 0);
                Some(suppressed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_with_the_count_of_the_others() {
        let log = ThrottledLog::per_second();
        let t0 = Instant::now();
        assert_eq!(log.allow_at(t0), Some(0));
        for i in 1..=5 {
            assert_eq!(log.allow_at(t0 + Duration::from_millis(i * 100)), None);
        }
        assert_eq!(log.allow_at(t0 + Duration::from_millis(1_001)), Some(5));
        assert_eq!(log.allow_at(t0 + Duration::from_millis(1_002)), None);
    }
}

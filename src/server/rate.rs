//! Per-identity rate of audited batch items. Every item a client sends
//! writes an audit entry, and the log keeps a bounded number of bytes: a
//! client allowed to send at the server's full speed could push a year of
//! history out in minutes. A token bucket per client identity bounds that;
//! legitimate bursts (an array unlocking its drives at boot) fit in the
//! burst allowance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

pub(crate) struct AuditRate {
    per_s: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Past this many identities, full buckets are forgotten (they are
/// indistinguishable from new ones).
const MAX_TRACKED: usize = 10_000;

impl AuditRate {
    /// `per_s` = 0 turns the limit off.
    pub(crate) fn new(per_s: u64, burst: u64) -> AuditRate {
        AuditRate {
            per_s: per_s as f64,
            burst: burst.max(per_s) as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `n` items from `identity`'s allowance; false (and nothing
    /// taken) if it has fewer left.
    pub(crate) fn take(&self, identity: &str, n: usize) -> bool {
        self.take_at(identity, n, Instant::now())
    }

    fn take_at(&self, identity: &str, n: usize, now: Instant) -> bool {
        if self.per_s == 0.0 {
            return true;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(identity) {
            let (per_s, burst) = (self.per_s, self.burst);
            buckets.retain(|_, b| b.refilled(now, per_s, burst) < burst);
        }
        // Looked up before inserting: no allocation on the common path.
        if !buckets.contains_key(identity) {
            buckets.insert(
                identity.to_owned(),
                Bucket {
                    tokens: self.burst,
                    at: now,
                },
            );
        }
        let Some(b) = buckets.get_mut(identity) else {
            return true;
        };
        b.tokens = b.refilled(now, self.per_s, self.burst);
        b.at = now;
        let n = n as f64;
        if b.tokens >= n {
            b.tokens -= n;
            true
        } else {
            false
        }
    }

    pub(crate) fn per_s(&self) -> u64 {
        self.per_s as u64
    }
}

impl Bucket {
    fn refilled(&self, now: Instant, per_s: f64, burst: f64) -> f64 {
        (self.tokens + now.duration_since(self.at).as_secs_f64() * per_s).min(burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_sustained_rate_per_identity() {
        let r = AuditRate::new(100, 1_000);
        let t0 = Instant::now();
        assert!(r.take_at("a", 1_000, t0));
        assert!(!r.take_at("a", 1, t0));
        // Another identity has its own allowance.
        assert!(r.take_at("b", 500, t0));
        // A tenth of a second refills ten items, not more.
        let t1 = t0 + Duration::from_millis(100);
        assert!(r.take_at("a", 10, t1));
        assert!(!r.take_at("a", 1, t1));
        // Refused requests take nothing.
        let t2 = t1 + Duration::from_millis(50);
        assert!(!r.take_at("a", 6, t2));
        assert!(r.take_at("a", 5, t2));
        assert!(AuditRate::new(0, 0).take_at("a", 1_000_000, t0));
    }
}

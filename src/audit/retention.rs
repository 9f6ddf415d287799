//! How long entries are kept. Pruning removes the oldest entries, records
//! where the chain resumes in a checkpoint, and logs that it did, all in
//! one batch, so the chain stays verifiable from the oldest entry kept.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    /// Entries older than this are removed.
    pub max_age_days: u64,
    /// The oldest entries are removed while all kept entries exceed this.
    pub max_bytes: u64,
    /// How often the server prunes, in seconds.
    pub prune_interval_s: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age_days: 365,
            max_bytes: 1 << 30,
            prune_interval_s: 60,
        }
    }
}

impl Retention {
    /// Whether an entry written at `time_ms` goes, given `now_ms` and the
    /// bytes kept so far.
    pub fn expires(&self, time_ms: i64, now_ms: i64, kept_bytes: u64) -> bool {
        let max_age_ms =
            i64::try_from(self.max_age_days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
        now_ms.saturating_sub(time_ms) > max_age_ms || kept_bytes > self.max_bytes
    }
}

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
        self.too_old(time_ms, now_ms) || kept_bytes > self.max_bytes
    }

    /// Whether an entry written at `time_ms` is past `max_age_days`: an
    /// entry that goes without being so goes for lack of room, and history
    /// is then shorter than the operator asked for.
    pub fn too_old(&self, time_ms: i64, now_ms: i64) -> bool {
        now_ms.saturating_sub(time_ms) > self.max_age_ms()
    }

    pub fn max_age_ms(&self) -> i64 {
        i64::try_from(self.max_age_days.saturating_mul(86_400_000)).unwrap_or(i64::MAX)
    }
}

/// What one pruning run removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Entries removed.
    pub removed: u64,
    /// Of those, entries younger than `max_age_days`, removed because the
    /// log was over `max_bytes`.
    pub by_size: u64,
    /// Time of the newest entry removed by size, Unix milliseconds.
    pub newest_by_size_ms: Option<i64>,
}

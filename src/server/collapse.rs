//! Bursts of identical failures become one counted audit entry. A client
//! repeating the same failing request (a wrong uid, a refused limit) would
//! otherwise write one entry per attempt and push real history out of the
//! size-bounded log. The first failure of a burst is written at once, in
//! full; repeats within the window are only counted, and one summary entry
//! with the count is written when the window closes.

use crate::audit::Draft;
use std::collections::HashMap;
use std::sync::Mutex;

/// Identical means: same client certificate, operation, reason and uids.
type Key = (String, String, Option<String>, Vec<String>);

pub(crate) struct Collapser {
    window_ms: i64,
    bursts: Mutex<Bursts>,
}

#[derive(Default)]
struct Bursts {
    open: HashMap<Key, Burst>,
    /// Summaries of bursts that closed when a new one took their place,
    /// waiting for [`Collapser::closed`]: no count is ever dropped.
    summaries: Vec<Draft>,
}

struct Burst {
    first: Draft,
    started_ms: i64,
    last_ms: i64,
    repeats: u64,
}

/// Bursts tracked at once; past it, failures are written one by one.
const MAX_BURSTS: usize = 10_000;

impl Collapser {
    pub(crate) fn new(window_ms: i64) -> Collapser {
        Collapser {
            window_ms,
            bursts: Mutex::new(Bursts::default()),
        }
    }

    /// Whether `draft` (a failure) must be written now; false if it is a
    /// repeat within its burst's window, which is then only counted.
    pub(crate) fn admit(&self, draft: &Draft, now_ms: i64) -> bool {
        let key = (
            draft.fingerprint.clone(),
            draft.operation.clone(),
            draft.reason.clone(),
            draft.uids.clone(),
        );
        let mut guard = self.bursts.lock().unwrap_or_else(|p| p.into_inner());
        let bursts = &mut *guard;
        if let Some(b) = bursts.open.get_mut(&key)
            && now_ms - b.started_ms < self.window_ms
        {
            b.repeats += 1;
            b.last_ms = now_ms;
            return false;
        }
        if bursts.open.len() < MAX_BURSTS || bursts.open.contains_key(&key) {
            let ended = bursts.open.insert(
                key,
                Burst {
                    first: draft.clone(),
                    started_ms: now_ms,
                    last_ms: now_ms,
                    repeats: 0,
                },
            );
            bursts
                .summaries
                .extend(ended.as_ref().and_then(Burst::summary));
        }
        true
    }

    /// The summary entries of the bursts whose window has closed by
    /// `now_ms` (all of them with `now_ms` = i64::MAX, at shutdown).
    pub(crate) fn closed(&self, now_ms: i64) -> Vec<Draft> {
        let mut guard = self.bursts.lock().unwrap_or_else(|p| p.into_inner());
        let bursts = &mut *guard;
        let mut out = std::mem::take(&mut bursts.summaries);
        bursts.open.retain(|_, b| {
            if now_ms.saturating_sub(b.started_ms) < self.window_ms {
                return true;
            }
            out.extend(b.summary());
            false
        });
        out
    }
}

impl Burst {
    /// The entry that counts the repeats, if there were any.
    fn summary(&self) -> Option<Draft> {
        (self.repeats > 0).then(|| {
            let mut d = self.first.clone();
            d.detail = Some(format!(
                "the same failure {} more times from {} to {} (collapsed into this entry)",
                self.repeats,
                crate::audit::rfc3339(self.started_ms),
                crate::audit::rfc3339(self.last_ms)
            ));
            d
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(uid: &str) -> Draft {
        let mut d = Draft::new("cn:x", "Get").failed("ItemNotFound");
        d.fingerprint = "ab".into();
        d.name(uid);
        d
    }

    /// The detail of the one summary entry expected.
    fn only_summary(summaries: &[Draft]) -> &str {
        assert_eq!(summaries.len(), 1, "{summaries:?}");
        summaries[0].detail.as_deref().unwrap_or_default()
    }

    #[test]
    fn repeats_are_counted_into_one_summary() {
        let c = Collapser::new(1_000);
        assert!(c.admit(&failure("u1"), 0));
        for t in 1..=500 {
            assert!(!c.admit(&failure("u1"), t));
        }
        // A different failure is its own burst.
        assert!(c.admit(&failure("u2"), 10));
        assert!(c.closed(999).is_empty());
        let summaries = c.closed(1_000);
        assert!(only_summary(&summaries).contains("500 more times"));
        assert_eq!(summaries[0].uids, vec!["u1".to_owned()]);
        // After the window a repeat starts a new burst, written in full.
        assert!(c.admit(&failure("u1"), 1_001));
        assert!(c.closed(i64::MAX).is_empty());
        // A burst replaced before anyone collected it keeps its count.
        assert!(c.admit(&failure("u3"), 5_000));
        assert!(!c.admit(&failure("u3"), 5_001));
        assert!(c.admit(&failure("u3"), 6_001));
        assert!(only_summary(&c.closed(6_002)).contains("1 more times"));
    }
}

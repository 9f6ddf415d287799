//! Audit entries of reads, waiting to be written together: a burst of
//! reads costs one command (one log entry in a cluster), not one each.

use crate::audit::Stamped;
use std::sync::Mutex;

/// Past this many entries, or bytes, waiting, a read writes the queue
/// itself instead of leaving it to the flusher: a bound for a cluster
/// that cannot commit (no quorum) or a disk that has stopped keeping up.
const MAX_QUEUED: usize = 65_536;
const MAX_QUEUED_BYTES: usize = 32 << 20;

#[derive(Default)]
pub(super) struct AuditQueue {
    entries: Mutex<Queued>,
    /// Woken when the first entry starts waiting.
    pub(super) pending: tokio::sync::Notify,
}

#[derive(Default)]
struct Queued {
    entries: Vec<Stamped>,
    bytes: usize,
}

/// About what an entry takes stored (its strings and the fixed fields).
fn size_of(s: &Stamped) -> usize {
    let d = &s.draft;
    128 + d.actor.len()
        + d.fingerprint.len()
        + d.peer.len()
        + d.operation.len()
        + d.status.len()
        + d.uids.iter().map(|u| u.len() + 3).sum::<usize>()
        + d.reason.as_ref().map_or(0, String::len)
        + d.detail.as_ref().map_or(0, String::len)
}

impl AuditQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queued> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an entry; true when the queue is over its bound and the
    /// caller must write it now.
    pub(super) fn push(&self, s: Stamped) -> bool {
        let mut q = self.lock();
        q.bytes += size_of(&s);
        q.entries.push(s);
        if q.entries.len() == 1 {
            self.pending.notify_one();
        }
        q.entries.len() >= MAX_QUEUED || q.bytes >= MAX_QUEUED_BYTES
    }

    pub(super) fn take(&self) -> Vec<Stamped> {
        let mut q = self.lock();
        q.bytes = 0;
        std::mem::take(&mut q.entries)
    }

    /// Puts entries that could not be written back before the newer ones.
    pub(super) fn put_back(&self, mut older: Vec<Stamped>) {
        let mut q = self.lock();
        q.bytes += older.iter().map(size_of).sum::<usize>();
        older.append(&mut q.entries);
        q.entries = older;
    }
}

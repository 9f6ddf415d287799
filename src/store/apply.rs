//! The one write path: a [`Command`] becomes one atomic RocksDB batch,
//! its preconditions checked, its audit entries placed in the chain, and
//! (under Raft) the log position it was applied at written with it. The
//! same command applied to the same state writes the same bytes on every
//! node: nothing here reads a clock, a key or a random source.

use super::{Applied, Cf, Command, Conflict, Store, StoreError};
use crate::audit::{self, Head};
use rocksdb::{WriteBatch, WriteOptions};
use std::sync::MutexGuard;

/// Where a record's version sits: `format(1) || version(8, big-endian)`,
/// the header `keystore::record` writes in clear before the ciphertext,
/// so preconditions are checked without any key.
pub fn record_version(value: &[u8]) -> u64 {
    value
        .get(1..9)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

/// Meta keys whose change the key store must see at once (the hierarchy
/// and its seal record): applying a command that writes one bumps
/// [`Store::meta_generation`].
const WATCHED_META: [&[u8]; 3] = [b"cluster", b"keyring", b"root"];

impl Store {
    pub(super) fn head(&self) -> MutexGuard<'_, Head> {
        self.audit.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The audit chain's head as applied.
    pub fn audit_head(&self) -> Head {
        self.head().clone()
    }

    /// Applies `command` outside any log and returns once it is on disk:
    /// for tests, benches and tools that own the store alone. Writers
    /// share syncs: each writes under the chain's lock without waiting for
    /// the disk, then syncs the WAL, which covers every batch before it.
    pub fn apply(&self, command: &Command) -> Result<Applied, StoreError> {
        let applied = self.apply_at(command, 0, &[], false)?;
        self.sync()?;
        Ok(applied)
    }

    /// Applies `command` as log entry `index`, writing `marks` (meta keys
    /// the log keeps, such as how far it has applied) in the same batch;
    /// `sync` waits for the disk. A precondition that fails writes only
    /// the marks and says which object it was.
    pub fn apply_at(
        &self,
        command: &Command,
        index: u64,
        marks: &[(&[u8], &[u8])],
        sync: bool,
    ) -> Result<Applied, StoreError> {
        let started = std::time::Instant::now();
        let mut head = self.head();
        let mut batch = WriteBatch::default();
        let meta = self.cf(Cf::Meta)?;
        for (k, v) in marks {
            batch.put_cf(meta, k, v);
        }
        let conflict = self.check(command, &head)?;
        let mut next = head.clone();
        let mut first_seq = 0;
        if conflict.is_none() {
            self.add_to(&mut batch, command)?;
            if let Some(p) = &command.prune {
                let audit_cf = self.cf(Cf::Audit)?;
                batch.delete_range_cf(
                    audit_cf,
                    audit::key(next.first_seq),
                    audit::key(p.through_seq + 1),
                );
                next.first_seq = p.through_seq + 1;
                next.bytes = next.bytes.saturating_sub(p.removed_bytes);
                next.oldest_ms = p.next_oldest_ms;
            }
            for s in &command.audit {
                let (seq, bytes, after) = next.append(&s.draft, s.time_ms, None);
                if first_seq == 0 {
                    first_seq = seq;
                }
                batch.put_cf(self.cf(Cf::Audit)?, audit::key(seq), &bytes);
                next = after;
            }
            if !command.audit.is_empty() || command.prune.is_some() {
                batch.put_cf(meta, audit::META_HEAD, next.encode());
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(sync);
        self.db.write_opt(batch, &wo)?;
        *head = next;
        drop(head);
        if conflict.is_none() && touches_watched(command) {
            self.bump_meta_generation();
        }
        self.write_seconds.observe(started.elapsed().as_secs_f64());
        Ok(Applied {
            index,
            conflict,
            first_seq,
        })
    }

    /// The first precondition of `command` that does not hold.
    fn check(&self, command: &Command, head: &Head) -> Result<Option<Conflict>, StoreError> {
        for e in &command.expect {
            let found = self
                .get(Cf::Objects, e.uid.as_bytes())?
                .map_or(0, |v| record_version(&v));
            if found != e.version {
                return Ok(Some(Conflict {
                    uid: e.uid.clone(),
                    expected: e.version,
                    found,
                }));
            }
        }
        if let Some(p) = &command.prune {
            // The newest entry always stays: the head links to it.
            let in_range = p.through_seq >= head.first_seq && p.through_seq + 1 < head.next_seq;
            let same = in_range
                && self
                    .get(Cf::Audit, &audit::key(p.through_seq))?
                    .is_some_and(|v| audit::hash(&v) == p.hash);
            if !same {
                return Ok(Some(Conflict {
                    uid: format!("audit entry {}", p.through_seq),
                    expected: p.through_seq,
                    found: head.first_seq,
                }));
            }
        }
        Ok(None)
    }

    pub(super) fn bump_meta_generation(&self) {
        self.meta_generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }
}

fn touches_watched(command: &Command) -> bool {
    command.mutations.iter().any(|m| match m {
        super::Mutation::Put { cf: Cf::Meta, key, .. }
        | super::Mutation::Delete { cf: Cf::Meta, key } => {
            WATCHED_META.contains(&key.as_slice())
        }
        _ => false,
    })
}

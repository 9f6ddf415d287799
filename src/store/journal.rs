//! Writing audited changes: each entry takes its place in the chain in
//! memory at once, and one writer at a time moves everything queued, in
//! sequence order, into one WAL batch. A batch holding a durable change is
//! written with sync, so nothing durable is visible to readers before it
//! is on disk, and a crash keeps a prefix of the chain. Concurrent writers
//! share that sync: one leads, the others wait until their entry is in.

use super::{Cf, Command, Durability, Store, StoreError};
use crate::audit::{self, Checkpoint, Draft, Head, Retention};
use rocksdb::{WriteBatch, WriteOptions};
use std::sync::MutexGuard;
use std::sync::atomic::Ordering;

/// The chain in memory: its head (counting entries not yet written) and
/// the entries placed but not yet written, oldest first.
#[derive(Default)]
pub(super) struct Chain {
    pub(super) head: Head,
    queue: Vec<Queued>,
    /// Bytes of the entries in `queue`.
    queued_bytes: usize,
}

impl Chain {
    /// Queues an entry; returns the queue's length and bytes after it.
    fn push(&mut self, q: Queued) -> (usize, usize) {
        self.queued_bytes += q.bytes.len();
        self.queue.push(q);
        (self.queue.len(), self.queued_bytes)
    }

    fn take(&mut self) -> Vec<Queued> {
        self.queued_bytes = 0;
        std::mem::take(&mut self.queue)
    }
}

struct Queued {
    seq: u64,
    bytes: Vec<u8>,
    /// The change the entry records, written in the same batch.
    command: Option<Command>,
    durable: bool,
}

#[derive(Default)]
pub(super) struct Writer {
    leading: bool,
    /// Every entry up to this sequence number is in the WAL.
    pub(super) written_through: u64,
}

/// Past this many entries, or bytes, waiting in memory, a read writes the
/// queue itself instead of leaving it to the flusher: a bound for a disk
/// that has stopped keeping up. It is far above what gathers between two
/// flushes (a millisecond), because a read that writes waits for whoever
/// leads, and a RocksDB write can pause for tens of milliseconds (a
/// memtable switch), which would stall every connection on its thread.
const MAX_QUEUED: usize = 65_536;
const MAX_QUEUED_BYTES: usize = 32 << 20;

/// Leadership of the writes; given back (and waiters woken) on drop, even
/// if the writing panicked.
struct Lead<'a> {
    store: &'a Store,
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        self.store.writer().leading = false;
        self.store.written.notify_all();
    }
}

impl Store {
    pub(super) fn chain(&self) -> MutexGuard<'_, Chain> {
        self.audit.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_failed(&self) -> Result<(), StoreError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(StoreError::Write(
                "an earlier write of the audit log failed; restart lkm".into(),
            ));
        }
        Ok(())
    }

    /// Writes the command and the audit entry of `draft` in one atomic
    /// batch; returns the entry's sequence number. See [`Durability`].
    pub fn commit(
        &self,
        command: &Command,
        draft: &Draft,
        durability: Durability,
    ) -> Result<u64, StoreError> {
        self.check_failed()?;
        let started = std::time::Instant::now();
        let (seq, (queued, queued_bytes)) = {
            let mut chain = self.chain();
            let (seq, bytes, next) = chain.head.append(draft, audit::now_ms());
            chain.head = next;
            let lengths = chain.push(Queued {
                seq,
                bytes,
                command: (!command.mutations.is_empty()).then(|| command.clone()),
                durable: durability == Durability::Synced,
            });
            (seq, lengths)
        };
        match durability {
            Durability::Buffered if queued < MAX_QUEUED && queued_bytes < MAX_QUEUED_BYTES => {
                if queued == 1 {
                    self.audit_pending.notify_one();
                }
            }
            _ => self.write_through(seq)?,
        }
        self.write_seconds.observe(started.elapsed().as_secs_f64());
        Ok(seq)
    }

    /// Returns once entry `seq` (and every one before it) is in the WAL,
    /// and on disk if it or any entry written with it is durable.
    fn write_through(&self, seq: u64) -> Result<(), StoreError> {
        loop {
            let Some(lead) = self.lead_unless_written(seq)? else {
                return Ok(());
            };
            let through = self.write_queue(None)?;
            self.writer().written_through = through;
            drop(lead);
            if through < seq {
                // Cannot happen: a leader writes every entry placed before
                // it took the queue. Fail rather than spin.
                return Err(StoreError::Write(format!(
                    "audit entry {seq} was not in the queue (written through {through})"
                )));
            }
        }
    }

    /// Waits until no one leads, then leads; or returns None once entry
    /// `seq` is written (u64::MAX: never).
    fn lead_unless_written(&self, seq: u64) -> Result<Option<Lead<'_>>, StoreError> {
        let mut w = self.writer();
        loop {
            if w.written_through >= seq {
                return Ok(None);
            }
            self.check_failed()?;
            if !w.leading {
                w.leading = true;
                return Ok(Some(Lead { store: self }));
            }
            w = self.written.wait(w).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Takes every queued entry (and `extra`, for pruning) and writes them
    /// as one batch; the caller leads. Returns the last sequence number
    /// written. A failure stops all further writes (see `failed`).
    fn write_queue(&self, extra: Option<&Command>) -> Result<u64, StoreError> {
        let (queue, head) = {
            let mut chain = self.chain();
            (chain.take(), chain.head.clone())
        };
        // Nothing queued: every entry placed so far was taken by a leader
        // before us, and written.
        let Some(last) = queue.last().map(|q| q.seq) else {
            return Ok(head.written());
        };
        let result = (|| {
            let mut batch = WriteBatch::default();
            let audit_cf = self.cf(Cf::Audit)?;
            for q in &queue {
                if let Some(c) = &q.command {
                    self.add_to(&mut batch, c)?;
                }
                batch.put_cf(audit_cf, audit::key(q.seq), &q.bytes);
            }
            if let Some(c) = extra {
                self.add_to(&mut batch, c)?;
            }
            batch.put_cf(self.cf(Cf::Meta)?, audit::META_HEAD, head.encode());
            let mut wo = WriteOptions::default();
            wo.set_sync(extra.is_some() || queue.iter().any(|q| q.durable));
            self.db.write_opt(batch, &wo)?;
            Ok(())
        })();
        if let Err(e) = &result {
            self.failed.store(true, Ordering::Release);
            tracing::error!(error = %e, "writing the audit log failed; no more writes until a restart");
        }
        result.map(|()| last)
    }

    /// Writes the read entries waiting in memory (without waiting for the
    /// disk); the server's flusher calls it, and shutdown does.
    pub fn flush_audit(&self) -> Result<(), StoreError> {
        let last = self.chain().head.written();
        if last == 0 || self.writer().written_through >= last {
            return Ok(());
        }
        self.write_through(last)
    }

    /// The audit chain's head as it stands (counting queued entries).
    pub fn audit_head(&self) -> Head {
        self.chain().head.clone()
    }

    /// Removes the entries `retention` lets go, oldest first, a chunk per
    /// batch; each batch also moves the checkpoint and logs the pruning.
    /// Returns how many entries went.
    pub fn prune_audit(&self, retention: &Retention, now_ms: i64) -> Result<u64, StoreError> {
        const CHUNK: usize = 4096;
        let mut total = 0;
        loop {
            // The oldest entry kept decides: if it may stay, all may.
            let head = self.audit_head();
            if head
                .oldest_ms
                .is_none_or(|t| !retention.expires(t, now_ms, head.bytes))
            {
                return Ok(total);
            }
            // Lead, so no other batch lands while the chunk is chosen.
            let Some(_lead) = self.lead_unless_written(u64::MAX)? else {
                return Ok(total);
            };
            let through = self.write_queue(None)?;
            self.writer().written_through = through;
            let first_seq = self.chain().head.first_seq;
            let chunk = self.scan(Cf::Audit, b"", &audit::key(first_seq), CHUNK)?;
            let (mut kept, next_seq) = {
                let c = self.chain();
                (c.head.bytes, c.head.next_seq)
            };
            let mut gone: Vec<(u64, &[u8])> = Vec::new();
            let mut next_oldest = None;
            for (k, v) in &chunk {
                let (Some(seq), Ok(e)) = (audit::seq_of(k), audit::Entry::decode(v)) else {
                    return Err(StoreError::Corrupt(
                        "an audit entry cannot be read; run `lkm audit verify`".into(),
                    ));
                };
                // The newest entry stays: the head links to it.
                if seq + 1 >= next_seq || !retention.expires(e.time_ms, now_ms, kept) {
                    next_oldest = Some(e.time_ms);
                    break;
                }
                kept = kept.saturating_sub(v.len() as u64);
                gone.push((seq, v));
            }
            let Some(&(through, last)) = gone.last() else {
                return Ok(total);
            };
            if next_oldest.is_none() {
                // The whole chunk goes: the oldest kept is the next one.
                next_oldest = self
                    .scan(Cf::Audit, b"", &audit::key(through + 1), 1)?
                    .first()
                    .and_then(|(_, v)| audit::Entry::decode(v).ok())
                    .map(|e| e.time_ms);
            }
            let removed: u64 = gone.iter().map(|(_, v)| v.len() as u64).sum();
            let previous: Option<Checkpoint> = audit::read_meta(self, audit::META_CHECKPOINT)?;
            let checkpoint = Checkpoint {
                through_seq: through,
                hash: audit::hash(last),
                pruned: previous.map_or(0, |c| c.pruned) + gone.len() as u64,
                at_ms: now_ms,
            };
            let mut c = Command::default();
            for (s, _) in &gone {
                c.delete(Cf::Audit, audit::key(*s).to_vec());
            }
            c.put(Cf::Meta, audit::META_CHECKPOINT, checkpoint.encode());
            let draft = Draft::new("lkm", "AuditPrune").detail(format!(
                "removed entries {} to {through} ({} bytes) under the retention policy",
                gone[0].0, removed
            ));
            {
                let mut chain = self.chain();
                chain.head.first_seq = through + 1;
                chain.head.bytes = chain.head.bytes.saturating_sub(removed);
                chain.head.oldest_ms = next_oldest.or(Some(now_ms));
                let (seq, bytes, next) = chain.head.append(&draft, now_ms);
                chain.head = next;
                chain.push(Queued {
                    seq,
                    bytes,
                    command: None,
                    durable: true,
                });
            }
            let through_now = self.write_queue(Some(&c))?;
            self.writer().written_through = through_now;
            total += gone.len() as u64;
            if chunk.len() < CHUNK && gone.len() < chunk.len() {
                return Ok(total);
            }
        }
    }
}

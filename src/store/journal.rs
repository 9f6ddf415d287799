//! Writing audited changes: each entry takes its place in the chain in
//! memory at once, and one writer at a time moves everything queued, in
//! sequence order, into one WAL batch. A batch holding a durable change is
//! written with sync, so nothing durable is visible to readers before it
//! is on disk, and a crash keeps a prefix of the chain. Concurrent writers
//! share that sync: one leads, the others wait until their entry is in.

use super::{Cf, Command, Durability, Store, StoreError};
use crate::audit::{self, Checkpoint, Draft, Gap, Head, MacKey, Pruned, Retention, Since, Span};
use rocksdb::{Direction, IteratorMode, WriteBatch, WriteOptions};
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

/// The chain in memory: its head (counting entries not yet written) and
/// the entries placed but not yet written, oldest first.
#[derive(Default)]
pub(super) struct Chain {
    pub(super) head: Head,
    queue: Vec<Queued>,
    /// Bytes of the entries in `queue`.
    queued_bytes: usize,
    /// The audit MAC key, while the key store is unsealed.
    key: Option<Arc<MacKey>>,
    /// What the next entry placed with the key must account for.
    gap: Option<Gap>,
    /// The first entry this process placed without the key since it last
    /// placed one with it (or since it opened the store).
    sealed_from: Option<u64>,
    /// Whether this process has placed an entry with the key.
    maced: bool,
    /// The [`Since`] record, when the next entry placed with the key is
    /// the first one ever: written in the same batch.
    since: Option<Vec<u8>>,
}

impl Chain {
    /// Places a draft at the end of the chain, with a MAC while the key is
    /// here; returns its sequence number, its bytes, and the `Since`
    /// record its batch must also write, if any.
    fn place(&mut self, draft: &Draft, now_ms: i64) -> (u64, Vec<u8>, Option<Vec<u8>>) {
        let key = self.key.clone();
        let (seq, bytes, next) = match &key {
            Some(k) => self
                .head
                .append(draft, now_ms, Some((k.as_ref(), self.gap.take()))),
            None => self.head.append(draft, now_ms, None),
        };
        self.head = next;
        if key.is_some() {
            self.maced = true;
            self.sealed_from = None;
            (seq, bytes, self.since.take())
        } else {
            self.sealed_from.get_or_insert(seq);
            (seq, bytes, None)
        }
    }

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
            let (seq, bytes, since) = chain.place(draft, audit::now_ms());
            let mut command = (!command.mutations.is_empty()).then(|| command.clone());
            if let Some(since) = since {
                command
                    .get_or_insert_default()
                    .put(Cf::Meta, audit::META_SINCE, since);
            }
            let lengths = chain.push(Queued {
                seq,
                bytes,
                command,
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

    /// The audit MAC key, while the store is unsealed.
    pub(crate) fn audit_key(&self) -> Option<Arc<MacKey>> {
        self.chain().key.clone()
    }

    /// Gives the store the audit MAC key, derived from the root key: from
    /// now on every entry carries a MAC. The first one also says which of
    /// the MAC-less entries before it this process wrote while sealed and
    /// which it found in the store (see [`Gap`]). The key store calls this
    /// when it unseals; a failure here is logged and leaves entries
    /// without MACs (which verify then reports), it never stops the unseal.
    pub fn unlock_audit(&self, root: &[u8], cluster_id: &str) {
        let key = match MacKey::derive(root, cluster_id) {
            Ok(k) => Arc::new(k),
            Err(e) => {
                tracing::error!(error = %e, "audit entries will carry no MAC");
                return;
            }
        };
        let mut chain = self.chain();
        if chain.key.is_none() {
            let (gap, since) = self.gap_for(&chain, &key);
            chain.gap = gap;
            chain.since = since;
        }
        chain.key = Some(key);
    }

    /// Drops the audit MAC key: the key store calls this when it seals.
    pub fn lock_audit(&self) {
        let mut chain = self.chain();
        chain.key = None;
        chain.gap = None;
        chain.since = None;
    }

    /// What the first entry placed with `key` must account for, and the
    /// `Since` record to write with it when it is the first MAC ever.
    fn gap_for(&self, chain: &Chain, key: &MacKey) -> (Option<Gap>, Option<Vec<u8>>) {
        let next = chain.head.next_seq;
        let own = chain
            .sealed_from
            .and_then(|f| Span::new(f, next.saturating_sub(1)));
        if chain.maced {
            // Everything since this process's last MAC is its own.
            return (
                own.map(|s| Gap {
                    inherited: None,
                    sealed: Some(s),
                }),
                None,
            );
        }
        let own_from = chain.sealed_from.unwrap_or(next);
        let last = self.last_maced_before(own_from, key).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot find the last audit entry with a MAC");
            None
        });
        let inherited = Span::new(
            last.map_or(chain.head.first_seq, |s| s + 1)
                .max(chain.head.first_seq),
            own_from.saturating_sub(1),
        );
        let gap = (inherited.is_some() || own.is_some()).then_some(Gap {
            inherited,
            sealed: own,
        });
        let since = match (last, audit::read_meta::<Since>(self, audit::META_SINCE)) {
            (Some(_), _) => None,
            (None, Ok(None)) => serde_json::to_vec(&Since {
                seq: next,
                mac: key.since(next),
            })
            .ok(),
            (None, Ok(Some(s))) => {
                tracing::error!(
                    since = s.seq,
                    "no audit entry carries a MAC, yet MACs began at entry {}: the audit log was rewritten",
                    s.seq
                );
                None
            }
            (None, Err(e)) => {
                tracing::error!(error = %e, "the record of where audit MACs began cannot be read");
                None
            }
        };
        (gap, since)
    }

    /// The last stored entry before `seq` that carries a MAC (newest
    /// first, so only the MAC-less tail is read). A MAC that does not
    /// check is logged: verify reports it too.
    fn last_maced_before(&self, seq: u64, key: &MacKey) -> Result<Option<u64>, StoreError> {
        if seq <= 1 {
            return Ok(None);
        }
        let from = audit::key(seq - 1);
        for kv in self.db.iterator_cf(
            self.cf(Cf::Audit)?,
            IteratorMode::From(&from[..], Direction::Reverse),
        ) {
            let (k, v) = kv?;
            let (Some(s), Ok(e)) = (audit::seq_of(&k), audit::Entry::decode(&v)) else {
                continue;
            };
            if let Some(mac) = &e.mac {
                if !key.entry_ok(&e.unmaced(), mac) {
                    tracing::error!(
                        seq = s,
                        "audit entry {s} carries a MAC that does not check: it was altered"
                    );
                }
                return Ok(Some(s));
            }
        }
        Ok(None)
    }

    /// Removes the entries `retention` lets go, oldest first, a chunk per
    /// batch; each batch also moves the checkpoint and logs the pruning.
    /// Runs only while the audit key is here (the store is unsealed): the
    /// checkpoint carries a MAC, so no one without the key can cut the
    /// start of the log and move the checkpoint over the cut. Entries that
    /// go for lack of room while younger than `max_age_days` are counted
    /// (`lkm_audit_pruned_by_size_total`) and logged as an error: history
    /// is then shorter than the operator asked for.
    pub fn prune_audit(&self, retention: &Retention, now_ms: i64) -> Result<Pruned, StoreError> {
        let mut pruned = Pruned::default();
        let result = self.prune_rounds(retention, now_ms, &mut pruned);
        if pruned.by_size > 0 {
            self.audit_pruned_by_size.inc_by(pruned.by_size);
            let newest_age_s = pruned
                .newest_by_size_ms
                .map_or(0, |t| now_ms.saturating_sub(t) / 1000);
            tracing::error!(
                removed = pruned.removed,
                removed_by_size = pruned.by_size,
                newest_removed_age_s = newest_age_s,
                max_bytes = retention.max_bytes,
                max_age_days = retention.max_age_days,
                "the audit log reached audit.max_bytes: {} entries younger than audit.max_age_days were removed (the newest {} s old); kept history is shorter than the retention period",
                pruned.by_size,
                newest_age_s
            );
        }
        result.map(|()| pruned)
    }

    fn prune_rounds(
        &self,
        retention: &Retention,
        now_ms: i64,
        pruned: &mut Pruned,
    ) -> Result<(), StoreError> {
        const CHUNK: usize = 4096;
        loop {
            // The oldest entry kept decides: if it may stay, all may.
            let head = self.audit_head();
            if head
                .oldest_ms
                .is_none_or(|t| !retention.expires(t, now_ms, head.bytes))
                || self.audit_key().is_none()
            {
                return Ok(());
            }
            // Lead, so no other batch lands while the chunk is chosen.
            let Some(_lead) = self.lead_unless_written(u64::MAX)? else {
                return Ok(());
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
            let mut by_size = 0;
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
                if !retention.too_old(e.time_ms, now_ms) {
                    by_size += 1;
                    pruned.newest_by_size_ms = pruned.newest_by_size_ms.max(Some(e.time_ms));
                }
                gone.push((seq, v));
            }
            let Some(&(through, last)) = gone.last() else {
                return Ok(());
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
            let mut checkpoint = Checkpoint {
                through_seq: through,
                hash: audit::hash(last),
                pruned: previous.map_or(0, |c| c.pruned) + gone.len() as u64,
                at_ms: now_ms,
                mac: None,
            };
            let mut c = Command::default();
            for (s, _) in &gone {
                c.delete(Cf::Audit, audit::key(*s).to_vec());
            }
            let mut detail = format!(
                "removed entries {} to {through} ({} bytes) under the retention policy",
                gone[0].0, removed
            );
            if by_size > 0 {
                detail.push_str(&format!(
                    "; {by_size} of them younger than {} days, removed because the log was over {} bytes",
                    retention.max_age_days, retention.max_bytes
                ));
            }
            let draft = Draft::new("lkm", "AuditPrune").detail(detail);
            {
                let mut chain = self.chain();
                // Sealed since the check above: nothing is removed.
                let Some(key) = chain.key.clone() else {
                    return Ok(());
                };
                checkpoint.mac = Some(key.checkpoint(&checkpoint));
                c.put(Cf::Meta, audit::META_CHECKPOINT, checkpoint.encode());
                chain.head.first_seq = through + 1;
                chain.head.bytes = chain.head.bytes.saturating_sub(removed);
                chain.head.oldest_ms = next_oldest.or(Some(now_ms));
                let (seq, bytes, since) = chain.place(&draft, now_ms);
                if let Some(since) = since {
                    c.put(Cf::Meta, audit::META_SINCE, since);
                }
                chain.push(Queued {
                    seq,
                    bytes,
                    command: None,
                    durable: true,
                });
            }
            let through_now = self.write_queue(Some(&c))?;
            self.writer().written_through = through_now;
            pruned.removed += gone.len() as u64;
            pruned.by_size += by_size;
            if chunk.len() < CHUNK && gone.len() < chunk.len() {
                return Ok(());
            }
        }
    }
}

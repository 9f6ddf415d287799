//! RocksDB underneath: column families, and one `apply` path that writes a
//! [`Command`] as a single atomic, WAL-synced batch. Everything a command
//! writes is decided before it reaches here (uids, times, wrapped key
//! material, index hashes), so the same command can later be replicated
//! and applied on other nodes, sealed or not. Concurrent `apply` calls
//! share fsyncs: RocksDB groups the writers waiting on one WAL sync.

use crate::audit::{self, Checkpoint, Draft, Head, Retention};
use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use thiserror::Error;

/// Object records: uid -> sealed record.
pub const CF_OBJECTS: &str = "objects";
/// Index entries: kind || keyed hash (or ordered value) || uid -> empty.
pub const CF_INDEX: &str = "index";
/// Store metadata: format, cluster and split, sealed keyring, re-wrap cursor.
pub const CF_META: &str = "meta";
/// The audit log: sequence number -> entry (see `crate::audit`).
pub const CF_AUDIT: &str = "audit";
const CFS: [&str; 4] = [CF_OBJECTS, CF_INDEX, CF_META, CF_AUDIT];

/// The on-disk layout version, written at creation and checked at open.
pub const FORMAT_VERSION: u32 = 1;
const META_FORMAT: &[u8] = b"format";

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("store at {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("store: {0}")]
    Db(#[from] rocksdb::Error),
    #[error("store at {path} has format {found}; this build reads format {FORMAT_VERSION}")]
    Format { path: PathBuf, found: u32 },
    #[error("store: {0}")]
    Corrupt(String),
    #[error("store write: {0}")]
    Write(String),
}

/// One change; a [`Command`] applies a list of them atomically.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mutation {
    Put {
        cf: Cf,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        cf: Cf,
        key: Vec<u8>,
    },
    /// Adds to a counter (an i64 kept little-endian) without reading it,
    /// so concurrent writers need no lock; only in `meta`.
    Add {
        cf: Cf,
        key: Vec<u8>,
        delta: i64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cf {
    Objects,
    Index,
    Meta,
    Audit,
}

impl Cf {
    fn name(self) -> &'static str {
        match self {
            Cf::Objects => CF_OBJECTS,
            Cf::Index => CF_INDEX,
            Cf::Meta => CF_META,
            Cf::Audit => CF_AUDIT,
        }
    }
}

/// A deterministic, self-contained write: what Raft will replicate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub mutations: Vec<Mutation>,
}

impl Command {
    pub fn put(&mut self, cf: Cf, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.mutations.push(Mutation::Put {
            cf,
            key: key.into(),
            value: value.into(),
        });
    }
    pub fn add(&mut self, cf: Cf, key: impl Into<Vec<u8>>, delta: i64) {
        self.mutations.push(Mutation::Add {
            cf,
            key: key.into(),
            delta,
        });
    }
    pub fn delete(&mut self, cf: Cf, key: impl Into<Vec<u8>>) {
        self.mutations.push(Mutation::Delete {
            cf,
            key: key.into(),
        });
    }
}

fn cf_options(name: &str) -> Options {
    let mut o = Options::default();
    if name == CF_META {
        o.set_merge_operator_associative("lkm-add-i64", add_i64);
    }
    o
}

/// Sums little-endian i64 counters; a value that is not one counts as 0.
fn add_i64(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &rocksdb::MergeOperands,
) -> Option<Vec<u8>> {
    let read = |v: &[u8]| v.try_into().map(i64::from_le_bytes).unwrap_or(0);
    let total = operands
        .iter()
        .fold(existing.map_or(0, read), |sum, v| sum.wrapping_add(read(v)));
    Some(total.to_le_bytes().to_vec())
}

/// The value of a counter written with [`Mutation::Add`].
pub fn counter_value(v: &[u8]) -> i64 {
    v.try_into().map(i64::from_le_bytes).unwrap_or(0)
}

/// A key and its value, as RocksDB hands them out.
pub type Entry = (Box<[u8]>, Box<[u8]>);

pub struct Store {
    db: DB,
    path: PathBuf,
    /// The audit chain's head. Held while an audited batch is written
    /// (without waiting for the disk), so entries reach the WAL in
    /// sequence order and a crash keeps a prefix of the chain.
    audit: Mutex<Chain>,
    /// Woken when read entries start waiting in memory (see `Durability`).
    pub audit_pending: tokio::sync::Notify,
    /// Durable audited commits waiting for the disk, written in groups.
    group: Mutex<Group>,
    group_done: Condvar,
    /// Time to write a batch and, for durable ones, until it is on disk.
    pub write_seconds: prometheus::Histogram,
}

/// The audit chain in memory: its head (counting entries not yet in the
/// WAL) and the read entries placed in it but not yet written.
#[derive(Default)]
struct Chain {
    head: Head,
    buffered: Vec<(u64, Vec<u8>)>,
}

/// Read entries waiting in memory are written once this many have
/// gathered, if the flusher has not written them first.
const MAX_BUFFERED: usize = 256;

/// Group commit: the first writer to find no group in flight leads, takes
/// every commit queued so far, writes them as one batch and waits for one
/// fsync, then hands each its result; the others sleep until theirs is in.
#[derive(Default)]
struct Group {
    queue: Vec<Pending>,
    leading: bool,
    next_id: u64,
    results: HashMap<u64, Result<u64, String>>,
}

struct Pending {
    id: u64,
    command: Command,
    draft: Draft,
}

/// Whether a commit waits for the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// For the entries of reads (an empty command): placed in the chain at
    /// once, written to the WAL with the next write, or by the server's
    /// flusher within a millisecond, so a Get costs no write of its own. A
    /// process that dies in that window loses those read entries, never a
    /// change's, and the chain stays whole.
    Buffered,
    /// Returns once the WAL is on disk: acknowledged means durable.
    Synced,
    /// Returns once the WAL has the batch (in the page cache): it survives
    /// the process dying, and any later synced write makes it durable.
    Written,
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Err(e) = self.flush_audit() {
            tracing::error!(error = %e, "audit entries of reads could not be written at close");
        }
    }
}

impl Store {
    /// Opens (creating if needed) the store under `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(path).map_err(|e| StoreError::Open {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_keep_log_file_num(10);
        opts.set_max_total_wal_size(64 << 20);
        // Records are ciphertext and index keys are hashes: compression
        // cannot shrink them.
        opts.set_compression_type(rocksdb::DBCompressionType::None);
        let cfs = CFS.map(|n| ColumnFamilyDescriptor::new(n, cf_options(n)));
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(|e| StoreError::Open {
            path: path.to_owned(),
            message: e.into_string(),
        })?;
        let store = Store::over(db, path)?;
        match store.get(Cf::Meta, META_FORMAT)? {
            None => {
                let mut c = Command::default();
                c.put(Cf::Meta, META_FORMAT, FORMAT_VERSION.to_be_bytes().to_vec());
                store.apply(&c)?;
            }
            Some(v) => {
                let found = v
                    .as_slice()
                    .try_into()
                    .map(u32::from_be_bytes)
                    .unwrap_or(u32::MAX);
                if found != FORMAT_VERSION {
                    return Err(StoreError::Format {
                        path: path.to_owned(),
                        found,
                    });
                }
            }
        }
        Ok(store)
    }

    /// Opens an existing store for reading only, beside a server that may
    /// have it open: audit export and verify read a consistent snapshot.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let cfs = CFS.map(|n| ColumnFamilyDescriptor::new(n, cf_options(n)));
        let db = DB::open_cf_descriptors_read_only(&Options::default(), path, cfs, false).map_err(
            |e| StoreError::Open {
                path: path.to_owned(),
                message: e.into_string(),
            },
        )?;
        let store = Store::over(db, path)?;
        match store.get(Cf::Meta, META_FORMAT)? {
            Some(v) if v.as_slice() == FORMAT_VERSION.to_be_bytes() => Ok(store),
            _ => Err(StoreError::Open {
                path: path.to_owned(),
                message: "not an lkm store of this format".into(),
            }),
        }
    }

    fn over(db: DB, path: &Path) -> Result<Store, StoreError> {
        let write_seconds = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "lkm_store_write_duration_seconds",
                "Time to write a batch to the store, until it is on disk for durable writes",
            )
            .buckets(vec![
                0.000_01, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
                0.05, 0.1, 0.5, 1.0,
            ]),
        )
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let store = Store {
            db,
            path: path.to_owned(),
            audit: Mutex::new(Chain::default()),
            audit_pending: tokio::sync::Notify::new(),
            group: Mutex::new(Group::default()),
            group_done: Condvar::new(),
            write_seconds,
        };
        if let Some(head) = audit::read_meta::<Head>(&store, audit::META_HEAD)? {
            store.chain().head = head;
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn cf(&self, cf: Cf) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(cf.name())
            .ok_or_else(|| StoreError::Open {
                path: self.path.clone(),
                message: format!("column family {} is missing", cf.name()),
            })
    }

    pub fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(cf)?, key)?)
    }

    /// Writes the command as one atomic batch and returns once the WAL is
    /// on disk: acknowledged means durable.
    pub fn apply(&self, command: &Command) -> Result<(), StoreError> {
        self.write(command, true)
    }

    /// Writes the command and the audit entry of `draft` in one atomic
    /// batch; returns the entry's sequence number.
    pub fn commit(
        &self,
        command: &Command,
        draft: &Draft,
        durability: Durability,
    ) -> Result<u64, StoreError> {
        let started = std::time::Instant::now();
        let seq = match durability {
            Durability::Buffered if command.mutations.is_empty() => {
                let mut chain = self.chain();
                let (seq, bytes, next) = chain.head.append(draft, audit::now_ms());
                chain.head = next;
                chain.buffered.push((seq, bytes));
                if chain.buffered.len() == 1 {
                    self.audit_pending.notify_one();
                } else if chain.buffered.len() >= MAX_BUFFERED {
                    self.flush_locked(&mut chain)?;
                }
                seq
            }
            Durability::Buffered | Durability::Written => {
                let pending = [Pending {
                    id: 0,
                    command: Command::default(),
                    draft: draft.clone(),
                }];
                self.write_group(&pending, Some(command))?[0]
            }
            Durability::Synced => self.commit_in_group(command, draft)?,
        };
        self.write_seconds.observe(started.elapsed().as_secs_f64());
        Ok(seq)
    }

    fn commit_in_group(&self, command: &Command, draft: &Draft) -> Result<u64, StoreError> {
        let lock = || self.group.lock().unwrap_or_else(|p| p.into_inner());
        let mut g = lock();
        let id = g.next_id;
        g.next_id += 1;
        g.queue.push(Pending {
            id,
            command: command.clone(),
            draft: draft.clone(),
        });
        loop {
            if let Some(result) = g.results.remove(&id) {
                return result.map_err(StoreError::Write);
            }
            if g.leading {
                g = self.group_done.wait(g).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            g.leading = true;
            let batch = std::mem::take(&mut g.queue);
            drop(g);
            let outcome = self
                .write_group(&batch, None)
                .and_then(|seqs| {
                    self.db.flush_wal(true)?;
                    Ok(seqs)
                })
                .map_err(|e| e.to_string());
            g = lock();
            for (i, p) in batch.iter().enumerate() {
                let r = outcome.as_ref().map(|seqs| seqs[i]).map_err(Clone::clone);
                g.results.insert(p.id, r);
            }
            g.leading = false;
            self.group_done.notify_all();
        }
    }

    /// Writes commands and their chained audit entries as one batch into
    /// the WAL, in sequence order under the chain's lock, without waiting
    /// for the disk; returns each entry's sequence number.
    fn write_group(
        &self,
        pending: &[Pending],
        extra: Option<&Command>,
    ) -> Result<Vec<u64>, StoreError> {
        let mut batch = WriteBatch::default();
        for c in pending.iter().map(|p| &p.command).chain(extra) {
            self.add_to(&mut batch, c)?;
        }
        let (audit_cf, meta_cf) = (self.cf(Cf::Audit)?, self.cf(Cf::Meta)?);
        let mut chain = self.chain();
        let now = audit::now_ms();
        // Entries placed earlier go first: the WAL keeps sequence order.
        for (seq, bytes) in &chain.buffered {
            batch.put_cf(audit_cf, audit::key(*seq), bytes);
        }
        let mut next = chain.head.clone();
        let mut seqs = Vec::with_capacity(pending.len());
        for p in pending {
            let (seq, bytes, after) = next.append(&p.draft, now);
            batch.put_cf(audit_cf, audit::key(seq), &bytes);
            next = after;
            seqs.push(seq);
        }
        batch.put_cf(meta_cf, audit::META_HEAD, next.encode());
        let mut wo = WriteOptions::default();
        wo.set_sync(false);
        self.db.write_opt(batch, &wo)?;
        chain.head = next;
        chain.buffered.clear();
        Ok(seqs)
    }

    fn chain(&self) -> std::sync::MutexGuard<'_, Chain> {
        self.audit.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the read entries waiting in memory (without waiting for the
    /// disk); the server's flusher calls it, and shutdown does.
    pub fn flush_audit(&self) -> Result<(), StoreError> {
        let mut chain = self.chain();
        self.flush_locked(&mut chain)
    }

    fn flush_locked(&self, chain: &mut Chain) -> Result<(), StoreError> {
        if chain.buffered.is_empty() {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        let audit_cf = self.cf(Cf::Audit)?;
        for (seq, bytes) in &chain.buffered {
            batch.put_cf(audit_cf, audit::key(*seq), bytes);
        }
        batch.put_cf(self.cf(Cf::Meta)?, audit::META_HEAD, chain.head.encode());
        let mut wo = WriteOptions::default();
        wo.set_sync(false);
        self.db.write_opt(batch, &wo)?;
        chain.buffered.clear();
        Ok(())
    }

    /// The audit chain's head as it stands.
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
            let mut chain = self.chain();
            // The oldest entry kept decides: if it may stay, all may.
            let head = chain.head.clone();
            if head
                .oldest_ms
                .is_none_or(|t| !retention.expires(t, now_ms, head.bytes))
            {
                return Ok(total);
            }
            self.flush_locked(&mut chain)?;
            let chunk = self.scan(Cf::Audit, b"", &audit::key(head.first_seq), CHUNK)?;
            let mut kept = head.bytes;
            let mut gone: Vec<(u64, &[u8])> = Vec::new();
            let mut next_oldest = None;
            for (k, v) in &chunk {
                let (Some(seq), Ok(e)) = (audit::seq_of(k), audit::Entry::decode(v)) else {
                    return Err(StoreError::Corrupt(
                        "an audit entry cannot be read; run `lkm audit verify`".into(),
                    ));
                };
                // The newest entry stays: the head links to it.
                if seq + 1 >= head.next_seq || !retention.expires(e.time_ms, now_ms, kept) {
                    next_oldest = Some(e.time_ms);
                    break;
                }
                kept = kept.saturating_sub(v.len() as u64);
                gone.push((seq, v));
            }
            let Some(&(through, last)) = gone.last() else {
                return Ok(total);
            };
            let previous: Option<Checkpoint> = audit::read_meta(self, audit::META_CHECKPOINT)?;
            let checkpoint = Checkpoint {
                through_seq: through,
                hash: audit::hash(last),
                pruned: previous.map_or(0, |c| c.pruned) + gone.len() as u64,
                at_ms: now_ms,
            };
            let pruned_head = Head {
                first_seq: through + 1,
                bytes: kept,
                oldest_ms: next_oldest,
                ..head.clone()
            };
            let draft = Draft::new("lkm", "AuditPrune").detail(format!(
                "removed entries {} to {through} ({} bytes) under the retention policy",
                gone[0].0,
                head.bytes - kept
            ));
            let (seq, bytes, next) = pruned_head.append(&draft, now_ms);
            let mut batch = WriteBatch::default();
            let audit_cf = self.cf(Cf::Audit)?;
            for (s, _) in &gone {
                batch.delete_cf(audit_cf, audit::key(*s));
            }
            batch.put_cf(audit_cf, audit::key(seq), &bytes);
            let meta_cf = self.cf(Cf::Meta)?;
            batch.put_cf(meta_cf, audit::META_CHECKPOINT, checkpoint.encode());
            batch.put_cf(meta_cf, audit::META_HEAD, next.encode());
            // As in commit: into the WAL under the lock, to disk after it.
            let mut wo = WriteOptions::default();
            wo.set_sync(false);
            self.db.write_opt(batch, &wo)?;
            chain.head = next;
            total += gone.len() as u64;
            drop(chain);
            self.db.flush_wal(true)?;
            if chunk.len() < CHUNK && gone.len() < chunk.len() {
                return Ok(total);
            }
        }
    }

    /// Bytes the store takes on disk (SST files and live WAL).
    pub fn size_bytes(&self) -> u64 {
        let mut total = 0;
        for name in CFS {
            if let Some(cf) = self.db.cf_handle(name) {
                total += self
                    .db
                    .property_int_value_cf(cf, "rocksdb.total-sst-files-size")
                    .ok()
                    .flatten()
                    .unwrap_or(0);
            }
        }
        total
            + self
                .db
                .property_int_value("rocksdb.cur-size-all-mem-tables")
                .ok()
                .flatten()
                .unwrap_or(0)
    }

    /// The same batch without waiting for the disk: only for bulk loads
    /// that are followed by [`Store::sync`].
    pub fn apply_unsynced(&self, command: &Command) -> Result<(), StoreError> {
        self.write(command, false)
    }

    fn batch(&self, command: &Command) -> Result<WriteBatch, StoreError> {
        let mut batch = WriteBatch::default();
        self.add_to(&mut batch, command)?;
        Ok(batch)
    }

    fn add_to(&self, batch: &mut WriteBatch, command: &Command) -> Result<(), StoreError> {
        for m in &command.mutations {
            match m {
                Mutation::Put { cf, key, value } => batch.put_cf(self.cf(*cf)?, key, value),
                Mutation::Delete { cf, key } => batch.delete_cf(self.cf(*cf)?, key),
                Mutation::Add { cf, key, delta } => {
                    batch.merge_cf(self.cf(*cf)?, key, delta.to_le_bytes())
                }
            }
        }
        Ok(())
    }

    fn write(&self, command: &Command, sync: bool) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let batch = self.batch(command)?;
        let mut wo = WriteOptions::default();
        wo.set_sync(sync);
        self.db.write_opt(batch, &wo)?;
        self.write_seconds.observe(started.elapsed().as_secs_f64());
        Ok(())
    }

    pub fn sync(&self) -> Result<(), StoreError> {
        Ok(self.db.flush_wal(true)?)
    }

    /// Keys (and values) from `start` on, in order, while they begin with
    /// `prefix`; at most `limit`.
    pub fn scan(
        &self,
        cf: Cf,
        prefix: &[u8],
        start: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let from = if start > prefix { start } else { prefix };
        let mut out = Vec::new();
        for kv in self
            .db
            .iterator_cf(self.cf(cf)?, IteratorMode::From(from, Direction::Forward))
        {
            let (k, v) = kv?;
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((k, v));
        }
        Ok(out)
    }
}

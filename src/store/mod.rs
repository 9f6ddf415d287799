//! RocksDB underneath: column families, and one `apply` path that writes a
//! [`Command`] as a single atomic, WAL-synced batch. Everything a command
//! writes is decided before it reaches here (uids, times, wrapped key
//! material, index hashes), so the same command can later be replicated
//! and applied on other nodes, sealed or not. Concurrent `apply` calls
//! share fsyncs: RocksDB groups the writers waiting on one WAL sync.

use crate::audit::{self, Head};
use rocksdb::{ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use thiserror::Error;

mod applier;
mod apply;
mod erase;
mod snapshot;

pub use applier::{Applier, Fence, ReadState, SubmitError};
pub use apply::record_version;

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
    // Bytes, not sequences of u8: the same encoding in the log, decoded
    // in one copy instead of one call per byte (every write is decoded on
    // every node).
    Put {
        cf: Cf,
        #[serde(with = "serde_bytes")]
        key: Vec<u8>,
        #[serde(with = "serde_bytes")]
        value: Vec<u8>,
    },
    Delete {
        cf: Cf,
        #[serde(with = "serde_bytes")]
        key: Vec<u8>,
    },
    /// Adds to a counter (an i64 kept little-endian) without reading it,
    /// so concurrent writers need no lock; only in `meta`.
    Add {
        cf: Cf,
        #[serde(with = "serde_bytes")]
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

/// A deterministic, self-contained write: what Raft replicates. Applying
/// it needs no key, clock or randomness: everything was decided before it
/// was proposed, so every node writes the same bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub mutations: Vec<Mutation>,
    /// Preconditions: each object's record must be at this version (0:
    /// absent) when the command is applied, or nothing is written. How a
    /// retried Revoke, or a batch Undo, never overwrites a change made in
    /// between, wherever it was made.
    pub expect: Vec<Expect>,
    /// Audit entries to append to the chain, in order, with the changes.
    pub audit: Vec<audit::Stamped>,
    /// Removes the oldest audit entries, through `through_seq`, if the
    /// entry there still has the hash the proposer saw (else the command
    /// conflicts and writes nothing). The checkpoint that records the cut
    /// comes as a mutation, with its MAC made by the proposer.
    pub prune: Option<audit::PruneTo>,
}

/// A precondition of a [`Command`]: `uid`'s record is at `version`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expect {
    pub uid: String,
    pub version: u64,
}

/// What applying a [`Command`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The log index it was applied at.
    pub index: u64,
    /// The precondition that did not hold (nothing was written then).
    pub conflict: Option<Conflict>,
    /// Sequence number of its first audit entry (0: none).
    pub first_seq: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub uid: String,
    pub expected: u64,
    pub found: u64,
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
    if name == CF_OBJECTS {
        // Every insert checks that its uid is new, a lookup that usually
        // finds nothing: bloom filters over whole keys, in the memtables
        // and in each table file, answer it without a search.
        o.set_memtable_whole_key_filtering(true);
        o.set_memtable_prefix_bloom_ratio(0.02);
        let mut table = rocksdb::BlockBasedOptions::default();
        table.set_bloom_filter(10.0, false);
        table.set_whole_key_filtering(true);
        o.set_block_based_table_factory(&table);
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
    /// The audit chain's head, as applied. Held while a command is
    /// checked and written, so preconditions and the chain see one order.
    audit: Mutex<Head>,
    /// Bumped whenever an applied command changes the key hierarchy's
    /// records (see `apply::WATCHED_META`), or a snapshot replaced the
    /// contents: the key store reloads what it caches from them.
    meta_generation: std::sync::atomic::AtomicU64,
    /// Time to write a batch and, for durable ones, until it is on disk.
    pub write_seconds: prometheus::Histogram,
    /// Audit entries younger than the retention age that pruning removed
    /// because the log was over its size limit.
    pub audit_pruned_by_size: prometheus::IntCounter,
    /// Objects whose older record versions are to leave the store's files
    /// (see [`Store::erase_old_versions`]).
    erase: Mutex<BTreeSet<Vec<u8>>>,
    /// Woken when an object is queued in `erase`.
    pub erase_pending: tokio::sync::Notify,
    /// The audit MAC key, while the key store is unsealed.
    audit_key: Mutex<Option<std::sync::Arc<audit::MacKey>>>,
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
        let audit_pruned_by_size = prometheus::IntCounter::new(
            "lkm_audit_pruned_by_size_total",
            "Audit entries younger than audit.max_age_days removed because the log was over audit.max_bytes",
        )
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let store = Store {
            db,
            path: path.to_owned(),
            audit: Mutex::new(Head::default()),
            meta_generation: std::sync::atomic::AtomicU64::new(0),
            write_seconds,
            audit_pruned_by_size,
            erase: Mutex::new(BTreeSet::new()),
            erase_pending: tokio::sync::Notify::new(),
            audit_key: Mutex::new(None),
        };
        if let Some(head) = audit::read_meta::<Head>(&store, audit::META_HEAD)? {
            *store.head() = head;
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

    /// The store as it is now, unchanged by later writes while it is held:
    /// for reads that must see several keys at one moment (audit verify).
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            store: self,
            snap: self.db.snapshot(),
        }
    }

    /// The audit MAC key, while the store is unsealed.
    pub(crate) fn audit_key(&self) -> Option<std::sync::Arc<audit::MacKey>> {
        self.audit_key
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Derives the audit MAC key from the root key: the key store calls
    /// this when it unseals. A failure is logged; anchors are then not
    /// written, which verify reports.
    pub fn unlock_audit(&self, root: &[u8], cluster_id: &str) {
        match audit::MacKey::derive(root, cluster_id) {
            Ok(k) => {
                *self.audit_key.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(std::sync::Arc::new(k))
            }
            Err(e) => tracing::error!(error = %e, "the audit log cannot be authenticated"),
        }
    }

    /// Drops the audit MAC key: the key store calls this when it seals.
    pub fn lock_audit(&self) {
        *self.audit_key.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// How many times the hierarchy's records changed (see the field).
    pub fn meta_generation(&self) -> u64 {
        self.meta_generation
            .load(std::sync::atomic::Ordering::Acquire)
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

/// A consistent view of the store at one moment (see [`Store::snapshot`]).
pub struct Snapshot<'a> {
    store: &'a Store,
    snap: rocksdb::Snapshot<'a>,
}

impl Snapshot<'_> {
    pub fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.snap.get_cf(self.store.cf(cf)?, key)?)
    }

    /// Calls `visit` with each key and value of `cf` from `start` on, in
    /// key order, until it returns false.
    pub fn each<E: From<StoreError>>(
        &self,
        cf: Cf,
        start: &[u8],
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<bool, E>,
    ) -> Result<(), E> {
        let handle = self.store.cf(cf)?;
        for kv in self
            .snap
            .iterator_cf(handle, IteratorMode::From(start, Direction::Forward))
        {
            let (k, v) = kv.map_err(StoreError::from)?;
            if !visit(&k, &v)? {
                break;
            }
        }
        Ok(())
    }
}

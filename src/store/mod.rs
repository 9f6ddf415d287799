//! RocksDB underneath: column families, and one `apply` path that writes a
//! [`Command`] as a single atomic, WAL-synced batch. Everything a command
//! writes is decided before it reaches here (uids, times, wrapped key
//! material, index hashes), so the same command can later be replicated
//! and applied on other nodes, sealed or not. Concurrent `apply` calls
//! share fsyncs: RocksDB groups the writers waiting on one WAL sync.

use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Object records: uid -> sealed record.
pub const CF_OBJECTS: &str = "objects";
/// Index entries: kind || keyed hash (or ordered value) || uid -> empty.
pub const CF_INDEX: &str = "index";
/// Store metadata: format, cluster and split, sealed keyring, re-wrap cursor.
pub const CF_META: &str = "meta";
/// The audit log (filled by the observability work).
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
    pub fn delete(&mut self, cf: Cf, key: impl Into<Vec<u8>>) {
        self.mutations.push(Mutation::Delete {
            cf,
            key: key.into(),
        });
    }
}

/// A key and its value, as RocksDB hands them out.
pub type Entry = (Box<[u8]>, Box<[u8]>);

pub struct Store {
    db: DB,
    path: PathBuf,
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
        let cfs = CFS.map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(|e| StoreError::Open {
            path: path.to_owned(),
            message: e.into_string(),
        })?;
        let store = Store {
            db,
            path: path.to_owned(),
        };
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

    /// The same batch without waiting for the disk: only for bulk loads
    /// that are followed by [`Store::sync`].
    pub fn apply_unsynced(&self, command: &Command) -> Result<(), StoreError> {
        self.write(command, false)
    }

    fn write(&self, command: &Command, sync: bool) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        for m in &command.mutations {
            match m {
                Mutation::Put { cf, key, value } => batch.put_cf(self.cf(*cf)?, key, value),
                Mutation::Delete { cf, key } => batch.delete_cf(self.cf(*cf)?, key),
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(sync);
        self.db.write_opt(batch, &wo)?;
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

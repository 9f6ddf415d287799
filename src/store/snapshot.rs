//! Whole-store copies for Raft snapshots: a RocksDB checkpoint (hard
//! links where it can, so cheap), and replacing the contents from one in
//! a single atomic batch, so a crash midway leaves the old state whole.

use super::{CFS, Store, StoreError, cf_options};
use rocksdb::{ColumnFamilyDescriptor, DB, IteratorMode, Options, WriteBatch, WriteOptions};
use std::path::Path;

impl Store {
    /// Makes a consistent copy of the store in `dir` (which must not
    /// exist), everything applied so far on disk first.
    pub fn checkpoint(&self, dir: &Path) -> Result<(), StoreError> {
        self.db.flush_wal(true)?;
        rocksdb::checkpoint::Checkpoint::new(&self.db)?.create_checkpoint(dir)?;
        Ok(())
    }

    /// SHA-256 over every column family's keys and values, in order: two
    /// nodes that applied the same commands have the same digest.
    pub fn digest(&self) -> Result<[u8; 32], StoreError> {
        let mut h = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for name in CFS {
            let cf = self
                .db
                .cf_handle(name)
                .ok_or_else(|| StoreError::Corrupt(format!("column family {name} is missing")))?;
            h.update(name.as_bytes());
            for kv in self.db.iterator_cf(cf, IteratorMode::Start) {
                let (k, v) = kv?;
                h.update(&(k.len() as u64).to_be_bytes());
                h.update(&k);
                h.update(&(v.len() as u64).to_be_bytes());
                h.update(&v);
            }
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(h.finish().as_ref());
        Ok(out)
    }

    /// Replaces every key of the store with those of the copy in `dir`,
    /// in one synced batch: before it is on disk the old contents stand,
    /// after it the copy's. Holds the apply lock throughout. The batch
    /// holds the whole store in memory, which bounds the store size a
    /// snapshot can install by the memory of the node.
    pub fn replace_from(&self, dir: &Path) -> Result<(), StoreError> {
        let cfs = CFS.map(|n| ColumnFamilyDescriptor::new(n, cf_options(n)));
        let copy = DB::open_cf_descriptors_read_only(&Options::default(), dir, cfs, false)?;
        let mut head = self.head();
        let mut batch = WriteBatch::default();
        for name in CFS {
            let (Some(ours), Some(theirs)) = (self.db.cf_handle(name), copy.cf_handle(name)) else {
                return Err(StoreError::Corrupt(format!(
                    "column family {name} is missing from the store or its copy"
                )));
            };
            for kv in self.db.iterator_cf(ours, IteratorMode::Start) {
                let (k, _) = kv?;
                batch.delete_cf(ours, k);
            }
            for kv in copy.iterator_cf(theirs, IteratorMode::Start) {
                let (k, v) = kv?;
                batch.put_cf(ours, k, v);
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch, &wo)?;
        *head = crate::audit::read_meta::<crate::audit::Head>(self, crate::audit::META_HEAD)?
            .unwrap_or_default();
        drop(head);
        self.bump_meta_generation();
        Ok(())
    }
}

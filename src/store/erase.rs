//! Making overwritten values leave the store's files. RocksDB never
//! changes a file in place: a record that is written again (a Destroy
//! that drops the key material) leaves its older versions in the memtable,
//! the write-ahead log and the SST files until a flush and compactions
//! pass over them, which on a quiet store can take months. After a
//! Destroy the object is queued here and a background task flushes and
//! compacts its key range, so the older, key-holding versions go within
//! seconds, without the Destroy waiting for it.

use super::{CFS, Cf, Store, StoreError};
use rocksdb::{BottommostLevelCompaction, CompactOptions, FlushOptions};

/// Above this many queued objects one compaction of the whole column
/// family costs less than one per object.
const MAX_RANGES: usize = 64;

impl Store {
    /// Queues `key` of the objects column family: its older versions are
    /// dropped by the next [`Store::erase_old_versions`].
    pub fn erase_later(&self, key: &[u8]) {
        self.erase
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_vec());
        self.erase_pending.notify_one();
    }

    /// Drops the older versions of the queued objects from the store's
    /// files: flushes every column family (a WAL file is deleted once no
    /// memtable needs it, so the whole WAL holding the old versions goes),
    /// then compacts each object's key range down through the last level,
    /// where only the newest version survives. Returns how many objects.
    /// What this cannot reach: copies in files RocksDB has already deleted
    /// (the filesystem or the SSD may keep their blocks), in checkpoints or
    /// backups taken earlier, and in a snapshot held while it runs.
    pub fn erase_old_versions(&self) -> Result<usize, StoreError> {
        let keys = std::mem::take(&mut *self.erase.lock().unwrap_or_else(|p| p.into_inner()));
        if keys.is_empty() {
            return Ok(0);
        }
        let handles = CFS
            .iter()
            .map(|n| {
                self.db.cf_handle(n).ok_or_else(|| StoreError::Open {
                    path: self.path.clone(),
                    message: format!("column family {n} is missing"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut flush = FlushOptions::default();
        flush.set_wait(true);
        self.db.flush_cfs_opt(&handles, &flush)?;
        let objects = self.cf(Cf::Objects)?;
        let mut opts = CompactOptions::default();
        opts.set_exclusive_manual_compaction(false);
        opts.set_bottommost_level_compaction(BottommostLevelCompaction::ForceOptimized);
        if keys.len() > MAX_RANGES {
            self.db
                .compact_range_cf_opt(objects, None::<&[u8]>, None::<&[u8]>, &opts);
        } else {
            for k in &keys {
                self.db.compact_range_cf_opt(
                    objects,
                    Some(k.as_slice()),
                    Some(k.as_slice()),
                    &opts,
                );
            }
        }
        Ok(keys.len())
    }
}

//! The Raft log and vote, in a RocksDB of their own (DATA/raft), apart
//! from the state machine so a snapshot can replace the one without
//! touching the other. Vote and entries share one write-ahead log, so
//! they reach the disk in the order they were written; a vote returns
//! once synced, and appended entries are reported flushed only after a
//! sync that covers them. One flusher thread syncs for every append
//! waiting (group commit) and reports them in order.

use super::types::{Entry, Lkm, LogId, Vote};
use openraft::OptionalSend;
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;

const CF_LOG: &str = "log";
const CF_STATE: &str = "state";
const KEY_VOTE: &[u8] = b"vote";
const KEY_PURGED: &[u8] = b"last_purged";
const KEY_COMMITTED: &[u8] = b"committed";

fn io_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

fn encode<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, io::Error> {
    postcard::to_stdvec(v).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn decode<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, io::Error> {
    postcard::from_bytes(b).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[derive(Clone)]
pub(crate) struct LogStore {
    db: Arc<DB>,
    /// Appends waiting for a sync, in order.
    flusher: mpsc::Sender<IOFlushed<Lkm>>,
}

impl LogStore {
    pub(crate) fn open(path: &Path) -> Result<LogStore, io::Error> {
        crate::private_files::create_dir(path).map_err(io_err)?;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_keep_log_file_num(4);
        opts.set_max_total_wal_size(64 << 20);
        let cfs = [CF_LOG, CF_STATE].map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
        let db = Arc::new(DB::open_cf_descriptors(&opts, path, cfs).map_err(io_err)?);
        let (tx, rx) = mpsc::channel::<IOFlushed<Lkm>>();
        let syncing = db.clone();
        std::thread::Builder::new()
            .name("lkm-raft-sync".into())
            .spawn(move || {
                // Ends when every LogStore (sender) is dropped.
                while let Ok(first) = rx.recv() {
                    let mut waiting = vec![first];
                    waiting.extend(rx.try_iter());
                    let result = syncing.flush_wal(true).map_err(io_err);
                    for cb in waiting {
                        cb.io_completed(match &result {
                            Ok(()) => Ok(()),
                            Err(e) => Err(io::Error::other(e.to_string())),
                        });
                    }
                }
            })?;
        Ok(LogStore { db, flusher: tx })
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily, io::Error> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| io_err(format!("the raft log has no column family {name}")))
    }

    fn get_state<T: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, io::Error> {
        match self.db.get_cf(self.cf(CF_STATE)?, key).map_err(io_err)? {
            Some(b) => Ok(Some(decode(&b)?)),
            None => Ok(None),
        }
    }

    fn put_state<T: serde::Serialize>(
        &self,
        key: &[u8],
        v: &T,
        sync: bool,
    ) -> Result<(), io::Error> {
        let mut wo = WriteOptions::default();
        wo.set_sync(sync);
        self.db
            .put_cf_opt(self.cf(CF_STATE)?, key, encode(v)?, &wo)
            .map_err(io_err)
    }
}

fn key_of(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

fn index_of(k: &[u8]) -> Result<u64, io::Error> {
    k.try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| io_err("a raft log key is not an index"))
}

impl RaftLogReader<Lkm> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let cf = self.cf(CF_LOG)?;
        let from = key_of(start);
        let mut out = Vec::new();
        for kv in self
            .db
            .iterator_cf(cf, IteratorMode::From(&from, Direction::Forward))
        {
            let (k, v) = kv.map_err(io_err)?;
            let index = index_of(&k)?;
            if !range.contains(&index) {
                break;
            }
            let entry: Entry = decode(&v)?;
            if entry.index() != index {
                return Err(io_err(format!(
                    "raft log entry at {index} says it is {}",
                    entry.index()
                )));
            }
            out.push(entry);
        }
        Ok(out)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        self.get_state(KEY_VOTE)
    }
}

impl RaftLogStorage<Lkm> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<Lkm>, io::Error> {
        let purged: Option<LogId> = self.get_state(KEY_PURGED)?;
        let cf = self.cf(CF_LOG)?;
        let last = match self.db.iterator_cf(cf, IteratorMode::End).next() {
            Some(kv) => {
                let (_, v) = kv.map_err(io_err)?;
                Some(decode::<Entry>(&v)?.log_id())
            }
            None => None,
        };
        Ok(LogState {
            last_log_id: last.or(purged),
            last_purged_log_id: purged,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        self.put_state(KEY_VOTE, vote, true)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        // Not synced: a committed index lost in a crash is learned again.
        self.put_state(KEY_COMMITTED, &committed, false)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(self.get_state::<Option<LogId>>(KEY_COMMITTED)?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<Lkm>) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let cf = self.cf(CF_LOG)?;
        let mut batch = WriteBatch::default();
        for e in entries {
            batch.put_cf(cf, key_of(e.index()), encode(&e)?);
        }
        // Readable as soon as this returns; durable once the flusher syncs.
        self.db.write(batch).map_err(io_err)?;
        self.flusher
            .send(callback)
            .map_err(|_| io_err("the raft log's sync thread has stopped"))
    }

    async fn truncate_after(&mut self, last: Option<LogId>) -> Result<(), io::Error> {
        let from = last.map_or(0, |l| l.index() + 1);
        let cf = self.cf(CF_LOG)?;
        // Not synced on its own: the appends that follow are, and the WAL
        // keeps this delete before them.
        self.db
            .delete_range_cf(cf, key_of(from), key_of(u64::MAX))
            .map_err(io_err)?;
        if let Some(kv) = self
            .db
            .iterator_cf(
                cf,
                IteratorMode::From(&key_of(u64::MAX), Direction::Forward),
            )
            .next()
        {
            let (k, _) = kv.map_err(io_err)?;
            self.db.delete_cf(cf, k).map_err(io_err)?;
        }
        Ok(())
    }

    async fn purge(&mut self, upto: LogId) -> Result<(), io::Error> {
        // The mark first: entries at or below it are ignored from then on.
        self.put_state(KEY_PURGED, &upto, false)?;
        let cf = self.cf(CF_LOG)?;
        self.db
            .delete_range_cf(cf, key_of(0), key_of(upto.index().saturating_add(1)))
            .map_err(io_err)
    }
}

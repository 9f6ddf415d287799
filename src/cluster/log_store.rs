//! The Raft log and vote, in a RocksDB of their own (DATA/raft), apart
//! from the state machine so a snapshot can replace the one without
//! touching the other. Vote and entries share one write-ahead log, so
//! they reach the disk in the order they were written; a vote returns
//! once synced, and appended entries are reported flushed only after a
//! sync that covers them. One flusher thread syncs for every append
//! waiting (group commit) and reports them in order.
//!
//! The newest entries are also kept as appended (their commands shared,
//! see [`Proposal`](super::types::Proposal)), so applying an entry and
//! sending it to followers, which both follow its append closely, read
//! it without a RocksDB read and a decode.

use super::types::{Entry, Lkm, LogId, Vote};
use openraft::OptionalSend;
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};
use std::collections::VecDeque;
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};

const CF_LOG: &str = "log";
const CF_STATE: &str = "state";
const KEY_VOTE: &[u8] = b"vote";
const KEY_PURGED: &[u8] = b"last_purged";
const KEY_COMMITTED: &[u8] = b"committed";
/// Entries the tail keeps at most, and their encoded bytes at most.
const TAIL_ENTRIES: usize = 1024;
const TAIL_BYTES: usize = 32 << 20;

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
    tail: Arc<Mutex<Tail>>,
}

/// The last entries of the log, consecutive, exactly as in RocksDB:
/// appends, truncations and purges change both under this lock, so a
/// reader sees either. Empty is always correct (reads then go to disk).
#[derive(Default)]
struct Tail {
    entries: VecDeque<(Entry, usize)>,
    bytes: usize,
}

impl Tail {
    fn first(&self) -> Option<u64> {
        self.entries.front().map(|(e, _)| e.index())
    }

    fn last(&self) -> Option<u64> {
        self.entries.back().map(|(e, _)| e.index())
    }

    /// Adds the entry after the last one (the caller makes sure it is).
    fn push(&mut self, entry: Entry, bytes: usize) {
        self.entries.push_back((entry, bytes));
        self.bytes += bytes;
        while self.entries.len() > TAIL_ENTRIES || self.bytes > TAIL_BYTES {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        if let Some((_, b)) = self.entries.pop_front() {
            self.bytes -= b;
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// Keeps only entries at or below `last` (none for `None`).
    fn truncate_after(&mut self, last: Option<u64>) {
        while let Some((e, b)) = self.entries.back() {
            if last.is_some_and(|l| e.index() <= l) {
                break;
            }
            self.bytes -= *b;
            self.entries.pop_back();
        }
    }

    /// Drops entries at or below `upto`.
    fn purge(&mut self, upto: u64) {
        while self.first().is_some_and(|f| f <= upto) {
            self.pop_front();
        }
    }

    /// The entries of `range`, when the tail holds where it starts (it
    /// then holds all there are); `None` when it does not.
    fn read<RB: RangeBounds<u64>>(&self, start: u64, range: &RB) -> Option<Vec<Entry>> {
        let first = self.first()?;
        let last = self.last()?;
        if start < first || start > last {
            return None;
        }
        let skip = usize::try_from(start - first).ok()?;
        Some(
            self.entries
                .iter()
                .skip(skip)
                .map(|(e, _)| e)
                .take_while(|e| range.contains(&e.index()))
                .cloned()
                .collect(),
        )
    }
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
        // Weak: the log closes when its last LogStore goes, not when this
        // thread notices.
        let syncing = Arc::downgrade(&db);
        std::thread::Builder::new()
            .name("lkm-raft-sync".into())
            .spawn(move || {
                // Ends when every LogStore (sender) is dropped.
                while let Ok(first) = rx.recv() {
                    let mut waiting = vec![first];
                    waiting.extend(rx.try_iter());
                    let result = match syncing.upgrade() {
                        Some(db) => db.flush_wal(true).map_err(io_err),
                        None => Err(io_err("the raft log is closed")),
                    };
                    for cb in waiting {
                        cb.io_completed(match &result {
                            Ok(()) => Ok(()),
                            Err(e) => Err(io::Error::other(e.to_string())),
                        });
                    }
                }
            })?;
        Ok(LogStore {
            db,
            flusher: tx,
            tail: Arc::default(),
        })
    }

    /// The entries of `range` (from `start`) as RocksDB holds them.
    fn read_disk<RB: RangeBounds<u64>>(
        &self,
        start: u64,
        range: &RB,
    ) -> Result<Vec<Entry>, io::Error> {
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

    /// The index of the last entry in RocksDB.
    fn last_index(&self) -> Result<Option<u64>, io::Error> {
        match self
            .db
            .iterator_cf(self.cf(CF_LOG)?, IteratorMode::End)
            .next()
        {
            Some(kv) => Ok(Some(index_of(&kv.map_err(io_err)?.0)?)),
            None => Ok(None),
        }
    }

    fn tail(&self) -> MutexGuard<'_, Tail> {
        self.tail.lock().unwrap_or_else(|p| p.into_inner())
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
        if let Some(entries) = self.tail().read(start, &range) {
            return Ok(entries);
        }
        self.read_disk(start, &range)
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
        let mut appended = Vec::new();
        for e in entries {
            let bytes = encode(&e)?;
            batch.put_cf(cf, key_of(e.index()), &bytes);
            appended.push((e, bytes.len()));
        }
        // Readable as soon as this returns; durable once the flusher syncs.
        let mut tail = self.tail();
        if let Err(e) = self.db.write(batch) {
            tail.clear();
            return Err(io_err(e));
        }
        let first = appended.first().map(|(e, _)| e.index());
        let last = appended.last().map(|(e, _)| e.index());
        let mut keep = first.is_some();
        if tail.last().and_then(|l| l.checked_add(1)) != first {
            // Openraft appends right after the last entry, truncating
            // first; after a restart, a purge or anything unexpected the
            // tail starts again only where RocksDB says the log ends.
            tail.clear();
            keep &= self.last_index()? == last;
        }
        if keep {
            for (e, bytes) in appended {
                tail.push(e, bytes);
            }
        }
        drop(tail);
        self.flusher
            .send(callback)
            .map_err(|_| io_err("the raft log's sync thread has stopped"))
    }

    async fn truncate_after(&mut self, last: Option<LogId>) -> Result<(), io::Error> {
        let from = last.map_or(0, |l| l.index() + 1);
        let cf = self.cf(CF_LOG)?;
        let mut tail = self.tail();
        // Not synced on its own: the appends that follow are, and the WAL
        // keeps this delete before them.
        let deleted = (|| {
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
        })();
        match &deleted {
            Ok(()) => tail.truncate_after(last.map(|l| l.index())),
            Err(_) => tail.clear(),
        }
        deleted
    }

    async fn purge(&mut self, upto: LogId) -> Result<(), io::Error> {
        // The mark first: entries at or below it are ignored from then on.
        self.put_state(KEY_PURGED, &upto, false)?;
        let cf = self.cf(CF_LOG)?;
        self.tail().purge(upto.index());
        self.db
            .delete_range_cf(cf, key_of(0), key_of(upto.index().saturating_add(1)))
            .map_err(io_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::types::Proposal;
    use crate::store::{Cf, Command};
    use proptest::prelude::*;

    fn entry(term: u64, index: u64) -> Entry {
        let mut c = Command::default();
        c.put(Cf::Objects, format!("uid-{index}"), vec![term as u8; 3]);
        Entry::new_normal(
            openraft::testing::log_id::<Lkm>(term, 1, index),
            Proposal::Write(Arc::new(c)),
        )
    }

    #[derive(Clone, Debug)]
    enum Step {
        Append(u64),
        Truncate(u64),
        Purge(u64),
        Reopen,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (1u64..40).prop_map(Step::Append),
            2 => (0u64..60).prop_map(Step::Truncate),
            1 => (0u64..60).prop_map(Step::Purge),
            1 => Just(Step::Reopen),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever openraft does to the log (appends, truncations after
        /// a conflict, purges, a restart), reading through the tail gives
        /// exactly what RocksDB holds, for every range.
        #[test]
        fn the_tail_reads_as_the_disk(steps in proptest::collection::vec(step(), 1..30)) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("raft");
            let mut log = LogStore::open(&path).unwrap();
            let (mut last, mut purged, mut term) = (0u64, 0u64, 1u64);
            for s in steps {
                match s {
                    Step::Append(n) => {
                        let es: Vec<Entry> = (last + 1..=last + n).map(|i| entry(term, i)).collect();
                        rt.block_on(log.append(es, IOFlushed::noop())).unwrap();
                        last += n;
                    }
                    Step::Truncate(at) if at >= purged && at < last => {
                        let id = openraft::testing::log_id::<Lkm>(term, 1, at);
                        rt.block_on(log.truncate_after((at > 0).then_some(id))).unwrap();
                        last = at;
                        term += 1;
                    }
                    Step::Purge(upto) if upto > purged && upto <= last => {
                        let id = openraft::testing::log_id::<Lkm>(term, 1, upto);
                        rt.block_on(log.purge(id)).unwrap();
                        purged = upto;
                    }
                    Step::Reopen => {
                        drop(log);
                        // The sync thread lets the DB go after its current sync.
                        log = (0..200)
                            .find_map(|_| {
                                LogStore::open(&path).ok().or_else(|| {
                                    std::thread::sleep(std::time::Duration::from_millis(5));
                                    None
                                })
                            })
                            .expect("the raft log reopens once its sync thread let go");
                    }
                    _ => {}
                }
                for start in [0, purged, purged + 1, last.saturating_sub(3), last, last + 1] {
                    for end in [start, start + 1, start + 5, last + 1, u64::MAX] {
                        let range = start..end;
                        let through_tail = rt.block_on(log.try_get_log_entries(range.clone())).unwrap();
                        let on_disk = log.read_disk(start, &range).unwrap();
                        prop_assert_eq!(&through_tail, &on_disk, "range {:?}", range);
                    }
                }
            }
            let all = rt.block_on(log.try_get_log_entries(0..u64::MAX)).unwrap();
            prop_assert_eq!(all.len() as u64, last - purged);
        }
    }
}

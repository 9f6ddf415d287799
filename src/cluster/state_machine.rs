//! The state machine is the store: each committed entry is applied with
//! [`Store::apply_at`], and where the log stands (last applied entry and
//! membership) is written in the same atomic batch, so after a crash the
//! store and its mark agree. Applies are not synced: the log is, and an
//! entry lost from the store in a crash is applied again from it (the log
//! is purged only up to a snapshot, which is taken after a sync).
//!
//! A snapshot is a RocksDB checkpoint of the store, kept in
//! DATA/raft-snapshots/, sent to a lagging node file by file (see
//! `transport`), and installed by replacing the store's contents in one
//! atomic batch.

use super::types::{
    Entry, Lkm, LogId, Outcome, Proposal, SnapshotDir, SnapshotMeta, StoredMembership,
};
use crate::store::{Cf, Command, Store};
use futures_util::StreamExt;
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftSnapshotBuilder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

type Snapshot = openraft::alias::SnapshotOf<Lkm, SnapshotDir>;

/// Where the log stands, in the store's meta column family.
const MARK: &[u8] = b"raft/applied";
/// The next node id to hand out (node 1 founds the cluster).
const NEXT_NODE: &[u8] = b"raft/next-node-id";
const SNAPSHOT_META: &str = "lkm-snapshot-meta";

/// Prefixes of the snapshot folder's temporary directories.
const READING: &str = "reading-";
const BUILDING: &str = "building-";

fn io_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Mark {
    applied: Option<LogId>,
    membership: StoredMembership,
}

pub(crate) struct StateMachine {
    store: Arc<Store>,
    snapshots: PathBuf,
    membership: StoredMembership,
}

fn read_mark(store: &Store) -> Result<Mark, io::Error> {
    match store.get(Cf::Meta, MARK).map_err(io_err)? {
        Some(b) => postcard::from_bytes(&b).map_err(io_err),
        None => Ok(Mark::default()),
    }
}

impl StateMachine {
    pub(crate) fn open(store: Arc<Store>, snapshots: &Path) -> Result<StateMachine, io::Error> {
        crate::private_files::create_dir(snapshots)?;
        // Copies being read and builds cut short when the process stopped.
        for d in std::fs::read_dir(snapshots)?.flatten() {
            let name = d.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(READING) || name.starts_with(BUILDING) {
                let _ = std::fs::remove_dir_all(d.path());
            }
        }
        let mark = read_mark(&store)?;
        Ok(StateMachine {
            store,
            snapshots: snapshots.to_owned(),
            membership: mark.membership,
        })
    }

    fn apply_one(&mut self, entry: &Entry) -> Result<Outcome, io::Error> {
        let log_id = entry.log_id();
        let index = log_id.index();
        if let Some(m) = entry.get_membership() {
            self.membership = StoredMembership::new(Some(log_id), m);
        }
        let mark = postcard::to_stdvec(&Mark {
            applied: Some(log_id),
            membership: self.membership.clone(),
        })
        .map_err(io_err)?;
        let marks: [(&[u8], &[u8]); 1] = [(MARK, &mark)];
        let outcome = match &entry.payload {
            EntryPayload::Normal(Proposal::Write(c)) => Outcome::Write(
                self.store
                    .apply_at(c, index, &marks, false)
                    .map_err(io_err)?,
            ),
            EntryPayload::Normal(Proposal::Batch(cs)) => Outcome::Batch(
                self.store
                    .apply_all_at(cs, index, &marks, false)
                    .map_err(io_err)?,
            ),
            EntryPayload::Normal(Proposal::AllocateNode { .. }) => {
                let next = self
                    .store
                    .get(Cf::Meta, NEXT_NODE)
                    .map_err(io_err)?
                    .and_then(|b| b.as_slice().try_into().ok().map(u64::from_be_bytes))
                    .unwrap_or(2);
                let mut c = Command::default();
                c.put(Cf::Meta, NEXT_NODE, (next + 1).to_be_bytes().to_vec());
                self.store
                    .apply_at(&c, index, &marks, false)
                    .map_err(io_err)?;
                Outcome::Node(next)
            }
            _ => {
                self.store
                    .apply_at(&Command::default(), index, &marks, false)
                    .map_err(io_err)?;
                Outcome::None
            }
        };
        Ok(outcome)
    }

    /// The newest snapshot kept, if any.
    fn current(&self) -> Result<Option<(SnapshotMeta, PathBuf)>, io::Error> {
        let mut newest: Option<(u64, PathBuf)> = None;
        for d in std::fs::read_dir(&self.snapshots)? {
            let d = d?;
            let name = d.file_name();
            let Some(index) = name
                .to_str()
                .and_then(|n| n.strip_prefix("snap-"))
                .and_then(|n| n.split('-').next())
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if newest.as_ref().is_none_or(|(i, _)| index > *i) {
                newest = Some((index, d.path()));
            }
        }
        let Some((_, path)) = newest else {
            return Ok(None);
        };
        let meta: SnapshotMeta =
            postcard::from_bytes(&std::fs::read(path.join(SNAPSHOT_META))?).map_err(io_err)?;
        Ok(Some((meta, path)))
    }

    /// Keeps `keep` and removes every other snapshot (a copy being sent
    /// to a lagging node, or a build under way, is left alone).
    fn remove_others(snapshots: &Path, keep: &Path) {
        if let Ok(rd) = std::fs::read_dir(snapshots) {
            for d in rd.flatten() {
                let is_snapshot = d
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with("snap-"));
                if is_snapshot && d.path() != keep {
                    let _ = std::fs::remove_dir_all(d.path());
                }
            }
        }
    }
}

/// Builds a snapshot: a checkpoint of the store in a fresh directory,
/// described by the mark it holds (so data and position always agree).
pub(crate) struct Builder {
    store: Arc<Store>,
    snapshots: PathBuf,
}

impl RaftSnapshotBuilder<Lkm> for Builder {
    type SnapshotData = SnapshotDir;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let store = self.store.clone();
        let snapshots = self.snapshots.clone();
        tokio::task::spawn_blocking(move || {
            let staging = snapshots.join(format!("{BUILDING}{}", uuid::Uuid::new_v4()));
            store.checkpoint(&staging).map_err(io_err)?;
            let mark = read_mark(&Store::open_read_only(&staging).map_err(io_err)?)?;
            let meta = SnapshotMeta {
                last_log_id: mark.applied,
                last_membership: mark.membership,
            };
            std::fs::write(
                staging.join(SNAPSHOT_META),
                postcard::to_stdvec(&meta).map_err(io_err)?,
            )?;
            let index = mark.applied.map_or(0, |l| l.index());
            let path = snapshots.join(format!(
                "snap-{index:020}-{}",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::rename(&staging, &path)?;
            StateMachine::remove_others(&snapshots, &path);
            Ok(Snapshot {
                meta,
                snapshot: SnapshotDir::at(path),
            })
        })
        .await
        .map_err(io_err)?
    }
}

impl RaftStateMachine<Lkm> for StateMachine {
    type SnapshotData = SnapshotDir;
    type SnapshotBuilder = Builder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        let mark = read_mark(&self.store)?;
        self.membership = mark.membership.clone();
        Ok((mark.applied, mark.membership))
    }

    async fn apply<S>(&mut self, mut entries: S) -> Result<(), io::Error>
    where
        S: futures_util::Stream<Item = Result<EntryResponder<Lkm>, io::Error>>
            + Unpin
            + OptionalSend,
    {
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            let outcome = self.apply_one(&entry)?;
            if let Some(r) = responder {
                r.send(outcome);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Builder {
        Builder {
            store: self.store.clone(),
            snapshots: self.snapshots.clone(),
        }
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: SnapshotDir,
    ) -> Result<(), io::Error> {
        let store = self.store.clone();
        let snapshots = self.snapshots.clone();
        let meta_bytes = postcard::to_stdvec(meta).map_err(io_err)?;
        let index = meta.last_log_id.as_ref().map_or(0, |l| l.index());
        tokio::task::spawn_blocking(move || -> Result<(), io::Error> {
            std::fs::write(snapshot.path.join(SNAPSHOT_META), &meta_bytes)?;
            store.replace_from(&snapshot.path).map_err(io_err)?;
            let path = snapshots.join(format!(
                "snap-{index:020}-{}",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::rename(&snapshot.path, &path)?;
            StateMachine::remove_others(&snapshots, &path);
            Ok(())
        })
        .await
        .map_err(io_err)??;
        self.membership = meta.last_membership.clone();
        tracing::info!(index, "installed a snapshot from the leader");
        Ok(())
    }

    /// The newest snapshot, as a private copy for the one reader that
    /// asked (a lagging node's transfer): a snapshot built meanwhile
    /// removes the original, never the files being sent.
    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        let Some((meta, path)) = self.current()? else {
            return Ok(None);
        };
        let copy = self
            .snapshots
            .join(format!("{READING}{}", uuid::Uuid::new_v4().simple()));
        let snapshot = tokio::task::spawn_blocking(move || SnapshotDir::reader_copy(&path, copy))
            .await
            .map_err(io_err)??;
        Ok(Some(Snapshot { meta, snapshot }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Cf;

    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    }

    /// A lagging node is sent the snapshot it was offered even when the
    /// leader builds a newer one (and drops the old) midway: the copy
    /// being sent keeps its files, and goes once the transfer drops it.
    #[tokio::test]
    async fn a_snapshot_being_sent_outlives_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
        let snapshots = dir.path().join("snapshots");
        let mut sm = StateMachine::open(store.clone(), &snapshots).unwrap();
        let mut c = Command::default();
        c.put(Cf::Meta, "k1", b"v1".to_vec());
        store.apply_at(&c, 1, &[], false).unwrap();
        sm.get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();

        let sending = sm.get_current_snapshot().await.unwrap().unwrap();
        let copy = sending.snapshot.path.clone();
        assert!(copy.starts_with(&snapshots));
        let before = files(&copy);
        assert!(!before.is_empty());

        let mut c = Command::default();
        c.put(Cf::Meta, "k2", b"v2".to_vec());
        store.apply_at(&c, 2, &[], false).unwrap();
        sm.get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
        // The original is gone, the copy is whole.
        let originals = std::fs::read_dir(&snapshots)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("snap-"))
            .count();
        assert_eq!(originals, 1);
        assert_eq!(files(&copy), before);

        drop(sending);
        assert!(!copy.exists());
        // A copy left by a stopped process is cleared at the next start.
        let stale = sm.get_current_snapshot().await.unwrap().unwrap();
        let stale_path = stale.snapshot.path.clone();
        std::mem::forget(stale);
        assert!(stale_path.exists());
        drop(StateMachine::open(store, &snapshots).unwrap());
        assert!(!stale_path.exists());
    }
}

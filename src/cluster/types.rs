//! The openraft type configuration and the messages of the node-to-node
//! channel. Nothing here leaves `src/cluster/`: the rest of lkm sees
//! [`crate::store::Command`], [`crate::store::Applied`] and the plain
//! structs of `cluster::status`.

use crate::store::{Applied, Command};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A member as the replicated membership records it: where its peers dial
/// it, and the name an operator gave it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Member {
    /// host:port of its cluster channel.
    pub addr: String,
    /// The operator's name for it (`lkm cluster add-node NAME`).
    pub name: String,
}

impl std::fmt::Display for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.addr)
    }
}

/// What the log carries: a store command, or a cluster-level record.
/// Commands are shared (`Arc`, encoded as the command itself): the
/// entry handed to the log, the copy its tail keeps for apply and
/// replication, and the caller's copy for a retry are one allocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Proposal {
    /// A deterministic write of the store (see [`Command`]).
    Write(Arc<Command>),
    /// Reserves the next node id: ids come from the log and are never
    /// reused, even when the node never joins.
    AllocateNode { name: String },
    /// Concurrent writes grouped in one entry (group commit: one append,
    /// one sync and one apply for all), applied in order as one atomic
    /// batch, each with its own outcome.
    Batch(Vec<Arc<Command>>),
}

/// Logged by openraft: a summary, never the (wrapped) key material.
impl std::fmt::Display for Proposal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Proposal::Write(c) => write!(
                f,
                "write({} mutations, {} audit entries)",
                c.mutations.len(),
                c.audit.len()
            ),
            Proposal::AllocateNode { name } => write!(f, "allocate-node({name})"),
            Proposal::Batch(cs) => write!(f, "batch({} writes)", cs.len()),
        }
    }
}

/// What applying a [`Proposal`] answered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Outcome {
    /// Membership entries and blanks.
    #[default]
    None,
    Write(Applied),
    Node(u64),
    /// A [`Proposal::Batch`]'s outcomes, in its order.
    Batch(Vec<Applied>),
}

openraft::declare_raft_types!(
    /// lkm's Raft: u64 node ids and terms, [`Member`] nodes, postcard on the wire.
    pub(crate) Lkm:
        D = Proposal,
        R = Outcome,
        NodeId = u64,
        Node = Member,
);

pub(crate) type LogId = openraft::alias::LogIdOf<Lkm>;
pub(crate) type Vote = openraft::alias::VoteOf<Lkm>;
pub(crate) type Entry = openraft::alias::EntryOf<Lkm>;
pub(crate) type StoredMembership = openraft::alias::StoredMembershipOf<Lkm>;
pub(crate) type SnapshotMeta = openraft::alias::SnapshotMetaOf<Lkm>;

pub(crate) use crate::config::ReadPolicy;

/// One request on the node-to-node channel. The sender's node id is the
/// one in its TLS certificate; the server checks every Raft message's own
/// node id against it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Request {
    Append(openraft::raft::AppendEntriesRequest<Lkm>),
    Vote(openraft::raft::VoteRequest<Lkm>),
    PreVote(openraft::raft::VoteRequest<Lkm>),
    TransferLeader(openraft::raft::TransferLeaderRequest<Lkm>),
    /// One chunk of a snapshot: the files of a store checkpoint, in
    /// order, each cut in chunks; `sha256` is of `data`. The last chunk of
    /// the last file has `done` set, and the receiver installs then.
    Snapshot(SnapshotChunk),
    /// A follower hands a write to the leader; answered once applied.
    Forward(Proposal),
    /// A follower asks the leader up to which log index it must have
    /// applied before it serves a linearizable read.
    ReadIndex(ReadPolicy),
    /// A new node (named by its certificate) asks to join as a learner,
    /// with the single-use token of its join bundle.
    Join {
        token: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SnapshotChunk {
    pub vote: Vote,
    pub meta: SnapshotMeta,
    /// Identifies one transfer; a chunk of another transfer restarts it.
    pub transfer: u64,
    pub file: String,
    pub offset: u64,
    pub data: Vec<u8>,
    pub sha256: [u8; 32],
    /// This chunk ends `file`.
    pub file_done: bool,
    /// This chunk ends the snapshot.
    pub done: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Response {
    Append(openraft::raft::AppendEntriesResponse<Lkm>),
    Vote(openraft::raft::VoteResponse<Lkm>),
    /// Accepted, or why not (the vote changed meanwhile).
    TransferLeader(openraft::raft::TransferLeaderResponse<Lkm>),
    /// A chunk was stored; the final one also carries the install's answer.
    Snapshot(Option<openraft::raft::SnapshotResponse<Lkm>>),
    Forward(Outcome),
    ReadIndex(u64),
    /// The new node's id, and it is now a learner.
    Join(u64),
    /// This node is not the leader: try `leader` (id and address) if known.
    NotLeader {
        leader: Option<(u64, String)>,
    },
    /// The request was refused or failed; the text says why.
    Error(String),
}

/// A snapshot's data: a directory holding a checkpoint of the store (and
/// a file describing it), sent to a lagging node file by file.
#[derive(Debug)]
pub(crate) struct SnapshotDir {
    pub path: std::path::PathBuf,
    /// A copy made for one reader (hard links: no data copied), removed
    /// when dropped: a newer snapshot may replace the original while a
    /// lagging node is still being sent this one.
    reader_copy: bool,
}

impl SnapshotDir {
    pub(crate) fn at(path: std::path::PathBuf) -> Self {
        SnapshotDir {
            path,
            reader_copy: false,
        }
    }

    /// A private copy of the snapshot in `src`, at `dst` (same
    /// filesystem): its files are hard links, which keep the data while
    /// this copy lives even if `src` is removed.
    pub(crate) fn reader_copy(
        src: &std::path::Path,
        dst: std::path::PathBuf,
    ) -> std::io::Result<Self> {
        fn link_all(src: &std::path::Path, dst: &std::path::Path) -> std::io::Result<()> {
            std::fs::create_dir(dst)?;
            for e in std::fs::read_dir(src)? {
                let e = e?;
                let to = dst.join(e.file_name());
                if e.file_type()?.is_dir() {
                    link_all(&e.path(), &to)?;
                } else {
                    std::fs::hard_link(e.path(), &to)?;
                }
            }
            Ok(())
        }
        // The copy removes itself (and what a failed link left) on drop.
        let copy = SnapshotDir {
            path: dst,
            reader_copy: true,
        };
        link_all(src, &copy.path)?;
        Ok(copy)
    }
}

impl Drop for SnapshotDir {
    fn drop(&mut self) {
        if self.reader_copy {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
pub(crate) type Raft = openraft::Raft<Lkm, super::state_machine::StateMachine>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Draft, Stamped};
    use crate::store::Cf;

    /// The log holds proposals as postcard: every field must come back,
    /// optional ones (left out of an audit draft's JSON) included.
    #[test]
    fn a_proposal_round_trips_through_the_log_encoding() {
        let mut c = Command::default();
        c.put(Cf::Objects, "uid-1", vec![2, 0, 1]);
        c.add(Cf::Meta, "objects/x", -1);
        c.audit.push(Stamped {
            time_ms: 5,
            draft: Draft::new("cn:a", "Get").failed("ItemNotFound"),
        });
        c.audit.push(Stamped {
            time_ms: 6,
            draft: Draft::new("cn:b", "Create").detail("made"),
        });
        for p in [
            Proposal::Write(Arc::new(c.clone())),
            Proposal::AllocateNode { name: "n2".into() },
            Proposal::Batch(vec![
                Arc::new(c.clone()),
                Arc::new(Command::default()),
                Arc::new(c),
            ]),
        ] {
            let bytes = postcard::to_stdvec(&p).unwrap();
            assert_eq!(postcard::from_bytes::<Proposal>(&bytes).unwrap(), p);
        }
    }

    /// Sharing the commands (`Arc`) left the log's encoding as it was:
    /// entries written when proposals held plain commands read the same.
    #[test]
    fn shared_commands_encode_as_plain_ones_did() {
        #[derive(Serialize)]
        enum Plain {
            Write(Command),
            #[allow(dead_code)]
            AllocateNode {
                name: String,
            },
            Batch(Vec<Command>),
        }
        let mut c = Command::default();
        c.put(Cf::Objects, "uid-1", vec![9, 8, 7]);
        c.add(Cf::Meta, "objects/x", 1);
        let shared = Arc::new(c.clone());
        assert_eq!(
            postcard::to_stdvec(&Proposal::Write(shared.clone())).unwrap(),
            postcard::to_stdvec(&Plain::Write(c.clone())).unwrap()
        );
        assert_eq!(
            postcard::to_stdvec(&Proposal::Batch(vec![shared.clone(), shared])).unwrap(),
            postcard::to_stdvec(&Plain::Batch(vec![c.clone(), c])).unwrap()
        );
    }

    /// Mutations carry their keys and values as bytes; postcard encodes
    /// bytes as it encodes a sequence of u8, so logs written before read
    /// the same.
    #[test]
    fn bytes_encode_as_a_sequence_of_u8_did() {
        let v: Vec<u8> = (0..=255).collect();
        assert_eq!(
            postcard::to_stdvec(&serde_bytes::Bytes::new(&v)).unwrap(),
            postcard::to_stdvec(&v).unwrap()
        );
    }
}

//! Group commit on the leader: writes that arrive while earlier ones are
//! being committed wait together and go into the log as one entry
//! ([`Proposal::Batch`]). One entry costs one append, one sync of the log
//! and one atomic apply however many writes it holds, and a KMIP server
//! under load has many writers at once. A lone write still goes alone and
//! at once. One group is being committed at a time (measured against two
//! in flight with interop/bench-ab.sh and bench-cluster.sh: fewer, fuller
//! entries cost less CPU per write on one node and carried more writes
//! on three), and that is what lets the next group fill up. Groups are
//! committed in the order they were formed, so writes keep their
//! arrival order.

use super::types::{Outcome, Proposal, Raft};
use crate::store::{Applied, Command, SubmitError};
use openraft::error::{ClientWriteError, RaftError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Writes in one group at most.
const MAX_WRITES: usize = 256;
/// Bytes of mutations in one group at most (a bigger write goes alone):
/// an append of 64 entries stays well under the channel's 8 MiB frames.
const MAX_BYTES: usize = 96 << 10;
/// Writes waiting for a group at most; more wait to be queued.
const QUEUE: usize = 4096;

/// Why a write sent to the group did not get its outcome.
#[derive(Clone, Debug)]
pub(super) enum GroupError {
    /// This node is no longer the leader; nothing was written.
    NotLeader,
    /// Shutting down before the write was proposed; nothing was written.
    Closed,
    /// Proposed, then the outcome was lost (the leader failed, timeout).
    Unknown(String),
}

impl GroupError {
    /// The caller's answer, or `None` for [`GroupError::NotLeader`]:
    /// nothing was written, and the caller looks for the new leader.
    pub(super) fn into_submit(self) -> Option<SubmitError> {
        match self {
            GroupError::NotLeader => None,
            GroupError::Closed => Some(SubmitError::Refused("the node is shutting down".into())),
            GroupError::Unknown(why) => Some(SubmitError::Unknown(why)),
        }
    }
}

/// Where a write's outcome goes: a task awaiting it, or a key-store
/// thread blocked on it.
enum Reply {
    Task(oneshot::Sender<Result<Applied, GroupError>>),
    Thread(std::sync::mpsc::SyncSender<Result<Applied, GroupError>>),
}

impl Reply {
    fn send(self, outcome: Result<Applied, GroupError>) {
        // A caller that gave up (its deadline passed) no longer listens.
        let _ = match self {
            Reply::Task(t) => t.send(outcome).map_err(|_| ()),
            Reply::Thread(t) => t.send(outcome).map_err(|_| ()),
        };
    }
}

struct Waiting {
    command: Arc<Command>,
    /// Its length in the log, as the proposer measured it.
    bytes: usize,
    reply: Reply,
}

pub(super) struct GroupCommit {
    queue: mpsc::Sender<Waiting>,
}

impl GroupCommit {
    /// Starts the task that forms groups; it ends on `shutdown`.
    pub(super) fn start(raft: Raft, limit: Duration, shutdown: CancellationToken) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(async move {
            tokio::select! {
                () = form_groups(raft, rx, limit) => {}
                () = shutdown.cancelled() => {}
            }
        });
        GroupCommit { queue }
    }

    /// [`GroupCommit::write`] for a key-store thread: no task between the
    /// caller and the group. Never blocks a runtime (no tokio blocking
    /// call, so it cannot panic wherever it is called): `None` when the
    /// queue is full, and the caller takes the async path. The group
    /// answers within its commit limit, or is dropped, which answers too.
    pub(super) fn try_write_blocking(
        &self,
        command: Arc<Command>,
        bytes: usize,
        wait: Duration,
    ) -> Option<Result<Applied, GroupError>> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        match self.queue.try_send(Waiting {
            command,
            bytes,
            reply: Reply::Thread(reply),
        }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => return None,
            Err(mpsc::error::TrySendError::Closed(_)) => return Some(Err(GroupError::Closed)),
        }
        Some(answer.recv_timeout(wait).unwrap_or_else(|_| {
            Err(GroupError::Unknown(
                "the group it was proposed in did not answer".into(),
            ))
        }))
    }

    /// Gets `command` (`bytes` long in the log) committed, as part of a
    /// group, and applied here.
    pub(super) async fn write(
        &self,
        command: Arc<Command>,
        bytes: usize,
    ) -> Result<Applied, GroupError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Waiting {
                command,
                bytes,
                reply: Reply::Task(reply),
            })
            .await
            .map_err(|_| GroupError::Closed)?;
        answer.await.unwrap_or_else(|_| {
            Err(GroupError::Unknown(
                "the group it was proposed in was abandoned".into(),
            ))
        })
    }
}

/// Takes the writes waiting when the previous group is done, up to the
/// limits, and commits them as one entry. One group at a time: writes
/// that arrive meanwhile wait in the queue and make the next group.
async fn form_groups(raft: Raft, mut rx: mpsc::Receiver<Waiting>, limit: Duration) {
    let mut carried: Option<Waiting> = None;
    loop {
        let first = match carried.take() {
            Some(w) => w,
            None => match rx.recv().await {
                Some(w) => w,
                None => return,
            },
        };
        let mut bytes = first.bytes;
        let mut group = vec![first];
        while group.len() < MAX_WRITES {
            let Ok(w) = rx.try_recv() else { break };
            if bytes + w.bytes > MAX_BYTES {
                carried = Some(w);
                break;
            }
            bytes += w.bytes;
            group.push(w);
        }
        // Its own task, as before: a commit already proposed runs to its
        // answer even when shutdown cancels this loop.
        let raft = raft.clone();
        let _ = tokio::spawn(async move { commit(&raft, group, limit).await }).await;
    }
}

async fn commit(raft: &Raft, group: Vec<Waiting>, limit: Duration) {
    let (mut commands, replies): (Vec<Arc<Command>>, Vec<Reply>) =
        group.into_iter().map(|w| (w.command, w.reply)).unzip();
    let proposal = match commands.len() {
        1 => match commands.pop() {
            Some(c) => Proposal::Write(c),
            None => return,
        },
        _ => Proposal::Batch(commands),
    };
    let answers: Result<Vec<Applied>, GroupError> =
        match tokio::time::timeout(limit, raft.client_write(proposal)).await {
            Ok(Ok(resp)) => match resp.data {
                Outcome::Write(a) if replies.len() == 1 => Ok(vec![a]),
                Outcome::Batch(all) if all.len() == replies.len() => Ok(all),
                other => Err(GroupError::Unknown(format!(
                    "applied, with an unexpected answer: {other:?}"
                ))),
            },
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))) => {
                Err(GroupError::NotLeader)
            }
            Ok(Err(e)) => Err(GroupError::Unknown(format!(
                "the leader failed while committing: {e}"
            ))),
            Err(_) => Err(GroupError::Unknown(format!(
                "not committed within {} ms",
                limit.as_millis()
            ))),
        };
    match answers {
        Ok(all) => {
            for (reply, a) in replies.into_iter().zip(all) {
                reply.send(Ok(a));
            }
        }
        Err(e) => {
            for reply in replies {
                reply.send(Err(e.clone()));
            }
        }
    }
}

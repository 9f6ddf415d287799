//! Who gets a command applied. The key store prepares commands and hands
//! them to an [`Applier`]: the store itself when one process owns it
//! (tests, benches, offline tools), or the cluster, which commits them
//! through the replicated log first. Either way the command reaches the
//! same [`Store::apply_at`].

use super::{Applied, Command, Store, StoreError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SubmitError {
    /// Nothing was written: a majority cannot be reached.
    #[error(
        "no quorum: this node reaches {reach} of the {need} nodes (of {members}) needed to commit a write; nothing was written"
    )]
    NoQuorum {
        reach: usize,
        need: usize,
        members: usize,
    },
    /// The write may or may not have been committed (leader lost, timeout):
    /// the caller must not report success, nor assume failure.
    #[error("the outcome is unknown: {0}; read the object back before retrying")]
    Unknown(String),
    /// Refused before anything was proposed (shutting down, not a member).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a read about to be served stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadState {
    /// Everything committed before the read began is applied here.
    Linearizable,
    /// No quorum: served from what this node last applied (it may miss a
    /// change made on the other side of a partition); the text says why.
    Degraded(String),
}

/// What [`Applier::fence`] returns.
pub type Fence =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<ReadState, SubmitError>> + Send>>;

pub trait Applier: Send + Sync {
    /// Applies `command` once it is durable (and, in a cluster, committed
    /// by a majority and applied on this node); blocks until then.
    fn submit(&self, command: Command) -> Result<Applied, SubmitError>;

    /// Returns once this node has applied every write committed before the
    /// call (a linearizable read may start then); blocks until then.
    fn catch_up(&self) -> Result<(), SubmitError>;

    /// The async form of [`Applier::catch_up`], for the connection tasks
    /// (many concurrent reads share one round trip).
    fn fence(&self) -> Fence;
}

impl Applier for Store {
    fn submit(&self, command: Command) -> Result<Applied, SubmitError> {
        Ok(self.apply(&command)?)
    }

    fn catch_up(&self) -> Result<(), SubmitError> {
        Ok(())
    }

    fn fence(&self) -> Fence {
        Box::pin(std::future::ready(Ok(ReadState::Linearizable)))
    }
}

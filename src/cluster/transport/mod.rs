//! The node-to-node channel: mutual TLS under the cluster CA only, one
//! request and its response at a time on a connection, each a frame of a
//! 4-byte big-endian length and a postcard body, each read and write under
//! a deadline. A peer's node id is the one its certificate names; the
//! server checks every Raft message's own sender against it.
//!
//! - [`frame`]: the framing and its limits;
//! - [`tls`]: rustls configurations from a node identity, and the checks
//!   of the peer's certificate after the handshake;
//! - [`client`]: openraft's network ([`Network`], [`Peer`]) and app calls;
//! - [`server`]: [`serve`] and the [`RpcHandler`] the Raft core provides;
//! - [`snapshot`]: a snapshot directory sent as chunks, and assembled on
//!   the receiver.

pub(crate) mod client;
pub(crate) mod frame;
pub(crate) mod server;
pub(crate) mod snapshot;
pub(crate) mod tls;

// The API the Raft core wires in.
#[allow(unused_imports)]
pub(crate) use client::{Network, Peer, bind_ip_of};
#[allow(unused_imports)]
pub(crate) use server::{RpcHandler, serve};

use std::time::Duration;
use thiserror::Error;

/// The deadline of an exchange when openraft gives none (app calls pass
/// their own).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Error)]
pub(crate) enum TransportError {
    /// `what` did not finish in time; the connection is dropped.
    #[error("{what} timed out after {after:?}")]
    Timeout { what: &'static str, after: Duration },
    #[error("connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the connection (between or inside frames).
    #[error("connection closed by peer")]
    Closed,
    #[error("frame of {len} bytes is over the limit of {max}")]
    Oversize { len: usize, max: usize },
    #[error("undecodable frame: {0}")]
    Decode(String),
    #[error("unencodable message: {0}")]
    Encode(String),
    /// TLS setup, or a peer certificate that is not the expected node.
    #[error("TLS: {0}")]
    Tls(String),
    #[error("bad address: {0}")]
    Address(String),
}

impl TransportError {
    pub(crate) fn is_timeout(&self) -> bool {
        matches!(self, TransportError::Timeout { .. })
    }
}

#[cfg(test)]
pub(crate) mod testkit;

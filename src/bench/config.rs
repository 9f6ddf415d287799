//! What a run does: the target, the workload, how many connections, when
//! to stop and whether load is open- or closed-loop. The command line and
//! the tests both build this; nothing here touches the network.

use super::BenchError;
use super::workload::Workload;
use crate::kmip::ProtocolVersion;
use rustls::ClientConfig;
use std::sync::Arc;
use std::time::Duration;

/// When the measured part of a run ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stop {
    /// After this long (requests already sent are still answered).
    After(Duration),
    /// After this many measured requests in all, over every connection.
    Requests(u64),
}

#[derive(Clone)]
pub struct BenchConfig {
    /// `host:port` of the KMIP server.
    pub addr: String,
    /// Name the server certificate is checked against.
    pub server_name: String,
    /// Client TLS configuration (with the client certificate).
    pub tls: Arc<ClientConfig>,
    /// Version every request is sent in; 1.2 reaches PyKMIP's server too.
    pub version: ProtocolVersion,
    pub workload: Workload,
    /// Simultaneous connections (for `handshake`: simultaneous handshakers).
    pub connections: usize,
    pub stop: Stop,
    /// Open loop: requests per second in all, sent on a fixed schedule
    /// whatever the answers' speed; latency counts from the scheduled send
    /// time so a stalled server is not hidden (coordinated omission).
    /// None: closed loop, each connection sends when its answer is in.
    pub rate: Option<f64>,
    /// Load sent before measuring, to fill caches and settle the server.
    pub warmup: Duration,
    /// Keys made before the run for get, locate, encrypt and mix.
    pub keys: usize,
    /// Plaintext size for encrypt, bytes.
    pub data_size: usize,
    /// A request not answered in this time counts as an error and its
    /// connection is replaced.
    pub timeout: Duration,
    /// Print a progress line on stderr once per second.
    pub progress: bool,
}

impl BenchConfig {
    /// Defaults for everything but the target: get, 16 connections,
    /// 10 s, closed loop, KMIP 1.2.
    pub fn new(
        addr: impl Into<String>,
        server_name: impl Into<String>,
        tls: Arc<ClientConfig>,
    ) -> Self {
        Self {
            addr: addr.into(),
            server_name: server_name.into(),
            tls,
            version: ProtocolVersion::new(1, 2),
            workload: Workload::Get,
            connections: 16,
            stop: Stop::After(Duration::from_secs(10)),
            rate: None,
            warmup: Duration::ZERO,
            keys: 100,
            data_size: 4096,
            timeout: Duration::from_secs(30),
            progress: false,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), BenchError> {
        let bad = |m: &str| Err(BenchError::Config(m.to_owned()));
        if self.connections == 0 {
            return bad("--connections must be at least 1");
        }
        if self.workload.needs_keys() && self.keys == 0 {
            return bad("--keys must be at least 1 for this workload");
        }
        if let Some(r) = self.rate
            && !(r.is_finite() && r > 0.0)
        {
            return bad("--rate must be a positive number of requests per second");
        }
        match self.stop {
            Stop::After(d) if d.is_zero() => bad("--duration must be positive"),
            Stop::Requests(0) => bad("--requests must be at least 1"),
            _ => Ok(()),
        }
    }
}

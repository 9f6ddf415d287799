//! `lkm bench`: a KMIP load generator over mutual TLS, on the same codec
//! and client as the server's tests. It measures lkm against the targets in
//! DESIGN.md and, speaking KMIP 1.2 by default, PyKMIP's reference server
//! with the very same client, so the comparison measures servers and not
//! clients.
//!
//! Layers: [`config`] says what to run, [`workload`] what each request is,
//! `runner` drives connections and the clock (`pacer` the open-loop
//! schedule), [`report`] merges and prints
//! the figures. `args` turns the command line into a [`BenchConfig`].

pub(crate) mod args;
pub mod config;
mod pacer;
pub mod report;
mod runner;
pub mod workload;

pub use config::{BenchConfig, Stop};
pub use report::Report;
pub use runner::run;
pub use workload::Workload;

use crate::client::ClientError;
use crate::server::tls::TlsSetupError;
use thiserror::Error;

/// Why a benchmark could not run at all. Failures of single requests are
/// not errors of the run: they are counted in the [`Report`].
#[derive(Debug, Error)]
pub enum BenchError {
    #[error("invalid options: {0}")]
    Config(String),
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: String, source: ClientError },
    #[error("setup ({step}) failed: {source}")]
    Setup {
        step: &'static str,
        source: ClientError,
    },
    #[error("cannot start the runtime or the pacing thread: {0}")]
    Runtime(std::io::Error),
    #[error("a benchmark task failed: {0}")]
    Task(String),
    #[error("cannot write {path}: {source}")]
    Output {
        path: String,
        source: std::io::Error,
    },
}

//! Test helpers: node identities made by the cluster PKI in a tempdir, and
//! a server on loopback with a handler that records what reached it.

use super::server::{RpcHandler, serve};
use crate::cluster::pki::{NodeIdentity, init_cluster, issue_node};
use crate::cluster::types::{Outcome, Request, Response, SnapshotDir, SnapshotMeta, Vote};
use openraft::raft::{SnapshotResponse, VoteResponse};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Nodes 1..=n of `cluster` (node 1 holds the CA in `dir/n1`).
pub(crate) fn identities(dir: &Path, cluster: &str, n: u64) -> Vec<NodeIdentity> {
    let ca_dir = dir.join(format!("{cluster}-n1"));
    let first = init_cluster(&ca_dir, cluster, "n1", "127.0.0.1:7000").unwrap();
    let mut ids = vec![first];
    for id in 2..=n {
        let (cert, key) =
            issue_node(&ca_dir, cluster, id, &format!("n{id}"), "127.0.0.1:7000").unwrap();
        ids.push(NodeIdentity {
            cluster_id: cluster.to_owned(),
            node_id: id,
            name: format!("n{id}"),
            ca_cert_pem: ids[0].ca_cert_pem.clone(),
            cert_pem: cert,
            key_pem: key,
        });
    }
    ids
}

/// A snapshot as the handler received it: its files, sorted.
pub(crate) type Files = Vec<(String, Vec<u8>)>;

#[derive(Default)]
pub(crate) struct Recorder {
    /// (from, request kind) of every request handed to `handle`.
    pub calls: Mutex<Vec<(u64, String)>>,
    /// (from, files) of every snapshot installed.
    pub installed: Mutex<Vec<(u64, Files)>>,
}

pub(crate) fn read_files(dir: &Path) -> Files {
    let mut files: Files = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

impl RpcHandler for Recorder {
    async fn handle(&self, from: u64, req: Request) -> Response {
        let kind = format!("{req:?}");
        let kind = kind.split(['(', ' ', '{']).next().unwrap_or("").to_owned();
        self.calls.lock().unwrap().push((from, kind));
        match req {
            Request::Vote(v) | Request::PreVote(v) => {
                Response::Vote(VoteResponse::new(v.vote, None, true))
            }
            // Echoes the sender's id, as the transport established it.
            Request::ReadIndex(_) => Response::ReadIndex(from),
            Request::Forward(_) => Response::Forward(Outcome::None),
            Request::Join { .. } => Response::Join(from),
            _ => Response::Error("not in this test".into()),
        }
    }

    async fn install_snapshot(
        &self,
        from: u64,
        vote: Vote,
        _meta: SnapshotMeta,
        snapshot: SnapshotDir,
    ) -> Response {
        let files = read_files(&snapshot.path);
        self.installed.lock().unwrap().push((from, files));
        Response::Snapshot(Some(SnapshotResponse::new(vote)))
    }
}

pub(crate) struct Server {
    pub addr: String,
    pub recorder: Arc<Recorder>,
    pub staging: PathBuf,
    shutdown: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Serves node `id` on a free loopback port.
pub(crate) async fn start(id: &NodeIdentity, staging: PathBuf) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let recorder = Arc::new(Recorder::default());
    let shutdown = CancellationToken::new();
    let tls = super::tls::server_config(id).unwrap();
    tokio::spawn(serve(
        listener,
        tls,
        id.cluster_id.clone(),
        staging.clone(),
        recorder.clone(),
        shutdown.clone(),
    ));
    // serve() creates the staging directory first thing.
    for _ in 0..100 {
        if staging.is_dir() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    Server {
        addr,
        recorder,
        staging,
        shutdown,
    }
}

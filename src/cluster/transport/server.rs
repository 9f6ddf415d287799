//! The listening side of the cluster port. Each connection: a TLS
//! handshake under a deadline with a client certificate of the cluster CA,
//! the peer's node id taken from that certificate, then requests one at a
//! time. A Raft message whose own sender (the leader or candidate in its
//! vote) is not that node is refused, so no node speaks for another.
//! Snapshot chunks are assembled here and handed to the handler whole.

use super::frame::{self, MAX_FRAME, by};
use super::snapshot::{self, Receiver};
use super::tls::peer_node;
use super::{DEFAULT_TIMEOUT, TransportError};
use crate::cluster::types::{Request, Response, SnapshotDir, SnapshotMeta, Vote};
use openraft::vote::RaftLeaderId;
use rustls::ServerConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Connections served at once; more are closed on accept.
pub(crate) const MAX_CONNECTIONS: usize = 128;
/// A connection with no request for this long is closed.
pub(crate) const IDLE: Duration = Duration::from_secs(120);
/// The TLS handshake, a request's body once its length arrived, and a
/// response's write must each finish within this.
pub(crate) const STEP: Duration = DEFAULT_TIMEOUT;
/// How long shutdown waits for connections to finish their request.
const DRAIN: Duration = Duration::from_secs(5);
/// The longest the handler may take to answer a request (not a snapshot
/// install): past it the request fails, so a stuck request does not hold
/// a connection slot for ever. Callers give up much sooner.
pub(crate) const HANDLE_LIMIT: Duration = Duration::from_secs(60);

/// What the Raft core does with the requests of authenticated peers.
pub(crate) trait RpcHandler: Send + Sync + 'static {
    /// Answers `req` from node `from` (the id its certificate names). A
    /// Raft message reaches here only when its own sender is `from`;
    /// `Request::Snapshot` never does (see [`Self::install_snapshot`]).
    fn handle(&self, from: u64, req: Request) -> impl Future<Output = Response> + Send;

    /// Installs a snapshot node `from` sent whole and verified:
    /// `snapshot.path` is a directory under the staging directory, with the
    /// sender's files. It is the handler's until this returns; whatever is
    /// still at that path then is removed, so move (rename) it into place
    /// before returning. Answers `Response::Snapshot(Some(..))`.
    fn install_snapshot(
        &self,
        from: u64,
        vote: Vote,
        meta: SnapshotMeta,
        snapshot: SnapshotDir,
    ) -> impl Future<Output = Response> + Send;
}

/// The node a Raft message says it comes from, for the ones that say.
fn claimed_sender(req: &Request) -> Option<u64> {
    match req {
        Request::Append(r) => Some(*r.vote.leader_id().node_id()),
        Request::Vote(r) | Request::PreVote(r) => Some(*r.vote.leader_id().node_id()),
        Request::TransferLeader(r) => Some(*r.from_leader().leader_id().node_id()),
        Request::Snapshot(c) => Some(*c.vote.leader_id().node_id()),
        Request::Forward(_) | Request::ReadIndex(_) | Request::Join { .. } => None,
    }
}

/// Serves the cluster port on `listener` until `shutdown`. Peers must
/// present a certificate of the cluster CA (`tls`, see
/// [`super::tls::server_config`]) naming a node of `cluster_id`.
/// Snapshots are assembled under `staging` (created 0700; transfers an
/// earlier run left there are removed first, nothing else).
pub(crate) async fn serve<H: RpcHandler>(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    cluster_id: String,
    staging: PathBuf,
    handler: Arc<H>,
    shutdown: CancellationToken,
) -> Result<(), TransportError> {
    crate::private_files::create_dir(&staging)?;
    snapshot::remove_leftovers(&staging).await?;
    let acceptor = TlsAcceptor::from(tls);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let tasks = TaskTracker::new();
    let cluster_id: Arc<str> = cluster_id.into();
    loop {
        let (tcp, remote) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: pause, do not spin.
                    tracing::warn!(error = %e, "cluster port: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%remote, "cluster port: too many connections, closing one");
            continue;
        };
        let conn = Connection {
            acceptor: acceptor.clone(),
            cluster_id: cluster_id.clone(),
            staging: staging.clone(),
            handler: handler.clone(),
            shutdown: shutdown.clone(),
            remote,
        };
        tasks.spawn(async move {
            let _permit = permit;
            conn.run(tcp).await;
        });
    }
    tasks.close();
    let _ = tokio::time::timeout(DRAIN, tasks.wait()).await;
    Ok(())
}

struct Connection<H> {
    acceptor: TlsAcceptor,
    cluster_id: Arc<str>,
    staging: PathBuf,
    handler: Arc<H>,
    shutdown: CancellationToken,
    remote: SocketAddr,
}

impl<H: RpcHandler> Connection<H> {
    async fn run(self, tcp: TcpStream) {
        let remote = self.remote;
        let _ = tcp.set_nodelay(true);
        let handshake = by(Instant::now() + STEP, "handshake", async {
            self.acceptor.accept(tcp).await.map_err(TransportError::Io)
        });
        let mut tls = tokio::select! {
            _ = self.shutdown.cancelled() => return,
            r = handshake => match r {
                Ok(t) => t,
                Err(e) => {
                    tracing::info!(%remote, error = %e, "cluster port: handshake refused");
                    return;
                }
            },
        };
        let from = match peer_node(tls.get_ref().1) {
            Some((c, n)) if *c == *self.cluster_id => n,
            Some((c, n)) => {
                tracing::warn!(%remote, cluster = %c, node = n, "cluster port: a node of another cluster");
                return;
            }
            None => {
                tracing::warn!(%remote, "cluster port: a certificate that names no node");
                return;
            }
        };
        let mut receiver = Receiver::new(self.staging.clone(), from);
        loop {
            let header = tokio::select! {
                _ = self.shutdown.cancelled() => break,
                r = by(Instant::now() + IDLE, "idle", frame::read_header(&mut tls, MAX_FRAME)) => r,
            };
            let len = match header {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(e @ TransportError::Oversize { .. }) => {
                    // The body is left unread: say why, then close.
                    tracing::warn!(%remote, node = from, error = %e, "cluster port: frame refused");
                    let why = Response::Error(e.to_string());
                    let _ = frame::write_frame(&mut tls, &why, Instant::now() + STEP).await;
                    break;
                }
                Err(e) => {
                    tracing::debug!(%remote, node = from, error = %e, "cluster port: connection ends");
                    break;
                }
            };
            let req = by(
                Instant::now() + STEP,
                "request body",
                frame::read_body::<_, Request>(&mut tls, len),
            )
            .await;
            let (resp, fatal) = match req {
                Ok(req) => (self.dispatch(from, req, &mut receiver).await, false),
                Err(e @ TransportError::Decode(_)) => (Response::Error(e.to_string()), true),
                Err(e) => {
                    tracing::debug!(%remote, node = from, error = %e, "cluster port: connection ends");
                    break;
                }
            };
            if let Err(e) = frame::write_frame(&mut tls, &resp, Instant::now() + STEP).await {
                tracing::debug!(%remote, node = from, error = %e, "cluster port: cannot answer");
                break;
            }
            if fatal {
                break;
            }
        }
        receiver.discard().await;
    }

    async fn dispatch(&self, from: u64, req: Request, receiver: &mut Receiver) -> Response {
        if let Some(claimed) = claimed_sender(&req)
            && claimed != from
        {
            tracing::warn!(remote = %self.remote, node = from, claimed, "cluster port: spoofed sender");
            return Response::Error(format!("sender {claimed} is not node {from}"));
        }
        let Request::Snapshot(chunk) = req else {
            return tokio::time::timeout(HANDLE_LIMIT, self.handler.handle(from, req))
                .await
                .unwrap_or_else(|_| Response::Error(format!("no answer within {HANDLE_LIMIT:?}")));
        };
        match receiver.chunk(chunk).await {
            Ok(None) => Response::Snapshot(None),
            Ok(Some(got)) => {
                let path = got.snapshot.path.clone();
                let resp = self
                    .handler
                    .install_snapshot(from, got.vote, got.meta, got.snapshot)
                    .await;
                snapshot::remove_dir(&path).await;
                resp
            }
            Err(e) => {
                tracing::warn!(remote = %self.remote, node = from, error = %e, "cluster port: snapshot transfer discarded");
                Response::Error(format!("snapshot transfer discarded: {e}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Network;
    use super::super::client::Peer;
    use super::super::testkit::{Server, identities, read_files, start};
    use super::*;
    use crate::cluster::pki::NodeIdentity;
    use crate::cluster::types::{ReadPolicy, SnapshotChunk, StoredMembership};
    use openraft::network::RPCOption;
    use openraft::network::v2::RaftNetworkV2;
    use openraft::raft::VoteRequest;
    use rustls::ClientConfig;
    use rustls::pki_types::ServerName;
    use tokio::io::AsyncWriteExt;

    const T: Duration = Duration::from_secs(5);

    fn vote(term: u64, node: u64) -> Vote {
        Vote::new(term, node)
    }

    fn meta() -> SnapshotMeta {
        SnapshotMeta {
            last_log_id: None,
            last_membership: StoredMembership::default(),
        }
    }

    /// Node 1 serving, node 2's network, and a peer of node 1 from node 2.
    async fn pair(tmp: &std::path::Path) -> (Vec<NodeIdentity>, Server, Peer) {
        let ids = identities(tmp, "c", 3);
        let server = start(&ids[0], tmp.join("staging")).await;
        let net = Network::new(&ids[1], None).unwrap();
        let peer = net.peer(1, server.addr.clone());
        (ids, server, peer)
    }

    /// A TLS connection with any client configuration, to node 1's port.
    async fn raw(
        cfg: Arc<ClientConfig>,
        addr: &str,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(addr).await?;
        let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
        tokio_rustls::TlsConnector::from(cfg)
            .connect(name, tcp)
            .await
    }

    /// True when a ReadIndex request on `conn` gets no answer (the server
    /// closed the connection or failed the handshake).
    async fn refused(mut conn: tokio_rustls::client::TlsStream<TcpStream>) -> bool {
        let deadline = Instant::now() + T;
        if frame::write_frame(
            &mut conn,
            &Request::ReadIndex(ReadPolicy::ReadIndex),
            deadline,
        )
        .await
        .is_err()
        {
            return true;
        }
        match frame::read_frame::<_, Response>(&mut conn, deadline).await {
            Err(e) => !e.is_timeout(),
            Ok(_) => false,
        }
    }

    #[tokio::test]
    async fn a_request_gets_its_answer_and_the_sender_is_the_certificate_node() {
        let tmp = tempfile::tempdir().unwrap();
        let (ids, server, mut peer) = pair(tmp.path()).await;
        for _ in 0..2 {
            let r = peer
                .call(Request::ReadIndex(ReadPolicy::ReadIndex), T)
                .await
                .unwrap();
            assert!(matches!(r, Response::ReadIndex(2)), "{r:?}");
        }
        let r = peer
            .vote(VoteRequest::new(vote(3, 2), None), RPCOption::new(T))
            .await
            .unwrap();
        assert!(r.is_granted_to(&vote(3, 2)), "{r:?}");
        // App calls from node 3 on the pool.
        let net3 = Network::new(&ids[2], None).unwrap();
        for _ in 0..3 {
            let r = net3
                .call(1, &server.addr, Request::Join { token: "t".into() }, T)
                .await
                .unwrap();
            assert!(matches!(r, Response::Join(3)), "{r:?}");
        }
        let calls = server.recorder.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 6, "{calls:?}");
        assert_eq!(calls[2], (2, "Vote".to_owned()));
        // A dialer that expects another node at that address refuses it.
        let mut wrong = Network::new(&ids[1], None)
            .unwrap()
            .peer(3, server.addr.clone());
        let e = wrong
            .call(Request::ReadIndex(ReadPolicy::ReadIndex), T)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not node 3"), "{e}");
    }

    #[tokio::test]
    async fn a_node_of_another_cluster_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (ids, server, _) = pair(tmp.path()).await;
        // Another cluster with its own CA: neither side trusts the other.
        let other = identities(tmp.path(), "other", 2);
        let mut p = Network::new(&other[1], None)
            .unwrap()
            .peer(1, server.addr.clone());
        assert!(
            p.call(Request::ReadIndex(ReadPolicy::ReadIndex), T)
                .await
                .is_err()
        );
        // A certificate of our CA that names another cluster id: the server
        // checks the cluster id itself.
        let (cert, key) = crate::cluster::pki::issue_node(
            &tmp.path().join("c-n1"),
            "other",
            2,
            "n2",
            "127.0.0.1:7000",
        )
        .unwrap();
        let forged = NodeIdentity {
            cluster_id: "other".into(),
            node_id: 2,
            name: "n2".into(),
            ca_cert_pem: ids[0].ca_cert_pem.clone(),
            cert_pem: cert,
            key_pem: key,
        };
        let cfg = super::super::tls::client_config(&forged).unwrap();
        let conn = raw(cfg, &server.addr).await.unwrap();
        assert!(refused(conn).await);
        assert!(server.recorder.calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_kmip_client_certificate_is_refused_on_the_cluster_port() {
        let tmp = tempfile::tempdir().unwrap();
        let (ids, server, _) = pair(tmp.path()).await;
        let certs = tmp.path().join("dev");
        crate::pki::init(&certs, false).unwrap();
        // Trusting the cluster CA, presenting a dev-PKI client certificate.
        let client = NodeIdentity {
            cluster_id: "c".into(),
            node_id: 2,
            name: "client".into(),
            ca_cert_pem: ids[0].ca_cert_pem.clone(),
            cert_pem: std::fs::read_to_string(certs.join("client.crt")).unwrap(),
            key_pem: std::fs::read_to_string(certs.join("client.key"))
                .unwrap()
                .into(),
        };
        let cfg = super::super::tls::client_config(&client).unwrap();
        // The handshake itself may fail, or the first request.
        if let Ok(conn) = raw(cfg, &server.addr).await {
            assert!(refused(conn).await);
        }
        // And with no client certificate at all.
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(ids[0].ca_cert_pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let anon = Arc::new(
            ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        );
        // The handshake itself may fail, or the first request.
        if let Ok(conn) = raw(anon, &server.addr).await {
            assert!(refused(conn).await);
        }
        assert!(server.recorder.calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_raft_message_for_another_sender_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (_ids, server, mut peer) = pair(tmp.path()).await;
        // Node 2 asks a vote for node 3.
        let r = peer
            .call(Request::Vote(VoteRequest::new(vote(5, 3), None)), T)
            .await
            .unwrap();
        assert!(
            matches!(&r, Response::Error(e) if e.contains("sender 3 is not node 2")),
            "{r:?}"
        );
        let r = peer
            .call(Request::PreVote(VoteRequest::new(vote(5, 1), None)), T)
            .await
            .unwrap();
        assert!(matches!(r, Response::Error(_)), "{r:?}");
        // Through openraft's interface the refusal is an error, not a vote.
        let e = peer
            .vote(VoteRequest::new(vote(6, 3), None), RPCOption::new(T))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("sender 3 is not node 2"), "{e}");
        assert!(server.recorder.calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_oversize_frame_is_refused_without_its_body() {
        let tmp = tempfile::tempdir().unwrap();
        let (ids, server, _) = pair(tmp.path()).await;
        let cfg = super::super::tls::client_config(&ids[1]).unwrap();
        let mut conn = raw(cfg, &server.addr).await.unwrap();
        conn.write_all(&((MAX_FRAME + 1) as u32).to_be_bytes())
            .await
            .unwrap();
        conn.flush().await.unwrap();
        // No body sent: the answer must come anyway, then the end.
        let deadline = Instant::now() + T;
        let r: Response = frame::read_frame(&mut conn, deadline).await.unwrap();
        assert!(
            matches!(&r, Response::Error(e) if e.contains("over the limit")),
            "{r:?}"
        );
        let e = frame::read_frame::<_, Response>(&mut conn, deadline)
            .await
            .unwrap_err();
        assert!(!e.is_timeout(), "{e}");
    }

    #[tokio::test]
    async fn a_snapshot_directory_arrives_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let (_ids, server, mut peer) = pair(tmp.path()).await;
        let snap = tmp.path().join("snap");
        std::fs::create_dir(&snap).unwrap();
        let big: Vec<u8> = (0..(2 * snapshot::CHUNK + 12345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        std::fs::write(snap.join("000012.sst"), &big).unwrap();
        std::fs::write(snap.join("CURRENT"), b"MANIFEST-000005\n").unwrap();
        std::fs::write(snap.join("MANIFEST-000005"), b"manifest").unwrap();
        std::fs::write(snap.join("empty.log"), b"").unwrap();
        let expected = read_files(&snap);
        let snapshot = openraft::alias::SnapshotOf::<crate::cluster::types::Lkm, SnapshotDir> {
            meta: meta(),
            snapshot: SnapshotDir::at(snap),
        };
        let cancel = std::future::pending();
        let r = peer
            .full_snapshot(vote(4, 2), snapshot, cancel, RPCOption::new(T))
            .await
            .unwrap();
        assert_eq!(r.vote, vote(4, 2));
        let installed = server.recorder.installed.lock().unwrap().clone();
        assert_eq!(installed.len(), 1);
        assert_eq!(installed[0].0, 2);
        assert_eq!(installed[0].1, expected);
        // Nothing is left in staging once installed.
        assert_eq!(std::fs::read_dir(&server.staging).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn a_corrupted_chunk_aborts_the_transfer() {
        let tmp = tempfile::tempdir().unwrap();
        let (_ids, server, mut peer) = pair(tmp.path()).await;
        let chunk = |offset: u64, data: &[u8], done: bool| SnapshotChunk {
            vote: vote(4, 2),
            meta: meta(),
            transfer: 9,
            file: "a.sst".into(),
            offset,
            data: data.to_vec(),
            sha256: snapshot::sha256(data),
            file_done: done,
            done,
        };
        let r = peer
            .call(Request::Snapshot(chunk(0, b"first", false)), T)
            .await
            .unwrap();
        assert!(matches!(r, Response::Snapshot(None)), "{r:?}");
        assert_eq!(std::fs::read_dir(&server.staging).unwrap().count(), 1);
        let mut bad = chunk(5, b"second", true);
        bad.data[0] ^= 1;
        let r = peer.call(Request::Snapshot(bad), T).await.unwrap();
        assert!(
            matches!(&r, Response::Error(e) if e.contains("sha256")),
            "{r:?}"
        );
        assert_eq!(std::fs::read_dir(&server.staging).unwrap().count(), 0);
        // The rest of the transfer cannot complete it any more.
        let r = peer
            .call(Request::Snapshot(chunk(5, b"second", true)), T)
            .await
            .unwrap();
        assert!(matches!(r, Response::Error(_)), "{r:?}");
        // Nor can a chunk that claims another leader.
        let mut spoofed = chunk(0, b"x", true);
        spoofed.vote = vote(4, 1);
        let r = peer.call(Request::Snapshot(spoofed), T).await.unwrap();
        assert!(
            matches!(&r, Response::Error(e) if e.contains("is not node 2")),
            "{r:?}"
        );
        assert!(server.recorder.installed.lock().unwrap().is_empty());
        // A transfer cut by a closed connection leaves nothing behind.
        let r = peer
            .call(Request::Snapshot(chunk(0, b"first", false)), T)
            .await
            .unwrap();
        assert!(matches!(r, Response::Snapshot(None)), "{r:?}");
        drop(peer);
        let mut left = 1;
        for _ in 0..200 {
            left = std::fs::read_dir(&server.staging).unwrap().count();
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(left, 0);
        assert!(server.recorder.installed.lock().unwrap().is_empty());
    }
}

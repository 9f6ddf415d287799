//! The dialing side: openraft's network factory ([`Network`]) and its
//! per-target clients ([`Peer`]), plus the app calls of the Raft core
//! (Forward, ReadIndex, Join).
//!
//! A [`Peer`] keeps one connection and sends one request at a time on it
//! (request, then its response). Any failure drops the connection; the
//! next request dials again. Outgoing connections leave from this node's
//! `cluster.listen` IP when it is a specific one, so peers (and the tests'
//! fault-injecting proxy) see a node's traffic come from its address.

use super::frame::{self, by};
use super::snapshot::{self, CHUNK};
use super::tls::{peer_node, server_name};
use super::{DEFAULT_TIMEOUT, TransportError};
use crate::cluster::pki::{Host, NodeIdentity, split_addr};
use crate::cluster::types::{
    Lkm, LogId, Member, Request, Response, SnapshotChunk, SnapshotDir, Vote,
};
use openraft::StorageError;
use openraft::entry::RaftEntry;
use openraft::errors::{
    ErrorSource, RPCError, ReplicationClosed, StreamingError, Timeout, Unreachable,
};
use openraft::network::v2::RaftNetworkV2;
use openraft::network::{RPCOption, RPCTypes, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use rustls::ClientConfig;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

type Conn = TlsStream<TcpStream>;
type Snapshot = openraft::alias::SnapshotOf<Lkm, SnapshotDir>;

/// A connection idle this long is closed rather than reused: the server
/// closes idle connections after [`super::server::IDLE`], and a request on
/// a connection the server is closing would be lost.
const REUSE_IDLE: Duration = Duration::from_secs(30);
/// App calls in flight at once through [`Network::call`], all targets
/// together, so they never take all of a peer's connection slots.
const APP_CALLS: usize = 16;
/// Idle connections kept per target for app calls.
const POOL_PER_TARGET: usize = 8;

/// What every client of this node shares.
struct Dialer {
    node_id: u64,
    cluster_id: String,
    tls: Arc<ClientConfig>,
    bind_ip: Option<IpAddr>,
    /// Idle connections of app calls, by target.
    pool: Mutex<HashMap<u64, Vec<Peer>>>,
    app_calls: Semaphore,
}

/// This node's side of the channel; openraft's network factory.
#[derive(Clone)]
pub(crate) struct Network {
    d: Arc<Dialer>,
}

/// The IP outgoing connections leave from, given `cluster.listen`: its IP
/// unless it is the unspecified address (or does not parse).
pub(crate) fn bind_ip_of(listen: &str) -> Option<IpAddr> {
    let sa: SocketAddr = listen.parse().ok()?;
    (!sa.ip().is_unspecified()).then_some(sa.ip())
}

impl Network {
    /// A network for node `identity`; outgoing connections bind to
    /// `bind_ip` when given (see [`bind_ip_of`]).
    pub(crate) fn new(
        identity: &NodeIdentity,
        bind_ip: Option<IpAddr>,
    ) -> Result<Self, TransportError> {
        Ok(Self {
            d: Arc::new(Dialer {
                node_id: identity.node_id,
                cluster_id: identity.cluster_id.clone(),
                tls: super::tls::client_config(identity)?,
                bind_ip,
                pool: Mutex::new(HashMap::new()),
                app_calls: Semaphore::new(APP_CALLS),
            }),
        })
    }

    /// A client of node `target` at `addr` (it dials on first use).
    pub(crate) fn peer(&self, target: u64, addr: impl Into<String>) -> Peer {
        Peer {
            d: self.d.clone(),
            target,
            addr: addr.into(),
            conn: None,
        }
    }

    /// One app call to node `target` at `addr`, on a pooled connection,
    /// under `timeout` (dialing included). Never retried: a Forward that
    /// may have reached the leader is not sent twice.
    pub(crate) async fn call(
        &self,
        target: u64,
        addr: &str,
        req: Request,
        timeout: Duration,
    ) -> Result<Response, TransportError> {
        let deadline = Instant::now() + timeout;
        let _permit = by(deadline, "waiting for a call slot", async {
            self.d
                .app_calls
                .acquire()
                .await
                .map_err(|_| TransportError::Closed)
        })
        .await?;
        let pooled = {
            let mut pool = self.d.pool.lock().unwrap_or_else(|p| p.into_inner());
            let idle = pool.entry(target).or_default();
            idle.retain(|p| p.addr == addr);
            idle.pop()
        };
        let mut peer = pooled.unwrap_or_else(|| self.peer(target, addr));
        let r = peer.call_by(&req, deadline).await;
        if r.is_ok() && peer.conn.is_some() {
            let mut pool = self.d.pool.lock().unwrap_or_else(|p| p.into_inner());
            let idle = pool.entry(target).or_default();
            if idle.len() < POOL_PER_TARGET {
                idle.push(peer);
            }
        }
        r
    }
}

impl RaftNetworkFactory<Lkm> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: u64, node: &Member) -> Peer {
        self.peer(target, node.addr.clone())
    }
}

/// A client of one node: one connection, one request at a time.
pub(crate) struct Peer {
    d: Arc<Dialer>,
    target: u64,
    addr: String,
    /// The connection and when it was last used.
    conn: Option<(Conn, Instant)>,
}

impl Peer {
    /// One app call under `timeout`, dialing if needed. Never retried.
    /// (The node's calls go through the network's pool of peers.)
    #[cfg(test)]
    pub(crate) async fn call(
        &mut self,
        req: Request,
        timeout: Duration,
    ) -> Result<Response, TransportError> {
        self.call_by(&req, Instant::now() + timeout).await
    }

    async fn call_by(
        &mut self,
        req: &Request,
        deadline: Instant,
    ) -> Result<Response, TransportError> {
        let buf = frame::encode(req)?;
        self.exchange(&buf, deadline).await
    }

    /// Sends an encoded request and reads the response by `deadline`.
    /// Any failure drops the connection.
    async fn exchange(
        &mut self,
        buf: &[u8],
        deadline: Instant,
    ) -> Result<Response, TransportError> {
        let r = self.exchange_on_conn(buf, deadline).await;
        match &r {
            Ok(_) => {
                if let Some((_, used)) = self.conn.as_mut() {
                    *used = Instant::now();
                }
            }
            Err(_) => self.conn = None,
        }
        r
    }

    async fn exchange_on_conn(
        &mut self,
        buf: &[u8],
        deadline: Instant,
    ) -> Result<Response, TransportError> {
        use tokio::io::AsyncWriteExt;
        if self
            .conn
            .as_ref()
            .is_some_and(|(_, used)| used.elapsed() > REUSE_IDLE)
        {
            self.conn = None;
        }
        let conn = match &mut self.conn {
            Some((c, _)) => c,
            None => {
                let c = by(
                    deadline,
                    "connect",
                    connect(&self.d, self.target, &self.addr),
                )
                .await?;
                &mut self.conn.insert((c, Instant::now())).0
            }
        };
        by(deadline, "write", async {
            conn.write_all(buf).await?;
            conn.flush().await?;
            Ok(())
        })
        .await?;
        frame::read_frame(conn, deadline).await
    }

    /// A Raft RPC: on a reused connection that turns out broken (not slow),
    /// tried once more on a fresh one, within the same deadline (Raft
    /// messages are idempotent).
    async fn rpc(&mut self, req: &Request, ttl: Duration) -> Result<Response, TransportError> {
        let deadline = Instant::now() + ttl;
        let buf = frame::encode(req)?;
        let reused = self.conn.is_some();
        match self.exchange(&buf, deadline).await {
            Err(e) if reused && matches!(e, TransportError::Io(_) | TransportError::Closed) => {
                self.exchange(&buf, deadline).await
            }
            r => r,
        }
    }

    fn rpc_error(&self, e: TransportError, action: RPCTypes, ttl: Duration) -> RPCError<Lkm> {
        if e.is_timeout() {
            RPCError::Timeout(Timeout {
                action,
                id: self.d.node_id,
                target: self.target,
                timeout: ttl,
            })
        } else {
            RPCError::Unreachable(Unreachable::new(&e))
        }
    }

    fn refused(&self, resp: Response) -> RPCError<Lkm> {
        let why = match resp {
            Response::Error(e) => format!("node {} refused: {e}", self.target),
            other => format!("node {} answered {other:?}", self.target),
        };
        RPCError::Unreachable(Unreachable::from_string(why))
    }

    async fn raft(
        &mut self,
        req: Request,
        action: RPCTypes,
        option: &RPCOption,
    ) -> Result<Response, RPCError<Lkm>> {
        let ttl = ttl(option);
        self.rpc(&req, ttl)
            .await
            .map_err(|e| self.rpc_error(e, action, ttl))
    }

    /// Sends the files of `dir` as chunks, each under `ttl`; returns the
    /// receiver's answer to the last one.
    async fn send_snapshot(
        &mut self,
        vote: &Vote,
        snapshot: &Snapshot,
        ttl: Duration,
    ) -> Result<SnapshotResponse<Lkm>, StreamingError<Lkm>> {
        let storage = |e: String| {
            StreamingError::StorageError(StorageError::read_snapshot(
                Some(snapshot.meta.signature()),
                ErrorSource::from_string(e),
            ))
        };
        let dir = &snapshot.snapshot.path;
        let files = snapshot::list(dir).await.map_err(storage)?;
        let transfer = uuid::Uuid::new_v4().as_u64_pair().0;
        let last = files.len() - 1;
        for (i, (name, len)) in files.iter().enumerate() {
            let path = dir.join(name);
            let mut f = tokio::fs::File::open(&path)
                .await
                .map_err(|e| storage(format!("{}: {e}", path.display())))?;
            let mut offset = 0u64;
            loop {
                let n = usize::try_from(len - offset).unwrap_or(CHUNK).min(CHUNK);
                let data = snapshot::read_chunk(&mut f, n)
                    .await
                    .map_err(|e| storage(format!("{}: {e}", path.display())))?;
                let file_done = offset + n as u64 == *len;
                let chunk = SnapshotChunk {
                    vote: *vote,
                    meta: snapshot.meta.clone(),
                    transfer,
                    file: name.clone(),
                    offset,
                    sha256: snapshot::sha256(&data),
                    data,
                    file_done,
                    done: file_done && i == last,
                };
                let done = chunk.done;
                let resp = self
                    .rpc(&Request::Snapshot(chunk), ttl)
                    .await
                    .map_err(|e| self.rpc_error(e, RPCTypes::InstallSnapshot, ttl))?;
                match resp {
                    // The receiver may answer before the end (a higher vote).
                    Response::Snapshot(Some(r)) => return Ok(r),
                    Response::Snapshot(None) if !done => {}
                    other => return Err(self.refused(other).into()),
                }
                offset += n as u64;
                if file_done {
                    break;
                }
            }
        }
        Err(self
            .refused(Response::Error("no answer to the last chunk".into()))
            .into())
    }
}

/// The deadline openraft asks for, else [`DEFAULT_TIMEOUT`].
fn ttl(option: &RPCOption) -> Duration {
    let t = option.soft_ttl();
    if t.is_zero() { DEFAULT_TIMEOUT } else { t }
}

/// Dials `addr`, from the bind IP when it has the peer's address family,
/// and checks the server's certificate names node `target` of our
/// cluster (the chain and the address were checked by the handshake).
async fn connect(d: &Dialer, target: u64, addr: &str) -> Result<Conn, TransportError> {
    let name = server_name(addr)?;
    let (host, port) = split_addr(addr).map_err(TransportError::Address)?;
    let addrs: Vec<SocketAddr> = match host {
        Host::Ip(ip) => vec![SocketAddr::new(ip, port)],
        Host::Dns(h) => tokio::net::lookup_host((h.as_str(), port))
            .await
            .map_err(|source| TransportError::Connect {
                addr: addr.to_owned(),
                source,
            })?
            .collect(),
    };
    let mut last = None;
    let mut tcp = None;
    for sa in addrs {
        match dial(sa, d.bind_ip).await {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let tcp = tcp.ok_or_else(|| TransportError::Connect {
        addr: addr.to_owned(),
        source: last.unwrap_or_else(|| std::io::Error::other("no address")),
    })?;
    let tls = TlsConnector::from(d.tls.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| TransportError::Tls(format!("{addr}: {e}")))?;
    match peer_node(tls.get_ref().1) {
        Some((c, n)) if c == d.cluster_id && n == target => Ok(tls),
        Some((c, n)) => Err(TransportError::Tls(format!(
            "{addr} is node {n} of cluster {c}, not node {target} of cluster {}",
            d.cluster_id
        ))),
        None => Err(TransportError::Tls(format!(
            "{addr} presented no lkm node certificate"
        ))),
    }
}

async fn dial(sa: SocketAddr, bind_ip: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let socket = if sa.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = bind_ip.filter(|ip| ip.is_ipv4() == sa.is_ipv4()) {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let s = socket.connect(sa).await?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// Keeps the longest prefix of `rpc.entries` that fits in one frame (at
/// least one entry: none is over [`frame::MAX_ENTRY`], the node refuses
/// such writes before proposing them); the last log id kept when it cut.
/// Entries of up to 1 MiB each (KMIP messages of the default size), 64 to
/// an append, would otherwise make a frame the follower refuses, again
/// and again.
fn fit_in_frame(rpc: &mut AppendEntriesRequest<Lkm>) -> Option<LogId> {
    let mut total = 0usize;
    for (i, e) in rpc.entries.iter().enumerate() {
        total = total.saturating_add(frame::encoded_len(e).unwrap_or(usize::MAX));
        if total > frame::MAX_ENTRY && i > 0 {
            rpc.entries.truncate(i);
            return rpc.entries.last().map(|e| e.log_id());
        }
    }
    None
}

impl RaftNetworkV2<Lkm> for Peer {
    type SnapshotData = SnapshotDir;

    async fn append_entries(
        &mut self,
        mut rpc: AppendEntriesRequest<Lkm>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<Lkm>, RPCError<Lkm>> {
        let cut = fit_in_frame(&mut rpc);
        match self
            .raft(Request::Append(rpc), RPCTypes::AppendEntries, &option)
            .await?
        {
            // Only a prefix went: openraft sends the rest next.
            Response::Append(AppendEntriesResponse::Success) if cut.is_some() => {
                Ok(AppendEntriesResponse::PartialSuccess(cut))
            }
            Response::Append(r) => Ok(r),
            other => Err(self.refused(other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<Lkm>,
        option: RPCOption,
    ) -> Result<VoteResponse<Lkm>, RPCError<Lkm>> {
        match self
            .raft(Request::Vote(rpc), RPCTypes::Vote, &option)
            .await?
        {
            Response::Vote(r) => Ok(r),
            other => Err(self.refused(other)),
        }
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<Lkm>,
        option: RPCOption,
    ) -> Result<VoteResponse<Lkm>, RPCError<Lkm>> {
        match self
            .raft(Request::PreVote(rpc), RPCTypes::Vote, &option)
            .await?
        {
            Response::Vote(r) => Ok(r),
            other => Err(self.refused(other)),
        }
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<Lkm>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<Lkm>, RPCError<Lkm>> {
        match self
            .raft(
                Request::TransferLeader(req),
                RPCTypes::TransferLeader,
                &option,
            )
            .await?
        {
            Response::TransferLeader(r) => Ok(r),
            other => Err(self.refused(other)),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<Lkm>, StreamingError<Lkm>> {
        let ttl = ttl(&option);
        let cancel = std::pin::pin!(cancel);
        let r = tokio::select! {
            biased;
            closed = cancel => Err(StreamingError::Closed(closed)),
            r = self.send_snapshot(&vote, &snapshot, ttl) => r,
        };
        if matches!(r, Err(StreamingError::Closed(_))) {
            // Cut mid-chunk: the connection's state is unknown.
            self.conn = None;
        }
        if r.is_ok() {
            SNAPSHOTS_SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        r
    }
}

/// Snapshots this process sent whole (`lkm_cluster_snapshots_sent_total`).
pub(crate) static SNAPSHOTS_SENT: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

#[cfg(test)]
mod tests {
    use super::super::testkit::{identities, start};
    use super::*;
    use openraft::raft::VoteRequest;

    #[test]
    fn the_bind_ip_is_the_listen_ip_unless_unspecified() {
        assert_eq!(bind_ip_of("127.0.0.3:7001"), Some([127, 0, 0, 3].into()));
        assert_eq!(bind_ip_of("0.0.0.0:7001"), None);
        assert_eq!(bind_ip_of("[::]:7001"), None);
        assert_eq!(bind_ip_of("kms.example:7001"), None);
    }

    #[tokio::test]
    async fn outgoing_connections_leave_from_the_bind_ip() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sa = l.local_addr().unwrap();
        let _c = dial(sa, Some([127, 0, 0, 2].into())).await.unwrap();
        let (_s, from) = l.accept().await.unwrap();
        assert_eq!(from.ip(), IpAddr::from([127, 0, 0, 2]));
        // An IPv6 bind address does not apply to an IPv4 peer.
        let _c = dial(sa, Some(std::net::Ipv6Addr::LOCALHOST.into()))
            .await
            .unwrap();
        let (_s, from) = l.accept().await.unwrap();
        assert_eq!(from.ip(), IpAddr::from([127, 0, 0, 1]));
    }

    /// An append too big for one frame goes as its longest prefix that
    /// fits, and says which entry it ended at; a small one goes whole.
    #[test]
    fn an_append_over_a_frame_is_cut_to_a_prefix() {
        use crate::cluster::types::{Entry, Proposal};
        use crate::store::{Cf, Command};
        let entry = |index: u64, bytes: usize| {
            let mut c = Command::default();
            c.put(Cf::Objects, format!("uid-{index}"), vec![7u8; bytes]);
            Entry::new_normal(
                openraft::testing::log_id::<Lkm>(1, 1, index),
                Proposal::Write(std::sync::Arc::new(c)),
            )
        };
        let request = |sizes: &[usize]| AppendEntriesRequest::<Lkm> {
            vote: Vote::new_committed(1, 1),
            prev_log_id: None,
            entries: sizes
                .iter()
                .enumerate()
                .map(|(i, b)| entry(i as u64 + 1, *b))
                .collect(),
            leader_commit: None,
        };
        let mut big = request(&[3 << 20, 3 << 20, 3 << 20, 10]);
        let cut = fit_in_frame(&mut big);
        assert_eq!(big.entries.len(), 2);
        assert_eq!(cut.map(|l| l.index()), Some(2));
        assert!(frame::encode(&Request::Append(big)).is_ok());
        let mut small = request(&[1000; 64]);
        assert_eq!(fit_in_frame(&mut small), None);
        assert_eq!(small.entries.len(), 64);
    }

    #[tokio::test]
    async fn a_silent_peer_is_a_timeout_and_a_closed_port_unreachable() {
        let tmp = tempfile::tempdir().unwrap();
        let ids = identities(tmp.path(), "c", 2);
        let net = Network::new(&ids[1], None).unwrap();
        // Accepts TCP, never speaks TLS.
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut p = net.peer(1, l.local_addr().unwrap().to_string());
        let opt = RPCOption::new(Duration::from_millis(200));
        let e = p
            .vote(VoteRequest::new(Vote::new(1, 2), None), opt.clone())
            .await
            .unwrap_err();
        assert!(matches!(e, RPCError::Timeout(_)), "{e}");
        let addr = l.local_addr().unwrap().to_string();
        drop(l);
        let mut p = net.peer(1, addr);
        let e = p
            .vote(VoteRequest::new(Vote::new(1, 2), None), opt)
            .await
            .unwrap_err();
        assert!(matches!(e, RPCError::Unreachable(_)), "{e}");
    }

    #[tokio::test]
    async fn a_cancelled_snapshot_is_closed_and_never_installed() {
        let tmp = tempfile::tempdir().unwrap();
        let ids = identities(tmp.path(), "c", 2);
        let server = start(&ids[0], tmp.path().join("staging")).await;
        let snap = tmp.path().join("snap");
        std::fs::create_dir(&snap).unwrap();
        std::fs::write(snap.join("CURRENT"), b"x").unwrap();
        let mut p = Network::new(&ids[1], None)
            .unwrap()
            .peer(1, server.addr.clone());
        let snapshot = Snapshot {
            meta: Default::default(),
            snapshot: SnapshotDir::at(snap),
        };
        let cancel = std::future::ready(ReplicationClosed::new("test"));
        let r = p
            .full_snapshot(
                Vote::new(1, 2),
                snapshot,
                cancel,
                RPCOption::new(Duration::from_secs(5)),
            )
            .await;
        assert!(matches!(r, Err(StreamingError::Closed(_))), "{r:?}");
        // An empty snapshot directory is a local error, not a transfer.
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let snapshot = Snapshot {
            meta: Default::default(),
            snapshot: SnapshotDir::at(empty),
        };
        let r = p
            .full_snapshot(
                Vote::new(1, 2),
                snapshot,
                std::future::pending(),
                RPCOption::new(Duration::from_secs(5)),
            )
            .await;
        assert!(matches!(r, Err(StreamingError::StorageError(_))), "{r:?}");
        assert!(server.recorder.installed.lock().unwrap().is_empty());
    }
}

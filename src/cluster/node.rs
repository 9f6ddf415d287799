//! One node of the cluster: Raft over our log store, state machine and
//! transport, and what the rest of lkm asks of it: get a command
//! committed and applied here ([`Node::propose`], forwarding to the leader
//! from a follower), wait until a read may be served ([`Node::fence`]),
//! and say where the cluster stands ([`Node::status`]).

use super::bundle;
use super::group::GroupCommit;
use super::log_store::LogStore;
use super::pki::NodeIdentity;
use super::state_machine::StateMachine;
use super::transport::{self, Network, RpcHandler};
use super::types::{
    Member, Outcome, Proposal, Raft, ReadPolicy, Request, Response, SnapshotDir, SnapshotMeta, Vote,
};
use crate::config::{ClusterConfig, Config};
use crate::store::{Applied, Cf, Command, Store, SubmitError};
use openraft::error::{ClientWriteError, RaftError};
use openraft::{ChangeMembers, Instant as _, ServerState};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Pending joins: meta `raft/join/<node id>` = JSON [`JoinRecord`].
const JOIN_PREFIX: &str = "raft/join/";

#[derive(serde::Serialize, serde::Deserialize)]
struct JoinRecord {
    token_hash: String,
    name: String,
    addr: String,
}

use crate::store::ReadState as Consistency;

pub(crate) struct Node {
    raft: Raft,
    id: u64,
    /// The cluster id in every node certificate.
    cluster_id: String,
    network: Network,
    store: Arc<Store>,
    config: ClusterConfig,
    /// Reads waiting for a fence: the ticket each took, and the last
    /// ticket a finished fence covers with its result.
    requested: AtomicU64,
    /// Times the leader this node sees changed.
    leader_changes: AtomicU64,
    /// When a leader last reached this node (an append it accepted): a
    /// follower cut off from the leader keeps naming it until an election
    /// it cannot win, so the name alone says nothing about the quorum.
    leader_contact: std::sync::Mutex<Option<std::time::Instant>>,
    kick: tokio::sync::Notify,
    fenced: watch::Sender<(u64, Result<Consistency, String>)>,
    shutdown: CancellationToken,
    runtime: tokio::runtime::Handle,
    /// Where the leader's writes are grouped into log entries.
    group: GroupCommit,
}

fn raft_config(c: &ClusterConfig) -> Result<Arc<openraft::Config>, String> {
    let config = openraft::Config {
        cluster_name: "lkm".into(),
        heartbeat_interval: c.heartbeat_ms,
        election_timeout_min: c.election_timeout_ms,
        election_timeout_max: c.election_timeout_ms * 2,
        // The last chunk waits for the install, which replaces the store.
        install_snapshot_timeout: 60_000,
        // Well under the transport's 8 MiB frames.
        max_payload_entries: 64,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(c.snapshot_every),
        max_in_snapshot_log_to_keep: c.snapshot_every.min(1_000),
        enable_pre_vote: Some(true),
        ..Default::default()
    };
    config
        .validate()
        .map(Arc::new)
        .map_err(|e| format!("cluster configuration: {e}"))
}

impl Node {
    /// Starts Raft and the cluster channel. A founding node (id 1, empty
    /// log) makes itself a cluster of one; a node with a join bundle asks
    /// to join in the background.
    pub(crate) async fn start(
        config: &Config,
        store: Arc<Store>,
        identity: NodeIdentity,
    ) -> Result<Arc<Node>, String> {
        let c = &config.cluster;
        let listener = tokio::net::TcpListener::bind(c.listen)
            .await
            .map_err(|e| format!("cluster listen {}: {e}", c.listen))?;
        let mut c = c.clone();
        if c.advertise.is_none() {
            c.advertise = Some(
                listener
                    .local_addr()
                    .map_err(|e| e.to_string())?
                    .to_string(),
            );
        }
        let c = &c;
        let raft_dir = config.data_dir.join("raft");
        let log = LogStore::open(&raft_dir).map_err(|e| format!("{}: {e}", raft_dir.display()))?;
        let sm = StateMachine::open(store.clone(), &config.data_dir.join("raft-snapshots"))
            .map_err(|e| format!("raft snapshots: {e}"))?;
        let network = Network::new(&identity, transport::bind_ip_of(&c.listen.to_string()))
            .map_err(|e| e.to_string())?;
        let raft = Raft::new(identity.node_id, raft_config(c)?, network.clone(), log, sm)
            .await
            .map_err(|e| format!("raft: {e}"))?;
        let (fenced, _) = watch::channel((0, Ok(Consistency::Linearizable)));
        let shutdown = CancellationToken::new();
        let group = GroupCommit::start(
            raft.clone(),
            Duration::from_millis(c.write_timeout_ms),
            shutdown.clone(),
        );
        let node = Arc::new(Node {
            raft,
            id: identity.node_id,
            cluster_id: identity.cluster_id.clone(),
            network,
            store,
            config: c.clone(),
            requested: AtomicU64::new(0),
            leader_changes: AtomicU64::new(0),
            leader_contact: std::sync::Mutex::new(None),
            kick: tokio::sync::Notify::new(),
            fenced,
            shutdown,
            runtime: tokio::runtime::Handle::current(),
            group,
        });
        let tls = transport::tls::server_config(&identity).map_err(|e| e.to_string())?;
        let staging = config.data_dir.join("raft-staging");
        crate::private_files::create_dir(&staging)
            .map_err(|e| format!("{}: {e}", staging.display()))?;
        tokio::spawn(transport::serve(
            listener,
            tls,
            identity.cluster_id.clone(),
            staging,
            node.clone(),
            node.shutdown.clone(),
        ));
        tokio::spawn(node.clone().fence_loop());
        tokio::spawn(node.clone().watch_leader());
        if identity.node_id == 1
            && !node
                .raft
                .is_initialized()
                .await
                .map_err(|e| e.to_string())?
        {
            let mut members = BTreeMap::new();
            members.insert(
                1,
                Member {
                    addr: c.advertised(),
                    name: identity.name.clone(),
                },
            );
            let had_data = node
                .store
                .get(Cf::Meta, b"cluster")
                .map_err(|e| e.to_string())?
                .is_some();
            node.raft
                .initialize(members)
                .await
                .map_err(|e| format!("cluster init: {e}"))?;
            info!("founded a cluster of one");
            if had_data {
                // A store written before it was a cluster: what it holds is
                // in no log entry, so nodes that join must start from a
                // snapshot of it.
                node.clone().snapshot_and_purge().await;
            }
        }
        Ok(node)
    }

    /// This node's state and the leader it knows, without cloning the
    /// metrics (asked on every write).
    fn role(&self) -> (ServerState, Option<u64>) {
        self.with_metrics(|m| (m.state, m.current_leader))
    }

    fn metrics(&self) -> openraft::RaftMetrics<super::types::Lkm> {
        self.with_metrics(Clone::clone)
    }

    /// Reads Raft's metrics in place: the write and read paths ask for a
    /// field or two on every request, and a clone copies them all.
    fn with_metrics<T>(
        &self,
        read: impl FnOnce(&openraft::RaftMetrics<super::types::Lkm>) -> T,
    ) -> T {
        use openraft::rt::watch::WatchReceiver;
        let watched = self.raft.metrics();
        let m = watched.borrow_watched();
        read(&m)
    }

    /// Takes a snapshot now and drops the log it covers.
    async fn snapshot_and_purge(self: Arc<Self>) {
        let wait = Duration::from_secs(30);
        // Leader, with its first (blank) entry applied: the snapshot then
        // holds the store as it was found.
        if let Err(e) = self
            .raft
            .wait(Some(wait))
            .metrics(
                |m| m.state == ServerState::Leader && m.last_applied.is_some(),
                "founding leader",
            )
            .await
        {
            warn!(error = %e, "no snapshot of the existing store: not leader");
            return;
        }
        if let Err(e) = self.raft.trigger().snapshot().await {
            warn!(error = %e, "no snapshot of the existing store");
            return;
        }
        match self
            .raft
            .wait(Some(wait))
            .metrics(|m| m.snapshot.is_some(), "founding snapshot")
            .await
        {
            Ok(m) => {
                let upto = m.snapshot.map_or(0, |l| l.index());
                if let Err(e) = self.raft.trigger().purge_log(upto).await {
                    warn!(error = %e, "the log before the founding snapshot stays");
                    return;
                }
                // Before any node can join: a learner fed from the log
                // instead would miss what the store held.
                if let Err(e) = self
                    .raft
                    .wait(Some(wait))
                    .metrics(
                        |m| m.purged.is_some_and(|p| p.index() >= upto),
                        "founding log purge",
                    )
                    .await
                {
                    warn!(error = %e, "the log before the founding snapshot is not yet purged");
                    return;
                }
                info!(
                    index = upto,
                    "the existing store is in a snapshot for the nodes that join"
                );
            }
            Err(e) => warn!(error = %e, "the founding snapshot did not complete"),
        }
    }

    async fn watch_leader(self: Arc<Self>) {
        use openraft::rt::watch::WatchReceiver;
        // Server metrics change with the leader, not with every write.
        let mut rx = self.raft.server_metrics();
        let mut last = None;
        loop {
            let now = rx.borrow_watched().current_leader;
            if now != last {
                if let Some(l) = now {
                    info!(leader = l, "leader");
                }
                self.leader_changes.fetch_add(1, Ordering::Relaxed);
                last = now;
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                r = rx.changed() => if r.is_err() { return },
            }
        }
    }

    /// Returns when Raft stopped on its own (a storage error it cannot
    /// go on from), with the reason; never while the node runs or after
    /// [`Node::shutdown`]. The process should then stop so that it is
    /// restarted: a node without its Raft core answers nothing useful.
    pub(crate) async fn failed(&self) -> String {
        use openraft::rt::watch::WatchReceiver;
        let mut rx = self.raft.server_metrics();
        loop {
            if rx.borrow_watched().state == ServerState::Shutdown {
                break;
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => std::future::pending::<()>().await,
                r = rx.changed() => if r.is_err() { break },
            }
        }
        if self.shutdown.is_cancelled() {
            std::future::pending::<()>().await;
        }
        match self.raft.metrics().borrow_watched().running_state.as_ref() {
            Err(e) => format!("the Raft core stopped: {e}"),
            Ok(()) => "the Raft core stopped".to_owned(),
        }
    }

    pub(crate) fn leader_changes(&self) -> u64 {
        self.leader_changes.load(Ordering::Relaxed)
    }

    /// Ready to serve: caught up with what is known committed, and a
    /// majority reachable (or the reason why not).
    pub(crate) fn ready(&self) -> Result<(), String> {
        let m = self.metrics();
        let applied = m.last_applied.map_or(0, |l| l.index());
        let committed = m
            .cluster_committed
            .or(m.local_committed)
            .map_or(0, |l| l.index());
        if applied < committed {
            return Err(format!(
                "catching up: applied {applied} of {committed} committed entries"
            ));
        }
        if !self.has_quorum() {
            return Err(self.no_quorum().to_string());
        }
        Ok(())
    }

    pub(crate) async fn shutdown(&self) {
        self.shutdown.cancel();
        if let Err(e) = self.raft.shutdown().await {
            warn!(error = %e, "raft did not shut down cleanly");
        }
    }

    fn members(&self) -> BTreeMap<u64, Member> {
        self.with_metrics(|m| {
            m.membership_config
                .membership()
                .nodes()
                .map(|(id, n)| (*id, n.clone()))
                .collect()
        })
    }

    /// Where member `id`'s cluster channel is (asked on every forward).
    fn member_addr(&self, id: u64) -> Option<String> {
        self.with_metrics(|m| {
            m.membership_config
                .membership()
                .get_node(&id)
                .map(|n| n.addr.clone())
        })
    }

    fn voters(&self) -> BTreeSet<u64> {
        self.with_metrics(|m| m.membership_config.membership().voter_ids().collect())
    }

    /// Reachable voters (self included) and how many a quorum needs.
    fn reach(&self) -> (usize, usize, usize) {
        let fresh = Duration::from_millis(self.config.election_timeout_ms * 2);
        self.with_metrics(|metrics| {
            let voters: BTreeSet<u64> =
                metrics.membership_config.membership().voter_ids().collect();
            let need = voters.len() / 2 + 1;
            let reach = match (&metrics.state, &metrics.heartbeat) {
                (ServerState::Leader, Some(hb)) => voters
                    .iter()
                    .filter(|v| {
                        **v == self.id
                            || hb
                                .get(v)
                                .and_then(|t| t.as_ref())
                                .is_some_and(|t| t.elapsed() < fresh)
                    })
                    .count(),
                // A follower reaches itself and, with a leader that reached
                // it lately, the quorum behind it.
                _ if metrics.current_leader.is_some() && self.leader_is_fresh(fresh) => need,
                _ => 1,
            };
            (reach.min(voters.len()), need, voters.len())
        })
    }

    fn no_quorum(&self) -> SubmitError {
        let (reach, need, members) = self.reach();
        SubmitError::NoQuorum {
            reach: reach.min(need.saturating_sub(1)),
            need,
            members,
        }
    }

    /// Whether this node can commit now (as far as it knows).
    pub(crate) fn has_quorum(&self) -> bool {
        let (reach, need, _) = self.reach();
        let (state, leader) = self.role();
        match state {
            ServerState::Leader => reach >= need,
            _ => leader.is_some() && reach >= need,
        }
    }

    fn leader_is_fresh(&self, fresh: Duration) -> bool {
        self.leader_contact
            .lock()
            .ok()
            .and_then(|t| *t)
            .is_some_and(|t| t.elapsed() < fresh)
    }

    /// Gets `p` committed and applied on this node; the outcome of its apply.
    pub(crate) async fn propose(&self, p: Proposal) -> Result<Outcome, SubmitError> {
        let bytes = check_size(&p)?;
        let timeout = Duration::from_millis(self.config.write_timeout_ms);
        let deadline = tokio::time::Instant::now() + timeout;
        // Bounded: each round waits for a leader or ends in an error.
        for _ in 0..50 {
            if self.shutdown.is_cancelled() {
                return Err(SubmitError::Refused("the node is shutting down".into()));
            }
            let (state, leader) = self.role();
            match (state, leader) {
                (ServerState::Leader, _) => {
                    let (reach, need, _) = self.reach();
                    if reach < need {
                        return Err(self.no_quorum());
                    }
                    if let Proposal::Write(c) = &p {
                        return match tokio::time::timeout_at(
                            deadline,
                            self.group.write(c.clone(), bytes),
                        )
                        .await
                        {
                            Ok(Ok(a)) => Ok(Outcome::Write(a)),
                            Ok(Err(e)) => match e.into_submit() {
                                Some(e) => Err(e),
                                // Lost leadership before appending: nothing was written.
                                None => continue,
                            },
                            Err(_) => Err(SubmitError::Unknown(format!(
                                "not committed within {} ms",
                                timeout.as_millis()
                            ))),
                        };
                    }
                    return match tokio::time::timeout_at(
                        deadline,
                        self.raft.client_write(p.clone()),
                    )
                    .await
                    {
                        Ok(Ok(resp)) => Ok(resp.data),
                        Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))) => {
                            // Lost leadership before appending: nothing was written.
                            continue;
                        }
                        Ok(Err(e)) => Err(SubmitError::Unknown(format!(
                            "the leader failed while committing: {e}"
                        ))),
                        Err(_) => Err(SubmitError::Unknown(format!(
                            "not committed within {} ms",
                            timeout.as_millis()
                        ))),
                    };
                }
                (_, Some(leader)) if leader != self.id => {
                    // A leader that has not reached this node lately is
                    // likely on the other side of a partition: refuse
                    // rather than send a write whose fate would be unknown.
                    if !self
                        .leader_is_fresh(Duration::from_millis(self.config.election_timeout_ms * 2))
                    {
                        return Err(self.no_quorum());
                    }
                    let Some(addr) = self.member_addr(leader) else {
                        return Err(self.no_quorum());
                    };
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    match self
                        .network
                        .call(leader, &addr, Request::Forward(p.clone()), left)
                        .await
                    {
                        Ok(Response::Forward(outcome)) => {
                            self.wait_applied(outcome_index(&outcome), deadline).await?;
                            return Ok(outcome);
                        }
                        Ok(Response::NotLeader { .. }) => {}
                        Ok(Response::Error(e)) => return Err(forwarded_error(&e)),
                        Ok(other) => {
                            return Err(SubmitError::Unknown(format!(
                                "the leader answered {other:?}"
                            )));
                        }
                        // Not even sent: nothing was written.
                        Err(transport::TransportError::Connect { .. }) => {
                            return Err(self.no_quorum());
                        }
                        Err(e) => {
                            return Err(SubmitError::Unknown(format!(
                                "lost the leader (node {leader}) mid-write: {e}"
                            )));
                        }
                    }
                }
                _ => {}
            }
            // No leader known: wait a little for an election.
            if tokio::time::Instant::now() >= deadline {
                return Err(self.no_quorum());
            }
            let wait = Duration::from_millis(self.config.heartbeat_ms)
                .min(deadline.saturating_duration_since(tokio::time::Instant::now()));
            tokio::time::sleep(wait).await;
            if self.with_metrics(|m| m.current_leader.is_none())
                && tokio::time::Instant::now() + wait >= deadline
            {
                return Err(self.no_quorum());
            }
        }
        Err(self.no_quorum())
    }

    async fn wait_applied(
        &self,
        index: u64,
        deadline: tokio::time::Instant,
    ) -> Result<(), SubmitError> {
        if index == 0 {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        self.raft
            .wait(Some(left.max(Duration::from_millis(100))))
            .applied_index_at_least(Some(index), "forwarded write applied here")
            .await
            .map(|_| ())
            .map_err(|e| {
                SubmitError::Unknown(format!("committed, but not yet applied on this node: {e}"))
            })
    }

    /// Waits until a read may be served: after a fence that started after
    /// this call (many concurrent reads share one).
    pub(crate) async fn fence(&self) -> Result<Consistency, SubmitError> {
        if self.leads_alone() {
            return Ok(Consistency::Linearizable);
        }
        let ticket = self.requested.fetch_add(1, Ordering::AcqRel) + 1;
        let mut rx = self.fenced.subscribe();
        self.kick.notify_one();
        let limit = Duration::from_millis(self.config.write_timeout_ms);
        let waited = tokio::time::timeout(limit, async {
            loop {
                {
                    let (through, result) = &*rx.borrow_and_update();
                    if *through >= ticket {
                        return result.clone();
                    }
                }
                if rx.changed().await.is_err() {
                    return Err("the cluster is shutting down".to_owned());
                }
            }
        })
        .await;
        match waited {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(SubmitError::Refused(e)),
            Err(_) => Err(SubmitError::Refused(
                "reads are not confirmed in time".into(),
            )),
        }
    }

    /// Whether this node is the leader and the only voter (no membership
    /// change under way) and has applied an entry of its own term: every
    /// write acknowledged before its term is then applied here, and every
    /// one since was committed by this node alone and applied here before
    /// it was acknowledged (a proposal waits for its apply), so a read
    /// sees all of them without a round. The one-node cluster's read path.
    fn leads_alone(&self) -> bool {
        self.with_metrics(|m| {
            let membership = m.membership_config.membership();
            m.state == ServerState::Leader
                && m.current_leader == Some(self.id)
                && m.last_applied
                    .is_some_and(|l| l.committed_leader_id().term == m.current_term)
                && membership.get_joint_config().len() == 1
                && membership.voter_ids().eq([self.id])
        })
    }

    async fn fence_loop(self: Arc<Self>) {
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = self.kick.notified() => {}
            }
            let through = self.requested.load(Ordering::Acquire);
            let result = self.fence_once().await;
            let _previous = self.fenced.send_replace((through, result));
        }
    }

    async fn fence_once(&self) -> Result<Consistency, String> {
        let timeout = Duration::from_millis(self.config.election_timeout_ms * 2);
        let linear = tokio::time::timeout(timeout, self.read_index_here()).await;
        let why = match linear {
            Ok(Ok(())) => return Ok(Consistency::Linearizable),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no quorum confirmed the read in time".to_owned(),
        };
        if self.config.degraded_reads {
            Ok(Consistency::Degraded(why))
        } else {
            Err(self.no_quorum().to_string())
        }
    }

    /// One linearizable barrier: on the leader, ReadIndex (or lease);
    /// on a follower, the leader's read index, then applied up to it.
    async fn read_index_here(&self) -> Result<(), SubmitError> {
        let policy = match self.config.read_policy {
            ReadPolicy::ReadIndex => openraft::ReadPolicy::ReadIndex,
            ReadPolicy::Lease => openraft::ReadPolicy::LeaseRead,
        };
        let (state, leader) = self.role();
        if state == ServerState::Leader {
            return self
                .raft
                .ensure_linearizable(policy)
                .await
                .map(|_| ())
                .map_err(|e| SubmitError::Refused(format!("read not confirmed: {e}")));
        }
        let Some(leader) = leader else {
            return Err(self.no_quorum());
        };
        let Some(addr) = self.member_addr(leader) else {
            return Err(self.no_quorum());
        };
        let timeout = Duration::from_millis(self.config.election_timeout_ms * 2);
        match self
            .network
            .call(
                leader,
                &addr,
                Request::ReadIndex(self.config.read_policy),
                timeout,
            )
            .await
        {
            Ok(Response::ReadIndex(index)) => {
                self.wait_applied(index, tokio::time::Instant::now() + timeout)
                    .await
            }
            Ok(other) => Err(SubmitError::Refused(format!(
                "the leader answered {other:?}"
            ))),
            Err(e) => Err(SubmitError::Refused(format!(
                "the leader cannot be reached: {e}"
            ))),
        }
    }

    /// Blocking form of [`Node::propose`] for the key store's threads.
    pub(crate) fn propose_blocking(self: &Arc<Self>, p: Proposal) -> Result<Outcome, SubmitError> {
        let bytes = check_size(&p)?;
        // The common case, a write on a leader with its quorum, goes
        // straight to the group; anything else takes the full path.
        if let Proposal::Write(c) = &p
            && self.role().0 == ServerState::Leader
        {
            let (reach, need, _) = self.reach();
            if reach >= need {
                let wait = Duration::from_millis(self.config.write_timeout_ms + 5_000);
                match self.group.try_write_blocking(c.clone(), bytes, wait) {
                    Some(Ok(a)) => return Ok(Outcome::Write(a)),
                    Some(Err(e)) => {
                        if let Some(e) = e.into_submit() {
                            return Err(e);
                        }
                        // Not the leader any more, nothing written: find
                        // the new one below.
                    }
                    // The queue is full: wait for room below.
                    None => {}
                }
            }
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let node = self.clone();
        self.runtime.spawn(async move {
            let _ = tx.send(node.propose(p).await);
        });
        rx.recv_timeout(Duration::from_millis(self.config.write_timeout_ms + 5_000))
            .unwrap_or_else(|_| Err(SubmitError::Unknown("the cluster did not answer".into())))
    }

    /// Blocking form of [`Node::fence`].
    pub(crate) fn fence_blocking(self: &Arc<Self>) -> Result<Consistency, SubmitError> {
        if self.leads_alone() {
            return Ok(Consistency::Linearizable);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let node = self.clone();
        self.runtime.spawn(async move {
            let _ = tx.send(node.fence().await);
        });
        rx.recv_timeout(Duration::from_millis(self.config.write_timeout_ms + 5_000))
            .unwrap_or_else(|_| Err(SubmitError::Refused("the cluster did not answer".into())))
    }

    /// Reserves a node id through the log and records the single-use join
    /// token for it; returns the bundle the new node starts with. Needs
    /// the cluster CA key, kept by the founding node.
    pub(crate) async fn add_node(
        &self,
        ca_dir: &Path,
        name: &str,
        addr: &str,
    ) -> Result<bundle::Bundle, String> {
        let cluster_id = self.cluster_id.as_str();
        super::pki::check_node_name(name).map_err(|e| e.to_string())?;
        if let Some((id, _)) = self.members().iter().find(|(_, m)| m.name == name) {
            return Err(format!("node {id} is already named {name}"));
        }
        if !ca_dir.join(super::pki::CA_KEY).exists() {
            return Err(format!(
                "this node has no cluster CA key ({}): run add-node on the node that founded the cluster",
                ca_dir.display()
            ));
        }
        let id = match self
            .propose(Proposal::AllocateNode {
                name: name.to_owned(),
            })
            .await
            .map_err(|e| e.to_string())?
        {
            Outcome::Node(id) => id,
            other => return Err(format!("unexpected answer to a node id request: {other:?}")),
        };
        let (cert, key) = super::pki::issue_node(ca_dir, cluster_id, id, name, addr)
            .map_err(|e| e.to_string())?;
        let token = bundle::new_token().map_err(|e| e.to_string())?;
        let record = JoinRecord {
            token_hash: bundle::token_hash(&token),
            name: name.to_owned(),
            addr: addr.to_owned(),
        };
        let mut c = Command::default();
        c.put(
            Cf::Meta,
            format!("{JOIN_PREFIX}{id}").into_bytes(),
            serde_json::to_vec(&record).map_err(|e| e.to_string())?,
        );
        self.propose(Proposal::Write(Arc::new(c)))
            .await
            .map_err(|e| e.to_string())?;
        let ca =
            std::fs::read_to_string(ca_dir.join(super::pki::CA_CERT)).map_err(|e| e.to_string())?;
        // "ID@ADDR": the joiner checks each seed's certificate names that node.
        let seeds = self
            .members()
            .iter()
            .map(|(id, m)| format!("{id}@{}", m.addr))
            .collect();
        Ok(bundle::Bundle::new(
            cluster_id.to_owned(),
            id,
            name.to_owned(),
            ca,
            cert,
            key,
            seeds,
            token.to_string(),
        ))
    }

    /// A new node asks to join: checked against its join record, added as
    /// a learner (which waits until it has caught up), then made a voter
    /// when that keeps the number of voters odd.
    async fn admit(&self, from: u64, token: &str) -> Response {
        if !self.raft.is_leader() {
            return self.not_leader();
        }
        let key = format!("{JOIN_PREFIX}{from}");
        let record: JoinRecord = match self.store.get(Cf::Meta, key.as_bytes()) {
            Ok(Some(b)) => match serde_json::from_slice(&b) {
                Ok(r) => r,
                Err(e) => return Response::Error(format!("join record of node {from}: {e}")),
            },
            Ok(None) if self.members().contains_key(&from) => {
                // Already joined (a restart): nothing to do.
                return Response::Join(from);
            }
            Ok(None) => {
                return Response::Error(format!(
                    "node {from} has no pending join (used, or never issued)"
                ));
            }
            Err(e) => return Response::Error(e.to_string()),
        };
        if !bundle::token_matches(token, &record.token_hash) {
            return Response::Error(format!("the join token of node {from} does not match"));
        }
        let member = Member {
            addr: record.addr.clone(),
            name: record.name.clone(),
        };
        if let Err(e) = self.raft.add_learner(from, member, true).await {
            return Response::Error(format!("node {from} could not be added as a learner: {e}"));
        }
        let mut c = Command::default();
        c.delete(Cf::Meta, key.into_bytes());
        if let Err(e) = self.propose(Proposal::Write(Arc::new(c))).await {
            return Response::Error(format!(
                "the join of node {from} could not be recorded: {e}"
            ));
        }
        info!(node = from, name = %record.name, "node joined as a learner");
        self.promote_learners().await;
        Response::Join(from)
    }

    /// Makes learners voters when that leaves an odd number of voters.
    async fn promote_learners(&self) {
        let members = self.members();
        let voters = self.voters();
        let learners: BTreeSet<u64> = members
            .keys()
            .filter(|id| !voters.contains(id))
            .copied()
            .collect();
        if learners.is_empty() || (voters.len() + learners.len()).is_multiple_of(2) {
            return;
        }
        match self
            .raft
            .change_membership(ChangeMembers::AddVoterIds(learners.clone()), true)
            .await
        {
            Ok(_) => info!(?learners, "learners are now voters"),
            Err(e) => warn!(error = %e, "learners could not be made voters"),
        }
    }

    /// Removes a node from the cluster (its id is never given again).
    pub(crate) async fn remove(&self, id: u64) -> Result<(), String> {
        let voters = self.voters();
        if voters.contains(&id) {
            let mut remove = BTreeSet::new();
            remove.insert(id);
            self.raft
                .change_membership(ChangeMembers::RemoveVoters(remove.clone()), false)
                .await
                .map_err(|e| e.to_string())?;
            self.raft
                .change_membership(ChangeMembers::RemoveNodes(remove), false)
                .await
                .map_err(|e| e.to_string())?;
        } else if self.members().contains_key(&id) {
            let mut remove = BTreeSet::new();
            remove.insert(id);
            self.raft
                .change_membership(ChangeMembers::RemoveNodes(remove), false)
                .await
                .map_err(|e| e.to_string())?;
        } else {
            return Err(format!("node {id} is not a member"));
        }
        Ok(())
    }

    /// Asks the members of `bundle` to let this node join, until one does.
    pub(crate) async fn join(self: Arc<Self>, seeds: Vec<String>, token: String) {
        for attempt in 0..600u32 {
            if self.shutdown.is_cancelled() {
                return;
            }
            for seed in &seeds {
                let Some((id, addr)) = seed
                    .split_once('@')
                    .and_then(|(i, a)| Some((i.parse::<u64>().ok()?, a)))
                else {
                    warn!(seed = %seed, "a seed of the join bundle is not ID@ADDR");
                    continue;
                };
                match self
                    .network
                    .call(
                        id,
                        addr,
                        Request::Join {
                            token: token.clone(),
                        },
                        Duration::from_secs(120),
                    )
                    .await
                {
                    Ok(Response::Join(id)) => {
                        info!(node = id, "joined the cluster");
                        return;
                    }
                    Ok(Response::NotLeader {
                        leader: Some((leader, leader_addr)),
                    }) => {
                        if let Ok(Response::Join(id)) = self
                            .network
                            .call(
                                leader,
                                &leader_addr,
                                Request::Join {
                                    token: token.clone(),
                                },
                                Duration::from_secs(120),
                            )
                            .await
                        {
                            info!(node = id, "joined the cluster");
                            return;
                        }
                    }
                    Ok(Response::Error(e)) => warn!(seed = %addr, error = %e, "join refused"),
                    Ok(_) => {}
                    Err(e) => warn!(seed = %addr, error = %e, attempt, "join: seed not reachable"),
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    fn not_leader(&self) -> Response {
        let leader = self.with_metrics(|m| m.current_leader);
        Response::NotLeader {
            leader: leader.and_then(|l| self.members().get(&l).map(|m| (l, m.addr.clone()))),
        }
    }

    pub(crate) fn status(&self) -> Status {
        let m = self.metrics();
        let voters: BTreeSet<u64> = m.membership_config.membership().voter_ids().collect();
        let applied = m.last_applied.map_or(0, |l| l.index());
        let leader_matched: BTreeMap<u64, u64> = m
            .replication
            .as_ref()
            .map(|r| {
                r.iter()
                    .map(|(id, l)| (*id, l.map_or(0, |l| l.index())))
                    .collect()
            })
            .unwrap_or_default();
        let fresh = Duration::from_millis(self.config.election_timeout_ms * 2);
        let members = self
            .members()
            .into_iter()
            .map(|(id, n)| MemberStatus {
                id,
                name: n.name,
                addr: n.addr,
                role: if Some(id) == m.current_leader {
                    "leader"
                } else if voters.contains(&id) {
                    "voter"
                } else {
                    "learner"
                }
                .to_owned(),
                matched: if id == self.id {
                    Some(applied)
                } else {
                    leader_matched.get(&id).copied()
                },
                lag: leader_matched
                    .get(&id)
                    .map(|x| m.last_log_index.unwrap_or(0).saturating_sub(*x)),
                reachable: if id == self.id {
                    Some(true)
                } else {
                    m.heartbeat.as_ref().map(|hb| {
                        hb.get(&id)
                            .and_then(|t| t.as_ref())
                            .is_some_and(|t| t.elapsed() < fresh)
                    })
                },
            })
            .collect();
        let (reach, need, _) = self.reach();
        Status {
            node_id: self.id,
            leader: m.current_leader,
            term: m.current_term,
            state: format!("{:?}", m.state),
            commit_index: m.cluster_committed.map_or(0, |l| l.index()),
            applied_index: applied,
            last_log_index: m.last_log_index.unwrap_or(0),
            quorum: self.has_quorum(),
            reach,
            need,
            members,
            snapshot_index: m.snapshot.map_or(0, |l| l.index()),
        }
    }
}

/// Refuses a write too big to be replicated (see [`transport::frame::MAX_ENTRY`])
/// before anything is proposed; otherwise its length in the log, which
/// the group weighs it by.
fn check_size(p: &Proposal) -> Result<usize, SubmitError> {
    let max = transport::frame::MAX_ENTRY;
    let len = transport::frame::encoded_len(p).map_err(|e| SubmitError::Refused(e.to_string()))?;
    if len > max {
        return Err(SubmitError::Refused(format!(
            "the write is {len} bytes once encoded and the cluster replicates at most {max} bytes per write; nothing was written"
        )));
    }
    Ok(len)
}

fn outcome_index(o: &Outcome) -> u64 {
    match o {
        Outcome::Write(a) => a.index,
        _ => 0,
    }
}

fn forwarded_error(e: &str) -> SubmitError {
    if e.starts_with("no quorum") {
        SubmitError::Refused(e.to_owned())
    } else if e.contains("outcome is unknown") {
        SubmitError::Unknown(e.to_owned())
    } else {
        SubmitError::Refused(format!("the leader refused the write: {e}"))
    }
}

/// Where the cluster stands, as this node sees it (`lkm cluster status`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Status {
    pub node_id: u64,
    pub leader: Option<u64>,
    pub term: u64,
    pub state: String,
    pub commit_index: u64,
    pub applied_index: u64,
    pub last_log_index: u64,
    pub quorum: bool,
    pub reach: usize,
    pub need: usize,
    pub members: Vec<MemberStatus>,
    pub snapshot_index: u64,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct MemberStatus {
    pub id: u64,
    pub name: String,
    pub addr: String,
    pub role: String,
    /// Log index known to be on it (this node: applied; the leader: matched).
    pub matched: Option<u64>,
    pub lag: Option<u64>,
    pub reachable: Option<bool>,
}

impl RpcHandler for Node {
    async fn handle(&self, from: u64, req: Request) -> Response {
        match req {
            Request::Append(r) => match self.raft.append_entries(r).await {
                Ok(resp) => {
                    if resp.is_success()
                        && let Ok(mut t) = self.leader_contact.lock()
                    {
                        *t = Some(std::time::Instant::now());
                    }
                    Response::Append(resp)
                }
                Err(e) => Response::Error(e.to_string()),
            },
            Request::Vote(r) => match self.raft.vote(r).await {
                Ok(resp) => Response::Vote(resp),
                Err(e) => Response::Error(e.to_string()),
            },
            Request::PreVote(r) => match self.raft.pre_vote(r).await {
                Ok(resp) => Response::Vote(resp),
                Err(e) => Response::Error(e.to_string()),
            },
            Request::TransferLeader(r) => match self.raft.handle_transfer_leader(r).await {
                Ok(resp) => Response::TransferLeader(resp),
                Err(e) => Response::Error(e.to_string()),
            },
            Request::Snapshot(_) => {
                Response::Error("snapshot chunks are assembled by the transport".into())
            }
            Request::Forward(p) => {
                if !self.raft.is_leader() {
                    return self.not_leader();
                }
                if self.member_addr(from).is_none() {
                    return Response::Error(format!("node {from} is not a member"));
                }
                match self.propose(p).await {
                    Ok(o) => Response::Forward(o),
                    Err(e) => Response::Error(e.to_string()),
                }
            }
            Request::ReadIndex(policy) => {
                if !self.raft.is_leader() {
                    return self.not_leader();
                }
                let policy = match policy {
                    ReadPolicy::ReadIndex => openraft::ReadPolicy::ReadIndex,
                    ReadPolicy::Lease => openraft::ReadPolicy::LeaseRead,
                };
                match self.raft.ensure_linearizable(policy).await {
                    Ok(read) => Response::ReadIndex(read.index()),
                    Err(e) => Response::Error(format!("read not confirmed: {e}")),
                }
            }
            Request::Join { token } => self.admit(from, &token).await,
        }
    }

    async fn install_snapshot(
        &self,
        _from: u64,
        vote: Vote,
        meta: SnapshotMeta,
        snapshot: SnapshotDir,
    ) -> Response {
        let snapshot =
            openraft::alias::SnapshotOf::<super::types::Lkm, SnapshotDir> { meta, snapshot };
        match self.raft.install_full_snapshot(vote, snapshot).await {
            Ok(resp) => Response::Snapshot(Some(resp)),
            Err(e) => Response::Error(e.to_string()),
        }
    }
}

/// The key store's [`crate::store::Applier`]: commands go through the log.
pub(crate) struct ClusterApplier {
    pub(crate) node: Arc<Node>,
}

impl crate::store::Applier for ClusterApplier {
    fn submit(&self, command: Command) -> Result<Applied, SubmitError> {
        match self
            .node
            .propose_blocking(Proposal::Write(Arc::new(command)))?
        {
            Outcome::Write(a) => Ok(a),
            other => Err(SubmitError::Unknown(format!(
                "unexpected answer to a write: {other:?}"
            ))),
        }
    }

    fn catch_up(&self) -> Result<(), SubmitError> {
        self.node.fence_blocking().map(|_| ())
    }

    fn fence(&self) -> crate::store::Fence {
        let node = self.node.clone();
        Box::pin(async move { node.fence().await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write over what one frame carries is refused before it is
    /// proposed, saying why; one just under goes.
    #[test]
    fn a_write_too_big_to_replicate_is_refused_up_front() {
        let write = |bytes: usize| {
            let mut c = Command::default();
            c.put(Cf::Objects, "uid-1", vec![1u8; bytes]);
            Proposal::Write(Arc::new(c))
        };
        let max = transport::frame::MAX_ENTRY;
        let e = check_size(&write(max)).unwrap_err();
        assert!(
            matches!(&e, SubmitError::Refused(m) if m.contains("nothing was written")),
            "{e}"
        );
        assert!(check_size(&write(max - 1024)).is_ok());
    }
}

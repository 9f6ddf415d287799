//! A local cluster of real `lkm serve` processes, bootstrapped the way
//! `scripts/dev-cluster` does it, with a fault proxy in front of every
//! node's cluster port; and a write load whose clients record a history.
//!
//! Node I (1-based) has DIR/nodeI/lkm.toml and binds every port on an
//! address of its own, 127.0.0.(10+I): KMIP, metrics and the peer
//! listener (it dials peers from there too, so the proxy knows it). No
//! client or proxy socket has a port there, so a port a stopped node
//! freed is still free when it restarts. It advertises its proxy's
//! address. (The server certificate names localhost, which clients check.) Its output goes to DIR/nodeI/node.log; when a test fails, the
//! last lines of every log are printed and DIR is kept.
//!
//! Every wait is bounded in time; every child is killed on drop. Cluster
//! tests run one at a time (a process-wide lock): three nodes and their
//! clients already fill this 2-core machine.
#![allow(dead_code)]

use crate::common::{self, Running};
use crate::history::{self, History, NodeView, Outcome};
use crate::proxy::{Proxies, node_ip};
use lkm::client::{Client, ClientError};
use lkm::kmip::ProtocolVersion;
use rustls::ClientConfig;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

/// Time for a node to answer /readyz 200 after it is started.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Time for an `lkm` command (init, add-node, status) to finish.
const CLI_TIMEOUT: Duration = Duration::from_secs(30);
/// Time for a node to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// Time for a client to connect and finish its TLS handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for the nodes' views to agree once the load has stopped.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(30);
/// Time to wait for the test before this one to release the cluster lock.
const SERIAL_TIMEOUT: Duration = Duration::from_secs(600);
/// Lines of each node's log shown when a test fails.
const LOG_TAIL_LINES: usize = 60;

/// How the cluster is configured.
#[derive(Clone, Debug)]
pub struct Options {
    pub nodes: usize,
    pub heartbeat_ms: u64,
    pub election_timeout_ms: u64,
    /// "read-index" or "lease".
    pub read_policy: &'static str,
    pub degraded_reads: bool,
    /// Log entries between snapshots [the server's default when None].
    pub snapshot_every: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            nodes: 3,
            heartbeat_ms: 100,
            election_timeout_ms: 600,
            read_policy: "read-index",
            degraded_reads: true,
            snapshot_every: None,
        }
    }
}

struct Node {
    dir: PathBuf,
    config: PathBuf,
    kmip: SocketAddr,
    metrics: SocketAddr,
    /// The node's own cluster listener (behind its proxy).
    cluster_listen: SocketAddr,
    process: Option<Running>,
}

/// What `lkm cluster status --json` prints.
#[derive(Clone, Debug, Deserialize)]
pub struct Status {
    #[serde(default)]
    pub leader: Option<serde_json::Value>,
    #[serde(default)]
    pub term: u64,
    #[serde(default)]
    pub members: Vec<Member>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Member {
    #[serde(default)]
    pub id: serde_json::Value,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub addr: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub applied: Option<u64>,
    #[serde(default)]
    pub lag: Option<u64>,
    #[serde(default)]
    pub reachable: Option<bool>,
}

/// A JSON id (number, string, or an object with an "id") as text.
fn id_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("id").and_then(id_text),
        _ => None,
    }
}

impl Status {
    /// Members that vote (everyone but learners).
    pub fn voters(&self) -> usize {
        self.members
            .iter()
            .filter(|m| !m.role.to_lowercase().contains("learner"))
            .count()
    }

    pub fn leader_member(&self) -> Option<&Member> {
        let leader = id_text(self.leader.as_ref()?)?;
        self.members
            .iter()
            .find(|m| id_text(&m.id).as_deref() == Some(leader.as_str()) || m.name == leader)
    }
}

/// Where node `i`'s clients connect, and with what.
#[derive(Clone)]
pub struct Connector {
    pub node: usize,
    pub addr: SocketAddr,
    tls: Arc<ClientConfig>,
}

impl Connector {
    /// Node `node`'s KMIP address, and the client TLS setup to reach it.
    pub fn new(node: usize, addr: SocketAddr, tls: Arc<ClientConfig>) -> Self {
        Self { node, addr, tls }
    }

    pub async fn connect(&self) -> Result<Client, ClientError> {
        match tokio::time::timeout(
            CONNECT_TIMEOUT,
            Client::connect(
                &self.addr.to_string(),
                "localhost",
                self.tls.clone(),
                ProtocolVersion::new(2, 1),
            ),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(ClientError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connect timed out",
            ))),
        }
    }
}

pub struct Cluster {
    dir: Option<TempDir>,
    root: PathBuf,
    nodes: Vec<Node>,
    pub proxies: Proxies,
    tls: Arc<ClientConfig>,
    _serial: tokio::sync::OwnedMutexGuard<()>,
}

fn serial() -> Arc<tokio::sync::Mutex<()>> {
    static LOCK: OnceLock<Arc<tokio::sync::Mutex<()>>> = OnceLock::new();
    LOCK.get_or_init(Default::default).clone()
}

/// A free port on `ip` (free now; the node binds it a moment later).
fn free_port_on(ip: IpAddr) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on {ip}: {e}"))
}

/// A TOML string holding `p`.
fn toml_str(p: impl AsRef<Path>) -> String {
    toml::Value::String(p.as_ref().display().to_string()).to_string()
}

/// Runs `lkm ARGS` to its end (bounded), its output in a file under
/// `scratch`; whether it succeeded, and what it printed.
pub fn lkm_bounded(scratch: &Path, args: &[OsString], timeout: Duration) -> (bool, String) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let out_path = scratch.join(format!("cli-{}.out", N.fetch_add(1, Ordering::Relaxed)));
    let out = std::fs::File::create(&out_path).expect("create CLI output file");
    let err = out.try_clone().expect("clone CLI output file");
    let mut child = Command::new(common::lkm_binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn lkm");
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if start.elapsed() < timeout => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let mut text = String::new();
    let _ = std::fs::File::open(&out_path).and_then(|mut f| f.read_to_string(&mut text));
    let _ = std::fs::remove_file(&out_path);
    match status {
        Some(s) => (s.success(), text),
        None => (
            false,
            format!("timed out after {timeout:?}; printed: {text}"),
        ),
    }
}

/// `lkm_bounded` off the async threads; panics unless it succeeds.
async fn lkm_ok(scratch: &Path, args: Vec<OsString>) -> String {
    let scratch = scratch.to_owned();
    let shown = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let (ok, out) = tokio::task::spawn_blocking(move || lkm_bounded(&scratch, &args, CLI_TIMEOUT))
        .await
        .expect("CLI task");
    assert!(ok, "lkm {shown} failed:\n{out}");
    out
}

fn os(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    args.iter().map(|a| a.as_ref().to_owned()).collect()
}

/// GET `path` over plain HTTP; the status code, or None when there is no
/// answer within a second.
pub async fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let fetch = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: lkm\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .ok()?;
        let mut raw = Vec::new();
        s.take(4 << 20).read_to_end(&mut raw).await.ok()?;
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let code = raw.split_whitespace().nth(1)?.parse().ok()?;
        let body = raw
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Some((code, body))
    };
    tokio::time::timeout(Duration::from_secs(1), fetch)
        .await
        .ok()
        .flatten()
}

/// The last `n` lines of a file.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Cluster {
    pub async fn start(n: usize) -> Cluster {
        Self::start_with(Options {
            nodes: n,
            ..Options::default()
        })
        .await
    }

    /// Makes the PKI and the configs, initializes node 1, then adds the
    /// others one by one; returns when all are ready and voting.
    pub async fn start_with(opts: Options) -> Cluster {
        let serial = tokio::time::timeout(SERIAL_TIMEOUT, serial().lock_owned())
            .await
            .expect("the previous cluster test never let go");
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_owned();
        let certs = root.join("certs");
        lkm_ok(
            &root,
            os(&[&"certs", &"init", &"--dir", &certs.as_os_str()]),
        )
        .await;
        let tls = lkm::server::tls::client_config(
            &certs.join("ca.crt"),
            &certs.join("client.crt"),
            &certs.join("client.key"),
        )
        .expect("client TLS config");

        let mut nodes = Vec::new();
        for i in 1..=opts.nodes {
            let dir = root.join(format!("node{i}"));
            std::fs::create_dir_all(&dir).expect("node dir");
            let ip = IpAddr::V4(node_ip(i));
            nodes.push(Node {
                config: dir.join("lkm.toml"),
                dir,
                kmip: SocketAddr::new(ip, free_port_on(ip)),
                metrics: SocketAddr::new(ip, free_port_on(ip)),
                cluster_listen: SocketAddr::new(ip, free_port_on(ip)),
                process: None,
            });
        }
        let targets: Vec<SocketAddr> = nodes.iter().map(|n| n.cluster_listen).collect();
        let proxies = Proxies::start(&targets).await.expect("start the proxies");
        let share = root.join("dev-unseal-share.json");
        for (i, node) in nodes.iter().enumerate() {
            let i = i + 1;
            let toml = config_toml(&opts, &root, node, &share, proxies.addr(i), i);
            std::fs::write(&node.config, toml).expect("write lkm.toml");
        }
        let mut cluster = Cluster {
            dir: Some(dir),
            root: root.clone(),
            nodes,
            proxies,
            tls,
            _serial: serial,
        };

        let config1 = cluster.nodes[0].config.clone();
        lkm_ok(
            &root,
            os(&[&"cluster", &"init", &"--config", &config1.as_os_str()]),
        )
        .await;
        let shares = root.join("shares");
        lkm_ok(
            &root,
            os(&[
                &"init",
                &"--config",
                &config1.as_os_str(),
                &"--shares",
                &"1",
                &"--threshold",
                &"1",
                &"--share-out",
                &shares.as_os_str(),
            ]),
        )
        .await;
        let written: Vec<PathBuf> = std::fs::read_dir(&shares)
            .expect("the share folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        assert_eq!(written.len(), 1, "one share file: {written:?}");
        std::fs::copy(&written[0], &share).expect("copy the share");

        cluster.restart(1);
        cluster.wait_ready(1).await;
        for i in 2..=opts.nodes {
            let bundle = cluster.nodes[i - 1].dir.join("join.bundle");
            let addr = cluster.proxies.addr(i).to_string();
            lkm_ok(
                &root,
                os(&[
                    &"cluster",
                    &"add-node",
                    &format!("node{i}"),
                    &"--addr",
                    &addr,
                    &"--config",
                    &config1.as_os_str(),
                    &"--out",
                    &bundle.as_os_str(),
                ]),
            )
            .await;
            cluster.restart(i);
            cluster.wait_ready(i).await;
        }
        cluster.wait_voters(opts.nodes, READY_TIMEOUT).await;
        cluster
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn dir(&self) -> &Path {
        &self.root
    }

    pub fn kmip_addr(&self, i: usize) -> SocketAddr {
        self.nodes[i - 1].kmip
    }

    pub fn metrics_addr(&self, i: usize) -> SocketAddr {
        self.nodes[i - 1].metrics
    }

    pub fn config_path(&self, i: usize) -> &Path {
        &self.nodes[i - 1].config
    }

    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i - 1].process.is_some()
    }

    /// The nodes whose process runs.
    pub fn running(&self) -> Vec<usize> {
        (1..=self.len()).filter(|&i| self.is_running(i)).collect()
    }

    /// Starts node `i` (`lkm serve --config`, as an operator restarts it).
    pub fn restart(&mut self, i: usize) {
        let node = &mut self.nodes[i - 1];
        assert!(node.process.is_none(), "node {i} is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.dir.join("node.log"))
            .expect("open the node's log");
        let log2 = log.try_clone().expect("clone the log handle");
        let child = Command::new(common::lkm_binary())
            .arg("serve")
            .arg("--config")
            .arg(&node.config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .expect("spawn lkm serve");
        node.process = Some(Running(child));
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill9(&mut self, i: usize) {
        let mut p = self.nodes[i - 1]
            .process
            .take()
            .unwrap_or_else(|| panic!("node {i} is not running"));
        let _ = p.0.kill();
        let _ = p.0.wait();
    }

    /// SIGTERM, and waits (bounded) for the process to exit.
    pub async fn stop(&mut self, i: usize) {
        let mut p = self.nodes[i - 1]
            .process
            .take()
            .unwrap_or_else(|| panic!("node {i} is not running"));
        let pid = p.0.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(sent, "could not send SIGTERM to node {i}");
        let start = Instant::now();
        while start.elapsed() < STOP_TIMEOUT {
            if let Ok(Some(_)) = p.0.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(p);
        panic!("node {i} did not exit within {STOP_TIMEOUT:?} of SIGTERM");
    }

    /// /readyz of node `i`: 200 when it serves.
    pub async fn ready(&self, i: usize) -> bool {
        matches!(
            http_get(self.nodes[i - 1].metrics, "/readyz").await,
            Some((200, _))
        )
    }

    /// Waits until node `i` is ready; panics (with its log) after
    /// `READY_TIMEOUT` or if its process exits.
    pub async fn wait_ready(&mut self, i: usize) {
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() < READY_TIMEOUT {
            if let Some(p) = self.nodes[i - 1].process.as_mut()
                && let Ok(Some(status)) = p.0.try_wait()
            {
                self.nodes[i - 1].process = None;
                panic!("node {i} exited ({status}) before it was ready");
            }
            assert!(self.is_running(i), "node {i} is not running");
            last = http_get(self.nodes[i - 1].metrics, "/readyz").await;
            if matches!(last, Some((200, _))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("node {i} not ready within {READY_TIMEOUT:?}; last /readyz: {last:?}");
    }

    /// `lkm cluster status --json` against node `i`.
    pub async fn status(&self, i: usize) -> Result<Status, String> {
        let scratch = self.root.clone();
        let args = os(&[
            &"cluster",
            &"status",
            &"--config",
            &self.nodes[i - 1].config.as_os_str(),
            &"--json",
        ]);
        let (ok, out) =
            tokio::task::spawn_blocking(move || lkm_bounded(&scratch, &args, CLI_TIMEOUT))
                .await
                .map_err(|e| e.to_string())?;
        if !ok {
            return Err(out);
        }
        // The JSON object, whatever may be logged around it.
        let start = out.find('{').ok_or_else(|| format!("no JSON in: {out}"))?;
        let end = out.rfind('}').ok_or_else(|| format!("no JSON in: {out}"))?;
        serde_json::from_str(&out[start..=end]).map_err(|e| format!("{e}: {out}"))
    }

    /// The node a status names as leader, found by its advertised
    /// address, else its name "nodeI".
    fn node_of(&self, m: &Member) -> Option<usize> {
        (1..=self.len())
            .find(|&i| m.addr == self.proxies.addr(i).to_string())
            .or_else(|| m.name.strip_prefix("node")?.parse().ok())
            .filter(|i| (1..=self.len()).contains(i))
    }

    /// The leader as a running node of `among` sees it.
    pub async fn leader_among(&self, among: &[usize]) -> Option<usize> {
        for &i in among {
            if !self.is_running(i) {
                continue;
            }
            if let Ok(s) = self.status(i).await
                && let Some(n) = s.leader_member().and_then(|m| self.node_of(m))
            {
                return Some(n);
            }
        }
        None
    }

    /// Waits (bounded) until a node of `among` names a leader that is
    /// itself one of `among`.
    pub async fn wait_leader_among(&self, among: &[usize], timeout: Duration) -> usize {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(l) = self.leader_among(among).await
                && among.contains(&l)
            {
                return l;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no leader among nodes {among:?} within {timeout:?}");
    }

    pub async fn wait_leader(&self, timeout: Duration) -> usize {
        self.wait_leader_among(&self.running(), timeout).await
    }

    /// Waits (bounded) until node 1..n's statuses count `n` voters.
    pub async fn wait_voters(&self, n: usize, timeout: Duration) {
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() < timeout {
            for i in self.running() {
                match self.status(i).await {
                    Ok(s) if s.voters() == n && s.leader_member().is_some() => return,
                    other => last = Some(other),
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("the cluster never counted {n} voters within {timeout:?}; last status: {last:?}");
    }

    pub fn connector(&self, i: usize) -> Connector {
        Connector {
            node: i,
            addr: self.nodes[i - 1].kmip,
            tls: self.tls.clone(),
        }
    }

    pub fn connectors(&self, nodes: &[usize]) -> Vec<Connector> {
        nodes.iter().map(|&i| self.connector(i)).collect()
    }

    pub async fn try_client(&self, i: usize) -> Result<Client, ClientError> {
        self.connector(i).connect().await
    }

    /// A KMIP 2.1 client of node `i` (the test client certificate).
    pub async fn client(&self, i: usize) -> Client {
        self.try_client(i)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to node {i}: {e}"))
    }

    /// The value of a metric (summed over its label sets) on node `i`.
    pub async fn metric(&self, i: usize, name: &str) -> Option<f64> {
        let (code, body) = http_get(self.nodes[i - 1].metrics, "/metrics").await?;
        if code != 200 {
            return None;
        }
        let mut found = None;
        for line in body.lines().filter(|l| !l.starts_with('#')) {
            let Some((key, value)) = line.rsplit_once(' ') else {
                continue;
            };
            if key == name || key.starts_with(&format!("{name}{{")) {
                *found.get_or_insert(0.0) += value.parse::<f64>().unwrap_or(0.0);
            }
        }
        found
    }

    /// What each of `nodes` holds (see `history::view_of`), read again
    /// (bounded) until they agree; the last reading.
    pub async fn views(&self, nodes: &[usize], history: &History) -> Vec<(usize, NodeView)> {
        let uids: BTreeSet<String> = history.uids();
        let start = Instant::now();
        loop {
            let mut views = Vec::new();
            let mut errors = Vec::new();
            for &i in nodes {
                match self.try_client(i).await {
                    Ok(mut c) => match history::view_of(&mut c, &uids).await {
                        Ok(v) => views.push((i, v)),
                        Err(e) => errors.push(format!("node {i}: {e}")),
                    },
                    Err(e) => errors.push(format!("node {i}: {e}")),
                }
            }
            let agree = errors.is_empty() && views.windows(2).all(|w| w[0].1 == w[1].1);
            if agree || start.elapsed() > CONVERGE_TIMEOUT {
                assert!(errors.is_empty(), "could not read the nodes: {errors:?}");
                return views;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Checks `history` against what `nodes` hold once they converged.
    pub async fn check(&self, nodes: &[usize], history: &History) {
        let views = self.views(nodes, history).await;
        history::assert_consistent(&history.events(), &views);
    }
}

/// Node `i`'s lkm.toml, as the contract with `lkm serve` has it.
fn config_toml(
    opts: &Options,
    root: &Path,
    node: &Node,
    share: &Path,
    advertise: SocketAddr,
    i: usize,
) -> String {
    let certs = root.join("certs");
    let mut t = format!(
        "data_dir = {data}\n\
         listen = \"{kmip}\"\n\
         metrics_listen = \"{metrics}\"\n\
         \n\
         [tls]\n\
         ca_cert = {ca}\n\
         server_cert = {crt}\n\
         server_key = {key}\n\
         \n\
         [seal]\n\
         share_files = [{share}]\n\
         \n\
         [audit]\n\
         \n\
         [limits]\n\
         audited_items_per_s = 0\n\
         shutdown_grace_ms = 2000\n\
         \n\
         [cluster]\n\
         listen = \"{listen}\"\n\
         advertise = \"{advertise}\"\n\
         heartbeat_ms = {hb}\n\
         election_timeout_ms = {et}\n\
         degraded_reads = {dr}\n\
         read_policy = \"{rp}\"\n",
        data = toml_str(node.dir.join("data")),
        kmip = node.kmip,
        metrics = node.metrics,
        ca = toml_str(certs.join("ca.crt")),
        crt = toml_str(certs.join("server.crt")),
        key = toml_str(certs.join("server.key")),
        share = toml_str(share),
        listen = node.cluster_listen,
        hb = opts.heartbeat_ms,
        et = opts.election_timeout_ms,
        dr = opts.degraded_reads,
        rp = opts.read_policy,
    );
    if i > 1 {
        t.push_str(&format!(
            "join = {}\n",
            toml_str(node.dir.join("join.bundle"))
        ));
    }
    if let Some(s) = opts.snapshot_every {
        t.push_str(&format!("snapshot_every = {s}\n"));
    }
    t
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            // Running kills and reaps on drop.
            node.process = None;
        }
        if std::thread::panicking() || std::env::var_os("LKM_KEEP_CLUSTER").is_some() {
            for (i, node) in self.nodes.iter().enumerate() {
                eprintln!(
                    "---- node{} log (last {LOG_TAIL_LINES} lines) ----\n{}",
                    i + 1,
                    tail(&node.dir.join("node.log"), LOG_TAIL_LINES)
                );
            }
            if let Some(d) = self.dir.take() {
                eprintln!("cluster files kept in {}", d.keep().display());
            }
        }
    }
}

/// Clients writing as fast as the cluster lets them, each recording what
/// it sent and what it was told.
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
    pub history: Arc<History>,
}

/// Longest a load may run, whatever the test does.
const LOAD_MAX: Duration = Duration::from_secs(120);
/// Most operations one load client sends.
const LOAD_MAX_OPS: usize = 50_000;

impl Load {
    /// `clients` writers spread over the nodes of `connectors`; each Registers known bytes
    /// and, when `destroy_every` > 0, destroys every such acknowledged
    /// object of its own. A writer that is refused or cut off moves on to
    /// the next node, as a client with several servers does.
    pub fn start(
        connectors: Vec<Connector>,
        clients: usize,
        destroy_every: usize,
        history: Arc<History>,
    ) -> Load {
        assert!(!connectors.is_empty(), "a load needs a node to write to");
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..clients)
            .map(|id| {
                tokio::spawn(writer(
                    id,
                    connectors.clone(),
                    destroy_every,
                    history.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        Load {
            stop,
            tasks,
            history,
        }
    }

    /// Waits (bounded) until `more` writes beyond `since` are acknowledged;
    /// how long it took, or None.
    pub async fn wait_acked(
        &self,
        since: usize,
        more: usize,
        timeout: Duration,
    ) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.history.acked_writes() >= since + more {
                return Some(start.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// Stops every writer (each finishes the request it is in).
    pub async fn stop(self) -> Arc<History> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            // A request is bounded by CALL_TIMEOUT, a connect by CONNECT_TIMEOUT.
            let waited = tokio::time::timeout(Duration::from_secs(30), t).await;
            assert!(waited.is_ok(), "a load client did not stop");
        }
        self.history
    }
}

async fn writer(
    id: usize,
    nodes: Vec<Connector>,
    destroy_every: usize,
    history: Arc<History>,
    stop: Arc<AtomicBool>,
) {
    let start = Instant::now();
    let mut at = id % nodes.len();
    let mut conn: Option<Client> = None;
    let mut acked = 0usize;
    let mut ops = 0usize;
    while !stop.load(Ordering::Relaxed) && start.elapsed() < LOAD_MAX && ops < LOAD_MAX_OPS {
        let node = nodes[at].node;
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match nodes[at].connect().await {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    at = (at + 1) % nodes.len();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        ops += 1;
        let (mut outcome, uid) = history.register(id, node, c, history::random_bytes()).await;
        if let (Outcome::Acknowledged, Some(uid)) = (&outcome, uid) {
            acked += 1;
            if destroy_every > 0 && acked.is_multiple_of(destroy_every) {
                ops += 1;
                outcome = history.destroy(id, node, c, &uid).await;
            }
        }
        if outcome != Outcome::Acknowledged {
            // Refused or cut off: try the next node after a breath.
            conn = None;
            at = (at + 1) % nodes.len();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

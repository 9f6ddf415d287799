//! The KMIP listener: TCP accept with a connection limit, the TLS handshake
//! under a deadline, then one task per connection. Shutdown stops
//! accepting, lets in-flight requests finish, and waits (up to a grace
//! period) for every connection task.

mod admission;
mod budget;
mod collapse;
mod connection;
pub mod handler;
mod rate;
mod throttled_log;
pub mod tls;
mod workers;

use crate::auth::{Identity, IdentitySource};
use crate::config::Config;
use crate::keystore::KeyStore;
use crate::ops::ServerInfo;
use handler::Handler;
use std::net::SocketAddr;
use std::sync::Arc;
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

#[derive(Debug, Error)]
pub enum ServerError {
    #[error(transparent)]
    Tls(#[from] tls::TlsSetupError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("metrics: {0}")]
    Metrics(String),
    #[error("cannot start the connection threads: {source}")]
    Threads { source: std::io::Error },
    #[error("admin socket {path}: {source}")]
    Admin {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Moves records to the newest KEK after a rotation, a batch at a time, in
/// the background; resumes after restarts (the cursor is in the store).
async fn rewrap_loop(keystore: Arc<KeyStore>, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        let ks = keystore.clone();
        let pending = ks
            .keyring()
            .map(|k| k.versions().len() > 1)
            .unwrap_or(false);
        if pending {
            match tokio::task::spawn_blocking(move || ks.rewrap_step(256)).await {
                Ok(Ok(p)) if !p.done && p.moved > 0 => continue,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => warn!(error = %e, "re-wrap step failed"),
                Err(e) => warn!(error = %e, "re-wrap task failed"),
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
        }
    }
}

/// Writes the audit entries of reads within about a millisecond of the
/// first one waiting, so a burst of reads costs one write, not one each.
async fn audit_flush_loop(keystore: Arc<KeyStore>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = keystore.audit_pending().notified() => {}
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        // It may wait for a durable write in flight: off the async workers.
        let ks = keystore.clone();
        match tokio::task::spawn_blocking(move || ks.flush_audit()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(error = %e, "audit entries of reads could not be written"),
            Err(e) => warn!(error = %e, "audit flush task failed"),
        }
    }
}

/// Runs `job` off the async workers once a second until shutdown: the
/// housekeeping that needs no trigger but the clock (pending shares that
/// expired, failure bursts whose window closed).
async fn every_second(
    shutdown: CancellationToken,
    what: &'static str,
    job: impl Fn() + Send + Sync + 'static,
) {
    let job = Arc::new(job);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
        let job = job.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || job()).await {
            warn!(error = %e, task = what, "background task failed");
        }
    }
}

/// Applies the audit retention policy now and then (and once at start).
async fn prune_loop(
    keystore: Arc<KeyStore>,
    retention: crate::audit::Retention,
    shutdown: CancellationToken,
) {
    let every = std::time::Duration::from_secs(retention.prune_interval_s.max(1));
    while !shutdown.is_cancelled() {
        let ks = keystore.clone();
        let policy = retention.clone();
        match tokio::task::spawn_blocking(move || ks.prune_audit(&policy, crate::audit::now_ms()))
            .await
        {
            Ok(Ok(p)) if p.removed == 0 => {}
            // Pruning by size is also logged as an error by the store.
            Ok(Ok(p)) => info!(
                entries = p.removed,
                by_size = p.by_size,
                "audit entries pruned under the retention policy"
            ),
            Ok(Err(e)) => warn!(error = %e, "audit pruning failed"),
            Err(e) => warn!(error = %e, "audit pruning task failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// After a Destroy, drops the object's older record versions (which hold
/// its key material, sealed) from the store's files: half a second after
/// the first one is queued, so a burst of Destroys costs one pass, and off
/// the request path. A pass costs more the larger the store (compactions
/// rewrite whole files), so after each one the loop rests nine times as
/// long as it took: erasing takes at most about a tenth of the time,
/// however busy. What is still queued at shutdown is done then.
async fn erase_loop(keystore: Arc<KeyStore>, shutdown: CancellationToken) {
    loop {
        let stopping = tokio::select! {
            _ = shutdown.cancelled() => true,
            _ = keystore.store().erase_pending.notified() => false,
        };
        if !stopping {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        let started = std::time::Instant::now();
        let ks = keystore.clone();
        match tokio::task::spawn_blocking(move || ks.store().erase_old_versions()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => debug!(objects = n, "older record versions compacted away"),
            Ok(Err(e)) => warn!(error = %e, "older record versions could not be compacted away"),
            Err(e) => warn!(error = %e, "compaction task failed"),
        }
        if stopping {
            break;
        }
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(started.elapsed() * 9) => {}
        }
    }
}

/// A running server. Dropping the handle does not stop it; call
/// [`ServerHandle::shutdown`] and then [`ServerHandle::wait`].
pub struct ServerHandle {
    pub local_addr: SocketAddr,
    /// Where /metrics, /healthz and /readyz are served.
    pub metrics_addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// Stops accepting; open connections close once their request is answered.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Waits until the accept loop and every connection have finished.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Binds the listener and the admin socket and starts serving in the
/// background, with the key store as it is (sealed or not).
pub async fn start(config: &Config, keystore: Arc<KeyStore>) -> Result<ServerHandle, ServerError> {
    start_with_cluster(config, keystore, None).await
}

/// [`start`], reporting on the cluster `node` in the metrics and /readyz.
pub(crate) async fn start_with_cluster(
    config: &Config,
    keystore: Arc<KeyStore>,
    node: Option<Arc<crate::cluster::node::Node>>,
) -> Result<ServerHandle, ServerError> {
    config.validate()?;
    let acceptor = TlsAcceptor::from(tls::server_config(&config.tls)?);
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    let shutdown = CancellationToken::new();
    let admin_path = config.admin_socket_path();
    let cluster_admin = node.clone().map(|node| {
        Arc::new(crate::admin::ClusterAdmin {
            node,
            dir: config.cluster_dir(),
        })
    });
    crate::admin::serve(
        &admin_path,
        keystore.clone(),
        cluster_admin,
        shutdown.clone(),
    )
    .map_err(|source| ServerError::Admin {
        path: admin_path.clone(),
        source,
    })?;
    keystore.set_pending_share_timeout(config.seal.pending_share_timeout());
    // Shares given to a sealed store are dropped once they have waited
    // longer than seal.pending_share_timeout_s for the rest.
    let ks = keystore.clone();
    tokio::spawn(every_second(
        shutdown.clone(),
        "pending share check",
        move || {
            ks.drop_expired_shares(std::time::Instant::now());
        },
    ));
    // While unsealed, an anchor vouches each second for the entries
    // written since the last one (nothing is written when none were).
    let ks = keystore.clone();
    tokio::spawn(every_second(shutdown.clone(), "audit anchor", move || {
        if ks.status().sealed {
            return;
        }
        if let Err(e) = ks.anchor_audit() {
            warn!(error = %e, "the audit log could not be anchored");
        }
    }));
    tokio::spawn(rewrap_loop(keystore.clone(), shutdown.clone()));
    tokio::spawn(audit_flush_loop(keystore.clone(), shutdown.clone()));
    tokio::spawn(prune_loop(
        keystore.clone(),
        config.audit.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(erase_loop(keystore.clone(), shutdown.clone()));
    let metrics = Arc::new(
        crate::metrics::Metrics::new(&keystore).map_err(|e| ServerError::Metrics(e.to_string()))?,
    );
    metrics.set_audit_retention(&config.audit);
    if let Some(node) = node {
        metrics
            .set_cluster(node)
            .map_err(|e| ServerError::Metrics(e.to_string()))?;
    }
    let metrics_addr = crate::metrics::serve(
        config.metrics_listen,
        metrics.clone(),
        keystore.clone(),
        shutdown.clone(),
    )
    .await
    .map_err(|source| ServerError::Bind {
        addr: config.metrics_listen,
        source,
    })?;
    let handler = Arc::new(Handler::new(
        keystore,
        &config.limits,
        ServerInfo {
            wrapped_key_value: config.kmip.wrapped_key_value,
            ..ServerInfo::default()
        },
        config.auth.admins.clone(),
        Some(metrics),
    ));
    // Summaries of failure bursts whose window closed (the accept loop
    // writes the rest at shutdown).
    let h = handler.clone();
    tokio::spawn(every_second(
        shutdown.clone(),
        "audit summaries",
        move || h.flush_collapsed(false),
    ));
    let workers = workers::Workers::start(config.io_threads())
        .map_err(|source| ServerError::Threads { source })?;
    let task = tokio::spawn(accept_loop(
        listener,
        acceptor,
        handler,
        workers,
        Arc::new(config.limits.clone()),
        config.auth.identity,
        shutdown.clone(),
    ));
    info!(addr = %local_addr, "KMIP listener ready (mutual TLS)");
    Ok(ServerHandle {
        local_addr,
        metrics_addr,
        shutdown,
        task,
    })
}

/// Refusals and evictions are logged at most once a second each.
static EVICTION_LOG: throttled_log::ThrottledLog = throttled_log::ThrottledLog::per_second();
static REFUSAL_LOG: throttled_log::ThrottledLog = throttled_log::ThrottledLog::per_second();
static HANDSHAKE_LOG: throttled_log::ThrottledLog = throttled_log::ThrottledLog::per_second();
static IDENTITY_LOG: throttled_log::ThrottledLog = throttled_log::ThrottledLog::per_second();

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    handler: Arc<Handler>,
    workers: workers::Workers,
    limits: Arc<crate::config::LimitsConfig>,
    identity: IdentitySource,
    shutdown: CancellationToken,
) {
    // Slots are for authenticated clients only: taken once the handshake
    // is done. Connections still in their handshake have their own budget.
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let admission =
        admission::Admission::new(limits.max_handshaking, limits.max_handshaking_per_source);
    let tracker = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => r,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off briefly
                // instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let (ticket, evictions) = admission.admit(peer.ip());
        for e in &evictions {
            let cause = match e {
                admission::Eviction::PerSource => "handshake_evicted_per_source",
                admission::Eviction::Total => "handshake_evicted",
            };
            if let Some(m) = &handler.metrics {
                m.refused.with_label_values(&[cause]).inc();
            }
            if let Some(suppressed) = EVICTION_LOG.allow() {
                warn!(
                    %peer,
                    cause,
                    pending = limits.max_handshaking,
                    per_source = limits.max_handshaking_per_source,
                    suppressed,
                    "handshake budget full: dropped the oldest idle connection"
                );
            }
        }
        let _ = tcp.set_nodelay(true);
        // Handed over as a std socket: it registers with the reactor of
        // the thread that will serve it.
        let tcp = match tcp.into_std() {
            Ok(t) => t,
            Err(e) => {
                warn!(%peer, error = %e, "cannot hand the connection over");
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let handler = handler.clone();
        let limits = limits.clone();
        let shutdown = shutdown.clone();
        let slots = slots.clone();
        workers.spawn(tracker.track_future(async move {
            match TcpStream::from_std(tcp) {
                Ok(tcp) => {
                    let pending = Pending {
                        peer,
                        ticket,
                        slots,
                    };
                    serve_one(tcp, pending, acceptor, handler, &limits, identity, shutdown).await
                }
                Err(e) => warn!(%peer, error = %e, "cannot register the connection"),
            }
        }));
    }
    drop(listener);
    tracker.close();
    info!(
        open = tracker.len(),
        "shutting down: waiting for open connections"
    );
    if tokio::time::timeout(limits.shutdown_grace(), tracker.wait())
        .await
        .is_err()
    {
        warn!(
            open = tracker.len(),
            "shutdown grace period over; abandoning connections"
        );
    }
    // Abandoned connections go, and handlers they started finish, before
    // the last audit entries are written.
    if tokio::task::spawn_blocking(move || workers.stop_and_join())
        .await
        .is_err()
    {
        warn!("the connection threads could not be joined");
    }
    handler.flush_collapsed(true);
    if let Err(e) = handler.keystore.flush_audit() {
        warn!(error = %e, "audit entries of reads could not be written at shutdown");
    }
    info!("KMIP listener stopped");
}

/// A connection accepted but not yet authenticated.
struct Pending {
    peer: SocketAddr,
    ticket: admission::Ticket,
    slots: Arc<Semaphore>,
}

/// How a connection's handshake phase ended without a client to serve.
enum Unadmitted {
    Evicted,
    Silent,
    Shutdown,
}

/// Waits for the client's first byte (a short deadline: an honest client
/// sends its hello at once), then runs the handshake; either ends early if
/// the connection is evicted to make room for newer ones.
async fn handshake(
    pending: &Pending,
    acceptor: &TlsAcceptor,
    limits: &crate::config::LimitsConfig,
    shutdown: &CancellationToken,
    tcp: TcpStream,
) -> Result<Result<tokio_rustls::server::TlsStream<TcpStream>, HandshakeFailure>, Unadmitted> {
    let evicted = &pending.ticket.evicted;
    tokio::select! {
        _ = evicted.cancelled() => return Err(Unadmitted::Evicted),
        _ = shutdown.cancelled() => return Err(Unadmitted::Shutdown),
        r = tokio::time::timeout(limits.first_byte_timeout(), client_hello(&tcp)) => match r {
            Err(_) => return Err(Unadmitted::Silent),
            // A whole ClientHello record: no longer idle.
            Ok(true) => pending.ticket.spoke(),
            // Closed, or not TLS: the handshake fails at once.
            Ok(false) => {}
        }
    }
    tokio::select! {
        _ = evicted.cancelled() => Err(Unadmitted::Evicted),
        _ = shutdown.cancelled() => Err(Unadmitted::Shutdown),
        r = tokio::time::timeout(limits.handshake_timeout(), acceptor.accept(tcp)) => Ok(match r {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(HandshakeFailure::Tls(e)),
            Err(_) => Err(HandshakeFailure::Timeout),
        }),
    }
}

/// Waits, without consuming anything, until a whole TLS handshake record
/// (the ClientHello) has arrived; false if the connection closed or does
/// not start like TLS. One byte, or a header, does not count: a flood that
/// drips a byte and stalls stays "idle" and is evicted first.
async fn client_hello(tcp: &TcpStream) -> bool {
    const HANDSHAKE: u8 = 0x16;
    let mut buf = vec![0u8; 5 + (1 << 14)];
    for _ in 0..10_000 {
        let n = match tcp.peek(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        if buf[0] != HANDSHAKE {
            return false;
        }
        if n >= 5 {
            let len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
            if n >= 5 + len.min(1 << 14) {
                return true;
            }
        }
        // Part of the record is here: peek again once more may have come.
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

enum HandshakeFailure {
    Tls(std::io::Error),
    Timeout,
}

async fn serve_one(
    tcp: TcpStream,
    pending: Pending,
    acceptor: TlsAcceptor,
    handler: Arc<Handler>,
    limits: &crate::config::LimitsConfig,
    identity_source: IdentitySource,
    shutdown: CancellationToken,
) {
    let peer = pending.peer;
    let count = |cause: &str| {
        if let Some(m) = &handler.metrics {
            m.refused.with_label_values(&[cause]).inc();
        }
    };
    let stream = match handshake(&pending, &acceptor, limits, &shutdown, tcp).await {
        Err(Unadmitted::Evicted | Unadmitted::Shutdown) => return,
        Err(Unadmitted::Silent) => {
            count("first_byte_timeout");
            debug!(%peer, "no bytes before the first-byte deadline");
            return;
        }
        Ok(Ok(s)) => s,
        Ok(Err(failure)) => {
            let cause = match &failure {
                HandshakeFailure::Tls(e) => tls::failure_cause(e),
                HandshakeFailure::Timeout => "timeout",
            };
            if let Some(m) = &handler.metrics {
                m.handshake_failures.with_label_values(&[cause]).inc();
            }
            if let Some(suppressed) = HANDSHAKE_LOG.allow() {
                match &failure {
                    HandshakeFailure::Tls(e) => {
                        warn!(%peer, error = %e, suppressed, "TLS handshake failed")
                    }
                    HandshakeFailure::Timeout => {
                        warn!(%peer, suppressed, "TLS handshake timed out")
                    }
                }
            }
            return;
        }
    };
    let Pending { ticket, slots, .. } = pending;
    // Out of the handshake budget; now an authenticated client's slot.
    drop(ticket);
    let Ok(_permit) = slots.try_acquire_owned() else {
        count("connection_limit");
        if let Some(suppressed) = REFUSAL_LOG.allow() {
            warn!(%peer, limit = limits.max_connections, suppressed, "connection refused: limit reached");
        }
        return;
    };
    let Some(certificate) = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
    else {
        // Unreachable with a verifier that requires certificates; refuse anyway.
        warn!(%peer, "no client certificate after handshake");
        return;
    };
    let identity = match Identity::from_certificate(certificate, identity_source) {
        Ok(i) => i,
        Err(e) => {
            // Verified by the CA, but it does not say who owns what.
            count("no_identity");
            if let Some(suppressed) = IDENTITY_LOG.allow() {
                warn!(%peer, error = %e, suppressed, "client refused: see auth.identity");
            }
            return;
        }
    };
    if let Some(m) = &handler.metrics {
        m.handshakes.inc();
    }
    debug!(%peer, %identity, owner = %crate::audit::escape_controls(&identity.owner), "client connected");
    let conn = connection::Connection {
        stream,
        peer,
        identity,
    };
    let _open = handler
        .metrics
        .as_ref()
        .map(|m| OpenConnection::count(&m.connections_open));
    conn.serve(handler, limits, shutdown).await;
}

/// One open connection in the gauge, counted out even if the connection's
/// future is dropped unfinished (a shutdown past its grace period).
struct OpenConnection(prometheus::IntGauge);

impl OpenConnection {
    fn count(gauge: &prometheus::IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

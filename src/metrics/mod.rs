//! Prometheus metrics and the health endpoints, on their own plain-HTTP
//! listener (`metrics_listen`). Labels carry operation names, result
//! statuses and reasons: small fixed sets, never a key id or a client string.

use crate::keystore::KeyStore;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub struct Metrics {
    registry: Registry,
    /// The cluster node, once the server has one.
    cluster: std::sync::OnceLock<(Arc<crate::cluster::node::Node>, ClusterGauges)>,
    /// KMIP batch items by operation, result status and reason.
    pub requests: IntCounterVec,
    /// Time to answer a request, by its first operation.
    pub latency: HistogramVec,
    pub connections_open: IntGauge,
    /// Connections refused and requests refused by a limit, by cause.
    pub refused: IntCounterVec,
    /// Requests (or the rest of a batch) refused by a per-request limit,
    /// by the limit's name.
    pub limit_refusals: IntCounterVec,
    /// KMIP request messages answered (each holds one or more batch items).
    pub messages: IntCounter,
    pub bytes_received: IntCounter,
    pub bytes_sent: IntCounter,
    /// Completed TLS handshakes, and failed ones by cause.
    pub handshakes: IntCounter,
    pub handshake_failures: IntCounterVec,
    sealed: IntGauge,
    shares_present: IntGauge,
    shares_needed: IntGauge,
    objects: IntGaugeVec,
    store_size: IntGauge,
    audit_entries: IntCounter,
    audit_bytes: IntGauge,
    audit_oldest: IntGauge,
    /// Age of the oldest entry kept: for alerts when history is shorter
    /// (pruned by size) or longer (pruning stopped) than intended.
    audit_oldest_age: IntGauge,
    audit_max_age: IntGauge,
}

impl Metrics {
    /// The server's metrics, with the store's own write-latency histogram.
    pub fn new(keystore: &KeyStore) -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        registry.register(Box::new(keystore.store().write_seconds.clone()))?;
        registry.register(Box::new(keystore.store().audit_pruned_by_size.clone()))?;
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let messages = counter("lkm_kmip_messages_total", "KMIP request messages answered")?;
        let bytes_received = counter(
            "lkm_kmip_received_bytes_total",
            "Bytes of KMIP requests read (TTLV, after TLS)",
        )?;
        let bytes_sent = counter(
            "lkm_kmip_sent_bytes_total",
            "Bytes of KMIP responses written (TTLV, before TLS)",
        )?;
        let handshakes = counter("lkm_tls_handshakes_total", "TLS handshakes completed")?;
        let store_size = gauge(
            "lkm_store_size_bytes",
            "Bytes the store's tables and memtables take",
        )?;
        let audit_entries = counter(
            "lkm_audit_entries_total",
            "Audit entries written since the log began",
        )?;
        let audit_bytes = gauge("lkm_audit_retained_bytes", "Bytes of audit entries kept")?;
        let audit_oldest = gauge(
            "lkm_audit_oldest_entry_timestamp_seconds",
            "Unix time of the oldest audit entry kept",
        )?;
        let audit_oldest_age = gauge(
            "lkm_audit_oldest_entry_age_seconds",
            "Age of the oldest audit entry kept, in seconds (0 with none)",
        )?;
        let audit_max_age = gauge(
            "lkm_audit_retention_max_age_seconds",
            "How long audit entries are meant to be kept (audit.max_age_days), in seconds",
        )?;
        let handshake_failures = IntCounterVec::new(
            Opts::new(
                "lkm_tls_handshake_failures_total",
                "TLS handshakes that failed, by cause",
            ),
            &["cause"],
        )?;
        registry.register(Box::new(handshake_failures.clone()))?;
        let objects = IntGaugeVec::new(
            Opts::new("lkm_objects", "Managed objects by type and state"),
            &["type", "state"],
        )?;
        registry.register(Box::new(objects.clone()))?;
        let requests = IntCounterVec::new(
            Opts::new("lkm_kmip_requests_total", "KMIP batch items answered"),
            &["operation", "status", "reason"],
        )?;
        let buckets = vec![
            0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
            0.25, 0.5, 1.0, 2.5, 5.0,
        ];
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "lkm_kmip_request_duration_seconds",
                "Time to answer a KMIP request",
            )
            .buckets(buckets),
            &["operation"],
        )?;
        let connections_open = IntGauge::new("lkm_connections_open", "Open client connections")?;
        let refused = IntCounterVec::new(
            Opts::new(
                "lkm_connections_refused_total",
                "Connections refused, or closed for breaking a limit, by cause",
            ),
            &["cause"],
        )?;
        let limit_refusals = IntCounterVec::new(
            Opts::new(
                "lkm_requests_refused_total",
                "KMIP requests, or the rest of a batch, refused by a limit, by limit",
            ),
            &["limit"],
        )?;
        let sealed = IntGauge::new("lkm_sealed", "1 while the key store is sealed")?;
        let shares_present =
            IntGauge::new("lkm_unseal_shares_present", "Shares given while sealed")?;
        let shares_needed = IntGauge::new("lkm_unseal_shares_needed", "Shares needed to unseal")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(connections_open.clone()))?;
        registry.register(Box::new(refused.clone()))?;
        registry.register(Box::new(limit_refusals.clone()))?;
        registry.register(Box::new(sealed.clone()))?;
        registry.register(Box::new(shares_present.clone()))?;
        registry.register(Box::new(shares_needed.clone()))?;
        Ok(Metrics {
            registry,
            cluster: std::sync::OnceLock::new(),
            requests,
            latency,
            connections_open,
            refused,
            limit_refusals,
            messages,
            bytes_received,
            bytes_sent,
            handshakes,
            handshake_failures,
            sealed,
            shares_present,
            shares_needed,
            objects,
            store_size,
            audit_entries,
            audit_bytes,
            audit_oldest,
            audit_oldest_age,
            audit_max_age,
        })
    }

    /// Exports the configured retention age, for alerts to compare with.
    pub fn set_audit_retention(&self, retention: &crate::audit::Retention) {
        self.audit_max_age.set(retention.max_age_ms() / 1000);
    }

    /// Gives the metrics and /readyz the cluster node to report on.
    pub(crate) fn set_cluster(
        &self,
        node: Arc<crate::cluster::node::Node>,
    ) -> Result<(), prometheus::Error> {
        let c = ClusterGauges::register(&self.registry)?;
        let _ = self.cluster.set((node, c));
        Ok(())
    }

    fn render(&self, keystore: &KeyStore) -> String {
        if let Some((node, g)) = self.cluster.get() {
            g.update(
                &node.status(),
                node.leader_changes(),
                crate::cluster::snapshots_sent(),
            );
        }
        let status = keystore.status();
        self.sealed.set(i64::from(status.sealed));
        self.shares_present.set(status.have as i64);
        self.shares_needed.set(i64::from(status.need));
        let store = keystore.store();
        self.store_size
            .set(i64::try_from(store.size_bytes()).unwrap_or(i64::MAX));
        let head = store.audit_head();
        self.audit_entries
            .inc_by(head.written().saturating_sub(self.audit_entries.get()));
        self.audit_bytes
            .set(i64::try_from(head.bytes).unwrap_or(i64::MAX));
        self.audit_oldest
            .set(head.oldest_ms.map_or(0, |ms| ms / 1000));
        self.audit_oldest_age.set(head.oldest_ms.map_or(0, |ms| {
            crate::audit::now_ms().saturating_sub(ms).max(0) / 1000
        }));
        if let Ok(counts) = keystore.object_counts() {
            for (t, s, n) in counts {
                self.objects.with_label_values(&[&t, &s]).set(n);
            }
        }
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// `lkm_cluster_*`: where this node stands in the cluster.
struct ClusterGauges {
    role: IntGauge,
    term: IntGauge,
    leader_changes: IntCounter,
    commit_index: IntGauge,
    applied_index: IntGauge,
    lag: IntGaugeVec,
    snapshots_sent: IntCounter,
    quorum: IntGauge,
}

impl ClusterGauges {
    fn register(r: &Registry) -> Result<ClusterGauges, prometheus::Error> {
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            r.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let c = IntCounter::new(name, help)?;
            r.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let lag = IntGaugeVec::new(
            Opts::new(
                "lkm_cluster_replication_lag_entries",
                "Log entries a member is behind the leader (on the leader)",
            ),
            &["peer"],
        )?;
        r.register(Box::new(lag.clone()))?;
        Ok(ClusterGauges {
            role: gauge(
                "lkm_cluster_role",
                "0 follower, 1 candidate, 2 leader, 3 learner, 4 shut down",
            )?,
            term: gauge("lkm_cluster_term", "The current Raft term")?,
            leader_changes: counter(
                "lkm_cluster_leader_changes_total",
                "Times this node saw the leader change",
            )?,
            commit_index: gauge(
                "lkm_cluster_commit_index",
                "Highest log index known committed",
            )?,
            applied_index: gauge(
                "lkm_cluster_applied_index",
                "Highest log index applied to the store here",
            )?,
            lag,
            snapshots_sent: counter(
                "lkm_cluster_snapshots_sent_total",
                "Snapshots this node sent to a lagging member",
            )?,
            quorum: gauge(
                "lkm_cluster_quorum",
                "1 when this node can commit writes (reaches a majority)",
            )?,
        })
    }

    fn update(&self, s: &crate::cluster::node::Status, leader_changes: u64, snapshots: u64) {
        self.role.set(match s.state.as_str() {
            "Follower" => 0,
            "Candidate" => 1,
            "Leader" => 2,
            "Learner" => 3,
            _ => 4,
        });
        self.term.set(i64::try_from(s.term).unwrap_or(i64::MAX));
        self.leader_changes
            .inc_by(leader_changes.saturating_sub(self.leader_changes.get()));
        self.snapshots_sent
            .inc_by(snapshots.saturating_sub(self.snapshots_sent.get()));
        self.commit_index
            .set(i64::try_from(s.commit_index).unwrap_or(i64::MAX));
        self.applied_index
            .set(i64::try_from(s.applied_index).unwrap_or(i64::MAX));
        self.quorum.set(i64::from(s.quorum));
        for m in &s.members {
            if let Some(lag) = m.lag {
                self.lag
                    .with_label_values(&[&m.id.to_string()])
                    .set(i64::try_from(lag).unwrap_or(i64::MAX));
            }
        }
    }
}

#[derive(Clone)]
struct Shared {
    metrics: Arc<Metrics>,
    keystore: Arc<KeyStore>,
}

async fn scrape(State(s): State<Shared>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(&s.keystore),
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 once the store is unsealed and can serve; 503 with the reason otherwise.
async fn readyz(State(s): State<Shared>) -> impl IntoResponse {
    let status = s.keystore.status();
    if let Some((node, _)) = s.metrics.cluster.get()
        && let Err(why) = node.ready()
    {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n"));
    }
    if status.sealed {
        (StatusCode::SERVICE_UNAVAILABLE, format!("{status}\n"))
    } else {
        (StatusCode::OK, "ready\n".to_owned())
    }
}

/// Binds the listener and serves until shutdown; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    keystore: Arc<KeyStore>,
    shutdown: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(scrape))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(Shared { metrics, keystore });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
    });
    Ok(bound)
}

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
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub struct Metrics {
    registry: Registry,
    /// KMIP batch items by operation, result status and reason.
    pub requests: IntCounterVec,
    /// Time to answer a request, by its first operation.
    pub latency: HistogramVec,
    pub connections_open: IntGauge,
    /// Failed TLS handshakes and refused connections, by cause.
    pub refused: IntCounterVec,
    sealed: IntGauge,
    shares_present: IntGauge,
    shares_needed: IntGauge,
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
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
                "Connections refused or dropped, by cause",
            ),
            &["cause"],
        )?;
        let sealed = IntGauge::new("lkm_sealed", "1 while the key store is sealed")?;
        let shares_present =
            IntGauge::new("lkm_unseal_shares_present", "Shares given while sealed")?;
        let shares_needed = IntGauge::new("lkm_unseal_shares_needed", "Shares needed to unseal")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(connections_open.clone()))?;
        registry.register(Box::new(refused.clone()))?;
        registry.register(Box::new(sealed.clone()))?;
        registry.register(Box::new(shares_present.clone()))?;
        registry.register(Box::new(shares_needed.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            connections_open,
            refused,
            sealed,
            shares_present,
            shares_needed,
        })
    }

    fn render(&self, keystore: &KeyStore) -> String {
        let status = keystore.status();
        self.sealed.set(i64::from(status.sealed));
        self.shares_present.set(status.have as i64);
        self.shares_needed.set(i64::from(status.need));
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
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

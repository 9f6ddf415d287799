//! /metrics counts exactly the requests made; /healthz and /readyz follow
//! the process and the seal state.

mod common;

use lkm::keystore::KeyStore;
use lkm::kmip::{Operation, ProtocolVersion, RequestBatchItem, RequestHeader, RequestMessage};
use lkm::seal::shares::ShareFile;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: lkm\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    let code = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (code, body)
}

#[tokio::test]
async fn a_scrape_counts_exactly_what_was_done() {
    let server = common::start().await;
    let mut c = server.client(ProtocolVersion::new(2, 1)).await;
    for _ in 0..2 {
        c.call(Operation::DiscoverVersions, vec![]).await.unwrap();
    }
    c.call(Operation::Query, vec![]).await.unwrap();
    let unknown = RequestMessage {
        header: RequestHeader::new(c.version, 1),
        items: vec![RequestBatchItem {
            operation: 0x7777,
            unique_batch_item_id: None,
            payload: None,
            message_extensions: vec![],
        }],
    };
    c.send(&unknown).await.unwrap();
    // Entries of reads are counted once written (the flusher's next round).
    server.keystore.flush_audit().unwrap();

    let (code, body) = http_get(server.handle.metrics_addr, "/metrics").await;
    assert_eq!(code, 200);
    for line in [
        r#"lkm_kmip_requests_total{operation="DiscoverVersions",reason="",status="Success"} 2"#,
        r#"lkm_kmip_requests_total{operation="Query",reason="",status="Success"} 1"#,
        r#"lkm_kmip_requests_total{operation="Unknown",reason="OperationNotSupported",status="OperationFailed"} 1"#,
        "lkm_sealed 0",
        "lkm_connections_open 1",
        "lkm_kmip_messages_total 4",
        "lkm_tls_handshakes_total 1",
        // Init, then one entry per batch item.
        "lkm_audit_entries_total 5",
        // Nothing pushed out for lack of room; a year's retention.
        "lkm_audit_pruned_by_size_total 0",
        "lkm_audit_retention_max_age_seconds 31536000",
    ] {
        assert!(
            body.lines().any(|l| l == line),
            "missing {line:?} in:\n{body}"
        );
    }
    assert!(body.contains(
        "lkm_kmip_request_duration_seconds_bucket{operation=\"DiscoverVersions\",le=\"0.00005\"}"
    ));
    assert_eq!(
        http_get(server.handle.metrics_addr, "/healthz").await.0,
        200
    );
    assert_eq!(http_get(server.handle.metrics_addr, "/readyz").await.0, 200);
    let value = |name: &str| -> f64 {
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(-1.0)
    };
    assert!(value("lkm_kmip_received_bytes_total ") > 100.0);
    assert!(value("lkm_kmip_sent_bytes_total ") > 100.0);
    assert!(value("lkm_store_size_bytes ") >= 0.0);
    assert!(value("lkm_audit_oldest_entry_timestamp_seconds ") > 1.7e9);
    // The log began a moment ago.
    let age = value("lkm_audit_oldest_entry_age_seconds ");
    assert!((0.0..60.0).contains(&age), "{age}");
}

#[tokio::test]
async fn objects_are_counted_by_type_and_state() {
    let server = common::start().await;
    let mut c = server.client(ProtocolVersion::new(2, 1)).await;
    let uids = common::create_keys(&mut c, 3).await;
    c.call(Operation::Activate, common::uid_payload(&uids[0]))
        .await
        .unwrap();
    c.call(Operation::Destroy, common::uid_payload(&uids[1]))
        .await
        .unwrap();
    // A refused change counts nothing: an Active key cannot be destroyed.
    assert!(
        c.call(Operation::Destroy, common::uid_payload(&uids[0]))
            .await
            .is_err()
    );
    let (_, body) = http_get(server.handle.metrics_addr, "/metrics").await;
    for line in [
        r#"lkm_objects{state="Active",type="SymmetricKey"} 1"#,
        r#"lkm_objects{state="PreActive",type="SymmetricKey"} 1"#,
        r#"lkm_objects{state="Destroyed",type="SymmetricKey"} 1"#,
    ] {
        assert!(
            body.lines().any(|l| l == line),
            "missing {line:?} in:\n{body}"
        );
    }
    let failures = |cause: &str| {
        body.lines()
            .any(|l| l == format!("lkm_tls_handshake_failures_total{{cause=\"{cause}\"}} 1"))
    };
    assert!(!failures("bad_certificate"));
    // A client of another CA fails its handshake, counted by cause.
    let other = tempfile::tempdir().unwrap();
    lkm::pki::init(other.path(), false).unwrap();
    let tls = lkm::server::tls::client_config(
        &server.certs().join("ca.crt"),
        &other.path().join("client.crt"),
        &other.path().join("client.key"),
    )
    .unwrap();
    let refused =
        lkm::client::Client::connect(&server.addr, "localhost", tls, ProtocolVersion::new(2, 1))
            .await;
    if let Ok(mut c) = refused {
        // TLS 1.3: the server's refusal arrives with the first read.
        assert!(c.call(Operation::DiscoverVersions, vec![]).await.is_err());
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (_, body) = http_get(server.handle.metrics_addr, "/metrics").await;
    assert!(
        body.lines()
            .any(|l| l.starts_with("lkm_tls_handshake_failures_total{cause=")),
        "{body}"
    );
}

#[tokio::test]
async fn readyz_follows_the_seal_state() {
    let dir = tempfile::tempdir().unwrap();
    lkm::pki::init(&dir.path().join("certs"), false).unwrap();
    let config = common::test_config(dir.path());
    let keystore = Arc::new(KeyStore::open(&config.store_dir()).unwrap());
    let shares = keystore.initialize(3, 2, "test", |_| Ok(())).unwrap();
    let server = common::start_on(dir, config, keystore.clone()).await;
    let addr = server.handle.metrics_addr;
    let (code, body) = http_get(addr, "/readyz").await;
    assert_eq!(code, 503);
    assert!(body.contains("sealed: 0 of 2"), "{body}");
    assert_eq!(http_get(addr, "/healthz").await.0, 200);
    for s in &shares[..2] {
        keystore
            .unseal(ShareFile::parse(&s.to_json()).unwrap())
            .unwrap();
    }
    assert_eq!(http_get(addr, "/readyz").await.0, 200);
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(metrics.lines().any(|l| l == "lkm_sealed 0"), "{metrics}");
    keystore.seal();
    assert_eq!(http_get(addr, "/readyz").await.0, 503);
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(metrics.lines().any(|l| l == "lkm_sealed 1"), "{metrics}");
    assert!(
        metrics.lines().any(|l| l == "lkm_unseal_shares_needed 2"),
        "{metrics}"
    );
}

//! Black-box tests: a real server on 127.0.0.1:0, spoken to over mutual TLS.

mod common;

use common::{raw, start};
use lkm::client::{Client, ClientError};
use lkm::kmip::{
    BatchErrorContinuationOption, Operation, ProtocolVersion, QueryFunction, RequestBatchItem,
    RequestHeader, RequestMessage, ResponseMessage, ResultReason, ResultStatus, tag,
};
use lkm::ttlv::{self, Item, Limits};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const VERSIONS: [ProtocolVersion; 3] = [
    ProtocolVersion::new(1, 2),
    ProtocolVersion::new(1, 4),
    ProtocolVersion::new(2, 1),
];

fn versions_in(payload: &Item) -> Vec<ProtocolVersion> {
    payload
        .children_with(tag::PROTOCOL_VERSION)
        .map(|v| ProtocolVersion::from_item(v).unwrap())
        .collect()
}

fn batch(version: ProtocolVersion, ops: &[(u32, Vec<Item>)]) -> RequestMessage {
    RequestMessage {
        header: RequestHeader::new(version, ops.len() as i32),
        items: ops
            .iter()
            .enumerate()
            .map(|(i, (op, payload))| RequestBatchItem {
                operation: *op,
                unique_batch_item_id: Some(vec![i as u8 + 1].into()),
                payload: Some(Item::structure(tag::REQUEST_PAYLOAD, payload.clone())),
                message_extensions: vec![],
            })
            .collect(),
    }
}

fn query_payload() -> Vec<Item> {
    [
        QueryFunction::QueryOperations,
        QueryFunction::QueryObjects,
        QueryFunction::QueryServerInformation,
    ]
    .iter()
    .map(|f| Item::enumeration(tag::QUERY_FUNCTION, f.value()))
    .collect()
}

#[tokio::test]
async fn discover_versions_in_each_version() {
    let server = start().await;
    for v in VERSIONS {
        let mut c = server.client(v).await;
        let all = c.call(Operation::DiscoverVersions, vec![]).await.unwrap();
        assert_eq!(
            versions_in(&all),
            ProtocolVersion::SUPPORTED.to_vec(),
            "in {v}"
        );

        let offer = vec![
            ProtocolVersion::new(1, 0).to_item(),
            ProtocolVersion::new(3, 0).to_item(),
            ProtocolVersion::new(2, 0).to_item(),
        ];
        let some = c.call(Operation::DiscoverVersions, offer).await.unwrap();
        assert_eq!(
            versions_in(&some),
            vec![ProtocolVersion::new(2, 0), ProtocolVersion::new(1, 0)],
            "newest first, only the offered ones, in {v}"
        );

        // The response is written in the request's version.
        let r = c
            .send(&batch(v, &[(Operation::DiscoverVersions.value(), vec![])]))
            .await
            .unwrap();
        assert_eq!(r.version, v);
        assert_eq!(
            r.items[0].unique_batch_item_id.as_ref().unwrap().as_slice(),
            &[1]
        );
        c.close().await.unwrap();
    }
    server.handle.shutdown();
    server.handle.wait().await;
}

#[tokio::test]
async fn query_in_each_version() {
    let server = start().await;
    for v in VERSIONS {
        let mut c = server.client(v).await;
        let p = c.call(Operation::Query, query_payload()).await.unwrap();
        let ops: Vec<u32> = p
            .children_with(tag::OPERATION)
            .map(|o| o.as_enumeration().unwrap())
            .collect();
        assert!(ops.contains(&Operation::Query.value()));
        assert!(ops.contains(&Operation::DiscoverVersions.value()));
        let vendor = p
            .child(tag::VENDOR_IDENTIFICATION)
            .unwrap()
            .as_text()
            .unwrap();
        assert!(vendor.starts_with("lkm "), "{vendor}");
        assert!(p.child(tag::SERVER_INFORMATION).is_some());
        // Fields come in the specification's order: operations, objects, vendor.
        let last_op = p
            .children()
            .iter()
            .rposition(|c| c.tag == tag::OPERATION)
            .unwrap();
        let vendor_at = p
            .children()
            .iter()
            .position(|c| c.tag == tag::VENDOR_IDENTIFICATION)
            .unwrap();
        assert!(last_op < vendor_at);
    }
}

#[tokio::test]
async fn unknown_operation_is_operation_not_supported() {
    let server = start().await;
    let mut c = server.client(ProtocolVersion::new(1, 2)).await;
    for op in [0x7777_u32, Operation::Certify.value()] {
        let r = c.send(&batch(c.version, &[(op, vec![])])).await.unwrap();
        let item = &r.items[0];
        assert_eq!(item.operation, Some(op));
        assert_eq!(item.status, ResultStatus::OperationFailed);
        assert_eq!(item.reason, Some(ResultReason::OperationNotSupported));
    }
    // The connection still serves.
    c.call(Operation::DiscoverVersions, vec![]).await.unwrap();
}

#[tokio::test]
async fn unsupported_major_version_is_refused_in_a_well_formed_response() {
    let server = start().await;
    let mut c = server.client(ProtocolVersion::new(3, 0)).await;
    let r = c
        .send(&batch(
            c.version,
            &[(Operation::DiscoverVersions.value(), vec![])],
        ))
        .await
        .unwrap();
    assert_eq!(r.items.len(), 1);
    assert_eq!(r.items[0].operation, None);
    assert_eq!(r.items[0].status, ResultStatus::OperationFailed);
    assert_eq!(
        r.items[0].reason,
        Some(ResultReason::UnsupportedProtocolVersion)
    );
    assert!(r.items[0].message.as_deref().unwrap().contains("3.0"));

    // A newer minor of a known major is answered in our newest minor.
    let mut c = server.client(ProtocolVersion::new(1, 9)).await;
    let r = c
        .send(&batch(
            c.version,
            &[(Operation::DiscoverVersions.value(), vec![])],
        ))
        .await
        .unwrap();
    assert_eq!(r.version, ProtocolVersion::new(1, 4));
    assert_eq!(r.items[0].status, ResultStatus::Success);
}

#[tokio::test]
async fn batch_error_continuation_options() {
    let server = start().await;
    let mut c = server.client(ProtocolVersion::new(2, 1)).await;
    let ops = [
        (Operation::Query.value(), query_payload()),
        (0x7777, vec![]),
        (Operation::DiscoverVersions.value(), vec![]),
    ];
    let run = |opt| {
        let mut m = batch(ProtocolVersion::new(2, 1), &ops);
        m.header.batch_error_continuation = opt;
        m
    };
    let statuses = |r: &ResponseMessage| r.items.iter().map(|b| b.status).collect::<Vec<_>>();
    use ResultStatus::*;
    let r = c
        .send(&run(BatchErrorContinuationOption::Continue))
        .await
        .unwrap();
    assert_eq!(statuses(&r), vec![Success, OperationFailed, Success]);
    let r = c
        .send(&run(BatchErrorContinuationOption::Stop))
        .await
        .unwrap();
    assert_eq!(statuses(&r), vec![Success, OperationFailed]);
    let r = c
        .send(&run(BatchErrorContinuationOption::Undo))
        .await
        .unwrap();
    assert_eq!(statuses(&r), vec![OperationUndone, OperationFailed]);
    // Batch item ids are echoed, in order.
    let ids: Vec<u8> = r
        .items
        .iter()
        .map(|b| b.unique_batch_item_id.as_ref().unwrap().as_slice()[0])
        .collect();
    assert_eq!(ids, vec![1, 2]);
}

#[tokio::test]
async fn maximum_response_size_is_enforced() {
    let server = start().await;
    let mut c = server.client(ProtocolVersion::new(1, 2)).await;
    let mut m = batch(c.version, &[(Operation::Query.value(), query_payload())]);
    m.header.maximum_response_size = Some(64);
    let r = c.send(&m).await.unwrap();
    assert_eq!(r.items[0].status, ResultStatus::OperationFailed);
    assert_eq!(r.items[0].reason, Some(ResultReason::ResponseTooLarge));
    assert!(r.items[0].payload.is_none());
    m.header.maximum_response_size = Some(1 << 16);
    let r = c.send(&m).await.unwrap();
    assert_eq!(r.items[0].status, ResultStatus::Success);
}

#[tokio::test]
async fn clients_without_a_valid_certificate_are_refused() {
    let server = start().await;
    let certs = server.certs();
    let mut roots = rustls::RootCertStore::empty();
    for c in lkm::server::tls::load_certs(&certs.join("ca.crt")).unwrap() {
        roots.add(c).unwrap();
    }
    // No client certificate at all.
    let anonymous = Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    assert_refused(&server.addr, anonymous).await;

    // A certificate from another CA.
    let other = tempfile::tempdir().unwrap();
    lkm::pki::init(other.path(), false).unwrap();
    let foreign = lkm::server::tls::client_config(
        &certs.join("ca.crt"),
        &other.path().join("client.crt"),
        &other.path().join("client.key"),
    )
    .unwrap();
    assert_refused(&server.addr, foreign).await;

    // A second client issued by the right CA is accepted.
    let issued = tempfile::tempdir().unwrap();
    let (crt, key) = lkm::pki::issue(&certs, "second", issued.path()).unwrap();
    let tls = lkm::server::tls::client_config(&certs.join("ca.crt"), &crt, &key).unwrap();
    let mut c = Client::connect(&server.addr, "localhost", tls, ProtocolVersion::new(2, 1))
        .await
        .unwrap();
    c.call(Operation::DiscoverVersions, vec![]).await.unwrap();
}

async fn assert_refused(addr: &str, tls: Arc<rustls::ClientConfig>) {
    // With TLS 1.3 the client may finish its half of the handshake before
    // the server rejects the certificate; the refusal then arrives on the
    // first read. Either way no KMIP response may come back.
    let result = async {
        let mut c = Client::connect(addr, "localhost", tls, ProtocolVersion::new(2, 1)).await?;
        c.call(Operation::DiscoverVersions, vec![]).await
    }
    .await;
    assert!(
        matches!(result, Err(ClientError::Io(_))),
        "expected a TLS refusal, got {result:?}"
    );
}

/// Opens a TLS connection and returns the raw stream, for malformed input.
/// Reads until the server closes the connection; fails the test if it
/// answers with anything or keeps the connection open too long.
async fn expect_closed(s: &mut tokio_rustls::client::TlsStream<TcpStream>) {
    let mut buf = [0u8; 64];
    let r = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
    match r {
        Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(n)) => panic!("server answered {n} bytes instead of closing"),
        Err(_) => panic!("server kept the connection open"),
    }
}

async fn read_response(s: &mut tokio_rustls::client::TlsStream<TcpStream>) -> ResponseMessage {
    let mut header = [0u8; 8];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut header))
        .await
        .expect("response in time")
        .unwrap();
    let len = u32::from_be_bytes(header[4..8].try_into().unwrap()) as usize;
    let mut buf = header.to_vec();
    buf.resize(8 + len, 0);
    s.read_exact(&mut buf[8..]).await.unwrap();
    ResponseMessage::parse(&ttlv::decode(&buf, &Limits::default()).unwrap()).unwrap()
}

#[tokio::test]
async fn malformed_input_never_crashes_or_hangs_the_server() {
    let server = start().await;

    // Garbage: not a KMIP header at all.
    let mut s = raw(&server).await;
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    expect_closed(&mut s).await;

    // A header announcing 2 GiB.
    let mut s = raw(&server).await;
    s.write_all(&[0x42, 0x00, 0x78, 0x01, 0x80, 0x00, 0x00, 0x00])
        .await
        .unwrap();
    expect_closed(&mut s).await;

    // A truncated body: 64 bytes announced, 16 sent, then silence.
    let mut s = raw(&server).await;
    s.write_all(&[0x42, 0x00, 0x78, 0x01, 0x00, 0x00, 0x00, 0x40])
        .await
        .unwrap();
    s.write_all(&[0u8; 16]).await.unwrap();
    expect_closed(&mut s).await;

    // Nesting 10,000 deep: refused with a KMIP error, connection kept.
    let mut nested = Item::integer(tag::BATCH_COUNT, 1);
    for _ in 0..10_000 {
        nested = Item::structure(tag::REQUEST_HEADER, vec![nested]);
    }
    let deep = ttlv::encode(&Item::structure(tag::REQUEST_MESSAGE, vec![nested]));
    let mut s = raw(&server).await;
    s.write_all(&deep).await.unwrap();
    let r = read_response(&mut s).await;
    assert_eq!(r.items[0].status, ResultStatus::OperationFailed);
    assert_eq!(r.items[0].reason, Some(ResultReason::InvalidMessage));
    assert!(r.items[0].message.as_deref().unwrap().contains("deeper"));

    // A lying batch count: 5 announced, 1 present.
    let mut m = batch(
        ProtocolVersion::new(1, 4),
        &[(Operation::DiscoverVersions.value(), vec![])],
    );
    m.header.batch_count = 5;
    s.write_all(&ttlv::encode(&m.to_item())).await.unwrap();
    let r = read_response(&mut s).await;
    assert_eq!(r.version, ProtocolVersion::new(1, 4));
    assert_eq!(r.items[0].reason, Some(ResultReason::InvalidMessage));
    assert!(
        r.items[0]
            .message
            .as_deref()
            .unwrap()
            .contains("Batch Count")
    );

    // Bytes that frame correctly but are not TTLV inside.
    let mut junk = vec![0x42, 0x00, 0x78, 0x01, 0x00, 0x00, 0x00, 0x10];
    junk.extend_from_slice(&[0xAB; 16]);
    s.write_all(&junk).await.unwrap();
    let r = read_response(&mut s).await;
    assert_eq!(r.items[0].reason, Some(ResultReason::InvalidMessage));

    // And still, a well-formed request on a new connection works.
    let mut c = server.client(ProtocolVersion::new(2, 1)).await;
    let p = c.call(Operation::DiscoverVersions, vec![]).await.unwrap();
    assert_eq!(versions_in(&p).len(), 7);
}

#[tokio::test]
async fn connection_limit_and_graceful_shutdown() {
    let server = common::start_with(|c| c.limits.max_connections = 1).await;
    let mut first = server.client(ProtocolVersion::new(2, 1)).await;
    first
        .call(Operation::DiscoverVersions, vec![])
        .await
        .unwrap();
    // A second connection is over the limit and is closed at once.
    let second = async {
        let mut c = server.client_result().await?;
        c.call(Operation::DiscoverVersions, vec![]).await
    }
    .await;
    assert!(second.is_err());
    // Shutdown closes the idle connection and the server stops.
    server.handle.shutdown();
    tokio::time::timeout(Duration::from_secs(5), server.handle.wait())
        .await
        .expect("server stops promptly");
    assert!(
        first
            .call(Operation::DiscoverVersions, vec![])
            .await
            .is_err()
    );
}

//! Denial-of-service limits, black box over real TLS: connections that
//! never finish a handshake, batches that ask too much, clients that go
//! away, responses that grow too large, floods of audited requests, and a
//! batch Undo that must not revert someone else's change.

mod common;

use common::{create_aes256, start_with, uid_of};
use lkm::client::ClientError;
use lkm::kmip::{
    BatchErrorContinuationOption, ObjectType, Operation, ProtocolVersion, RequestBatchItem,
    RequestHeader, RequestMessage, ResponseMessage, ResultReason, ResultStatus, tag,
};
use lkm::ttlv::Item;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const V21: ProtocolVersion = ProtocolVersion::new(2, 1);
const RSA: u32 = 0x04;

fn batch(
    continuation: BatchErrorContinuationOption,
    items: Vec<(Operation, Vec<Item>)>,
) -> RequestMessage {
    let mut header = RequestHeader::new(V21, items.len() as i32);
    header.batch_error_continuation = continuation;
    RequestMessage {
        header,
        items: items
            .into_iter()
            .map(|(op, payload)| RequestBatchItem {
                operation: op.value(),
                unique_batch_item_id: None,
                payload: Some(Item::structure(tag::REQUEST_PAYLOAD, payload)),
                message_extensions: vec![],
            })
            .collect(),
    }
}

fn rsa_pair(bits: i32) -> Vec<Item> {
    vec![Item::structure(
        tag::COMMON_ATTRIBUTES,
        vec![
            Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, RSA),
            Item::integer(tag::CRYPTOGRAPHIC_LENGTH, bits),
        ],
    )]
}

fn uid(u: &str) -> Vec<Item> {
    vec![Item::text(tag::UNIQUE_IDENTIFIER, u)]
}

/// The one failure of a message refused as a whole.
fn refusal(r: &ResponseMessage) -> (Option<ResultReason>, String) {
    assert_eq!(r.items.len(), 1, "a message refused as a whole: {r:?}");
    assert_eq!(r.items[0].status, ResultStatus::OperationFailed);
    (
        r.items[0].reason,
        r.items[0].message.clone().unwrap_or_default(),
    )
}

fn count(server: &common::TestServer, object_type: &str) -> i64 {
    server
        .keystore
        .object_counts()
        .unwrap()
        .iter()
        .filter(|(t, _, _)| t == object_type)
        .map(|(_, _, n)| n)
        .sum()
}

/// Entries in the audit log, once the buffered ones are written.
fn audit_entries(server: &common::TestServer) -> u64 {
    server.keystore.flush_audit().unwrap();
    lkm::audit::verify(server.keystore.store()).unwrap().entries
}

#[tokio::test]
async fn idle_connections_without_a_certificate_lock_nobody_out() {
    let server = start_with(|c| {
        // Few slots, so that on a server where an idle TCP connection took
        // one, this flood would fill them all.
        c.limits.max_connections = 16;
        c.limits.max_handshaking = 24;
        c.limits.max_handshaking_per_source = 24;
        c.limits.first_byte_timeout_ms = 30_000;
        c.limits.handshake_timeout_ms = 30_000;
    })
    .await;
    let mut established = server.client(V21).await;
    established
        .call(Operation::DiscoverVersions, vec![])
        .await
        .unwrap();
    let mut idle = Vec::new();
    for _ in 0..120 {
        idle.push(TcpStream::connect(&server.addr).await.unwrap());
    }
    // New clients get through while the flood holds its sockets open...
    for _ in 0..10 {
        let mut c = server.client_result().await.expect("handshake");
        c.call(Operation::DiscoverVersions, vec![])
            .await
            .expect("served despite the idle flood");
        idle.push(TcpStream::connect(&server.addr).await.unwrap());
    }
    // ... and the client that was already in is never displaced.
    established
        .call(Operation::DiscoverVersions, vec![])
        .await
        .expect("the established connection still works");
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_opening_many_connections_at_once_is_not_evicted() {
    // Three times the per-source handshake budget, all at once (a bench, or
    // an array reconnecting after a failover).
    let server = start_with(|c| c.limits.max_handshaking_per_source = 32).await;
    let tasks: Vec<_> = (0..96)
        .map(|_| {
            let tls = server.tls();
            let addr = server.addr.clone();
            tokio::spawn(async move {
                let mut c = lkm::client::Client::connect(&addr, "localhost", tls, V21).await?;
                c.call(Operation::DiscoverVersions, vec![]).await
            })
        })
        .collect();
    for t in tasks {
        t.await
            .unwrap()
            .expect("every connection of the burst is served");
    }
}

#[tokio::test]
async fn a_batch_that_asks_too_much_work_is_refused_before_it_runs() {
    let server = start_with(|_| {}).await;
    let mut c = server.client(V21).await;
    let r = c
        .send(&batch(
            BatchErrorContinuationOption::Continue,
            (0..20)
                .map(|_| (Operation::CreateKeyPair, rsa_pair(4096)))
                .collect(),
        ))
        .await
        .unwrap();
    let (reason, message) = refusal(&r);
    assert_eq!(reason, Some(ResultReason::ServerLimitExceeded));
    assert!(message.contains("limits.max_request_work"), "{message}");
    assert_eq!(count(&server, "PrivateKey"), 0, "nothing was created");
    // A single key pair is fine.
    c.call(Operation::CreateKeyPair, rsa_pair(2048))
        .await
        .unwrap();
    assert_eq!(count(&server, "PrivateKey"), 1);
}

#[tokio::test]
async fn items_past_the_processing_deadline_are_not_run() {
    let server = start_with(|c| c.limits.request_deadline_ms = 1).await;
    let mut c = server.client(V21).await;
    // RSA key generation takes far longer than a millisecond.
    let r = c
        .send(&batch(
            BatchErrorContinuationOption::Continue,
            vec![
                (Operation::CreateKeyPair, rsa_pair(2048)),
                (Operation::Create, create_aes256()),
                (Operation::Create, create_aes256()),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(r.items.len(), 3);
    for item in &r.items[1..] {
        assert_eq!(item.status, ResultStatus::OperationFailed);
        assert_eq!(item.reason, Some(ResultReason::ServerLimitExceeded));
        assert!(
            item.message
                .as_deref()
                .unwrap()
                .contains("request_deadline_ms")
        );
    }
    assert_eq!(count(&server, "SymmetricKey"), 0);
}

#[tokio::test]
async fn a_batch_stops_when_its_client_goes_away() {
    let server = start_with(|_| {}).await;
    let m = batch(
        BatchErrorContinuationOption::Continue,
        (0..40)
            .map(|_| (Operation::CreateKeyPair, rsa_pair(2048)))
            .collect(),
    );
    // Send the request and leave politely (close_notify, then FIN)
    // without reading the answer.
    let bytes = lkm::ttlv::encode(&m.to_item());
    let mut stream = common::raw(&server).await;
    stream.write_all(&bytes).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.shutdown().await.unwrap();
    drop(stream);
    // Wait until the server stops making key pairs (bounded).
    // Stable for 3 s: far longer than one RSA-2048 key generation.
    let (mut last, mut stable) = (-1, 0);
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = count(&server, "PrivateKey");
        stable = if now == last { stable + 1 } else { 0 };
        last = now;
        if stable == 6 {
            break;
        }
    }
    assert!(
        last < 40,
        "the server made {last} of 40 key pairs for a client that had gone"
    );
}

#[tokio::test]
async fn the_response_budget_is_checked_as_items_are_answered() {
    let server = start_with(|c| c.limits.max_response_size = 1 << 20).await;
    let mut c = server.client(V21).await;
    let blob = vec![0x5a; 200_000];
    let registered = c
        .call(
            Operation::Register,
            vec![
                Item::enumeration(tag::OBJECT_TYPE, ObjectType::OpaqueObject.value()),
                Item::structure(tag::ATTRIBUTES, vec![]),
                Item::structure(
                    tag::OPAQUE_OBJECT,
                    vec![
                        Item::enumeration(tag::OPAQUE_DATA_TYPE, 0x8000_0001),
                        Item::bytes(tag::OPAQUE_DATA_VALUE, blob.as_slice()),
                    ],
                ),
            ],
        )
        .await
        .unwrap();
    let id = uid_of(&registered);
    let r = c
        .send(&batch(
            BatchErrorContinuationOption::Continue,
            (0..30).map(|_| (Operation::Get, uid(&id))).collect(),
        ))
        .await
        .unwrap();
    assert_eq!(r.items.len(), 30, "every item is answered");
    let served = r
        .items
        .iter()
        .filter(|i| i.status == ResultStatus::Success)
        .count();
    assert!((1..=5).contains(&served), "{served} Gets of 200 kB served");
    let refused = &r.items[served..];
    assert!(refused.iter().all(|i| {
        i.status == ResultStatus::OperationFailed
            && i.reason == Some(ResultReason::ResponseTooLarge)
    }));
    assert!(
        refused[0]
            .message
            .as_deref()
            .unwrap()
            .contains("limits.max_response_size")
    );
}

#[tokio::test]
async fn one_identity_runs_a_bounded_number_of_expensive_requests() {
    let server = start_with(|c| c.limits.max_expensive_per_identity = 1).await;
    let mut busy = server.client(V21).await;
    let mut other = server.client(V21).await;
    let long = batch(
        BatchErrorContinuationOption::Continue,
        (0..20)
            .map(|_| (Operation::CreateKeyPair, rsa_pair(2048)))
            .collect(),
    );
    let running = tokio::spawn(async move { busy.send(&long).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = other
        .send(&batch(
            BatchErrorContinuationOption::Stop,
            vec![(Operation::CreateKeyPair, rsa_pair(2048))],
        ))
        .await
        .unwrap();
    let (reason, message) = refusal(&r);
    assert_eq!(reason, Some(ResultReason::ServerLimitExceeded));
    assert!(
        message.contains("limits.max_expensive_per_identity"),
        "{message}"
    );
    // Cheap requests of the same identity are not held back.
    other
        .call(Operation::Create, create_aes256())
        .await
        .unwrap();
    let done = running.await.unwrap().unwrap();
    assert!(done.items.iter().all(|i| i.status == ResultStatus::Success));
}

#[tokio::test]
async fn an_identity_cannot_flood_the_audit_log() {
    let server = start_with(|c| {
        c.limits.audited_items_per_s = 10;
        c.limits.audited_items_burst = 1_000;
    })
    .await;
    let mut c = server.client(V21).await;
    let before = audit_entries(&server);
    // Repeats of one failure: counted, not written one by one.
    for _ in 0..200 {
        let e = c.call(Operation::Get, uid("no-such-object")).await;
        assert!(matches!(e, Err(ClientError::Kmip(_))));
    }
    let after_failures = audit_entries(&server);
    assert!(
        after_failures - before <= 2,
        "{} entries for 200 identical failures",
        after_failures - before
    );
    // Past the burst the identity is refused, naming the limit.
    let mut refused = 0;
    for _ in 0..1_000 {
        match c.call(Operation::DiscoverVersions, vec![]).await {
            Ok(_) => {}
            Err(ClientError::Kmip(e)) => {
                assert_eq!(e.reason, ResultReason::ServerLimitExceeded);
                assert!(e.message.contains("limits.audited_items_per_s"));
                refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        refused > 0,
        "1,200 requests at once passed a burst of 1,000"
    );
    let written = audit_entries(&server) - after_failures;
    assert!(
        written < 1_000,
        "{written} entries written for a rate of 10 per second"
    );
    // Another identity (the admin socket's writes aside, another client
    // certificate) is not affected: checked in the unit tests of the rate.
    server.handle.shutdown();
    server.handle.wait().await;
}

#[tokio::test]
async fn batch_undo_never_reverts_a_change_made_meanwhile() {
    let server = start_with(|_| {}).await;
    let mut c = server.client(V21).await;
    let mut admin = server.client(V21).await;
    for attempt in 0..3 {
        let key = uid_of(&c.call(Operation::Create, create_aes256()).await.unwrap());
        // Activate, slow items, a second change of the same key (so the
        // record is at the version the batch's last write made, with the
        // Revoke underneath it), then a failure that undoes the batch.
        let m = batch(
            BatchErrorContinuationOption::Undo,
            vec![
                (Operation::Activate, uid(&key)),
                (Operation::CreateKeyPair, rsa_pair(4096)),
                (Operation::CreateKeyPair, rsa_pair(4096)),
                (
                    Operation::AddAttribute,
                    vec![
                        Item::text(tag::UNIQUE_IDENTIFIER, &key),
                        Item::structure(
                            tag::NEW_ATTRIBUTE,
                            vec![Item::text(tag::DESCRIPTION, "bay 3")],
                        ),
                    ],
                ),
                (Operation::Get, uid("no-such-object")),
            ],
        );
        let pending = tokio::spawn(async move {
            let r = c.send(&m).await;
            (c, r)
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        let revoked = admin
            .call(
                Operation::Revoke,
                vec![
                    Item::text(tag::UNIQUE_IDENTIFIER, &key),
                    Item::structure(
                        tag::REVOCATION_REASON,
                        vec![Item::enumeration(tag::REVOCATION_REASON_CODE, 0x02)],
                    ),
                ],
            )
            .await;
        let (back, r) = pending.await.unwrap();
        c = back;
        let r = r.unwrap();
        if revoked.is_err() || r.items.len() != 5 {
            // The batch was done before the Revoke arrived: try again.
            assert!(attempt < 2, "could not interleave a Revoke: {revoked:?}");
            continue;
        }
        assert_eq!(r.items[4].status, ResultStatus::OperationFailed);
        // The batch changed the key again after the Revoke...
        assert_eq!(r.items[3].status, ResultStatus::Success, "{r:?}");
        // ...yet the Revoke (Compromised) stands, and neither change of the
        // key is reported as undone.
        let state = common::state_of(&mut c, &Item::text(tag::UNIQUE_IDENTIFIER, &key)).await;
        assert_eq!(state, Some(4), "the object is Compromised, as revoked");
        assert_eq!(r.items[0].status, ResultStatus::Success);
        // The key pairs the batch made are gone.
        assert_eq!(r.items[1].status, ResultStatus::OperationUndone);
        assert_eq!(count(&server, "PrivateKey"), 0);
        return;
    }
}

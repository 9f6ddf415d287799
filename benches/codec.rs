//! TTLV decode + encode of a typical Get request and its response (an
//! AES-256 key), and one whole request through the server's handler.

use criterion::{Criterion, criterion_group, criterion_main};
use lkm::auth::Identity;
use lkm::kmip::{Operation, ProtocolVersion, RequestBatchItem, RequestHeader, RequestMessage, tag};
use lkm::ops::ServerInfo;
use lkm::server::handler::Handler;
use lkm::ttlv::{self, Item, Limits, Value, tag_by_name};
use std::hint::black_box;

fn t(name: &str) -> u32 {
    tag_by_name(name).expect("known tag")
}

fn get_request() -> Vec<u8> {
    let msg = RequestMessage {
        header: RequestHeader::new(ProtocolVersion::new(1, 4), 1),
        items: vec![RequestBatchItem {
            operation: Operation::Get.value(),
            unique_batch_item_id: None,
            payload: Some(Item::structure(
                tag::REQUEST_PAYLOAD,
                vec![Item::text(
                    t("UniqueIdentifier"),
                    "8f1d6c1e-5b0a-4f7e-9a43-2c5d1e0b7a91",
                )],
            )),
            message_extensions: vec![],
        }],
    };
    ttlv::encode(&msg.to_item())
}

fn get_response() -> Vec<u8> {
    let key_block = Item::structure(
        t("KeyBlock"),
        vec![
            Item::enumeration(t("KeyFormatType"), 1),
            Item::structure(
                t("KeyValue"),
                vec![Item::bytes(t("KeyMaterial"), vec![0x5a; 32])],
            ),
            Item::enumeration(t("CryptographicAlgorithm"), 3),
            Item::integer(t("CryptographicLength"), 256),
        ],
    );
    let payload = Item::structure(
        tag::RESPONSE_PAYLOAD,
        vec![
            Item::enumeration(tag::OBJECT_TYPE, 2),
            Item::text(
                t("UniqueIdentifier"),
                "8f1d6c1e-5b0a-4f7e-9a43-2c5d1e0b7a91",
            ),
            Item::structure(t("SymmetricKey"), vec![key_block]),
        ],
    );
    let msg = Item::structure(
        tag::RESPONSE_MESSAGE,
        vec![
            Item::structure(
                tag::RESPONSE_HEADER,
                vec![
                    ProtocolVersion::new(1, 4).to_item(),
                    Item::new(tag::TIME_STAMP, Value::DateTime(1_700_000_000)),
                    Item::integer(tag::BATCH_COUNT, 1),
                ],
            ),
            Item::structure(
                tag::BATCH_ITEM,
                vec![
                    Item::enumeration(tag::OPERATION, Operation::Get.value()),
                    Item::enumeration(tag::RESULT_STATUS, 0),
                    payload,
                ],
            ),
        ],
    );
    ttlv::encode(&msg)
}

fn codec(c: &mut Criterion) {
    let limits = Limits::default();
    for (name, bytes) in [
        ("get_request", get_request()),
        ("get_response", get_response()),
    ] {
        c.bench_function(
            &format!("ttlv decode+encode {name} ({} bytes)", bytes.len()),
            |b| {
                b.iter(|| {
                    let item = ttlv::decode(black_box(&bytes), &limits).expect("valid");
                    black_box(ttlv::encode(&item))
                })
            },
        );
    }
}

fn handler(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let keystore = lkm::keystore::KeyStore::open(dir.path()).expect("store");
    let handler = Handler::new(
        std::sync::Arc::new(keystore),
        &lkm::config::LimitsConfig::default(),
        ServerInfo::default(),
        Vec::new(),
        None,
    );
    let identity =
        Identity::from_certificate(b"not a certificate", lkm::auth::IdentitySource::Fingerprint)
            .expect("a fingerprint identity");
    let peer: std::net::SocketAddr = ([127, 0, 0, 1], 5696).into();
    let msg = RequestMessage {
        header: RequestHeader::new(ProtocolVersion::new(2, 1), 1),
        items: vec![RequestBatchItem {
            operation: Operation::DiscoverVersions.value(),
            unique_batch_item_id: None,
            payload: None,
            message_extensions: vec![],
        }],
    };
    let request = ttlv::encode(&msg.to_item());
    let not_cancelled = std::sync::atomic::AtomicBool::new(false);
    c.bench_function("handler DiscoverVersions request->response", |b| {
        b.iter(|| black_box(handler.handle(&identity, peer, black_box(&request), &not_cancelled)))
    });
}

criterion_group!(benches, codec, handler);
criterion_main!(benches);

//! Put (durable: WAL-synced) and get of a sealed object record through the
//! key store: AES-256-GCM sealing, index entries, one RocksDB batch.

use criterion::{Criterion, criterion_group, criterion_main};
use lkm::keystore::KeyStore;
use lkm::kmip::{ObjectType, tag};
use lkm::objects::{ManagedObject, State};
use lkm::ttlv::Item;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

fn object(i: usize) -> ManagedObject {
    ManagedObject {
        uid: format!("bench-{i:012}"),
        object_type: ObjectType::SymmetricKey,
        state: State::Active,
        owner: "b".repeat(64),
        owner_name: "bench".into(),
        attributes: vec![
            Item::structure(
                tag::NAME,
                vec![
                    Item::text(tag::NAME_VALUE, format!("disk-{i}")),
                    Item::enumeration(tag::NAME_TYPE, 1),
                ],
            ),
            Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, 3),
            Item::integer(tag::CRYPTOGRAPHIC_LENGTH, 256),
        ],
        object: Some(Item::structure(
            tag::SYMMETRIC_KEY,
            vec![Item::structure(
                tag::KEY_BLOCK,
                vec![Item::structure(
                    tag::KEY_VALUE,
                    vec![Item::bytes(tag::KEY_MATERIAL, vec![0x42; 32])],
                )],
            )],
        )),
    }
}

fn store(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ks = KeyStore::open(dir.path()).expect("store");
    for share in ks.initialize(1, 1, "bench", |_| Ok(())).expect("init") {
        ks.unseal(share).expect("unseal");
    }
    for i in 0..10_000 {
        ks.insert(&object(i)).expect("insert");
    }
    let next = AtomicUsize::new(1_000_000);
    c.bench_function("keystore insert sealed record (fsync)", |b| {
        b.iter(|| {
            ks.insert(&object(next.fetch_add(1, Ordering::Relaxed)))
                .expect("insert")
        })
    });
    let uid = object(4_242).uid;
    c.bench_function("keystore load sealed record", |b| {
        b.iter(|| black_box(ks.load(black_box(&uid)).expect("load")))
    });
}

criterion_group!(benches, store);
criterion_main!(benches);

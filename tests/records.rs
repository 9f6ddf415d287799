//! Records at rest: older record formats still open and move forward,
//! records as deep as any accepted request read back, and what lkm
//! creates on disk is private to its owner.

mod common;
#[path = "common/offline.rs"]
mod offline;

use lkm::keystore::{IndexKind, KeyStore, KeyStoreError, Owners};
use lkm::kmip::{Operation, ProtocolVersion, tag};
use lkm::objects::{ManagedObject, State};
use lkm::seal::envelope;
use lkm::store::{Cf, Command};
use lkm::ttlv::Item;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn object(i: usize) -> ManagedObject {
    offline::symmetric_key(
        i,
        format!("disk-{i}"),
        vec![Item::bytes(tag::KEY_MATERIAL, vec![i as u8; 32])],
    )
}

/// The record of `o` as lkm sealed it before format 2: AES-256-GCM under
/// the KEK itself.
fn format_1_record(ks: &KeyStore, o: &ManagedObject, version: u64, kek_version: u32) -> Vec<u8> {
    let ring = ks.keyring().unwrap();
    let kek = ring.kek(kek_version).unwrap();
    let mut aad = b"lkm-record-v1\0".to_vec();
    aad.extend_from_slice(o.uid.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&version.to_be_bytes());
    aad.extend_from_slice(&kek_version.to_be_bytes());
    let mut r = vec![1u8];
    r.extend_from_slice(&version.to_be_bytes());
    r.extend_from_slice(&kek_version.to_be_bytes());
    r.extend(envelope::seal(kek, &aad, &o.encode()).unwrap());
    r
}

fn put_raw(ks: &KeyStore, uid: &str, record: Vec<u8>) {
    let mut c = Command::default();
    c.put(Cf::Objects, uid.as_bytes().to_vec(), record);
    ks.store().apply(&c).unwrap();
}

/// (format, KEK version) of every record, in uid order.
fn formats(ks: &KeyStore) -> Vec<(u8, u32)> {
    ks.store()
        .scan(Cf::Objects, b"", b"", usize::MAX)
        .unwrap()
        .iter()
        .map(|(_, v)| (v[0], u32::from_be_bytes(v[9..13].try_into().unwrap())))
        .collect()
}

#[test]
fn format_1_records_open_and_move_to_format_2() {
    let dir = tempfile::tempdir().unwrap();
    let files = KeyStore::open(dir.path())
        .unwrap()
        .initialize(1, 1, "test", |_| Ok(()))
        .unwrap();
    let objects: Vec<_> = (0..4).map(object).collect();
    {
        let ks = offline::unsealed(dir.path(), &files);
        for o in &objects {
            ks.insert(o).unwrap();
        }
        assert_eq!(formats(&ks), vec![(2, 1); 4], "new records are format 2");
        // Records 0 to 2 as a store written before format 2 holds them.
        for o in &objects[..3] {
            put_raw(&ks, &o.uid, format_1_record(&ks, o, 1, 1));
        }
    }
    let ks = offline::unsealed(dir.path(), &files);
    for o in &objects {
        assert_eq!(ks.load(&o.uid).unwrap().as_ref(), Some(o));
    }
    // A write re-seals the record in format 2.
    ks.update::<KeyStoreError>(&objects[0].uid, |o| {
        o.state = State::Active;
        Ok(())
    })
    .unwrap();
    assert_eq!(formats(&ks), vec![(2, 1), (1, 1), (1, 1), (2, 1)]);
    // After a rotation, a format-1 record under the new KEK (an older lkm
    // still writing while the walk ran) is moved too, not only the ones
    // under the old KEK.
    assert_eq!(ks.rotate_kek().unwrap(), 2);
    put_raw(
        &ks,
        &objects[2].uid,
        format_1_record(&ks, &objects[2], 2, 2),
    );
    while !ks.rewrap_step(2).unwrap().done {}
    assert_eq!(formats(&ks), vec![(2, 2); 4]);
    assert_eq!(ks.status().kek_versions, vec![2]);
    let mut active = objects[0].clone();
    active.state = State::Active;
    assert_eq!(ks.load(&objects[0].uid).unwrap(), Some(active));
    for o in &objects[1..] {
        assert_eq!(ks.load(&o.uid).unwrap().as_ref(), Some(o));
    }
}

/// An attribute spanning `levels` levels: vendor attributes around a text.
fn deep_value(levels: usize) -> Item {
    (1..levels).fold(Item::text(tag::ATTRIBUTE_VALUE, "bottom"), |inner, _| {
        Item::structure(tag::ATTRIBUTE_VALUE, vec![inner])
    })
}

#[test]
fn a_deeply_nested_record_reads_back_and_its_owner_can_list_it() {
    let dir = tempfile::tempdir().unwrap();
    let files = KeyStore::open(dir.path())
        .unwrap()
        .initialize(1, 1, "test", |_| Ok(()))
        .unwrap();
    let ks = offline::unsealed(dir.path(), &files);
    let mut deep = object(1);
    deep.attributes.push(Item::structure(
        tag::ATTRIBUTE,
        vec![
            Item::text(tag::VENDOR_IDENTIFICATION, "x"),
            Item::text(tag::ATTRIBUTE_NAME, "Deep"),
            deep_value(100),
        ],
    ));
    ks.insert(&object(0)).unwrap();
    ks.insert(&deep).unwrap();
    assert_eq!(ks.load(&deep.uid).unwrap().as_ref(), Some(&deep));
    let owned = ks
        .lookup(
            Owners::Of(&[deep.owner.as_str()]),
            IndexKind::Owner,
            b"",
            10,
        )
        .unwrap();
    assert_eq!(owned.len(), 2);
    for uid in owned {
        assert!(ks.load(&uid).unwrap().is_some());
    }
}

#[tokio::test]
async fn an_object_registered_at_the_deepest_accepted_nesting_is_locatable() {
    let server = common::start_with(|c| c.limits.max_depth = 256).await;
    let mut c = server.client(ProtocolVersion::new(2, 1)).await;
    let plain = c
        .call(Operation::Create, common::create_aes256())
        .await
        .unwrap();
    // Message, batch item, payload, Attributes, Attribute, then the value
    // nested to the deepest the server accepts.
    let deep = Item::structure(
        tag::ATTRIBUTE,
        vec![
            Item::text(tag::VENDOR_IDENTIFICATION, "x"),
            Item::text(tag::ATTRIBUTE_NAME, "Deep"),
            deep_value(256 - 5),
        ],
    );
    let mut payload = common::create_aes256();
    if let Some(Item {
        value: lkm::ttlv::Value::Structure(attrs),
        ..
    }) = payload.get_mut(1)
    {
        attrs.push(deep);
    }
    let created = c.call(Operation::Create, payload).await.unwrap();
    let found = c
        .call(
            Operation::Locate,
            vec![Item::structure(tag::ATTRIBUTES, vec![])],
        )
        .await
        .unwrap();
    let uids: Vec<&str> = found
        .children_with(tag::UNIQUE_IDENTIFIER)
        .filter_map(Item::as_text)
        .collect();
    assert_eq!(uids.len(), 2, "{found:?}");
    for p in [&plain, &created] {
        let id = common::uid_of(p);
        assert!(uids.contains(&id.as_str()));
        c.call(Operation::Get, common::uid_payload(&id))
            .await
            .unwrap();
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Runs the lkm binary under umask 022, as a login shell would.
fn lkm_under_umask_022(args: &str) -> std::process::Command {
    let mut c = std::process::Command::new("sh");
    c.arg("-c")
        .arg(format!("umask 022; exec \"$0\" {args}"))
        .arg(common::lkm_binary());
    c
}

#[test]
fn init_makes_private_data_and_share_folders() {
    let dir = tempfile::tempdir().unwrap();
    let out = lkm_under_umask_022("init --data \"$1\"/data --shares 1 --share-out \"$1\"/shares")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for d in ["data", "data/store", "shares"] {
        assert_eq!(mode(&dir.path().join(d)), 0o700, "{d}");
    }
}

#[tokio::test]
async fn dev_serve_makes_a_private_data_folder_and_key_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = common::free_port();
    let child = lkm_under_umask_022(&format!(
        "serve --dev --data \"$1\" --listen 127.0.0.1:{port} --metrics-listen 127.0.0.1:{}",
        common::free_port()
    ))
    .arg(&data)
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let _running = common::Running(child);
    let mut up = false;
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(up, "lkm serve --dev did not start");
    for d in ["", "store", "certs"] {
        assert_eq!(mode(&data.join(d)), 0o700, "DATA/{d}");
    }
    for k in ["ca.key", "server.key", "client.key"] {
        assert_eq!(mode(&data.join("certs").join(k)), 0o600, "{k}");
    }
}

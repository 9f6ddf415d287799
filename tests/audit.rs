//! The audit log: one entry per operation, written with the change it
//! records; `lkm audit verify` names an edited or deleted entry; retention
//! prunes and leaves a chain that still verifies.

mod common;

use lkm::audit::{self, Draft, Entry, Filter, Format, Retention};
use lkm::kmip::{Operation, ProtocolVersion, RequestBatchItem, RequestHeader, RequestMessage, tag};
use lkm::store::{Cf, Command, Durability, Store};
use lkm::ttlv::Item;
use std::collections::BTreeMap;
use std::path::Path;

fn entries(store: &Store) -> Vec<Entry> {
    let mut out = Vec::new();
    audit::export(store, &Filter::default(), Format::Jsonl, &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| Entry::decode(l.as_bytes()).unwrap())
        .collect()
}

fn by_operation(entries: &[Entry]) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for e in entries {
        *m.entry((e.draft.operation.clone(), e.draft.status.clone()))
            .or_default() += 1;
    }
    m
}

/// Runs a mixed workload against a real server and returns the data dir
/// (the server stopped) and the uids it made.
async fn workload() -> (tempfile::TempDir, Vec<String>, String) {
    let server = common::start().await;
    let mut c = server.client(ProtocolVersion::new(2, 1)).await;
    let uids = common::create_keys(&mut c, 3).await;
    let got = c
        .call(Operation::Get, common::uid_payload(&uids[0]))
        .await
        .unwrap();
    let key_hex = hex::encode(find_bytes(&got, tag::KEY_MATERIAL).unwrap());
    c.call(Operation::Get, common::uid_payload(&uids[1]))
        .await
        .unwrap();
    c.call(Operation::Activate, common::uid_payload(&uids[0]))
        .await
        .unwrap();
    assert!(
        c.call(Operation::Get, common::uid_payload("no-such"))
            .await
            .is_err()
    );
    c.call(Operation::Locate, vec![]).await.unwrap();
    c.call(Operation::Destroy, common::uid_payload(&uids[2]))
        .await
        .unwrap();
    // Two items in one message: two entries.
    let batch = RequestMessage {
        header: RequestHeader::new(c.version, 2),
        items: vec![
            RequestBatchItem {
                operation: Operation::GetAttributes as u32,
                unique_batch_item_id: None,
                payload: Some(Item::structure(
                    tag::REQUEST_PAYLOAD,
                    common::uid_payload(&uids[1]),
                )),
                message_extensions: vec![],
            },
            RequestBatchItem {
                operation: Operation::DiscoverVersions as u32,
                unique_batch_item_id: None,
                payload: Some(Item::structure(tag::REQUEST_PAYLOAD, vec![])),
                message_extensions: vec![],
            },
        ],
    };
    c.send(&batch).await.unwrap();
    // A message that is not KMIP at all is recorded as refused.
    let _ = c
        .roundtrip(&[0x42, 0x00, 0x78, 0x01, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8])
        .await;
    drop(c);
    let common::TestServer {
        handle,
        keystore,
        dir,
        ..
    } = server;
    handle.shutdown();
    handle.wait().await;
    drop(keystore);
    (dir, uids, key_hex)
}

fn find_bytes(item: &Item, t: lkm::ttlv::Tag) -> Option<Vec<u8>> {
    if item.tag == t {
        return item.as_bytes().map(|b| b.to_vec());
    }
    item.children().iter().find_map(|c| find_bytes(c, t))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_has_exactly_one_entry() {
    let (dir, uids, key_hex) = workload().await;
    let store = Store::open_read_only(&dir.path().join("store")).unwrap();
    let all = entries(&store);
    let counts = by_operation(&all);
    let expect = |op: &str, status: &str| {
        counts
            .get(&(op.to_owned(), status.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(expect("Init", "Success"), 1, "{counts:?}");
    assert_eq!(expect("Create", "Success"), 3, "{counts:?}");
    assert_eq!(expect("Get", "Success"), 2, "{counts:?}");
    assert_eq!(expect("Get", "OperationFailed"), 1, "{counts:?}");
    assert_eq!(expect("Activate", "Success"), 1, "{counts:?}");
    assert_eq!(expect("Locate", "Success"), 1, "{counts:?}");
    assert_eq!(expect("Destroy", "Success"), 1, "{counts:?}");
    assert_eq!(expect("GetAttributes", "Success"), 1, "{counts:?}");
    assert_eq!(expect("DiscoverVersions", "Success"), 1, "{counts:?}");
    assert_eq!(expect("InvalidMessage", "OperationFailed"), 1, "{counts:?}");
    assert_eq!(all.len(), 13, "{counts:?}");

    // Sequence numbers run 1..=n, each entry names who and what.
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
    }
    let create = all.iter().find(|e| e.draft.operation == "Create").unwrap();
    assert_eq!(create.draft.actor, "cn:client");
    assert_eq!(create.draft.fingerprint.len(), 64);
    assert!(create.draft.peer.starts_with("127.0.0.1:"));
    assert_eq!(create.draft.uids, vec![uids[0].clone()]);
    let missing = all
        .iter()
        .find(|e| e.draft.operation == "Get" && e.draft.status != "Success")
        .unwrap();
    assert_eq!(missing.draft.reason.as_deref(), Some("ObjectNotFound"));
    assert_eq!(missing.draft.uids, vec!["no-such".to_owned()]);
    // Locate names what it found.
    let locate = all.iter().find(|e| e.draft.operation == "Locate").unwrap();
    assert_eq!(locate.draft.uids.len(), 3);

    // Filters: by uid, by identity, by time.
    let mut out = Vec::new();
    let f = Filter {
        uid: Some(uids[0].clone()),
        ..Filter::default()
    };
    assert_eq!(
        audit::export(&store, &f, Format::Text, &mut out).unwrap(),
        4,
        "Create, Get, Activate, Locate"
    );
    let f = Filter {
        identity: Some("client".into()),
        ..Filter::default()
    };
    assert_eq!(
        audit::export(&store, &f, Format::Text, &mut Vec::new()).unwrap(),
        12
    );
    let f = Filter {
        since_ms: Some(all[5].time_ms + 3_600_000),
        ..Filter::default()
    };
    assert_eq!(
        audit::export(&store, &f, Format::Text, &mut Vec::new()).unwrap(),
        0
    );

    let report = audit::verify(&store).unwrap();
    assert_eq!(report.broken, None);
    assert_eq!(report.entries, 13);
    // No key bytes: the key fetched above appears nowhere in the log.
    let mut raw = Vec::new();
    audit::export(&store, &Filter::default(), Format::Jsonl, &mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert_eq!(key_hex.len(), 64);
    assert!(!text.contains(&key_hex));
}

/// Copies a stopped server's store, changes it with `tamper`, and returns
/// what `lkm audit verify` says of the copy.
fn verify_tampered(data: &Path, tamper: impl FnOnce(&Store)) -> (bool, String) {
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&data.join("store"), &copy.path().join("store"));
    {
        let store = Store::open(&copy.path().join("store")).unwrap();
        tamper(&store);
    }
    let out = std::process::Command::new(common::lkm_binary())
        .args(["audit", "verify", "--data"])
        .arg(copy.path())
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "LOCK" {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn rewrite(store: &Store, seq: u64, f: impl FnOnce(&mut Entry)) {
    let raw = store.get(Cf::Audit, &seq.to_be_bytes()).unwrap().unwrap();
    let mut e = Entry::decode(&raw).unwrap();
    f(&mut e);
    let mut c = Command::default();
    c.put(Cf::Audit, seq.to_be_bytes().to_vec(), e.encode());
    store.apply(&c).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_the_broken_link() {
    let (dir, _, _) = workload().await;
    let (ok, said) = verify_tampered(dir.path(), |_| {});
    assert!(ok, "{said}");
    assert!(said.contains("audit log intact: 13 entries"), "{said}");

    // An edited entry: the next one no longer links to it.
    let (ok, said) = verify_tampered(dir.path(), |s| {
        rewrite(s, 5, |e| e.draft.actor = "cn:someone-else".into())
    });
    assert!(!ok);
    assert!(
        said.contains("broken at entry 6") && said.contains("entry 5 was changed"),
        "{said}"
    );

    // A deleted entry.
    let (ok, said) = verify_tampered(dir.path(), |s| {
        let mut c = Command::default();
        c.delete(Cf::Audit, 7u64.to_be_bytes().to_vec());
        s.apply(&c).unwrap();
    });
    assert!(!ok);
    assert!(
        said.contains("broken at entry 7") && said.contains("entries 7 to 7 are missing"),
        "{said}"
    );

    // The newest entries deleted.
    let (ok, said) = verify_tampered(dir.path(), |s| {
        let mut c = Command::default();
        c.delete(Cf::Audit, 13u64.to_be_bytes().to_vec());
        c.delete(Cf::Audit, 12u64.to_be_bytes().to_vec());
        s.apply(&c).unwrap();
    });
    assert!(!ok);
    assert!(said.contains("the last ones were deleted"), "{said}");

    // The newest entry edited, its hash recomputed nowhere.
    let (ok, said) = verify_tampered(dir.path(), |s| {
        rewrite(s, 13, |e| e.draft.status = "Success".into())
    });
    assert!(!ok);
    assert!(said.contains("entry 13"), "{said}");

    // The oldest entries deleted, as if by retention, without a checkpoint.
    let (ok, said) = verify_tampered(dir.path(), |s| {
        let mut c = Command::default();
        c.delete(Cf::Audit, 1u64.to_be_bytes().to_vec());
        s.apply(&c).unwrap();
    });
    assert!(!ok);
    assert!(said.contains("broken at entry 1"), "{said}");
}

#[test]
fn retention_prunes_by_age_and_size_and_the_chain_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for i in 0..200 {
        let mut d = Draft::new("cn:test", "Get");
        d.name(&format!("uid-{i}"));
        store
            .commit(&Command::default(), &d, Durability::Written)
            .unwrap();
    }
    let before = store.audit_head();
    assert_eq!(before.written(), 200);
    let size = before.bytes;

    // Nothing is old enough and the log is under its size: nothing goes.
    let now = audit::now_ms();
    assert_eq!(store.prune_audit(&Retention::default(), now).unwrap(), 0);

    // By size: keep about half.
    let half = Retention {
        max_bytes: size / 2,
        ..Retention::default()
    };
    let pruned = store.prune_audit(&half, now).unwrap();
    assert!((95..=105).contains(&pruned), "{pruned}");
    let head = store.audit_head();
    assert!(
        head.bytes <= size / 2 + 200,
        "{} > {}",
        head.bytes,
        size / 2
    );
    assert_eq!(head.first_seq, pruned + 1);
    let report = audit::verify(&store).unwrap();
    assert_eq!(report.broken, None, "{report:?}");
    assert_eq!(report.pruned, pruned);
    // The pruning is itself in the log, as its newest entry.
    let last = entries(&store).pop().unwrap();
    assert_eq!(last.draft.operation, "AuditPrune");
    assert_eq!(last.seq, 201);

    // By age: a year and a day later everything but the newest goes.
    let later = now + 366 * 86_400_000;
    store.prune_audit(&Retention::default(), later).unwrap();
    let left = entries(&store);
    assert_eq!(
        left.len(),
        2,
        "the newest kept entry and the new prune entry"
    );
    assert_eq!(audit::verify(&store).unwrap().broken, None);
    assert_eq!(store.audit_head().oldest_ms, Some(left[0].time_ms));

    // A forged checkpoint does not hide removed entries.
    let mut c = Command::default();
    c.delete(Cf::Meta, b"audit/checkpoint".to_vec());
    store.apply(&c).unwrap();
    let report = audit::verify(&store).unwrap();
    let broken = report.broken.unwrap();
    assert_eq!(broken.seq, 1);
    assert!(
        broken.problem.contains("entries 1 to 200 are missing"),
        "{}",
        broken.problem
    );

    // Reopening reads the head back: the chain goes on where it stopped.
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.audit_head().next_seq, 203);
}

#[test]
fn read_entries_wait_in_memory_in_order_and_reach_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for i in 0..3 {
        let mut d = Draft::new("cn:reader", "Get");
        d.name(&format!("k{i}"));
        store
            .commit(&Command::default(), &d, Durability::Buffered)
            .unwrap();
    }
    // Counted at once, not yet written.
    assert_eq!(store.audit_head().written(), 3);
    assert!(entries(&store).is_empty());
    // A durable change takes the waiting entries with it, in order.
    let mut c = Command::default();
    c.put(Cf::Meta, b"test-key".to_vec(), b"v".to_vec());
    let seq = store
        .commit(&c, &Draft::new("cn:writer", "Create"), Durability::Synced)
        .unwrap();
    assert_eq!(seq, 4);
    let ops: Vec<String> = entries(&store)
        .into_iter()
        .map(|e| e.draft.operation)
        .collect();
    assert_eq!(ops, ["Get", "Get", "Get", "Create"]);
    // Entries still waiting when the store closes are written then.
    store
        .commit(
            &Command::default(),
            &Draft::new("cn:reader", "Locate"),
            Durability::Buffered,
        )
        .unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(entries(&store).len(), 5);
    assert_eq!(audit::verify(&store).unwrap().broken, None);
}

#[test]
fn client_chosen_uids_cannot_bloat_or_forge_entries() {
    let mut d = Draft::new("cn:client", "Get");
    d.name(&"x".repeat(100_000));
    d.name("a\nforged line");
    assert!(d.uids[0].starts_with("sha256:") && d.uids[0].len() < 80);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .commit(&Command::default(), &d, Durability::Synced)
        .unwrap();
    let mut out = Vec::new();
    audit::export(&store, &Filter::default(), Format::Text, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("a\\nforged line"), "{text}");
}

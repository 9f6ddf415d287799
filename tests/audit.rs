//! The audit log: one entry per operation, written with the change it
//! records; `lkm audit verify` names an edited or deleted entry; retention
//! prunes and leaves a chain that still verifies.

mod common;
#[path = "common/restart.rs"]
mod restart;

use lkm::audit::{self, Draft, Entry, Filter, Format, Head, HeadToken, MacKey, Retention, Stamped};
use lkm::kmip::{Operation, ProtocolVersion, RequestBatchItem, RequestHeader, RequestMessage, tag};
use lkm::store::{Cf, Command, Store};
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
    (restart::stop(server).await, uids, key_hex)
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
    verify_cli(copy.path(), &[])
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
    // With no server to ask, only links: and it says so.
    assert!(
        said.contains("audit log links intact")
            && said.contains("MACs NOT checked")
            && said.contains("13 entries 1 to 13 checked"),
        "{said}"
    );

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
        append(&store, d);
    }
    let before = store.audit_head();
    assert_eq!(before.written(), 200);
    let size = before.bytes;

    let now = audit::now_ms();
    let half = Retention {
        max_bytes: size / 2,
        ..Retention::default()
    };
    // Pruning needs the audit key (the checkpoint carries a MAC); the key
    // store only plans a cut while unsealed.
    let key = MacKey::derive(&ROOT, "test-cluster").unwrap();

    // Nothing is old enough and the log is under its size: nothing goes.
    assert_eq!(prune(&store, &Retention::default(), now, &key).removed, 0);

    // By size: keep about half. All of them are younger than the
    // retention age, so all are counted as pushed out by size.
    let outcome = prune(&store, &half, now, &key);
    let pruned = outcome.removed;
    assert!((95..=105).contains(&pruned), "{pruned}");
    assert_eq!(outcome.by_size, pruned);
    assert!(outcome.newest_by_size_ms.is_some_and(|t| t <= now));
    let head = store.audit_head();
    // Half, the prune's own entry included.
    assert!(head.bytes <= size / 2, "{} > {}", head.bytes, size / 2);
    assert_eq!(head.first_seq, pruned + 1);
    let report = audit::verify(&store).unwrap();
    assert_eq!(report.broken, None, "{report:?}");
    assert_eq!(report.pruned, pruned);
    // The pruning is itself in the log, as its newest entry, and says
    // that history went for lack of room.
    let last = entries(&store).pop().unwrap();
    assert_eq!(last.draft.operation, "AuditPrune");
    assert_eq!(last.seq, 201);
    let detail = last.draft.detail.clone().unwrap_or_default();
    assert!(detail.contains("because the log was over"), "{detail}");
    // With the key, the MACed checkpoint checks too; once anchored, every
    // entry kept but the anchor itself is vouched for.
    store
        .apply(&audit::anchor_command(&key, &store, now).unwrap().unwrap())
        .unwrap();
    let report = audit::verify_with(&store, Some(&key), None).unwrap();
    assert_eq!(report.broken, None, "{report:?}");
    assert_eq!(report.authenticated, report.entries - 1);

    // By age: a year and a day later everything but the newest goes; none
    // of that is "by size".
    let later = now + 366 * 86_400_000;
    let by_age = prune(&store, &Retention::default(), later, &key);
    assert!(by_age.removed > 0);
    assert_eq!(by_age.by_size, 0);
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
        broken.problem.contains("entries 1 to 202 are missing"),
        "{}",
        broken.problem
    );

    // Reopening reads the head back: the chain goes on where it stopped.
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.audit_head().next_seq, 205);
}

#[test]
fn client_chosen_uids_cannot_bloat_or_forge_entries() {
    let mut d = Draft::new("cn:client", "Get");
    d.name(&"x".repeat(100_000));
    d.name("a\nforged line");
    assert!(d.uids[0].starts_with("sha256:") && d.uids[0].len() < 80);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    append(&store, d);
    let mut out = Vec::new();
    audit::export(&store, &Filter::default(), Format::Text, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("a\\nforged line"), "{text}");
}

const ROOT: [u8; 32] = [7; 32];

/// Appends an entry as every node does: applied with its command.
fn append(store: &Store, draft: Draft) {
    let c = Command {
        audit: vec![Stamped {
            time_ms: audit::now_ms(),
            draft,
        }],
        ..Command::default()
    };
    store.apply(&c).unwrap();
}

/// Prunes as the key store does: plan a cut, apply it, until none is left.
fn prune(store: &Store, retention: &Retention, now: i64, key: &MacKey) -> audit::Pruned {
    let mut total = audit::Pruned::default();
    for _ in 0..64 {
        let Some((c, p)) = audit::plan_prune(store, retention, now, key).unwrap() else {
            break;
        };
        assert_eq!(store.apply(&c).unwrap().conflict, None);
        total.removed += p.removed;
        total.by_size += p.by_size;
        total.newest_by_size_ms = total.newest_by_size_ms.max(p.newest_by_size_ms);
    }
    total
}

fn head_of(store: &Store) -> Head {
    serde_json::from_slice(&store.get(Cf::Meta, b"audit/head").unwrap().unwrap()).unwrap()
}

/// An entry as someone without the key would write it: no MAC, no gap.
fn without_mac(e: &Entry) -> Entry {
    let mut v = serde_json::to_value(e).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("mac");
    o.remove("gap");
    serde_json::from_value(v).unwrap()
}

/// Rewrites the whole log, its head and checkpoint consistently with plain
/// SHA-256 links, as anyone with write access to the store could, with
/// `change` applied to each entry.
fn rewrite_whole_log(store: &Store, change: impl Fn(&mut Entry)) {
    let mut head = head_of(store);
    let mut prev = match store.get(Cf::Meta, b"audit/checkpoint").unwrap() {
        Some(raw) => {
            let c: serde_json::Value = serde_json::from_slice(&raw).unwrap();
            c["hash"].as_str().unwrap().to_owned()
        }
        None => audit::GENESIS.to_owned(),
    };
    let mut c = Command::default();
    let mut bytes = 0;
    for e in entries(store) {
        let mut e = without_mac(&e);
        e.prev = prev;
        change(&mut e);
        let raw = e.encode();
        prev = audit::hash(&raw);
        bytes += raw.len() as u64;
        c.put(Cf::Audit, e.seq.to_be_bytes().to_vec(), raw);
    }
    head.prev = prev;
    head.bytes = bytes;
    c.put(Cf::Meta, b"audit/head".to_vec(), head.encode());
    store.apply(&c).unwrap();
}

/// Cuts the log after entry `keep`, the head moved back to match.
fn truncate_log(store: &Store, keep: u64) {
    let mut head = head_of(store);
    let mut c = Command::default();
    let mut bytes = 0;
    let mut prev = String::new();
    for seq in head.first_seq..head.next_seq {
        let raw = store.get(Cf::Audit, &seq.to_be_bytes()).unwrap().unwrap();
        if seq <= keep {
            bytes += raw.len() as u64;
            prev = audit::hash(&raw);
        } else {
            c.delete(Cf::Audit, seq.to_be_bytes().to_vec());
        }
    }
    head.next_seq = keep + 1;
    head.prev = prev;
    head.bytes = bytes;
    c.put(Cf::Meta, b"audit/head".to_vec(), head.encode());
    store.apply(&c).unwrap();
}

async fn some_operations(server: &common::TestServer, n: usize) {
    let mut c = server.client(ProtocolVersion::new(2, 1)).await;
    let uids = common::create_keys(&mut c, n).await;
    for u in &uids {
        c.call(Operation::Get, common::uid_payload(u))
            .await
            .unwrap();
    }
}

fn verify_cli(data: &Path, extra: &[&str]) -> (bool, String) {
    let data = data.to_str().unwrap();
    let mut args = vec!["audit", "verify", "--data", data];
    args.extend_from_slice(extra);
    restart::lkm(&args)
}

/// Exports the head the server vouches for now; returns it and its file.
fn export_head(data: &Path, keep: &Path) -> (HeadToken, String) {
    let file = keep.join("head.json");
    let arg = file.to_str().unwrap().to_owned();
    let (ok, said) = verify_cli(data, &["--export-head", &arg]);
    assert!(ok, "{said}");
    assert!(said.contains("head written to"), "{said}");
    let head = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    (head, arg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_catches_a_whole_log_rewritten_with_plain_sha256() {
    let server = restart::start_kept().await;
    some_operations(&server, 3).await;
    let data = server.dir.path().to_owned();
    // The server checks its log, with its key.
    let (ok, said) = verify_cli(&data, &[]);
    assert!(ok, "{said}");
    assert!(
        said.contains("audit log intact") && said.contains("with their MACs"),
        "{said}"
    );
    assert!(!said.contains("NOT AUTHENTICATED"), "{said}");
    let (ok, said) = verify_cli(&data, &["--strict"]);
    assert!(ok, "an untouched log passes --strict: {said}");
    let keep = tempfile::tempdir().unwrap();
    let (head, head_arg) = export_head(&data, keep.path());

    // Stopped, the whole log is rewritten as an attacker would: an entry
    // changed, every link recomputed, the head to match.
    let dir = restart::stop(server).await;
    let attack = |dir: &Path| {
        let store = Store::open(&dir.join("store")).unwrap();
        rewrite_whole_log(&store, |e| {
            if e.seq == 3 {
                e.draft.actor = "cn:someone-else".into();
            }
        });
    };
    attack(dir.path());
    // Unsealed again and writing, the server is shown the rewrite by the
    // head exported before it.
    let server = restart::restart(dir).await;
    some_operations(&server, 1).await;
    let (ok, said) = verify_cli(&data, &["--expect-head", &head_arg]);
    assert!(!ok, "{said}");
    assert!(head.seq > 3, "{head:?}");
    drop(restart::stop(server).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_head_catches_truncation_and_forgery() {
    let server = restart::start_kept().await;
    some_operations(&server, 3).await;
    let data = server.dir.path().to_owned();
    let keep = tempfile::tempdir().unwrap();
    let (head, head_arg) = export_head(&data, keep.path());
    assert!(head.seq >= 7, "{head:?}");

    // History goes on; the exported head is still in it.
    some_operations(&server, 2).await;
    let (ok, said) = verify_cli(&data, &["--expect-head", &head_arg]);
    assert!(ok, "{said}");
    assert!(
        said.contains(&format!("(entry {}) is in the chain", head.seq)),
        "{said}"
    );

    // A head no server made.
    let forged_file = keep.path().join("forged.json");
    let mut forged = head.clone();
    forged.seq -= 1;
    std::fs::write(&forged_file, serde_json::to_string(&forged).unwrap()).unwrap();
    let (ok, said) = verify_cli(&data, &["--expect-head", forged_file.to_str().unwrap()]);
    assert!(!ok && said.contains("MAC does not check"), "{said}");

    // The log cut back to before the exported head, consistently.
    let dir = restart::stop(server).await;
    {
        let store = Store::open(&dir.path().join("store")).unwrap();
        truncate_log(&store, head.seq - 2);
    }
    // Without the head, nothing shows it: the chain that is left holds.
    let (ok, said) = verify_cli(&data, &[]);
    assert!(ok, "{said}");
    let (ok, said) = verify_cli(&data, &["--expect-head", &head_arg]);
    assert!(
        !ok && said.contains("truncated: the log ends at entry"),
        "{said}"
    );
    let server = restart::restart(dir).await;
    let (ok, said) = verify_cli(&data, &["--expect-head", &head_arg]);
    assert!(
        !ok && said.contains("truncated: the log ends at entry"),
        "{said}"
    );
    // Grown again past the head's entry: still named a truncation.
    some_operations(&server, 2).await;
    let (ok, said) = verify_cli(&data, &["--expect-head", &head_arg]);
    assert!(!ok, "{said}");
    assert!(
        said.contains(&format!("truncated: entry {} was written after", head.seq)),
        "{said}"
    );
    drop(restart::stop(server).await);
}

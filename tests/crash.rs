//! kill -9 in the middle of writes: a child process (this test binary,
//! re-run in child mode) writes and acknowledges mutations as fast as it
//! can; the parent kills it without warning, reopens the store, and checks
//! that every acknowledged object is there byte for byte and that every
//! object present has all of its index entries: whole mutations or none.
//! The audit log too: every acknowledged change has its entry, the chain
//! still verifies, and the object counts match the objects.
//! (SIGKILL keeps the OS page cache, so this proves atomicity and that an
//! acknowledged write is in the log; surviving power loss rests on the WAL
//! sync that `Store::apply` requests before it returns.)

use lkm::audit::{self, Draft, Entry, Filter, Format, Scope};
use lkm::keystore::{IndexKind, KeyStore, Owners};
use lkm::kmip::{ObjectType, tag};
use lkm::objects::{ManagedObject, State};
use lkm::seal::shares::ShareFile;
use lkm::ttlv::Item;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const CHILD_ENV: &str = "LKM_CRASH_CHILD_DIR";

fn object(i: usize) -> ManagedObject {
    ManagedObject {
        uid: format!("crash-{i:06}"),
        object_type: ObjectType::SecretData,
        state: State::PreActive,
        owner: "c".repeat(64),
        owner_name: "crash".into(),
        attributes: vec![
            Item::structure(
                tag::NAME,
                vec![
                    Item::text(tag::NAME_VALUE, format!("name-{i}")),
                    Item::enumeration(tag::NAME_TYPE, 1),
                ],
            ),
            Item::text(tag::OBJECT_GROUP, format!("group-{}", i % 7)),
        ],
        object: Some(Item::structure(
            tag::SECRET_DATA,
            vec![Item::bytes(tag::KEY_MATERIAL, vec![(i % 251) as u8; 64])],
        )),
    }
}

/// The writer: insert, then activate, each acknowledged on stdout.
fn child(dir: &str) {
    let share = ShareFile::read(&std::path::Path::new(dir).join("share.json")).unwrap();
    let ks = KeyStore::open(&std::path::Path::new(dir).join("store")).unwrap();
    ks.unseal(share).unwrap();
    for i in 0.. {
        let create = Scope::new(Draft::new("cn:crash", "Create"));
        ks.audited(&create).insert(&object(i)).unwrap();
        println!("inserted {i}");
        // A read between writes: its entry is not waited for on disk.
        let mut read = Draft::new("cn:crash", "Get");
        read.name(&object(i).uid);
        ks.record(&read).unwrap();
        if i % 2 == 0 {
            let activate = Scope::new(Draft::new("cn:crash", "Activate"));
            ks.audited(&activate)
                .update::<lkm::keystore::KeyStoreError>(&object(i).uid, |o| {
                    o.state = State::Active;
                    Ok(())
                })
                .unwrap();
            println!("activated {i}");
        }
    }
}

#[test]
fn kill_minus_nine_leaves_whole_mutations_or_none() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
        return;
    }
    let top = tempfile::tempdir().unwrap();
    for round in 0..3 {
        // Each round kills a writer at a different moment, on a fresh store.
        let dir = top.path().join(format!("round-{round}"));
        let store_dir = dir.join("store");
        let files = KeyStore::open(&store_dir)
            .unwrap()
            .initialize(1, 1, "crash", |_| Ok(()))
            .unwrap();
        files[0].write(&dir.join("share.json")).unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "kill_minus_nine_leaves_whole_mutations_or_none",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut inserted = Vec::new();
        let mut activated = Vec::new();
        let target = 150 + round * 37;
        for line in stdout.lines() {
            let line = line.unwrap();
            // libtest may print its own words before ours on a line.
            if let Some((_, i)) = line.rsplit_once("inserted ") {
                inserted.push(i.parse::<usize>().unwrap());
            } else if let Some((_, i)) = line.rsplit_once("activated ") {
                activated.push(i.parse::<usize>().unwrap());
            }
            if inserted.len() >= target {
                break;
            }
        }
        // SIGKILL: no destructors, no flush.
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(inserted.len() >= target, "child wrote too little");
        println!(
            "round {round}: killed after {} acknowledged inserts, {} activations",
            inserted.len(),
            activated.len()
        );

        let ks = KeyStore::open(&store_dir).unwrap();
        ks.unseal(ShareFile::read(&dir.join("share.json")).unwrap())
            .unwrap();
        for &i in &inserted {
            let got = ks
                .load(&object(i).uid)
                .unwrap()
                .expect("acknowledged insert survives");
            assert_eq!(got.object, object(i).object, "object {i} byte for byte");
        }
        for &i in &activated {
            assert_eq!(
                ks.load(&object(i).uid).unwrap().unwrap().state,
                State::Active
            );
        }
        // Every acknowledged change has its entry; the chain holds.
        let report = audit::verify(ks.store()).unwrap();
        assert_eq!(report.broken, None, "round {round}");
        let mut raw = Vec::new();
        audit::export(ks.store(), &Filter::default(), Format::Jsonl, &mut raw).unwrap();
        let logged: std::collections::HashSet<(String, String)> = String::from_utf8(raw)
            .unwrap()
            .lines()
            .map(|l| Entry::decode(l.as_bytes()).unwrap())
            .flat_map(|e| {
                let op = e.draft.operation.clone();
                e.draft.uids.into_iter().map(move |u| (op.clone(), u))
            })
            .collect();
        for &i in &inserted {
            assert!(logged.contains(&("Create".into(), object(i).uid)), "{i}");
        }
        for &i in &activated {
            assert!(logged.contains(&("Activate".into(), object(i).uid)), "{i}");
        }
        // Beyond what was acknowledged: whatever exists is whole.
        let last = inserted.iter().max().copied().unwrap_or(0);
        for i in 0..last + 20 {
            let o = ks.load(&object(i).uid).unwrap();
            let by_name = ks
                .lookup(
                    Owners::All,
                    IndexKind::Name,
                    format!("name-{i}").as_bytes(),
                    2,
                )
                .unwrap();
            let by_state = ks
                .lookup(
                    Owners::All,
                    IndexKind::State,
                    &State::Active.value().to_be_bytes(),
                    usize::MAX,
                )
                .unwrap()
                .contains(&object(i).uid);
            match o {
                Some(o) => {
                    assert_eq!(by_name, vec![o.uid.clone()], "index of {i}");
                    assert_eq!(by_state, o.state == State::Active, "state index of {i}");
                }
                None => assert!(
                    by_name.is_empty() && !by_state,
                    "index without record for {i}"
                ),
            }
        }
        // The counts the metrics show, kept in the same batches.
        let mut present = (0, 0);
        for uid in ks.all_uids(usize::MAX).unwrap() {
            match ks.load(&uid).unwrap().unwrap().state {
                State::Active => present.1 += 1,
                _ => present.0 += 1,
            }
        }
        let counts = ks.object_counts().unwrap();
        let count = |state: &str| {
            counts
                .iter()
                .find(|(t, s, _)| t == "SecretData" && s == state)
                .map_or(0, |c| c.2)
        };
        assert_eq!((count("PreActive"), count("Active")), present);
    }
}

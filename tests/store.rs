//! The sealed key store, through its library API: shares and thresholds,
//! restarts, tampering, secrecy at rest, KEK rotation and a large store.

#[path = "common/offline.rs"]
mod offline;

use lkm::keystore::{IndexKind, KeyStore, KeyStoreError, Owners};
use lkm::kmip::tag;
use lkm::objects::{ManagedObject, State};
use lkm::seal::envelope::generate_key;
use lkm::seal::shares::{self, ShareFile};
use lkm::store::{Cf, Command, Store};
use lkm::ttlv::Item;
use std::path::Path;
use std::time::{Duration, Instant};

fn object(i: usize, key: &[u8], name: &str) -> ManagedObject {
    offline::symmetric_key(
        i,
        name,
        vec![Item::structure(
            tag::KEY_BLOCK,
            vec![Item::structure(
                tag::KEY_VALUE,
                vec![Item::bytes(tag::KEY_MATERIAL, key.to_vec())],
            )],
        )],
    )
}

fn key_of(i: usize) -> Vec<u8> {
    (0..32).map(|j| (i * 31 + j * 7 + 0x5a) as u8).collect()
}

fn reparse(f: &ShareFile) -> ShareFile {
    ShareFile::parse(&f.to_json()).unwrap()
}

/// Initializes a store and returns its share files; the store is dropped.
fn init(dir: &Path, n: u8, k: u8) -> Vec<ShareFile> {
    KeyStore::open(dir)
        .unwrap()
        .initialize(n, k, "test", |_| Ok(()))
        .unwrap()
}

#[test]
fn k_minus_one_shares_stay_sealed_and_k_unseal() {
    for (n, k) in [(1u8, 1u8), (3, 2), (5, 3)] {
        let dir = tempfile::tempdir().unwrap();
        let files = init(dir.path(), n, k);
        let ks = KeyStore::open(dir.path()).unwrap();
        assert!(ks.status().sealed);
        for (given, f) in files.iter().rev().take(k as usize - 1).enumerate() {
            let s = ks.unseal(reparse(f)).unwrap();
            assert!(s.sealed, "{k} of {n}: sealed after {} shares", given + 1);
            assert_eq!(s.have, given + 1);
            assert!(
                s.to_string().contains(&format!("{} of {k}", given + 1)),
                "{s}"
            );
            // Sealed: no object can be read or written.
            assert!(matches!(ks.load("x"), Err(KeyStoreError::Sealed(_))));
        }
        let s = ks.unseal(reparse(&files[0])).unwrap();
        assert!(!s.sealed, "{k} of {n} unseals");
        ks.insert(&object(1, &key_of(1), "a")).unwrap();
    }
}

#[test]
fn bad_shares_are_named_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let files = init(dir.path(), 3, 2);
    let other = tempfile::tempdir().unwrap();
    let foreign = init(other.path(), 3, 2);
    let ks = KeyStore::open(dir.path()).unwrap();

    let e = ks.unseal(reparse(&foreign[0])).unwrap_err();
    assert!(e.to_string().contains("belongs to cluster"), "{e}");
    assert_eq!(ks.status().have, 0);

    ks.unseal(reparse(&files[0])).unwrap();
    let e = ks.unseal(reparse(&files[0])).unwrap_err();
    assert!(e.to_string().contains("already given"), "{e}");
    assert_eq!(ks.status().have, 1);

    // A share with a valid file but the wrong secret: it does not match
    // the commitment recorded for its index, so it is named and not kept
    // (stores from before commitments find out only when the key does
    // not open: a_store_from_before_commitments_still_unseals).
    let wrong = shares::split(&generate_key().unwrap(), &files[1].split, "").unwrap();
    let e = ks.unseal(reparse(&wrong[1])).unwrap_err();
    assert!(e.to_string().contains("share 2 does not match"), "{e}");
    let s = ks.status();
    assert!(s.sealed);
    assert_eq!(s.have, 1);

    // Corrupted text is refused before it can be given.
    let text = files[1].to_json().replace("\"index\": 2", "\"index\": 3");
    assert!(ShareFile::parse(&text).is_err());

    // The right shares still unseal.
    assert!(!ks.unseal(reparse(&files[2])).unwrap().sealed);
}

/// The share bytes (x, then y) of a share file.
fn share_bytes(f: &ShareFile) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
    hex::decode(v["share"].as_str().unwrap()).unwrap()
}

/// A share file's text with its index and share bytes replaced and its
/// checksum recomputed, as someone editing it by hand would: the checksum
/// has no key, so it is no obstacle.
fn hand_edit(f: &ShareFile, index: u8, share: &[u8]) -> String {
    use aws_lc_rs::digest;
    let share_hex = hex::encode(share);
    let s = &f.split;
    let text = format!(
        "lkm-share-v1|{}|{}|{}|{}|{index}|{share_hex}",
        s.cluster_id, s.split_id, s.threshold, s.shares
    );
    let mut v: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
    v["index"] = index.into();
    v["share"] = share_hex.into();
    v["checksum"] = hex::encode(digest::digest(&digest::SHA256, text.as_bytes())).into();
    v.to_string()
}

#[test]
fn a_share_edited_by_hand_is_named_by_index_and_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let files = init(dir.path(), 3, 2);
    let ks = KeyStore::open(dir.path()).unwrap();

    // Share 2 with one y byte changed: its file still parses.
    let mut y_changed = share_bytes(&files[1]);
    y_changed[7] ^= 0x5a;
    let edited = ShareFile::parse(&hand_edit(&files[1], 2, &y_changed)).unwrap();
    let e = ks.unseal(edited).unwrap_err().to_string();
    assert!(
        e.contains("share 2 does not match the commitment recorded at init"),
        "{e}"
    );
    assert_eq!(ks.status().have, 0);

    // Given after a genuine share, it is refused just the same, and the
    // genuine share stays.
    ks.unseal(reparse(&files[0])).unwrap();
    let edited = ShareFile::parse(&hand_edit(&files[1], 2, &y_changed)).unwrap();
    let e = ks.unseal(edited).unwrap_err().to_string();
    assert!(e.contains("share 2 does not match"), "{e}");
    let s = ks.status();
    assert!(s.sealed);
    assert_eq!(s.have, 1);

    // A genuine share of another store under this store's names.
    let wrong = shares::split(&generate_key().unwrap(), &files[2].split, "").unwrap();
    let e = ks.unseal(reparse(&wrong[2])).unwrap_err().to_string();
    assert!(e.contains("share 3 does not match"), "{e}");
    assert_eq!(ks.status().have, 1);

    // x != index, and x = 0: refused when read, named by the file's index.
    let two = share_bytes(&files[1]);
    let e = ShareFile::parse(&hand_edit(&files[1], 3, &two))
        .err()
        .unwrap();
    assert!(e.to_string().starts_with("share 3 is malformed"), "{e}");
    let mut zero = two.clone();
    zero[0] = 0;
    for index in [0, 2] {
        let e = ShareFile::parse(&hand_edit(&files[1], index, &zero))
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .starts_with(&format!("share {index} is malformed")),
            "{e}"
        );
    }
    let e = ShareFile::parse(&hand_edit(&files[1], 2, &two[..32]))
        .err()
        .unwrap();
    assert!(e.to_string().contains("32 bytes"), "{e}");

    // The genuine share 2 completes the unseal.
    assert!(!ks.unseal(reparse(&files[1])).unwrap().sealed);
}

#[test]
fn threshold_one_of_several_shares_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ks = KeyStore::open(dir.path()).unwrap();
    for n in [2u8, 3, 5] {
        let e = ks.initialize(n, 1, "test", |_| Ok(())).err().unwrap();
        assert!(e.to_string().contains("threshold 1 of"), "{e}");
        assert!(!ks.status().initialized);
    }
    // One share, threshold 1 (dev mode) and 2 of 2 are fine.
    assert_eq!(shares::default_threshold(2), 2);
    assert_eq!(shares::default_threshold(3), 2);
    let files = ks.initialize(2, 2, "test", |_| Ok(())).unwrap();
    assert_eq!(files.len(), 2);
    assert!(ks.unseal(reparse(&files[0])).unwrap().sealed);
    assert!(!ks.unseal(reparse(&files[1])).unwrap().sealed);
    let dev = tempfile::tempdir().unwrap();
    init(dev.path(), 1, 1);
}

/// Rewrites the cluster record of the (closed) store in `dir` with `edit`,
/// as someone with access to the disk could.
fn edit_cluster_record(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let store = Store::open(dir).unwrap();
    let record = store.get(Cf::Meta, b"cluster").unwrap().unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&record).unwrap();
    edit(&mut v);
    let mut c = Command::default();
    c.put(
        Cf::Meta,
        b"cluster".to_vec(),
        serde_json::to_vec(&v).unwrap(),
    );
    store.apply(&c).unwrap();
}

/// A store written before share commitments (its cluster record is the bare
/// split) still unseals, with the structure checks only.
#[test]
fn a_store_from_before_commitments_still_unseals() {
    let dir = tempfile::tempdir().unwrap();
    let files = init(dir.path(), 3, 2);
    edit_cluster_record(dir.path(), |v| {
        assert!(v.as_object_mut().unwrap().remove("commitments").is_some());
    });
    let ks = KeyStore::open(dir.path()).unwrap();
    // A hand-edited share passes the structure checks; the combined key
    // is still checked by opening the sealed root key.
    let mut y_changed = share_bytes(&files[1]);
    y_changed[3] ^= 1;
    ks.unseal(ShareFile::parse(&hand_edit(&files[1], 2, &y_changed)).unwrap())
        .unwrap();
    let e = ks.unseal(reparse(&files[0])).unwrap_err().to_string();
    assert!(e.contains("do not rebuild"), "{e}");
    assert_eq!(ks.status().have, 0);
    let e = ShareFile::parse(&hand_edit(&files[1], 3, &share_bytes(&files[1])));
    assert!(e.is_err());
    ks.unseal(reparse(&files[2])).unwrap();
    assert!(!ks.unseal(reparse(&files[0])).unwrap().sealed);

    // A damaged list of commitments is not taken for a legacy record.
    drop(ks);
    edit_cluster_record(dir.path(), |v| {
        v["commitments"] = serde_json::json!(["00"]);
    });
    let e = KeyStore::open(dir.path()).err().unwrap().to_string();
    assert!(e.contains("commitments"), "{e}");
}

#[test]
fn shares_given_while_sealed_are_dropped_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let files = init(dir.path(), 5, 3);
    let ks = KeyStore::open(dir.path()).unwrap();
    let start = Instant::now();
    ks.unseal(reparse(&files[0])).unwrap();
    ks.unseal(reparse(&files[1])).unwrap();
    assert_eq!(ks.status().have, 2);
    // The default is ten minutes.
    assert_eq!(ks.drop_expired_shares(start + Duration::from_secs(590)), 0);
    assert_eq!(ks.status().have, 2);
    assert_eq!(ks.drop_expired_shares(start + Duration::from_secs(601)), 2);
    let s = ks.status();
    assert!(s.sealed);
    assert_eq!(s.have, 0);
    assert!(s.to_string().contains("0 of 3"), "{s}");
    // Nothing left to drop; the operators start over and unseal.
    assert_eq!(ks.drop_expired_shares(start + Duration::from_secs(700)), 0);
    for f in &files[2..] {
        ks.unseal(reparse(f)).unwrap();
    }
    assert!(!ks.status().sealed);
    // Unsealed, there is nothing to drop and nothing changes.
    assert_eq!(
        ks.drop_expired_shares(start + Duration::from_secs(9_999)),
        0
    );
    assert!(!ks.status().sealed);

    // A configured timeout; a share given after it has passed finds the
    // earlier ones gone, and starts a new wait.
    ks.seal();
    ks.set_pending_share_timeout(Duration::from_millis(300));
    ks.unseal(reparse(&files[0])).unwrap();
    assert_eq!(ks.drop_expired_shares(Instant::now()), 0);
    std::thread::sleep(Duration::from_millis(400));
    let s = ks.unseal(reparse(&files[1])).unwrap();
    assert_eq!(s.have, 1, "{s}");
}

#[test]
fn restart_keeps_objects_byte_identical_and_indexes_work() {
    let dir = tempfile::tempdir().unwrap();
    let files = init(dir.path(), 1, 1);
    let objects: Vec<_> = (0..20)
        .map(|i| object(i, &key_of(i), &format!("disk-{i}")))
        .collect();
    {
        let ks = offline::unsealed(dir.path(), &files);
        for o in &objects {
            ks.insert(o).unwrap();
        }
        assert!(matches!(
            ks.insert(&objects[0]),
            Err(KeyStoreError::Exists(_))
        ));
    }
    let ks = offline::unsealed(dir.path(), &files);
    for o in &objects {
        assert_eq!(ks.load(&o.uid).unwrap().as_ref(), Some(o));
    }
    assert_eq!(
        ks.lookup(Owners::All, IndexKind::Name, b"disk-7", 10)
            .unwrap(),
        vec![objects[7].uid.clone()]
    );
    // An update moves the index entries with the record, atomically.
    ks.update::<KeyStoreError>(&objects[7].uid, |o| {
        o.state = State::Active;
        Ok(())
    })
    .unwrap();
    assert_eq!(
        ks.lookup(
            Owners::All,
            IndexKind::State,
            &State::Active.value().to_be_bytes(),
            10
        )
        .unwrap(),
        vec![objects[7].uid.clone()]
    );
    assert_eq!(
        ks.lookup(
            Owners::All,
            IndexKind::State,
            &State::PreActive.value().to_be_bytes(),
            100
        )
        .unwrap()
        .len(),
        19
    );
}

#[test]
fn tampered_swapped_and_wrong_version_records_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = init(dir.path(), 1, 1);
    {
        let ks = offline::unsealed(dir.path(), &files);
        for i in 0..3 {
            ks.insert(&object(i, &key_of(i), "n")).unwrap();
        }
    }
    {
        let store = Store::open(dir.path()).unwrap();
        let get = |i: usize| {
            store
                .get(Cf::Objects, object(i, &[], "").uid.as_bytes())
                .unwrap()
                .unwrap()
        };
        let (r0, r1, mut r2) = (get(0), get(1), get(2));
        let mut c = Command::default();
        // Swap records 0 and 1.
        c.put(Cf::Objects, object(0, &[], "").uid.into_bytes(), r1);
        c.put(Cf::Objects, object(1, &[], "").uid.into_bytes(), r0);
        // Claim KEK version 9 for record 2.
        r2[9..13].copy_from_slice(&9u32.to_be_bytes());
        c.put(Cf::Objects, object(2, &[], "").uid.into_bytes(), r2);
        store.apply(&c).unwrap();
    }
    let ks = offline::unsealed(dir.path(), &files);
    for i in 0..2 {
        let e = ks.load(&object(i, &[], "").uid).unwrap_err().to_string();
        assert!(e.contains("failed authentication"), "{e}");
    }
    let e = ks.load(&object(2, &[], "").uid).unwrap_err().to_string();
    assert!(e.contains("KEK version 9"), "{e}");
    drop(ks);
    // One flipped bit in the ciphertext.
    {
        let store = Store::open(dir.path()).unwrap();
        let uid = object(2, &[], "").uid;
        let mut r = store.get(Cf::Objects, uid.as_bytes()).unwrap().unwrap();
        r[9..13].copy_from_slice(&1u32.to_be_bytes());
        let last = r.len() - 20;
        r[last] ^= 0x01;
        let mut c = Command::default();
        c.put(Cf::Objects, uid.into_bytes(), r);
        store.apply(&c).unwrap();
    }
    let ks = offline::unsealed(dir.path(), &files);
    let e = ks.load(&object(2, &[], "").uid).unwrap_err().to_string();
    assert!(e.contains("failed authentication"), "{e}");
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn all_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out)
        } else {
            out.push(p)
        }
    }
}

#[test]
fn no_key_bytes_and_no_names_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let files = init(dir.path(), 1, 1);
    let secret_name = "payroll-master-key-7f3a";
    let keys: Vec<Vec<u8>> = (0..50).map(key_of).collect();
    {
        let ks = offline::unsealed(dir.path(), &files);
        for (i, k) in keys.iter().enumerate() {
            ks.insert(&object(i, k, &format!("{secret_name}-{i}")))
                .unwrap();
        }
    }
    // Reopen so memtables are flushed to table files as well as the WAL.
    drop(KeyStore::open(dir.path()).unwrap());
    let mut paths = Vec::new();
    all_files(dir.path(), &mut paths);
    let mut bytes_seen = 0;
    for p in &paths {
        let data = std::fs::read(p).unwrap();
        bytes_seen += data.len();
        assert!(
            !contains(&data, secret_name.as_bytes()),
            "name in clear in {}",
            p.display()
        );
        for k in &keys {
            assert!(
                !contains(&data, &k[..16]),
                "key bytes in clear in {}",
                p.display()
            );
            assert!(
                !contains(&data, hex::encode(&k[..16]).as_bytes()),
                "key hex in {}",
                p.display()
            );
        }
    }
    assert!(
        bytes_seen > 50 * 32,
        "the store holds the records ({bytes_seen} bytes)"
    );
}

#[test]
fn kek_rotation_rewraps_in_the_background_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let files = init(dir.path(), 1, 1);
    let objects: Vec<_> = (0..50).map(|i| object(i, &key_of(i), "r")).collect();
    {
        let ks = offline::unsealed(dir.path(), &files);
        for o in &objects {
            ks.insert(o).unwrap();
        }
        assert_eq!(ks.rotate_kek().unwrap(), 2);
        let p = ks.rewrap_step(10).unwrap();
        assert_eq!(p.moved, 10);
        assert!(!p.done);
        // New writes use the new KEK at once.
        ks.insert(&object(99, &key_of(99), "new")).unwrap();
    }
    // "Crash" midway: reopen from disk.
    let ks = offline::unsealed(dir.path(), &files);
    assert_eq!(ks.status().kek_versions, vec![1, 2]);
    let mut moved = 0;
    loop {
        let p = ks.rewrap_step(7).unwrap();
        moved += p.moved;
        if p.done {
            break;
        }
    }
    assert_eq!(moved, 40, "the 40 records not moved before the restart");
    assert_eq!(ks.status().kek_versions, vec![2]);
    for o in &objects {
        assert_eq!(ks.load(&o.uid).unwrap().as_ref(), Some(o));
    }
    drop(ks);
    let store = Store::open(dir.path()).unwrap();
    for (k, v) in store.scan(Cf::Objects, b"", b"", usize::MAX).unwrap() {
        assert_eq!(
            u32::from_be_bytes(v[9..13].try_into().unwrap()),
            2,
            "{:?}",
            String::from_utf8_lossy(&k)
        );
    }
}

#[test]
fn a_million_objects_open_and_unseal_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    let files = init(dir.path(), 3, 2);
    const N: usize = 1_000_000;
    {
        let ks = offline::unsealed(dir.path(), &files[..2]);
        let mut batch = Vec::with_capacity(10_000);
        for i in 0..N {
            batch.push(object(i, &key_of(i), &format!("k{i}")));
            if batch.len() == 10_000 {
                ks.insert_bulk(&batch).unwrap();
                batch.clear();
            }
        }
        ks.insert_bulk(&batch).unwrap();
    }
    let ks = offline::unsealed(dir.path(), &files[1..]);
    assert!(!ks.status().sealed);
    assert_eq!(
        ks.records_opened.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    let probe = object(654_321, &[], "").uid;
    let o = ks.load(&probe).unwrap().unwrap();
    assert_eq!(o.names().next(), Some("k654321"));
    assert_eq!(
        ks.lookup(Owners::All, IndexKind::Name, b"k999999", 2)
            .unwrap(),
        vec![object(999_999, &[], "").uid]
    );
    assert_eq!(
        ks.records_opened.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn undo_restores_only_what_nobody_changed_since() {
    use lkm::audit::{Draft, Scope};
    let dir = tempfile::tempdir().unwrap();
    let files = init(dir.path(), 1, 1);
    let ks = offline::unsealed(dir.path(), &files);
    let original = object(1, &key_of(1), "undo");
    ks.insert(&original).unwrap();
    // A batch activates the key (record version 2)...
    let batch = Scope::new(Draft::new("batch", "Activate"));
    ks.audited(&batch)
        .update::<KeyStoreError>(&original.uid, |o| {
            o.state = State::Active;
            Ok(())
        })
        .unwrap();
    assert_eq!(batch.versions(), vec![(original.uid.clone(), 2)]);
    // ...someone else revokes it meanwhile (version 3)...
    let other = Scope::new(Draft::new("admin", "Revoke"));
    ks.audited(&other)
        .update::<KeyStoreError>(&original.uid, |o| {
            o.state = State::Compromised;
            Ok(())
        })
        .unwrap();
    // ...and the batch's undo must not put the object back.
    let undo = Scope::new(Draft::new("batch", "BatchUndo"));
    let refused = ks
        .audited(&undo)
        .restore_if(&original.uid, Some(&original), 2);
    assert!(
        matches!(
            refused,
            Err(KeyStoreError::Changed {
                found: 3,
                expected: 2,
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(
        ks.load(&original.uid).unwrap().unwrap().state,
        State::Compromised
    );
    // Unchanged since the batch: the undo goes through.
    ks.audited(&undo)
        .restore_if(&original.uid, Some(&original), 3)
        .unwrap();
    assert_eq!(
        ks.load(&original.uid).unwrap().unwrap().state,
        State::PreActive
    );
}

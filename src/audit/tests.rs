//! Anchors, pruning plans and the verify walk over hand-built chains in a
//! real store: entries placed by `Store::apply` exactly as every node
//! places them, and logs of the kind earlier versions wrote (a MAC per
//! entry, gaps, the record of where MACs began) built with `Head::append`.

use super::*;
use crate::store::{Cf, Command, Store};

const ROOT: [u8; 32] = [7; 32];
const T0: i64 = 1_700_000_000_000;

fn mac_key() -> MacKey {
    MacKey::derive(&ROOT, "c1").unwrap()
}

/// A store with the audit key, as an unsealed node has it.
fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.unlock_audit(&ROOT, "c1");
    (dir, store)
}

/// Appends `n` Get entries, one command each, as the cluster applies them.
fn write(store: &Store, n: u64) {
    for _ in 0..n {
        let seq = store.audit_head().next_seq;
        let mut d = Draft::new("cn:test", "Get");
        d.name(&format!("uid-{seq}"));
        let c = Command {
            audit: vec![Stamped {
                time_ms: T0 + seq as i64,
                draft: d,
            }],
            ..Command::default()
        };
        store.apply(&c).unwrap();
    }
}

fn anchor(store: &Store) {
    let c = anchor_command(&mac_key(), store, T0).unwrap().unwrap();
    store.apply(&c).unwrap();
}

fn raw(store: &Store, seq: u64) -> Vec<u8> {
    store.get(Cf::Audit, &key(seq)).unwrap().unwrap()
}

fn entry(store: &Store, seq: u64) -> Entry {
    Entry::decode(&raw(store, seq)).unwrap()
}

fn checked(store: &Store) -> Report {
    verify_with(store, Some(&mac_key()), None).unwrap()
}

fn broken(store: &Store) -> Break {
    let r = checked(store);
    match r.broken {
        Some(b) => b,
        None => panic!("not broken: {r:?}"),
    }
}

/// Rewrites entries `from` on with `change`, every link after recomputed
/// and the head to match, as anyone who can write the store could.
fn rewrite_from(store: &Store, from: u64, change: impl Fn(&mut Entry)) {
    let head = store.audit_head();
    let mut prev = if from > 1 {
        hash(&raw(store, from - 1))
    } else {
        GENESIS.to_owned()
    };
    let mut c = Command::default();
    for seq in from..head.next_seq {
        let mut e = entry(store, seq);
        e.prev = prev;
        change(&mut e);
        let bytes = e.encode();
        prev = hash(&bytes);
        c.put(Cf::Audit, key(seq).to_vec(), bytes);
    }
    let mut head = head;
    head.prev = prev;
    c.put(Cf::Meta, META_HEAD, head.encode());
    store.apply(&c).unwrap();
}

#[test]
fn an_anchored_chain_verifies_strict_and_nothing_new_needs_no_anchor() {
    let (_d, store) = store();
    assert_eq!(anchor_draft(&mac_key(), &store).unwrap(), None, "empty");
    write(&store, 5);
    // What the server does for `lkm audit verify`: anchor, then walk.
    let (r, token) = verify_live(&store, None, || {
        anchor(&store);
        Ok(())
    })
    .unwrap();
    assert_eq!(r.broken, None, "{r:?}");
    assert_eq!(r.entries, 6);
    assert_eq!(r.anchors, 1);
    assert_eq!(r.vouched_through, Some(5));
    assert_eq!(r.unauthenticated_count(), 0, "{r:?}");
    // Its own anchor came after it began: left to the next verify.
    assert_eq!((r.authenticated, r.since_verify), (5, 1));
    assert!(token.is_some_and(|t| t.seq == 6));
    let a = entry(&store, 6);
    assert_eq!(a.draft.operation, ANCHOR_OPERATION);
    assert_eq!(a.draft.anchor.as_ref().unwrap().through_seq, 5);
    assert_eq!(a.draft.anchor.as_ref().unwrap().hash, hash(&raw(&store, 5)));
    // The newest entry anchors the one before it: nothing new to vouch for.
    assert_eq!(anchor_draft(&mac_key(), &store).unwrap(), None);
    // A new entry is; the next anchor covers the previous anchor too.
    write(&store, 1);
    anchor(&store);
    let r = checked(&store);
    assert_eq!(r.broken, None, "{r:?}");
    assert_eq!((r.anchors, r.vouched_through), (2, Some(7)));
    assert_eq!((r.authenticated, r.entries), (7, 8));
}

#[test]
fn entries_after_the_newest_anchor_are_the_unanchored_tail() {
    let (_d, store) = store();
    write(&store, 3);
    anchor(&store); // 4 vouches for 1-3
    write(&store, 2); // 5-6
    let r = checked(&store);
    assert_eq!(r.broken, None, "{r:?}");
    assert!(r.unauthenticated.is_empty(), "{r:?}");
    let tail = r.unanchored.clone().unwrap();
    assert_eq!((tail.first, tail.last), (4, 6));
    assert!(tail.why.contains("after the newest entry"), "{}", tail.why);
    assert_eq!((r.authenticated, r.unauthenticated_count()), (3, 3));
    // Without the key: links only, nothing said of anchors.
    let plain = verify(&store).unwrap();
    assert_eq!(plain.broken, None);
    assert!(!plain.macs_checked && plain.unanchored.is_none());
    // Never anchored at all: the whole log is the tail, said as such.
    let (_d, fresh) = self::store();
    write(&fresh, 2);
    let r = checked(&fresh);
    let tail = r.unanchored.unwrap();
    assert_eq!((tail.first, tail.last), (1, 2));
    assert!(tail.why.contains("no anchor vouches"), "{}", tail.why);
    // A live verify whose anchor could not be written counts it all.
    let (r, _) = verify_live(&fresh, None, || Err("no quorum".into())).unwrap();
    assert_eq!(r.anchor_error.as_deref(), Some("no quorum"));
    assert_eq!((r.unauthenticated_count(), r.since_verify), (2, 0));
}

#[test]
fn an_anchor_proposed_before_other_entries_landed_still_vouches() {
    // In a cluster other commands may be applied between the anchor's
    // proposal and its application: it names an entry further back.
    let (_d, store) = store();
    write(&store, 3);
    let c = anchor_command(&mac_key(), &store, T0).unwrap().unwrap();
    write(&store, 2); // 4-5, before the anchor lands at 6
    store.apply(&c).unwrap();
    let r = checked(&store);
    assert_eq!(r.broken, None, "{r:?}");
    assert_eq!(r.vouched_through, Some(3));
    let tail = r.unanchored.unwrap();
    assert_eq!((tail.first, tail.last), (4, 6));
    // ... and the one after covers them.
    anchor(&store);
    assert_eq!(checked(&store).vouched_through, Some(6));
    // Entry 2, changed with every link after it redone, no longer is
    // what the anchor in entry 6 vouched for.
    rewrite_from(&store, 2, |e| {
        if e.seq == 2 {
            e.draft.actor = "cn:someone-else".into();
        }
    });
    let b = broken(&store);
    assert_eq!(b.seq, 3, "{b:?}");
    assert!(b.problem.contains("anchor in entry 6"), "{}", b.problem);
}

#[test]
fn an_entry_edited_before_an_anchor_breaks_it_even_with_links_redone() {
    let (_d, store) = store();
    write(&store, 5);
    anchor(&store); // 6 vouches for 1-5
    write(&store, 1);
    rewrite_from(&store, 3, |e| {
        if e.seq == 3 {
            e.draft.uids = vec!["other".into()];
        }
    });
    // Links alone cannot tell.
    assert_eq!(verify(&store).unwrap().broken, None);
    let b = broken(&store);
    assert_eq!(b.seq, 5);
    assert!(
        b.problem
            .contains("entry 5 is not the entry the anchor in entry 6 vouched for"),
        "{}",
        b.problem
    );
}

#[test]
fn an_entry_deleted_and_the_chain_renumbered_breaks_the_anchor() {
    let (_d, store) = store();
    write(&store, 5);
    anchor(&store); // 6 vouches for 1-5
    write(&store, 2); // 7-8
    // Entry 2 removed: 3.. move down one, every link redone.
    let head = store.audit_head();
    let mut prev = hash(&raw(&store, 1));
    let mut c = Command::default();
    for seq in 3..head.next_seq {
        let mut e = entry(&store, seq);
        e.seq = seq - 1;
        e.prev = prev;
        let bytes = e.encode();
        prev = hash(&bytes);
        c.put(Cf::Audit, key(seq - 1).to_vec(), bytes);
    }
    c.delete(Cf::Audit, key(head.next_seq - 1).to_vec());
    let mut head = head;
    head.next_seq -= 1;
    head.prev = prev;
    c.put(Cf::Meta, META_HEAD, head.encode());
    store.apply(&c).unwrap();
    assert_eq!(verify(&store).unwrap().broken, None, "links hold");
    let b = broken(&store);
    assert_eq!(b.seq, 5, "{b:?}");
    assert!(
        b.problem.contains("does not come before it"),
        "{}",
        b.problem
    );
}

#[test]
fn an_anchor_made_without_the_key_breaks() {
    let (_d, store) = store();
    write(&store, 3);
    // Someone with another key (or none) writes an anchor of their own.
    let forger = MacKey::derive(&[9; 32], "c1").unwrap();
    let c = anchor_command(&forger, &store, T0).unwrap().unwrap();
    store.apply(&c).unwrap();
    let b = broken(&store);
    assert_eq!(b.seq, 4);
    assert!(b.problem.contains("MAC does not check"), "{}", b.problem);
    // Another cluster's key, same root: refused as well.
    let (_d, store) = self::store();
    write(&store, 3);
    let other = MacKey::derive(&ROOT, "c2").unwrap();
    store
        .apply(&anchor_command(&other, &store, T0).unwrap().unwrap())
        .unwrap();
    assert!(broken(&store).problem.contains("MAC does not check"));
}

#[test]
fn a_log_rewritten_without_its_anchors_or_cut_back_breaks() {
    let (_d, store) = store();
    write(&store, 3);
    anchor(&store); // 4
    write(&store, 3); // 5-7
    anchor(&store); // 8
    write(&store, 1); // 9
    assert_eq!(checked(&store).broken, None);
    // The anchors' fields stripped, every link redone: the record of the
    // newest anchor still names entry 7.
    let (_d2, copy) = self::store();
    let mut c = Command::default();
    for seq in 1..=9 {
        c.put(Cf::Audit, key(seq).to_vec(), raw(&store, seq));
    }
    c.put(Cf::Meta, META_HEAD, store.audit_head().encode());
    c.put(
        Cf::Meta,
        META_ANCHOR,
        store.get(Cf::Meta, META_ANCHOR).unwrap().unwrap(),
    );
    copy.apply(&c).unwrap();
    drop(copy);
    let copy = Store::open(_d2.path()).unwrap();
    assert_eq!(checked(&copy).broken, None, "a faithful copy holds");
    rewrite_from(&copy, 1, |e| e.draft.anchor = None);
    let b = broken(&copy);
    assert!(b.problem.contains("no anchor is left"), "{}", b.problem);
    // The record deleted too: the log then looks never anchored, which
    // only an exported head can tell from the truth.
    let mut c = Command::default();
    c.delete(Cf::Meta, META_ANCHOR);
    copy.apply(&c).unwrap();
    assert_eq!(checked(&copy).broken, None);
    assert_eq!(checked(&copy).vouched_through, None);

    // Cut back to entry 6 (before the newest anchor), head to match.
    let mut head = store.audit_head();
    let mut c = Command::default();
    for seq in 7..=9 {
        head.bytes -= raw(&store, seq).len() as u64;
        c.delete(Cf::Audit, key(seq).to_vec());
    }
    head.next_seq = 7;
    head.prev = hash(&raw(&store, 6));
    c.put(Cf::Meta, META_HEAD, head.encode());
    store.apply(&c).unwrap();
    assert_eq!(verify(&store).unwrap().broken, None, "links hold");
    let b = broken(&store);
    assert!(
        b.problem.contains(
            "newest anchor in the log vouches for entry 3, but the store recorded one for entry 7"
        ),
        "{}",
        b.problem
    );
    // Anchors kept but their record deleted.
    let mut c = Command::default();
    c.delete(Cf::Meta, META_ANCHOR);
    store.apply(&c).unwrap();
    assert!(
        broken(&store)
            .problem
            .contains("record of the newest anchor is gone")
    );
}

#[test]
fn plan_prune_cuts_what_retention_lets_go_with_a_checkpoint_that_checks() {
    let (_d, store) = store();
    write(&store, 10); // times T0+1 .. T0+10
    anchor(&store); // 11
    write(&store, 1); // 12
    let day = 86_400_000;
    let retention = Retention {
        max_age_days: 1,
        ..Retention::default()
    };
    // Nothing old enough.
    assert!(
        plan_prune(&store, &retention, T0 + 1000, &mac_key())
            .unwrap()
            .is_none()
    );
    // A day later, all but the newest go: one command, nothing written yet.
    let now = T0 + day + 11;
    let (c, pruned) = plan_prune(&store, &retention, now, &mac_key())
        .unwrap()
        .unwrap();
    assert_eq!(store.audit_head().first_seq, 1, "a plan writes nothing");
    assert_eq!((pruned.removed, pruned.by_size), (11, 0));
    let cut = c.prune.clone().unwrap();
    assert_eq!(cut.through_seq, 11);
    assert_eq!(cut.hash, hash(&raw(&store, 11)));
    let removed: u64 = (1..=11).map(|s| raw(&store, s).len() as u64).sum();
    assert_eq!(cut.removed_bytes, removed);
    assert_eq!(cut.next_oldest_ms, Some(entry(&store, 12).time_ms));
    let put = c
        .mutations
        .iter()
        .find_map(|m| match m {
            crate::store::Mutation::Put {
                cf: Cf::Meta,
                key,
                value,
            } if key == META_CHECKPOINT => Some(value.clone()),
            _ => None,
        })
        .unwrap();
    let checkpoint: Checkpoint = serde_json::from_slice(&put).unwrap();
    assert_eq!(
        (checkpoint.through_seq, &checkpoint.hash, checkpoint.pruned),
        (11, &cut.hash, 11)
    );
    assert!(mac_key().checkpoint_ok(&checkpoint, checkpoint.mac.as_deref().unwrap()));
    assert_eq!(c.audit.len(), 1);
    assert_eq!(c.audit[0].draft.operation, "AuditPrune");
    assert_eq!(c.audit[0].time_ms, now);
    let detail = c.audit[0].draft.detail.clone().unwrap();
    assert!(detail.contains("removed entries 1 to 11"), "{detail}");
    // Applied, the chain goes on from the checkpoint and verifies.
    store.apply(&c).unwrap();
    let head = store.audit_head();
    assert_eq!((head.first_seq, head.next_seq), (12, 14));
    assert!(
        plan_prune(&store, &retention, now, &mac_key())
            .unwrap()
            .is_none()
    );
    anchor(&store);
    let r = checked(&store);
    assert_eq!(r.broken, None, "{r:?}");
    assert_eq!((r.pruned, r.entries, r.authenticated), (11, 3, 2));
    // A checkpoint moved without the key does not pass.
    let mut moved = checkpoint.clone();
    moved.pruned = 3;
    let mut c = Command::default();
    c.put(Cf::Meta, META_CHECKPOINT, moved.encode());
    store.apply(&c).unwrap();
    assert!(
        broken(&store)
            .problem
            .contains("checkpoint's MAC does not check")
    );
    // Nor one stripped of its MAC, once anchors named what it cut.
    moved = checkpoint;
    moved.mac = None;
    let mut c = Command::default();
    c.put(Cf::Meta, META_CHECKPOINT, moved.encode());
    store.apply(&c).unwrap();
    assert!(broken(&store).problem.contains("carries no MAC"));
}

#[test]
fn plan_prune_by_size_counts_what_went_for_lack_of_room() {
    let (_d, store) = store();
    write(&store, 20);
    let size = store.audit_head().bytes;
    let half = Retention {
        max_bytes: size / 2,
        ..Retention::default()
    };
    let (c, pruned) = plan_prune(&store, &half, T0 + 100, &mac_key())
        .unwrap()
        .unwrap();
    // Half, and room for the cut's own entry.
    assert!((10..20).contains(&pruned.removed), "{pruned:?}");
    assert_eq!(pruned.by_size, pruned.removed);
    assert_eq!(pruned.newest_by_size_ms, Some(T0 + pruned.removed as i64));
    let detail = c.audit[0].draft.detail.clone().unwrap();
    assert!(detail.contains("because the log was over"), "{detail}");
    store.apply(&c).unwrap();
    assert_eq!(checked(&store).broken, None);
    // Under the limit with its own entry: the next plan cuts nothing.
    assert!(store.audit_head().bytes <= half.max_bytes);
    assert!(
        plan_prune(&store, &half, T0 + 100, &mac_key())
            .unwrap()
            .is_none()
    );
    // A plan made before another cut landed no longer fits: nothing is cut.
    let (_d2, other) = self::store();
    write(&other, 20);
    let (stale, _) = plan_prune(&other, &half, T0 + 100, &mac_key())
        .unwrap()
        .unwrap();
    other.apply(&stale).unwrap();
    let applied = other.apply(&stale).unwrap();
    assert!(applied.conflict.is_some());
}

/// Writes an entry as lkm did before anchors: with a MAC per entry while
/// unsealed (and what it accounts for), none while sealed.
fn legacy(store: &Store, head: &mut Head, seq_time: i64, key: Option<(&MacKey, Option<Gap>)>) {
    let (seq, bytes, next) = head.append(&Draft::new("cn:old", "Get"), T0 + seq_time, key);
    let mut c = Command::default();
    c.put(Cf::Audit, super::key(seq).to_vec(), bytes);
    c.put(Cf::Meta, META_HEAD, next.encode());
    store.apply(&c).unwrap();
    *head = next;
}

#[test]
fn a_log_of_the_mac_per_entry_kind_still_verifies_and_anchors_carry_on() {
    let dir = tempfile::tempdir().unwrap();
    let key = mac_key();
    {
        let store = Store::open(dir.path()).unwrap();
        let mut head = Head::default();
        legacy(&store, &mut head, 1, None); // 1: before MACs
        let mut since = Command::default();
        since.put(
            Cf::Meta,
            META_SINCE,
            serde_json::to_vec(&Since {
                seq: 2,
                mac: key.since(2),
            })
            .unwrap(),
        );
        store.apply(&since).unwrap();
        let found = Gap {
            inherited: Span::new(1, 1),
            sealed: None,
        };
        legacy(&store, &mut head, 2, Some((&key, Some(found)))); // 2
        legacy(&store, &mut head, 3, None); // 3: sealed
        let own = Gap {
            inherited: None,
            sealed: Span::new(3, 3),
        };
        legacy(&store, &mut head, 4, Some((&key, Some(own)))); // 4
        legacy(&store, &mut head, 5, None); // 5: sealed, never vouched for
    }
    // The new code opens it, applies entries with no MAC, and anchors.
    let store = Store::open(dir.path()).unwrap();
    store.unlock_audit(&ROOT, "c1");
    let r = checked(&store);
    assert_eq!(r.broken, None, "{r:?}");
    assert_eq!(r.macs_since, Some(2));
    assert_eq!(r.unauthenticated.len(), 1, "{r:?}");
    assert_eq!(
        (r.unauthenticated[0].first, r.unauthenticated[0].last),
        (1, 1)
    );
    let tail = r.unanchored.clone().unwrap();
    assert_eq!((tail.first, tail.last), (5, 5));
    write(&store, 2); // 6-7
    anchor(&store); // 8
    let r = checked(&store);
    assert_eq!(r.broken, None, "{r:?}");
    // Entry 1 was found without a MAC: an anchor since does not make it
    // vouched for. Everything else up to 7 is.
    assert_eq!(r.unauthenticated.len(), 1, "{r:?}");
    assert_eq!(r.vouched_through, Some(7));
    assert_eq!((r.entries, r.authenticated), (8, 6));
    // Old MACs are still checked: entry 4 changed, links redone, breaks.
    rewrite_from(&store, 4, |e| {
        if e.seq == 4 {
            e.draft.actor = "cn:x".into();
        }
    });
    let b = broken(&store);
    assert_eq!(b.seq, 4);
    assert!(
        b.problem.contains("MAC that does not check"),
        "{}",
        b.problem
    );
}

#[test]
fn an_anchor_survives_decoding_and_old_entries_hash_unchanged() {
    let (_d, store) = store();
    write(&store, 2);
    let before = raw(&store, 1);
    // No anchor field appears where there is none.
    assert!(!String::from_utf8_lossy(&before).contains("anchor"));
    assert_eq!(entry(&store, 1).encode(), before);
    anchor(&store);
    let stored = raw(&store, 3);
    assert_eq!(
        entry(&store, 3).encode(),
        stored,
        "round trip, byte for byte"
    );
}

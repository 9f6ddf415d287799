//! Anchors: how the holder of the audit key vouches for the chain. Entries
//! are placed in the chain when a replicated command is applied, with no
//! key (a sealed follower applies the same commands as the unsealed leader
//! and must write the same bytes), so no entry carries a MAC of its own.
//! Instead a node that holds the key proposes, about once a second while
//! entries are new, an `AuditAnchor` entry whose [`Anchor`] MACs the hash
//! of the newest entry it has applied; through the `prev` links that one
//! MAC vouches for every entry before it. `lkm audit verify` has one
//! written first, so a healthy log verifies with nothing left unvouched.

use super::{Anchor, Draft, Entry, MacKey, Stamped, read_meta};
use crate::store::{Cf, Command, Store, StoreError};
use serde::{Deserialize, Serialize};

/// In `meta`, beside the entries: the newest anchor applied, and the entry
/// the first anchor vouched for. A log rewritten without its anchors, or
/// cut back past the newest one, no longer matches it; and a retention
/// checkpoint past `began` must carry a MAC (every cut since anchors
/// began made one), so no one can cut the start of the log and write a
/// checkpoint without one. Written by every anchor command; MACed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorRecord {
    pub through_seq: u64,
    pub hash: String,
    /// The entry the first anchor vouched for.
    pub began: u64,
    pub mac: String,
}

/// The operation of anchor entries.
pub const ANCHOR_OPERATION: &str = "AuditAnchor";

/// The draft of an anchor vouching for the chain up to its head as this
/// node has applied it; None when there is nothing new to vouch for: the
/// chain is empty, or its newest entry is an anchor of the entry right
/// before it (anchoring that would only add an anchor of an anchor, every
/// second, forever).
pub fn anchor_draft(key: &MacKey, store: &Store) -> Result<Option<Draft>, StoreError> {
    let head = store.audit_head();
    let Some(through) = head.next_seq.checked_sub(1).filter(|s| *s >= 1) else {
        return Ok(None);
    };
    // The entry at `through` is in the store once the head counts it (the
    // head moves after the batch is written); only pruning could remove it
    // since, and pruning keeps the newest entry.
    let last = store
        .get(Cf::Audit, &super::key(through))?
        .and_then(|v| Entry::decode(&v).ok());
    if last.is_some_and(|e| {
        e.draft.operation == ANCHOR_OPERATION
            && e.draft
                .anchor
                .as_ref()
                .is_some_and(|a| a.through_seq.checked_add(1) == Some(through))
    }) {
        return Ok(None);
    }
    Ok(Some(draft_of(key.anchor(through, &head.prev))))
}

/// The command that writes an anchor (see [`anchor_draft`]) stamped
/// `now_ms`: the entry, and the [`AnchorRecord`]. None when there is
/// nothing to vouch for.
pub fn anchor_command(
    key: &MacKey,
    store: &Store,
    now_ms: i64,
) -> Result<Option<Command>, StoreError> {
    let Some(draft) = anchor_draft(key, store)? else {
        return Ok(None);
    };
    let mut c = Command::default();
    if let Some(a) = &draft.anchor {
        // A record that does not check is left for verify to report; this
        // one starts over from here rather than copy a forged `began`.
        let began = read_meta::<AnchorRecord>(store, super::META_ANCHOR)?
            .filter(|r| key.anchor_record_ok(r))
            .map_or(a.through_seq, |r| r.began.min(a.through_seq));
        let record = key.anchor_record(a.through_seq, &a.hash, began);
        c.put(
            Cf::Meta,
            super::META_ANCHOR,
            serde_json::to_vec(&record).unwrap_or_default(),
        );
    }
    c.audit.push(Stamped {
        time_ms: now_ms,
        draft,
    });
    Ok(Some(c))
}

/// The one form an anchor entry's draft takes: everything in it but the
/// time follows from the anchor, so nothing unvouched rides along.
fn draft_of(anchor: Anchor) -> Draft {
    let mut d = Draft::new("lkm", ANCHOR_OPERATION).detail(format!(
        "vouches for entries through {} (and every one before it)",
        anchor.through_seq
    ));
    d.anchor = Some(anchor);
    d
}

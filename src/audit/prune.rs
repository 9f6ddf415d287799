//! Planning a retention cut. The cut itself is a replicated command that
//! every node applies identically (`store::Command::prune`); the plan is
//! made by a node that holds the audit key, because the checkpoint that
//! records the cut carries a MAC: no one without the key can cut the start
//! of the log and move the checkpoint over the cut.

use super::{
    Checkpoint, Draft, Entry, META_CHECKPOINT, MacKey, PruneTo, Pruned, Retention, Stamped, hash,
    read_meta, seq_of,
};
use crate::store::{Cf, Command, Store, StoreError};

/// Entries one cut removes at most: one command, one batch.
const CHUNK: usize = 4096;

/// Room a cut by size leaves for its own `AuditPrune` entry (a few hundred
/// bytes), so the log is under `max_bytes` once that entry is written and
/// the next plan does not cut again for it.
const OWN_ENTRY: u64 = 1024;

/// The next cut `retention` calls for at `now_ms`, oldest entries first,
/// at most [`CHUNK`] of them, with what it removes; None when every
/// entry kept may stay. The command removes the entries (if the last one
/// still has the hash read here when it is applied), writes the
/// checkpoint, with its MAC, and logs the cut as an `AuditPrune` entry.
/// Entries that go for lack of room while younger than `max_age_days`
/// are counted in [`Pruned::by_size`]: history is then shorter than the
/// operator asked for, which the caller reports. Call it again after the
/// command is applied until it answers None.
pub fn plan_prune(
    store: &Store,
    retention: &Retention,
    now_ms: i64,
    key: &MacKey,
) -> Result<Option<(Command, Pruned)>, StoreError> {
    // The oldest entry kept decides: if it may stay, all may.
    let head = store.audit_head();
    if head
        .oldest_ms
        .is_none_or(|t| !retention.expires(t, now_ms, head.bytes))
    {
        return Ok(None);
    }
    let chunk = store.scan(Cf::Audit, b"", &super::key(head.first_seq), CHUNK)?;
    let mut kept = head.bytes.saturating_add(OWN_ENTRY);
    let mut pruned = Pruned::default();
    let mut gone: Vec<(u64, &[u8])> = Vec::new();
    let mut next_oldest = None;
    for (k, v) in &chunk {
        let (Some(seq), Ok(e)) = (seq_of(k), Entry::decode(v)) else {
            return Err(StoreError::Corrupt(
                "an audit entry cannot be read; run `lkm audit verify`".into(),
            ));
        };
        // The newest entry stays: the head links to it.
        if seq + 1 >= head.next_seq || !retention.expires(e.time_ms, now_ms, kept) {
            next_oldest = Some(e.time_ms);
            break;
        }
        kept = kept.saturating_sub(v.len() as u64);
        if !retention.too_old(e.time_ms, now_ms) {
            pruned.by_size += 1;
            pruned.newest_by_size_ms = pruned.newest_by_size_ms.max(Some(e.time_ms));
        }
        gone.push((seq, v));
    }
    let (Some(&(first, _)), Some(&(through, last))) = (gone.first(), gone.last()) else {
        return Ok(None);
    };
    if next_oldest.is_none() {
        // The whole chunk goes: the oldest kept is the next one.
        next_oldest = store
            .scan(Cf::Audit, b"", &super::key(through + 1), 1)?
            .first()
            .and_then(|(_, v)| Entry::decode(v).ok())
            .map(|e| e.time_ms);
    }
    let removed_bytes: u64 = gone.iter().map(|(_, v)| v.len() as u64).sum();
    pruned.removed = gone.len() as u64;
    let previous: Option<Checkpoint> = read_meta(store, META_CHECKPOINT)?;
    let mut checkpoint = Checkpoint {
        through_seq: through,
        hash: hash(last),
        pruned: previous.map_or(0, |c| c.pruned) + pruned.removed,
        at_ms: now_ms,
        mac: None,
    };
    checkpoint.mac = Some(key.checkpoint(&checkpoint));
    let mut detail = format!(
        "removed entries {first} to {through} ({removed_bytes} bytes) under the retention policy"
    );
    if pruned.by_size > 0 {
        detail.push_str(&format!(
            "; {} of them younger than {} days, removed because the log was over {} bytes",
            pruned.by_size, retention.max_age_days, retention.max_bytes
        ));
    }
    let mut c = Command {
        prune: Some(PruneTo {
            through_seq: through,
            hash: checkpoint.hash.clone(),
            removed_bytes,
            next_oldest_ms: next_oldest,
        }),
        ..Command::default()
    };
    c.put(Cf::Meta, META_CHECKPOINT, checkpoint.encode());
    c.audit.push(Stamped {
        time_ms: now_ms,
        draft: Draft::new("lkm", "AuditPrune").detail(detail),
    });
    Ok(Some((c, pruned)))
}

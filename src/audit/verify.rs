//! Walks the chain from the oldest kept entry to the head and reports the
//! first place where it does not hold. Links alone prove little against
//! someone who can write the store (they can be recomputed), so with the
//! audit key, which only the unsealed server holds, the walk also checks
//! every anchor (its MAC, and that the entry it names still has the hash
//! it vouched for), the record of the newest anchor, the retention
//! checkpoint's MAC, and a head exported earlier. An entry is
//! authenticated when an anchor after it vouches for it; entries after the
//! newest anchor are reported apart, as the unanchored tail. Logs written
//! before anchors carry a MAC per entry instead: those MACs, the gaps that
//! account for MAC-less entries between them, and the record of where
//! MACs began are checked as before.

use super::{
    Anchor, AnchorRecord, Checkpoint, Entry, GENESIS, Head, HeadToken, META_ANCHOR,
    META_CHECKPOINT, META_HEAD, META_SINCE, MacKey, Since, Span, chain::rfc3339, hash,
    key as audit_key, now_ms, seq_of,
};
use crate::store::{Cf, Snapshot, Store, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Entries checked.
    pub entries: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// Entries removed by retention before the first one kept.
    pub pruned: u64,
    /// The first broken link, if any.
    pub broken: Option<Break>,
    /// Whether MACs (anchors', and old entries') were checked: only with
    /// the audit key, which only the unsealed server has. Without it the
    /// walk checks links only.
    #[serde(default)]
    pub macs_checked: bool,
    /// Entries kept that a MAC vouches for (with `macs_checked`).
    #[serde(default)]
    pub authenticated: u64,
    /// Entries kept that no MAC vouches for, oldest first, with why (not
    /// counting the unanchored tail).
    #[serde(default)]
    pub unauthenticated: Vec<Unauthenticated>,
    /// Anchors checked.
    #[serde(default)]
    pub anchors: u64,
    /// The newest entry a MAC vouches for (through an anchor, or an old
    /// entry's own MAC).
    #[serde(default)]
    pub vouched_through: Option<u64>,
    /// The entries after `vouched_through` that were in the log when the
    /// verify began: no anchor vouches for them yet.
    #[serde(default)]
    pub unanchored: Option<Unauthenticated>,
    /// Entries written after a live verify began (its own anchor among
    /// them) that no anchor covers yet: neither authenticated nor held
    /// against the log; the next verify covers them.
    #[serde(default)]
    pub since_verify: u64,
    /// Why a live verify could not have an anchor written first.
    #[serde(default)]
    pub anchor_error: Option<String>,
    /// The first entry written with a MAC, as the store records it.
    #[serde(default)]
    pub macs_since: Option<u64>,
    /// The hash of the newest entry (what an exported head pins).
    #[serde(default)]
    pub last_hash: Option<String>,
    /// What an exported head given to check showed, when it held.
    #[serde(default)]
    pub head: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Break {
    /// The entry where the chain stops holding.
    pub seq: u64,
    pub problem: String,
}

/// Entries `first` to `last` that no MAC vouches for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unauthenticated {
    pub first: u64,
    pub last: u64,
    pub why: String,
}

impl Report {
    /// Entries kept that nothing vouches for, the unanchored tail
    /// included: what `lkm audit verify --strict` refuses.
    pub fn unauthenticated_count(&self) -> u64 {
        self.unauthenticated
            .iter()
            .chain(&self.unanchored)
            .map(|u| u.last.saturating_add(1).saturating_sub(u.first))
            .sum()
    }
}

/// Checks links only: what anyone who can read the store can check.
pub fn verify(store: &Store) -> Result<Report, StoreError> {
    verify_with(store, None, None)
}

/// What the server does for `lkm audit verify`: has `anchor` vouch for the
/// log as it stands (the caller proposes an anchor and returns once it is
/// applied here; see [`super::anchor_command`]), checks the chain with its
/// key, and, when the chain holds, makes a head token for the operator to
/// keep. Entries written after the verify began are left to the next one;
/// everything before it must be anchored for the log to be whole. When
/// `anchor` fails, or the store is sealed, the walk goes on and says why.
pub fn verify_live(
    store: &Store,
    expect: Option<&HeadToken>,
    anchor: impl FnOnce() -> Result<(), String>,
) -> Result<(Report, Option<HeadToken>), StoreError> {
    let key = store.audit_key();
    let begun = store.audit_head().next_seq;
    let anchored = match &key {
        Some(_) => anchor(),
        None => Err("the store is sealed".into()),
    };
    let mut report = walk(
        store,
        key.as_deref(),
        expect,
        anchored.is_ok().then_some(begun),
    )?;
    if key.is_some() {
        report.anchor_error = anchored.err();
    }
    let token = match (&key, report.last_seq, &report.last_hash, &report.broken) {
        (Some(k), Some(seq), Some(h), None) => Some(k.head(seq, h, now_ms())),
        _ => None,
    };
    Ok((report, token))
}

/// Walks one snapshot of the log; with `key`, checks MACs too; with
/// `expect`, checks that the chain still holds the head exported earlier.
/// Every entry after the newest anchor counts as unanchored.
pub fn verify_with(
    store: &Store,
    key: Option<&MacKey>,
    expect: Option<&HeadToken>,
) -> Result<Report, StoreError> {
    walk(store, key, expect, None)
}

/// The walk; entries from `begun` on were written after a live verify
/// began (see [`Report::since_verify`]).
fn walk(
    store: &Store,
    key: Option<&MacKey>,
    expect: Option<&HeadToken>,
    begun: Option<u64>,
) -> Result<Report, StoreError> {
    let snap = store.snapshot();
    let head: Head = snap_meta(&snap, META_HEAD)?.unwrap_or_default();
    let checkpoint: Option<Checkpoint> = snap_meta(&snap, META_CHECKPOINT)?;
    let since: Option<Since> = snap_meta(&snap, META_SINCE)?;
    let anchor_record: Option<AnchorRecord> = snap_meta(&snap, META_ANCHOR)?;
    let first_kept = checkpoint.as_ref().map_or(1, |c| c.through_seq + 1);
    let mut walk = Walk {
        snap: &snap,
        key,
        expect,
        begun,
        checkpoint: checkpoint.as_ref(),
        first_kept,
        expected_seq: first_kept,
        expected_prev: checkpoint
            .as_ref()
            .map_or_else(|| GENESIS.to_owned(), |c| c.hash.clone()),
        has_checkpoint: checkpoint.is_some(),
        run: None,
        first_mac: None,
        last_mac: None,
        anchored_through: None,
        last_anchor: None,
        anchor_below: None,
        pinned: None,
        report: Report {
            entries: 0,
            first_seq: None,
            last_seq: None,
            pruned: checkpoint.as_ref().map_or(0, |c| c.pruned),
            broken: None,
            macs_checked: key.is_some(),
            authenticated: 0,
            unauthenticated: Vec::new(),
            macs_since: None,
            last_hash: None,
            head: None,
            anchors: 0,
            vouched_through: None,
            unanchored: None,
            since_verify: 0,
            anchor_error: None,
        },
    };
    snap.each::<StoreError>(Cf::Audit, b"", |k, v| walk.entry(k, v))?;
    if walk.report.broken.is_none() {
        walk.finish(&head, since.as_ref(), anchor_record.as_ref());
    }
    let mut report = walk.report;
    if report.macs_checked {
        report.authenticated = report
            .entries
            .saturating_sub(report.unauthenticated_count())
            .saturating_sub(report.since_verify);
    }
    Ok(report)
}

struct Walk<'a> {
    snap: &'a Snapshot<'a>,
    key: Option<&'a MacKey>,
    expect: Option<&'a HeadToken>,
    begun: Option<u64>,
    checkpoint: Option<&'a Checkpoint>,
    first_kept: u64,
    expected_seq: u64,
    expected_prev: String,
    has_checkpoint: bool,
    /// The first entry of the current run without a MAC.
    run: Option<u64>,
    first_mac: Option<u64>,
    /// The newest entry whose own (old-style) MAC checks.
    last_mac: Option<u64>,
    /// The newest entry an anchor vouches for.
    anchored_through: Option<u64>,
    /// The newest anchor in the log (in chain order).
    last_anchor: Option<Anchor>,
    /// The oldest entry an anchor names (a cut through it came after
    /// anchors began, so its checkpoint must carry a MAC).
    anchor_below: Option<u64>,
    /// The hash and time of the entry the expected head names, if kept.
    pinned: Option<(String, i64)>,
    report: Report,
}

impl Walk<'_> {
    fn broken(&mut self, seq: u64, problem: String) -> bool {
        self.report.broken = Some(Break { seq, problem });
        false
    }

    /// Checks one stored entry; false stops the walk.
    fn entry(&mut self, k: &[u8], v: &[u8]) -> Result<bool, StoreError> {
        let expected_seq = self.expected_seq;
        let Some(seq) = seq_of(k) else {
            return Ok(self.broken(
                expected_seq,
                format!("a key that is not a sequence number ({} bytes)", k.len()),
            ));
        };
        if seq != expected_seq {
            return Ok(self.broken(
                expected_seq,
                if seq > expected_seq {
                    format!(
                        "entries {expected_seq} to {} are missing: they were deleted",
                        seq - 1
                    )
                } else {
                    format!("entry {seq} is out of place")
                },
            ));
        }
        let entry = match Entry::decode(v) {
            Ok(e) => e,
            Err(e) => {
                return Ok(self.broken(seq, format!("entry {seq} is not a valid entry ({e})")));
            }
        };
        if entry.seq != seq {
            return Ok(self.broken(seq, format!("entry {seq} claims to be entry {}", entry.seq)));
        }
        if entry.prev != self.expected_prev {
            let problem = if self.report.entries == 0 {
                format!(
                    "entry {seq} does not follow the {}",
                    if self.has_checkpoint {
                        "retention checkpoint: entries before it were removed or it was changed"
                    } else {
                        "start of the log: entries before it were removed"
                    }
                )
            } else {
                format!(
                    "entry {seq} does not link to entry {}: entry {} was changed, or entry {seq} was",
                    seq - 1,
                    seq - 1
                )
            };
            return Ok(self.broken(seq, problem));
        }
        let h = hash(v);
        if self.expect.is_some_and(|t| t.seq == seq) {
            self.pinned = Some((h.clone(), entry.time_ms));
        }
        if let Some(key) = self.key
            && !(self.authenticate(key, seq, v, &entry) && self.check_anchor(key, seq, &entry)?)
        {
            return Ok(false);
        }
        self.report.first_seq.get_or_insert(seq);
        self.report.last_seq = Some(seq);
        self.report.entries += 1;
        self.expected_prev = h;
        self.expected_seq += 1;
        Ok(true)
    }

    /// Checks the anchor an entry carries, if any: its MAC, and that the
    /// entry it names (already walked, so linked) has the hash it vouched
    /// for. Called before `expected_prev` moves past the entry.
    fn check_anchor(&mut self, key: &MacKey, seq: u64, entry: &Entry) -> Result<bool, StoreError> {
        let Some(a) = &entry.draft.anchor else {
            return Ok(true);
        };
        if !key.anchor_ok(a) {
            return Ok(self.broken(
                seq,
                format!(
                    "entry {seq} carries an anchor whose MAC does not check: it was forged or altered, or made by someone without the key"
                ),
            ));
        }
        let through = a.through_seq;
        if through >= seq {
            return Ok(self.broken(
                seq,
                format!(
                    "entry {seq} anchors entry {through}, which does not come before it: entries were removed and the log renumbered"
                ),
            ));
        }
        let found = if through + 1 == seq {
            Some(self.expected_prev.clone())
        } else if through >= self.first_kept {
            // Walked already (the walk stops at a missing entry), so there.
            Some(
                self.snap
                    .get(Cf::Audit, &audit_key(through))?
                    .map_or_else(String::new, |v| hash(&v)),
            )
        } else {
            // Removed by retention: only the checkpoint's own entry can
            // still be compared.
            self.checkpoint
                .filter(|c| c.through_seq == through)
                .map(|c| c.hash.clone())
        };
        if found.is_some_and(|h| h != a.hash) {
            return Ok(self.broken(
                through.max(self.first_kept),
                if through >= self.first_kept {
                    format!(
                        "entry {through} is not the entry the anchor in entry {seq} vouched for: it was changed after it was anchored, or the log was rewritten"
                    )
                } else {
                    format!(
                        "the retention checkpoint names another entry {through} than the anchor in entry {seq} vouched for: it was altered"
                    )
                },
            ));
        }
        self.report.anchors += 1;
        self.anchored_through = self.anchored_through.max(Some(through));
        self.anchor_below = Some(self.anchor_below.map_or(through, |b| b.min(through)));
        self.last_anchor = Some(a.clone());
        Ok(true)
    }

    /// Checks an entry's MAC, and that the MAC-less entries before it are
    /// the ones it accounts for.
    fn authenticate(&mut self, key: &MacKey, seq: u64, stored: &[u8], entry: &Entry) -> bool {
        let Some(mac) = &entry.mac else {
            self.run.get_or_insert(seq);
            return true;
        };
        // Stored exactly as the server writes it: nothing added beside
        // what the MAC covers.
        if entry.encode() != stored || !key.entry_ok(&entry.unmaced(), mac) {
            return self.broken(
                seq,
                format!(
                    "entry {seq} carries a MAC that does not check: it was changed, or made by someone without the key"
                ),
            );
        }
        self.first_mac.get_or_insert(seq);
        self.last_mac = Some(seq);
        let run = self.run.take().and_then(|a| Span::new(a, seq - 1));
        let Some(gap) = entry.gap else {
            return match run {
                None => true,
                Some(r) => self.broken(
                    r.first,
                    format!(
                        "entries {} to {} carry no MAC, yet entry {seq}, written with the key right after them, does not account for them: they were rewritten (a MAC is missing where one is required)",
                        r.first, r.last
                    ),
                ),
            };
        };
        let fits = gap.contiguous()
            && gap.span().is_some_and(|s| {
                s.last.checked_add(1) == Some(seq)
                    && match run {
                        Some(r) => r.first == s.first.max(self.first_kept),
                        // All of them removed by retention since.
                        None => seq == self.first_kept,
                    }
            });
        if !fits {
            return self.broken(
                seq,
                format!(
                    "entry {seq} accounts for entries without a MAC ({gap:?}) that are not the ones before it: the log was altered"
                ),
            );
        }
        if let Some(i) = gap.inherited
            && i.last >= self.first_kept
        {
            self.report.unauthenticated.push(Unauthenticated {
                first: i.first.max(self.first_kept),
                last: i.last,
                why: format!(
                    "found without a MAC by the server that got the key before entry {seq}: written before lkm had MACs, or while sealed by a run that was never unsealed, or altered while the server was stopped"
                ),
            });
        }
        true
    }

    /// The checks once every entry is read: the head, where MACs began,
    /// the newest anchor, the checkpoint, what is left unanchored, and the
    /// exported head.
    fn finish(&mut self, head: &Head, since: Option<&Since>, anchor_record: Option<&AnchorRecord>) {
        let checkpoint = self.checkpoint;
        let last = self.expected_seq.saturating_sub(1);
        if head.next_seq != self.expected_seq {
            self.broken(
                self.expected_seq,
                format!(
                    "the log ends at entry {last} but {} entries were written: the last ones were deleted",
                    head.written()
                ),
            );
            return;
        }
        if head.prev != self.expected_prev {
            self.broken(
                last,
                format!(
                    "entry {last} does not match the hash recorded when it was written: it was changed"
                ),
            );
            return;
        }
        if self.report.entries > 0 {
            self.report.last_hash = Some(self.expected_prev.clone());
        }
        if let Some(key) = self.key {
            if !(self.finish_anchors(key, anchor_record)
                && self.finish_macs(key, checkpoint, since, anchor_record))
            {
                return;
            }
            self.tail();
        }
        if let Some(t) = self.expect {
            self.check_head(t, checkpoint);
        }
    }

    /// Reports the entries after the newest one a MAC vouches for: those
    /// there when a live verify began are unanchored, later ones are left
    /// to the next verify.
    fn tail(&mut self) {
        let vouched = self.last_mac.max(self.anchored_through);
        self.report.vouched_through = vouched;
        let Some(last) = self.report.last_seq else {
            return;
        };
        let first = vouched.map_or(self.first_kept, |v| v.saturating_add(1));
        let first = first.max(self.first_kept);
        if first > last {
            return;
        }
        let settled = self.begun.map_or(last, |b| last.min(b.saturating_sub(1)));
        self.report.since_verify = last - settled.max(first.saturating_sub(1));
        if first > settled {
            return;
        }
        self.report.unanchored = Some(Unauthenticated {
            first,
            last: settled,
            why: if vouched.is_none() {
                "no anchor vouches for them: written before lkm had MACs, or not anchored yet (the unsealed server anchors new entries every second), or the log was rewritten (a head exported earlier tells which)".into()
            } else {
                "after the newest entry an anchor vouches for: not anchored yet (the unsealed server anchors new entries every second), or added by someone without the key".into()
            },
        });
    }

    /// The record of the newest anchor: made with the key, and the newest
    /// anchor of the log. Anchors stripped from a rewritten log, or a log
    /// cut back past its newest anchor, no longer match it.
    fn finish_anchors(&mut self, key: &MacKey, record: Option<&AnchorRecord>) -> bool {
        match (record, self.last_anchor.clone()) {
            (Some(r), _) if !key.anchor_record_ok(r) => self.broken(
                r.through_seq.max(self.first_kept),
                "the record of the newest anchor does not check: it was forged or altered".into(),
            ),
            (Some(r), Some(a)) if (a.through_seq, &a.hash) != (r.through_seq, &r.hash) => self.broken(
                r.through_seq.max(self.first_kept),
                format!(
                    "the newest anchor in the log vouches for entry {}, but the store recorded one for entry {}: anchors were removed, or the log was rewritten or cut back",
                    a.through_seq, r.through_seq
                ),
            ),
            (Some(r), None) if r.through_seq >= self.first_kept => self.broken(
                r.through_seq,
                format!(
                    "entry {} was anchored, but no anchor is left in the log: the log was rewritten without its anchors, or cut back",
                    r.through_seq
                ),
            ),
            (None, Some(a)) => self.broken(
                a.through_seq.max(self.first_kept),
                "entries carry anchors, but the record of the newest anchor is gone: it was deleted"
                    .into(),
            ),
            _ => true,
        }
    }

    fn finish_macs(
        &mut self,
        key: &MacKey,
        checkpoint: Option<&Checkpoint>,
        since: Option<&Since>,
        anchors: Option<&AnchorRecord>,
    ) -> bool {
        // MAC-less entries after the last MAC are new-style (anchored) or
        // unvouched: `tail` says which.
        self.run = None;
        match since {
            Some(s) if !key.since_ok(s.seq, &s.mac) => {
                return self.broken(
                    s.seq,
                    "the record of where MACs began does not check: it was altered".into(),
                );
            }
            Some(s) => {
                self.report.macs_since = Some(s.seq);
                if s.seq >= self.first_kept && self.first_mac != Some(s.seq) {
                    return self.broken(
                        s.seq,
                        match self.first_mac {
                            Some(f) if f < s.seq => format!(
                                "entry {f} carries a MAC, yet MACs began at entry {}: the log was altered",
                                s.seq
                            ),
                            _ => format!(
                                "MACs began at entry {}, which no longer carries one: the log was rewritten (a MAC is missing where one is required)",
                                s.seq
                            ),
                        },
                    );
                }
            }
            // (Logs begun with anchors have MACed checkpoints and no such
            // record.)
            None if self.first_mac.is_some() => {
                return self.broken(
                    self.first_mac.unwrap_or(self.first_kept),
                    "entries carry MACs, but the record of where MACs began is gone: it was deleted"
                        .into(),
                );
            }
            None => {}
        }
        if let Some(c) = checkpoint {
            match &c.mac {
                Some(m) if !key.checkpoint_ok(c, m) => {
                    return self.broken(
                        self.first_kept,
                        "the retention checkpoint's MAC does not check: it was forged or altered, and entries before it may have been cut".into(),
                    );
                }
                None if since.is_some_and(|s| c.through_seq >= s.seq)
                    || anchors.is_some_and(|a| c.through_seq >= a.began)
                    || self.anchor_below.is_some_and(|a| c.through_seq >= a) =>
                {
                    return self.broken(
                        self.first_kept,
                        format!(
                            "the retention checkpoint carries no MAC, yet it covers entries written after MACs began (through entry {}): entries were cut from the start of the log",
                            c.through_seq
                        ),
                    );
                }
                _ => {}
            }
        }
        true
    }

    /// Whether the chain still holds the head an operator exported.
    fn check_head(&mut self, t: &HeadToken, checkpoint: Option<&Checkpoint>) {
        let when = rfc3339(t.time_ms);
        if let Some(key) = self.key {
            if t.cluster_id != key.cluster_id() {
                self.broken(
                    t.seq,
                    format!(
                        "the exported head belongs to cluster {}, this store to cluster {}",
                        t.cluster_id,
                        key.cluster_id()
                    ),
                );
                return;
            }
            if !key.head_ok(t) {
                self.broken(
                    t.seq,
                    "the exported head's MAC does not check: it is forged or was altered".into(),
                );
                return;
            }
        }
        let last = self.report.last_seq;
        match self.pinned.take() {
            Some((h, _)) if h == t.hash => {
                self.report.head = Some(format!(
                    "the head exported at {when} (entry {}) is in the chain: history up to it is unchanged",
                    t.seq
                ));
            }
            Some((_, time_ms)) if time_ms > t.time_ms => {
                self.broken(
                    t.seq,
                    format!(
                        "truncated: entry {} was written after the head exported at {when}, which named another entry {}: the log was cut back and went on from an earlier point",
                        t.seq, t.seq
                    ),
                );
            }
            Some(_) => {
                self.broken(
                    t.seq,
                    format!(
                        "rewritten: entry {} is not the entry the head exported at {when} pinned: history up to it was rewritten",
                        t.seq
                    ),
                );
            }
            None if last.is_none_or(|l| l < t.seq) => {
                self.broken(
                    t.seq,
                    format!(
                        "truncated: the log ends at entry {}, but the head exported at {when} reached entry {}: entries were removed from its end",
                        last.unwrap_or(self.first_kept.saturating_sub(1)),
                        t.seq
                    ),
                );
            }
            None => {
                // Before the first entry kept: only a checkpoint (with a
                // MAC that checks, when MACs are checked) can account for it.
                let covered = checkpoint.filter(|c| {
                    c.through_seq >= t.seq
                        && (self.key.is_none() || c.mac.is_some())
                        && (c.through_seq != t.seq || c.hash == t.hash)
                });
                if covered.is_some() {
                    self.report.head = Some(format!(
                        "the head exported at {when} (entry {}) was removed since by retention; the retention checkpoint covers it",
                        t.seq
                    ));
                } else {
                    self.broken(
                        t.seq,
                        format!(
                            "truncated: entry {} of the head exported at {when} is gone, and no authenticated retention checkpoint covers it: the start of the log was cut",
                            t.seq
                        ),
                    );
                }
            }
        }
    }
}

fn snap_meta<T: serde::de::DeserializeOwned>(
    snap: &Snapshot<'_>,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    decode_meta(snap.get(Cf::Meta, key)?)
}

fn decode_meta<T: serde::de::DeserializeOwned>(
    v: Option<Vec<u8>>,
) -> Result<Option<T>, StoreError> {
    match v {
        None => Ok(None),
        Some(v) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("audit state: {e}"))),
    }
}

pub(crate) fn read_meta<T: serde::de::DeserializeOwned>(
    store: &Store,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    decode_meta(store.get(Cf::Meta, key)?)
}

/// Calls `visit` with each stored entry's key and bytes, oldest first,
/// from one snapshot; stops early when `visit` says false.
pub(crate) fn each_stored<E: From<StoreError>>(
    store: &Store,
    visit: impl FnMut(&[u8], &[u8]) -> Result<bool, E>,
) -> Result<(), E> {
    store.snapshot().each(Cf::Audit, b"", visit)
}

//! Walks the chain from the oldest kept entry to the head and reports the
//! first place where it does not hold. Links alone prove little against
//! someone who can write the store (they can be recomputed), so with the
//! audit key, which only the unsealed server holds, the walk also checks
//! every MAC, that every MAC-less entry is accounted for by the next entry
//! that has one, the record of where MACs began, the retention
//! checkpoint's MAC, and a head exported earlier.

use super::{
    Checkpoint, Entry, GENESIS, Head, HeadToken, META_CHECKPOINT, META_HEAD, META_SINCE, MacKey,
    Since, Span, chain::rfc3339, hash, now_ms, seq_of,
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
    /// Whether MACs were checked: only with the audit key, which only the
    /// unsealed server has. Without it the walk checks links only.
    #[serde(default)]
    pub macs_checked: bool,
    /// Entries kept that a MAC vouches for (with `macs_checked`).
    #[serde(default)]
    pub authenticated: u64,
    /// Entries kept that no MAC vouches for, oldest first, with why.
    #[serde(default)]
    pub unauthenticated: Vec<Unauthenticated>,
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

/// Checks links only: what anyone who can read the store can check.
pub fn verify(store: &Store) -> Result<Report, StoreError> {
    verify_with(store, None, None)
}

/// What the server does for `lkm audit verify`: writes the entries waiting
/// in memory, checks the chain with its key, and, when the chain holds,
/// makes a head token for the operator to keep.
pub fn verify_live(
    store: &Store,
    expect: Option<&HeadToken>,
) -> Result<(Report, Option<HeadToken>), StoreError> {
    let key = store.audit_key();
    let report = verify_with(store, key.as_deref(), expect)?;
    let token = match (&key, report.last_seq, &report.last_hash, &report.broken) {
        (Some(k), Some(seq), Some(h), None) => Some(k.head(seq, h, now_ms())),
        _ => None,
    };
    Ok((report, token))
}

/// Walks one snapshot of the log; with `key`, checks MACs too; with
/// `expect`, checks that the chain still holds the head exported earlier.
pub fn verify_with(
    store: &Store,
    key: Option<&MacKey>,
    expect: Option<&HeadToken>,
) -> Result<Report, StoreError> {
    let snap = store.snapshot();
    let head: Head = snap_meta(&snap, META_HEAD)?.unwrap_or_default();
    let checkpoint: Option<Checkpoint> = snap_meta(&snap, META_CHECKPOINT)?;
    let since: Option<Since> = snap_meta(&snap, META_SINCE)?;
    let first_kept = checkpoint.as_ref().map_or(1, |c| c.through_seq + 1);
    let mut walk = Walk {
        key,
        expect,
        first_kept,
        expected_seq: first_kept,
        expected_prev: checkpoint
            .as_ref()
            .map_or_else(|| GENESIS.to_owned(), |c| c.hash.clone()),
        has_checkpoint: checkpoint.is_some(),
        run: None,
        first_mac: None,
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
        },
    };
    snap.each::<StoreError>(Cf::Audit, b"", |k, v| Ok(walk.entry(k, v)))?;
    if walk.report.broken.is_none() {
        walk.finish(&head, checkpoint.as_ref(), since.as_ref());
    }
    let mut report = walk.report;
    if report.macs_checked {
        let unauthenticated: u64 = report
            .unauthenticated
            .iter()
            .map(|u| u.last.saturating_add(1).saturating_sub(u.first))
            .sum();
        report.authenticated = report.entries.saturating_sub(unauthenticated);
    }
    Ok(report)
}

struct Walk<'a> {
    key: Option<&'a MacKey>,
    expect: Option<&'a HeadToken>,
    first_kept: u64,
    expected_seq: u64,
    expected_prev: String,
    has_checkpoint: bool,
    /// The first entry of the current run without a MAC.
    run: Option<u64>,
    first_mac: Option<u64>,
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
    fn entry(&mut self, k: &[u8], v: &[u8]) -> bool {
        let expected_seq = self.expected_seq;
        let Some(seq) = seq_of(k) else {
            return self.broken(
                expected_seq,
                format!("a key that is not a sequence number ({} bytes)", k.len()),
            );
        };
        if seq != expected_seq {
            return self.broken(
                expected_seq,
                if seq > expected_seq {
                    format!(
                        "entries {expected_seq} to {} are missing: they were deleted",
                        seq - 1
                    )
                } else {
                    format!("entry {seq} is out of place")
                },
            );
        }
        let entry = match Entry::decode(v) {
            Ok(e) => e,
            Err(e) => return self.broken(seq, format!("entry {seq} is not a valid entry ({e})")),
        };
        if entry.seq != seq {
            return self.broken(seq, format!("entry {seq} claims to be entry {}", entry.seq));
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
            return self.broken(seq, problem);
        }
        let h = hash(v);
        if self.expect.is_some_and(|t| t.seq == seq) {
            self.pinned = Some((h.clone(), entry.time_ms));
        }
        if let Some(key) = self.key
            && !self.authenticate(key, seq, v, &entry)
        {
            return false;
        }
        self.report.first_seq.get_or_insert(seq);
        self.report.last_seq = Some(seq);
        self.report.entries += 1;
        self.expected_prev = h;
        self.expected_seq += 1;
        true
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
    /// the checkpoint, and the exported head.
    fn finish(&mut self, head: &Head, checkpoint: Option<&Checkpoint>, since: Option<&Since>) {
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
        if let Some(key) = self.key
            && !self.finish_macs(key, checkpoint, since)
        {
            return;
        }
        if let Some(t) = self.expect {
            self.check_head(t, checkpoint);
        }
    }

    fn finish_macs(
        &mut self,
        key: &MacKey,
        checkpoint: Option<&Checkpoint>,
        since: Option<&Since>,
    ) -> bool {
        if let Some(a) = self.run.take() {
            let last = self.expected_seq - 1;
            self.report.unauthenticated.push(Unauthenticated {
                first: a,
                last,
                why: if self.first_mac.is_none() {
                    "no entry carries a MAC: written before lkm had MACs, or while the store was sealed, or the log was rewritten (a head exported earlier tells which)".into()
                } else {
                    "after the last entry with a MAC: written while the store was sealed, or added since by someone without the key".into()
                },
            });
        }
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
            None if self.first_mac.is_some() || checkpoint.is_some_and(|c| c.mac.is_some()) => {
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
                None if since.is_some_and(|s| c.through_seq >= s.seq) => {
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

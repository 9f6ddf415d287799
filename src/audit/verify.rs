//! Walks the chain from the oldest kept entry to the head and reports the
//! first place where it does not hold.

use super::{Checkpoint, GENESIS, Head, META_CHECKPOINT, META_HEAD, hash, seq_of};
use crate::store::{Cf, Store, StoreError};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Entries checked.
    pub entries: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// Entries removed by retention before the first one kept.
    pub pruned: u64,
    /// The first broken link, if any.
    pub broken: Option<Break>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Break {
    /// The entry where the chain stops holding.
    pub seq: u64,
    pub problem: String,
}

const CHUNK: usize = 4096;

pub fn verify(store: &Store) -> Result<Report, StoreError> {
    let head: Head = read_meta(store, META_HEAD)?.unwrap_or_default();
    let checkpoint: Option<Checkpoint> = read_meta(store, META_CHECKPOINT)?;
    let (mut expected_seq, mut expected_prev) = match &checkpoint {
        Some(c) => (c.through_seq + 1, c.hash.clone()),
        None => (1, GENESIS.to_owned()),
    };
    let mut report = Report {
        entries: 0,
        first_seq: None,
        last_seq: None,
        pruned: checkpoint.as_ref().map_or(0, |c| c.pruned),
        broken: None,
    };
    each_stored::<StoreError>(store, |k, v| {
        let Some(seq) = seq_of(k) else {
            report.broken = Some(Break {
                seq: expected_seq,
                problem: format!("a key that is not a sequence number ({} bytes)", k.len()),
            });
            return Ok(false);
        };
        if seq != expected_seq {
            report.broken = Some(Break {
                seq: expected_seq,
                problem: if seq > expected_seq {
                    format!(
                        "entries {expected_seq} to {} are missing: they were deleted",
                        seq - 1
                    )
                } else {
                    format!("entry {seq} is out of place")
                },
            });
            return Ok(false);
        }
        let entry = match super::Entry::decode(v) {
            Ok(e) => e,
            Err(e) => {
                report.broken = Some(Break {
                    seq,
                    problem: format!("entry {seq} is not a valid entry ({e})"),
                });
                return Ok(false);
            }
        };
        if entry.seq != seq {
            report.broken = Some(Break {
                seq,
                problem: format!("entry {seq} claims to be entry {}", entry.seq),
            });
            return Ok(false);
        }
        if entry.prev != expected_prev {
            report.broken = Some(Break {
                seq,
                problem: if seq == report.first_seq.unwrap_or(seq) && report.entries == 0 {
                    format!(
                        "entry {seq} does not follow the {}",
                        if checkpoint.is_some() {
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
                },
            });
            return Ok(false);
        }
        report.first_seq.get_or_insert(seq);
        report.last_seq = Some(seq);
        report.entries += 1;
        expected_prev = hash(v);
        expected_seq += 1;
        Ok(true)
    })?;
    if report.broken.is_none() {
        if head.next_seq != expected_seq {
            report.broken = Some(Break {
                seq: expected_seq,
                problem: format!(
                    "the log ends at entry {} but {} entries were written: the last ones were deleted",
                    expected_seq.saturating_sub(1),
                    head.written()
                ),
            });
        } else if head.prev != expected_prev {
            report.broken = Some(Break {
                seq: expected_seq.saturating_sub(1),
                problem: format!(
                    "entry {} does not match the hash recorded when it was written: it was changed",
                    expected_seq.saturating_sub(1)
                ),
            });
        }
    }
    Ok(report)
}

pub(crate) fn read_meta<T: serde::de::DeserializeOwned>(
    store: &Store,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    match store.get(Cf::Meta, key)? {
        None => Ok(None),
        Some(v) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("audit state: {e}"))),
    }
}

/// Calls `visit` with each stored entry's key and bytes, oldest first,
/// reading a chunk at a time; stops early when `visit` says false.
pub(crate) fn each_stored<E: From<StoreError>>(
    store: &Store,
    mut visit: impl FnMut(&[u8], &[u8]) -> Result<bool, E>,
) -> Result<(), E> {
    let mut start = Vec::new();
    loop {
        let chunk = store.scan(Cf::Audit, b"", &start, CHUNK)?;
        let Some((last, _)) = chunk.last() else {
            return Ok(());
        };
        // The smallest key after the last one read.
        start = last.to_vec();
        start.push(0);
        for (k, v) in &chunk {
            if !visit(k, v)? {
                return Ok(());
            }
        }
        if chunk.len() < CHUNK {
            return Ok(());
        }
    }
}

//! Where the chain stands: the next sequence number, the hash to link to,
//! and what retention has kept. The head is stored in `meta` in the same
//! batch as each entry, so reopening the store is one read, not a scan.

use super::{Draft, Entry, Gap, MacKey, hash};
use serde::{Deserialize, Serialize};

/// `prev` of the first entry ever written.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Sequence number the next entry gets (1 for an empty log).
    pub next_seq: u64,
    /// Hash of the last entry written (GENESIS before the first).
    pub prev: String,
    /// Oldest entry still kept (== next_seq when none is).
    pub first_seq: u64,
    /// Bytes of the entries kept.
    pub bytes: u64,
    /// Time of the oldest entry kept, Unix milliseconds.
    pub oldest_ms: Option<i64>,
}

impl Default for Head {
    fn default() -> Self {
        Head {
            next_seq: 1,
            prev: GENESIS.into(),
            first_seq: 1,
            bytes: 0,
            oldest_ms: None,
        }
    }
}

/// What retention removed: the chain goes on from `hash` at `through_seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The last entry removed.
    pub through_seq: u64,
    /// Its hash: the `prev` of the first entry kept.
    pub hash: String,
    /// Entries removed by retention since the log began.
    pub pruned: u64,
    /// When the last pruning ran, Unix milliseconds.
    pub at_ms: i64,
    /// HMAC of the fields above with the audit key: pruning runs only
    /// while the store is unsealed, so without a key no one can move the
    /// checkpoint to hide entries cut from the start of the log. Absent on
    /// checkpoints written by lkm before MACs existed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mac: Option<String>,
}

/// A cut at the start of the chain, decided by the node that proposes it
/// and applied identically everywhere (see `store::Command::prune`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneTo {
    /// The last entry removed.
    pub through_seq: u64,
    /// Its hash, as the proposer read it.
    pub hash: String,
    /// Bytes of the entries removed.
    pub removed_bytes: u64,
    /// Time of the oldest entry kept after the cut.
    pub next_oldest_ms: Option<i64>,
}

impl Head {
    /// Places a draft at the end of the chain: the entry's bytes and the
    /// head after it. Nothing changes until the caller has written both.
    /// With the audit key the entry carries a MAC, and `gap` (what the
    /// MAC-less entries just before it are, if there are any).
    pub fn append(
        &self,
        draft: &Draft,
        now_ms: i64,
        key: Option<(&MacKey, Option<Gap>)>,
    ) -> (u64, Vec<u8>, Head) {
        let mut entry = Entry {
            seq: self.next_seq,
            time: rfc3339(now_ms),
            time_ms: now_ms,
            draft: draft.clone(),
            prev: self.prev.clone(),
            gap: key.and_then(|(_, gap)| gap),
            mac: None,
        };
        let unmaced = entry.encode();
        let bytes = match key {
            Some((key, _)) => {
                let mac = key.entry(&unmaced);
                with_mac(unmaced, &mac).unwrap_or_else(|| {
                    entry.mac = Some(mac);
                    entry.encode()
                })
            }
            None => unmaced,
        };
        let next = Head {
            next_seq: self.next_seq + 1,
            prev: hash(&bytes),
            first_seq: self.first_seq,
            bytes: self.bytes + bytes.len() as u64,
            oldest_ms: self.oldest_ms.or(Some(now_ms)),
        };
        (entry.seq, bytes, next)
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Entries ever written (kept or pruned).
    pub fn written(&self) -> u64 {
        self.next_seq.saturating_sub(1)
    }
}

impl Checkpoint {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The stored form of an entry with its MAC, from its form without: the
/// MAC is the last field, so it goes before the closing brace, exactly as
/// the encoder would put it (hex needs no escaping). Encoding an entry is
/// what an audited read costs most; this saves doing it twice.
fn with_mac(mut unmaced: Vec<u8>, mac: &str) -> Option<Vec<u8>> {
    if unmaced.pop() != Some(b'}') {
        return None;
    }
    unmaced.extend_from_slice(b",\"mac\":\"");
    unmaced.extend_from_slice(mac.as_bytes());
    unmaced.extend_from_slice(b"\"}");
    Some(unmaced)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(crate) fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&f).unwrap_or_default()
}

#[cfg(test)]
mod splice_tests {
    use super::*;

    #[test]
    fn a_spliced_mac_is_byte_for_byte_what_the_encoder_writes() {
        let mut d = Draft::new("cn:x", "Get");
        d.name("uid-1");
        for gap in [None, Some(Gap::default())] {
            let mut e = Entry {
                seq: 7,
                time: rfc3339(1),
                time_ms: 1,
                draft: d.clone(),
                prev: GENESIS.into(),
                gap,
                mac: None,
            };
            let mac = "ab".repeat(32);
            let spliced = with_mac(e.encode(), &mac).unwrap();
            e.mac = Some(mac);
            assert_eq!(spliced, e.encode());
        }
    }
}

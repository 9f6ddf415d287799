//! The activity log. Every KMIP operation and every admin action appends
//! one [`Entry`] to the store's `audit` column family. Entries are chained:
//! each carries the SHA-256 of the one before, so an edited, inserted or
//! deleted entry breaks the chain where it happened, and [`verify`] names
//! that place. Links alone can be recomputed by anyone who can write the
//! store, so a node that holds the key derived from the root key
//! ([`MacKey`]) vouches for the chain with MACed [`Anchor`]s (entries are
//! placed when a replicated command is applied, with no key, identically
//! on every node); only the unsealed server can check them
//! ([`verify_live`]). Logs written before anchors carry a MAC per entry,
//! which verify still checks. The server also hands out a [`HeadToken`]
//! for operators to keep outside the store, which later proves the
//! history up to it was neither rewritten nor cut short. An entry that
//! records a change is written in the same atomic batch as the change, so
//! an acknowledged write always has its entry. Entries hold identities, addresses, operation names and object
//! uids; never key bytes, names or other attribute values.

mod anchor;
mod chain;
mod entry;
mod export;
mod mac;
mod prune;
mod retention;
mod scope;
#[cfg(test)]
mod tests;
mod verify;

pub use anchor::{ANCHOR_OPERATION, AnchorRecord, anchor_command, anchor_draft};

pub use chain::now_ms;
pub(crate) use chain::rfc3339;
pub use chain::{Checkpoint, GENESIS, Head, PruneTo};
pub(crate) use entry::escape_controls;
pub use entry::{Anchor, Draft, Entry, Gap, Span, Stamped};
pub use export::{Filter, Format, export};
pub use mac::{DeriveError, HeadToken, MacKey, Since};
pub use prune::plan_prune;
pub use retention::{Pruned, Retention};
pub use scope::Scope;
pub(crate) use verify::read_meta;
pub use verify::{Break, Report, Unauthenticated, verify, verify_live, verify_with};

/// Store keys of the audit state in the `meta` column family.
pub(crate) const META_HEAD: &[u8] = b"audit/head";
pub(crate) const META_CHECKPOINT: &[u8] = b"audit/checkpoint";
/// Where MACs began (see [`Since`]): logs written before anchors only.
pub(crate) const META_SINCE: &[u8] = b"audit/mac-since";
/// The newest anchor applied (see [`anchor_command`]).
pub(crate) const META_ANCHOR: &[u8] = b"audit/anchor";

/// The key of entry `seq` in the `audit` column family: big-endian, so
/// keys sort in sequence order.
pub(crate) fn key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// The sequence number an `audit` key names, if it is one.
pub(crate) fn seq_of(key: &[u8]) -> Option<u64> {
    key.try_into().ok().map(u64::from_be_bytes)
}

/// The SHA-256 of an entry's stored bytes, lowercase hex: what the next
/// entry's `prev` holds.
pub fn hash(stored: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, stored).as_ref())
}

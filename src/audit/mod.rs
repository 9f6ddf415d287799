//! The activity log. Every KMIP operation and every admin action appends
//! one [`Entry`] to the store's `audit` column family. Entries are chained:
//! each carries the SHA-256 of the one before, so an edited, inserted or
//! deleted entry breaks the chain where it happened, and [`verify`] names
//! that place. An entry that records a change is written in the same
//! atomic batch as the change, so an acknowledged write always has its
//! entry. Entries hold identities, addresses, operation names and object
//! uids; never key bytes, names or other attribute values.

mod chain;
mod entry;
mod export;
mod retention;
mod scope;
mod verify;

pub use chain::now_ms;
pub(crate) use chain::rfc3339;
pub use chain::{Checkpoint, GENESIS, Head};
pub(crate) use entry::escape_controls;
pub use entry::{Draft, Entry};
pub use export::{Filter, Format, export};
pub use retention::Retention;
pub use scope::Scope;
pub(crate) use verify::read_meta;
pub use verify::{Break, Report, verify};

/// Store keys of the audit state in the `meta` column family.
pub(crate) const META_HEAD: &[u8] = b"audit/head";
pub(crate) const META_CHECKPOINT: &[u8] = b"audit/checkpoint";

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

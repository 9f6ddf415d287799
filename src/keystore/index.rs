//! Index entries for an object, computed before a write and written in the
//! same batch. Every entry sits under its owner: `kind || owner tag || ...`,
//! where the owner tag is a keyed hash of the owner key, so a lookup for
//! one tenant scans that tenant's entries and never touches another's
//! (no cost, no timing that depends on other tenants' objects). Names,
//! groups and custom attribute values appear only as keyed hashes; dates
//! are kept in order (big-endian, sign-flipped) so ranges can be scanned.
//! Every key ends with the uid it points to.
//!
//! ```text
//! Owner    01 || owner tag || uid
//! hashed   kind || owner tag || keyed hash of the value || uid
//! Date     07 || owner tag || date tag || ordered date || uid
//! ```
//!
//! Stores of earlier builds keyed entries by value alone (format 1); the
//! key store rebuilds those once, at unseal (see `reindex`).

use crate::kmip::tag;
use crate::objects::ManagedObject;
use crate::seal::keyring::Keyring;
use crate::ttlv::{self, Item, Tag, Value};
use std::collections::BTreeSet;

/// The index layout this build writes and reads.
pub(super) const FORMAT: u32 = 2;
/// Where the layout version is kept in `meta`.
pub(super) const META_FORMAT: &[u8] = b"index/format";
/// Objects per owner tag live in `meta` under `owners/HEX`, changed in the
/// same batch as the Owner entries, so a cross-tenant (admin) lookup knows
/// whose entries to scan.
pub(super) const META_OWNERS: &str = "owners/";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum IndexKind {
    Owner = 1,
    Name = 2,
    Group = 3,
    ObjectType = 4,
    State = 5,
    Custom = 6,
    Date = 7,
}

/// A keyed hash of an owner key: the first part of its entries.
pub(super) type OwnerTag = [u8; 16];

pub const DATE_TAGS: [Tag; 8] = [
    tag::INITIAL_DATE,
    tag::ACTIVATION_DATE,
    tag::DEACTIVATION_DATE,
    tag::DESTROY_DATE,
    tag::COMPROMISE_DATE,
    tag::COMPROMISE_OCCURRENCE_DATE,
    tag::LAST_CHANGE_DATE,
    tag::ORIGINAL_CREATION_DATE,
];

pub(super) fn owner_tag(keyring: &Keyring, owner: &str) -> OwnerTag {
    keyring.index_hash(IndexKind::Owner as u8, owner.as_bytes())
}

/// The prefix of every entry for one owner and (kind, value): what a
/// lookup scans. Owner entries have no value part.
pub(super) fn lookup_prefix(
    keyring: &Keyring,
    kind: IndexKind,
    owner: &OwnerTag,
    value: &[u8],
) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + 16 + 16 + 40);
    k.push(kind as u8);
    k.extend_from_slice(owner);
    if kind != IndexKind::Owner {
        k.extend_from_slice(&keyring.index_hash(kind as u8, value));
    }
    k
}

/// The prefix of one owner's date entries of one attribute.
pub(super) fn date_prefix(owner: &OwnerTag, date_tag: Tag) -> Vec<u8> {
    let mut k = vec![IndexKind::Date as u8];
    k.extend_from_slice(owner);
    k.extend_from_slice(&date_tag.to_be_bytes());
    k
}

/// Sign-flipped big-endian, so byte order is numeric order.
pub fn ordered_date(t: i64) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

/// The uid at the end of an index key, given the prefix length.
pub(super) fn uid_of(key: &[u8], prefix_len: usize) -> Option<&str> {
    key.get(prefix_len..)
        .and_then(|u| std::str::from_utf8(u).ok())
}

/// The owner an Owner entry counts for (`None` for other entries).
pub(super) fn owner_of_entry(entry: &[u8]) -> Option<OwnerTag> {
    match entry.split_first() {
        Some((&k, rest)) if k == IndexKind::Owner as u8 => rest.get(..16)?.try_into().ok(),
        _ => None,
    }
}

/// The `meta` key of an owner's object counter.
pub(super) fn owner_counter(owner: &OwnerTag) -> Vec<u8> {
    format!("{META_OWNERS}{}", hex::encode(owner)).into_bytes()
}

/// The owner tag a counter key names.
pub(super) fn owner_of_counter(key: &[u8]) -> Option<OwnerTag> {
    let hex_text = key.strip_prefix(META_OWNERS.as_bytes())?;
    hex::decode(hex_text).ok()?.try_into().ok()
}

/// A custom attribute's identity: vendor and name (the vendor Attribute
/// shape) or its extension tag, then its value's encoding.
pub fn custom_key(a: &Item) -> Option<Vec<u8>> {
    if a.tag == tag::ATTRIBUTE {
        let vendor = a.child(tag::VENDOR_IDENTIFICATION)?.as_text()?;
        let name = a.child(tag::ATTRIBUTE_NAME)?.as_text()?;
        let value = a.child(tag::ATTRIBUTE_VALUE)?;
        let mut k = vendor.as_bytes().to_vec();
        k.push(0);
        k.extend_from_slice(name.as_bytes());
        k.push(0);
        k.extend(ttlv::encode(&Item::new(0, value.value.clone())));
        Some(k)
    } else if a.tag >> 16 == 0x54 {
        let mut k = a.tag.to_be_bytes().to_vec();
        k.extend(ttlv::encode(&Item::new(0, a.value.clone())));
        Some(k)
    } else {
        None
    }
}

pub(super) fn entries(keyring: &Keyring, o: &ManagedObject) -> BTreeSet<Vec<u8>> {
    let mut out = BTreeSet::new();
    let uid = o.uid.as_bytes();
    let owner = owner_tag(keyring, &o.owner);
    let mut hashed = |kind: IndexKind, value: &[u8]| {
        let mut k = lookup_prefix(keyring, kind, &owner, value);
        k.extend_from_slice(uid);
        out.insert(k);
    };
    hashed(IndexKind::Owner, &[]);
    hashed(IndexKind::ObjectType, &o.object_type.value().to_be_bytes());
    hashed(IndexKind::State, &o.state.value().to_be_bytes());
    for n in o.names() {
        hashed(IndexKind::Name, n.as_bytes());
    }
    for g in o.attribute(tag::OBJECT_GROUP).filter_map(Item::as_text) {
        hashed(IndexKind::Group, g.as_bytes());
    }
    for a in &o.attributes {
        if let Some(k) = custom_key(a) {
            hashed(IndexKind::Custom, &k);
        }
    }
    for a in &o.attributes {
        if let (true, Value::DateTime(t)) = (DATE_TAGS.contains(&a.tag), &a.value) {
            let mut k = date_prefix(&owner, a.tag);
            k.extend_from_slice(&ordered_date(*t));
            k.extend_from_slice(uid);
            out.insert(k);
        }
    }
    out
}

//! Index entries for an object, computed before a write and written in the
//! same batch. Names, groups and custom attribute values appear only as
//! keyed hashes; dates are kept in order (big-endian, sign-flipped) so
//! ranges can be scanned. Every key ends with the uid it points to.

use crate::kmip::tag;
use crate::objects::ManagedObject;
use crate::seal::keyring::Keyring;
use crate::ttlv::{self, Item, Tag, Value};
use std::collections::BTreeSet;

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

/// The prefix of every entry for one (kind, value): what a lookup scans.
pub fn hashed_prefix(keyring: &Keyring, kind: IndexKind, value: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(17 + 40);
    k.push(kind as u8);
    k.extend_from_slice(&keyring.index_hash(kind as u8, value));
    k
}

/// The prefix of the date entries of one attribute.
pub fn date_prefix(date_tag: Tag) -> Vec<u8> {
    let mut k = vec![IndexKind::Date as u8];
    k.extend_from_slice(&date_tag.to_be_bytes());
    k
}

/// Sign-flipped big-endian, so byte order is numeric order.
pub fn ordered_date(t: i64) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

/// The uid at the end of an index key, given the prefix length.
pub fn uid_of(key: &[u8], prefix_len: usize) -> Option<&str> {
    key.get(prefix_len..)
        .and_then(|u| std::str::from_utf8(u).ok())
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

pub fn entries(keyring: &Keyring, o: &ManagedObject) -> BTreeSet<Vec<u8>> {
    let mut out = BTreeSet::new();
    let uid = o.uid.as_bytes();
    let mut hashed = |kind: IndexKind, value: &[u8]| {
        let mut k = hashed_prefix(keyring, kind, value);
        k.extend_from_slice(uid);
        out.insert(k);
    };
    hashed(IndexKind::Owner, o.owner.as_bytes());
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
            let mut k = date_prefix(a.tag);
            k.extend_from_slice(&ordered_date(*t));
            k.extend_from_slice(uid);
            out.insert(k);
        }
    }
    out
}

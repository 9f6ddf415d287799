//! Managed objects as the store keeps them: type, state, owner, attributes
//! (KMIP 2.x form, one internal shape for every protocol version) and the
//! object structure itself (the key block, secret data...). The whole
//! record is one TTLV tree, encoded with our codec and sealed as a unit.

mod state;

pub use state::State;

use crate::kmip::{ObjectType, tag};
use crate::ttlv::{self, Item, Limits, Tag, Value};
use zeroize::Zeroizing;

// Tags private to the store (never on the wire): the record and its owner.
const RECORD: Tag = 0x7F_FF01;
const OWNER: Tag = 0x7F_FF02;
const OWNER_NAME: Tag = 0x7F_FF03;

/// How deep a stored record may nest. A record holds what a request
/// carried, one or more levels shallower than it was in the request, so
/// this is the largest request depth the configuration accepts
/// (`limits.max_depth` ≤ 256): anything accepted can be read back. A
/// smaller bound would leave such an object unreadable, and with it every
/// Locate that meets it.
pub(crate) const RECORD_MAX_DEPTH: usize = 256;

#[derive(Clone, Debug, PartialEq)]
pub struct ManagedObject {
    pub uid: String,
    pub object_type: ObjectType,
    pub state: State,
    /// The owner key (`auth::Identity::owner`): `subject:DN`, a SAN, or a
    /// certificate fingerprint (always, for objects of earlier builds).
    pub owner: String,
    /// The owner's certificate common name, for people reading audits.
    pub owner_name: String,
    /// Attributes in 2.x form: each item's tag is the attribute's tag.
    pub attributes: Vec<Item>,
    /// The object structure (e.g. `SymmetricKey { KeyBlock }`); `None`
    /// once destroyed.
    pub object: Option<Item>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("object record {0}")]
pub struct RecordError(pub String);

impl ManagedObject {
    /// Every value of one attribute, in order.
    pub fn attribute(&self, t: Tag) -> impl Iterator<Item = &Item> {
        self.attributes.iter().filter(move |a| a.tag == t)
    }

    pub fn first_attribute(&self, t: Tag) -> Option<&Item> {
        self.attribute(t).next()
    }

    /// Replaces every value of a single-valued attribute.
    pub fn set_attribute(&mut self, item: Item) {
        match self.attributes.iter_mut().find(|a| a.tag == item.tag) {
            Some(slot) => *slot = item,
            None => self.attributes.push(item),
        }
    }

    /// Names (Name Value text) of the object.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.attribute(tag::NAME)
            .filter_map(|n| n.child(tag::NAME_VALUE).and_then(Item::as_text))
    }

    /// The plaintext record, to be sealed by the key store.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut children = vec![
            Item::text(tag::UNIQUE_IDENTIFIER, self.uid.clone()),
            Item::enumeration(tag::OBJECT_TYPE, self.object_type.value()),
            Item::enumeration(tag::STATE, self.state.value()),
            Item::text(OWNER, self.owner.clone()),
            Item::text(OWNER_NAME, self.owner_name.clone()),
            Item::structure(tag::ATTRIBUTES, self.attributes.clone()),
        ];
        children.extend(self.object.clone());
        Zeroizing::new(ttlv::encode(&Item::structure(RECORD, children)))
    }

    pub fn decode(bytes: &[u8]) -> Result<ManagedObject, RecordError> {
        // Size and item count are left unbounded: a record reaches here
        // only after its seal authenticated it, so it is what the server
        // itself wrote, and a cap the writes do not share would make
        // records that grew over many requests unreadable.
        let limits = Limits {
            max_message_size: usize::MAX,
            max_depth: RECORD_MAX_DEPTH,
            max_items: usize::MAX,
        };
        let item = ttlv::decode(bytes, &limits).map_err(|e| RecordError(e.to_string()))?;
        let bad = |what: &str| RecordError(format!("has no valid {what}"));
        if item.tag != RECORD {
            return Err(bad("record tag"));
        }
        let Value::Structure(mut children) = item.value else {
            return Err(bad("structure"));
        };
        let text = |children: &[Item], t| {
            children
                .iter()
                .find(|c| c.tag == t)
                .and_then(Item::as_text)
                .map(str::to_owned)
        };
        let uid = text(&children, tag::UNIQUE_IDENTIFIER).ok_or_else(|| bad("uid"))?;
        let owner = text(&children, OWNER).ok_or_else(|| bad("owner"))?;
        let owner_name = text(&children, OWNER_NAME).unwrap_or_default();
        let enumeration = |t| {
            children
                .iter()
                .find(|c| c.tag == t)
                .and_then(Item::as_enumeration)
        };
        let object_type = enumeration(tag::OBJECT_TYPE)
            .and_then(ObjectType::from_u32)
            .ok_or_else(|| bad("object type"))?;
        let state = enumeration(tag::STATE)
            .and_then(State::from_u32)
            .ok_or_else(|| bad("state"))?;
        let attrs_at = children
            .iter()
            .position(|c| c.tag == tag::ATTRIBUTES)
            .ok_or_else(|| bad("attributes"))?;
        let attributes = match children.remove(attrs_at).value {
            Value::Structure(a) => a,
            _ => return Err(bad("attributes")),
        };
        let object = children.into_iter().find(|c| {
            !matches!(
                c.tag,
                tag::UNIQUE_IDENTIFIER | tag::OBJECT_TYPE | tag::STATE | OWNER | OWNER_NAME
            )
        });
        Ok(ManagedObject {
            uid,
            object_type,
            state,
            owner,
            owner_name,
            attributes,
            object,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trip() {
        let o = ManagedObject {
            uid: "u-1".into(),
            object_type: ObjectType::SymmetricKey,
            state: State::Active,
            owner: "ab".repeat(32),
            owner_name: "client".into(),
            attributes: vec![Item::structure(
                tag::NAME,
                vec![
                    Item::text(tag::NAME_VALUE, "disk-7"),
                    Item::enumeration(tag::NAME_TYPE, 1),
                ],
            )],
            object: Some(Item::structure(
                tag::SYMMETRIC_KEY,
                vec![Item::bytes(tag::KEY_MATERIAL, vec![7u8; 32])],
            )),
        };
        let back = ManagedObject::decode(&o.encode()).unwrap();
        assert_eq!(back, o);
        assert_eq!(back.names().collect::<Vec<_>>(), vec!["disk-7"]);
        let destroyed = ManagedObject { object: None, ..o };
        assert_eq!(
            ManagedObject::decode(&destroyed.encode()).unwrap(),
            destroyed
        );
        assert!(ManagedObject::decode(b"junk").is_err());
    }

    /// An attribute spanning `levels` levels: structures around one text.
    fn nested(levels: usize) -> Item {
        (1..levels).fold(Item::text(tag::NAME_VALUE, "deep"), |inner, _| {
            Item::structure(tag::ATTRIBUTE, vec![inner])
        })
    }

    #[test]
    fn records_as_deep_as_the_deepest_accepted_request_read_back() {
        // The deepest request the configuration allows ...
        let mut config = crate::config::Config::default();
        config.limits.max_depth = RECORD_MAX_DEPTH;
        assert!(config.validate().is_ok());
        config.limits.max_depth = RECORD_MAX_DEPTH + 1;
        assert!(config.validate().is_err());
        // ... holds attributes spanning at most RECORD_MAX_DEPTH - 4 levels
        // (message, batch item, payload and attributes are above them);
        // in the record only two levels are (record, attributes).
        for levels in [100, RECORD_MAX_DEPTH - 4] {
            let o = ManagedObject {
                uid: "u-deep".into(),
                object_type: ObjectType::SecretData,
                state: State::PreActive,
                owner: "ab".repeat(32),
                owner_name: "client".into(),
                attributes: vec![nested(levels)],
                object: None,
            };
            assert_eq!(ManagedObject::decode(&o.encode()).unwrap(), o, "{levels}");
        }
    }
}

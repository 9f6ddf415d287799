//! Attribute views shared by the attribute operations: an object's values
//! (stored, plus the ones derived from the record), references to
//! attributes in both protocol generations, and responses in both shapes.

use crate::kmip::attributes::{spec_name, to_v1_attribute};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ProtocolVersion, ResultReason};
use crate::objects::ManagedObject;
use crate::ttlv::tags::tag_by_attribute_name;
use crate::ttlv::{Item, Tag, describe_tag};

/// One attribute, as a request names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AttrRef {
    Tag(Tag),
    Vendor { vendor: String, name: String },
}

/// Attributes the server derives or sets; clients cannot add or change them.
pub(crate) const READ_ONLY: &[Tag] = &[
    tag::UNIQUE_IDENTIFIER,
    tag::OBJECT_TYPE,
    tag::STATE,
    tag::INITIAL_DATE,
    tag::LAST_CHANGE_DATE,
    tag::DIGEST,
    tag::DESTROY_DATE,
    tag::COMPROMISE_DATE,
    tag::ORIGINAL_CREATION_DATE,
    tag::FRESH,
    tag::ALWAYS_SENSITIVE,
    tag::NEVER_EXTRACTABLE,
    tag::CERTIFICATE_LENGTH,
    tag::CERTIFICATE_TYPE,
    tag::CERTIFICATE_SUBJECT_CN,
    tag::CERTIFICATE_ISSUER_CN,
];

/// The value of a boolean attribute among `attributes`, if it is there;
/// any other type of value is refused.
pub(crate) fn flag(attributes: &[Item], t: Tag) -> KmipResult<Option<bool>> {
    match attributes.iter().find(|a| a.tag == t) {
        None => Ok(None),
        Some(a) => a.as_boolean().map(Some).ok_or_else(|| {
            KmipError::new(
                ResultReason::InvalidAttributeValue,
                format!("{} must be a Boolean", describe_tag(t)),
            )
        }),
    }
}

fn one_way(message: String) -> KmipError {
    KmipError::new(ResultReason::PermissionDenied, message)
}

/// The changes that would let a key out, refused whoever asks (PKCS#11
/// works the same way, and KMIP's Always Sensitive / Never Extractable
/// presume it): Sensitive only goes on, Extractable only goes off, the
/// Cryptographic Usage Mask of a never-extractable key (the only kind that
/// may wrap a Sensitive key) only loses uses (a wrapping key that gained
/// Decrypt would unwrap, block by block, what it wrapped), and none of them
/// can be deleted. `new` is the value being set, `None` for a deletion.
pub(crate) fn check_one_way(o: &ManagedObject, r: &AttrRef, new: Option<&Item>) -> KmipResult<()> {
    let AttrRef::Tag(t) = r else {
        return Ok(());
    };
    // The usage mask matters only on a key that may wrap Sensitive keys
    // (one that never was extractable); other objects keep editing theirs.
    let guards_wrapping = *t == tag::CRYPTOGRAPHIC_USAGE_MASK
        && flag(&o.attributes, tag::NEVER_EXTRACTABLE)? == Some(true);
    if !matches!(*t, tag::SENSITIVE | tag::EXTRACTABLE) && !guards_wrapping {
        return Ok(());
    }
    let Some(new) = new else {
        return Err(one_way(format!("{} cannot be deleted", describe_tag(*t))));
    };
    if *t == tag::CRYPTOGRAPHIC_USAGE_MASK {
        let wanted = new.as_integer().ok_or_else(|| {
            KmipError::new(
                ResultReason::InvalidAttributeValue,
                "Cryptographic Usage Mask must be an Integer",
            )
        })?;
        return match o
            .first_attribute(tag::CRYPTOGRAPHIC_USAGE_MASK)
            .and_then(Item::as_integer)
        {
            Some(have) if wanted & !have != 0 => Err(one_way(format!(
                "Cryptographic Usage Mask can only lose uses (0x{have:X} cannot become 0x{wanted:X})"
            ))),
            _ => Ok(()),
        };
    }
    let wanted = flag(std::slice::from_ref(new), *t)?.unwrap_or_default();
    let have = flag(&o.attributes, *t)?;
    match *t {
        tag::SENSITIVE if have == Some(true) && !wanted => {
            Err(one_way("Sensitive cannot be turned off once on".to_owned()))
        }
        tag::EXTRACTABLE if !have.unwrap_or(true) && wanted => Err(one_way(
            "Extractable cannot be turned on once off".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// Attributes that may hold several values at once.
pub(crate) fn multi_valued(t: Tag) -> bool {
    matches!(
        t,
        tag::NAME
            | tag::OBJECT_GROUP
            | tag::LINK
            | tag::APPLICATION_SPECIFIC_INFORMATION
            | tag::ATTRIBUTE
    ) || t >> 16 == 0x54
}

impl AttrRef {
    /// A 1.x Attribute Name (`"Cryptographic Length"`, `"x-Drive"`).
    pub(crate) fn from_name(name: &str) -> KmipResult<AttrRef> {
        if let Some((vendor, rest)) = name.split_once('-')
            && matches!(vendor, "x" | "y")
        {
            return Ok(AttrRef::Vendor {
                vendor: vendor.to_owned(),
                name: rest.to_owned(),
            });
        }
        tag_by_attribute_name(name)
            .map(AttrRef::Tag)
            .ok_or_else(|| KmipError::invalid_field(format!("unknown attribute {name:?}")))
    }

    /// A 2.x Attribute Reference (a tag, or a vendor structure).
    pub(crate) fn from_reference(r: &Item) -> KmipResult<AttrRef> {
        if let Some(t) = r.as_enumeration() {
            return Ok(AttrRef::Tag(t));
        }
        let vendor = r.child(tag::VENDOR_IDENTIFICATION).and_then(Item::as_text);
        let name = r.child(tag::ATTRIBUTE_NAME).and_then(Item::as_text);
        match (vendor, name) {
            (Some(v), Some(n)) => Ok(AttrRef::Vendor {
                vendor: v.to_owned(),
                name: n.to_owned(),
            }),
            _ => Err(KmipError::invalid_field(
                "an Attribute Reference needs a tag or a vendor and name",
            )),
        }
    }

    /// The reference an internal-form attribute item answers to.
    pub(crate) fn of(a: &Item) -> AttrRef {
        if a.tag == tag::ATTRIBUTE {
            AttrRef::Vendor {
                vendor: a
                    .child(tag::VENDOR_IDENTIFICATION)
                    .and_then(Item::as_text)
                    .unwrap_or("")
                    .to_owned(),
                name: a
                    .child(tag::ATTRIBUTE_NAME)
                    .and_then(Item::as_text)
                    .unwrap_or("")
                    .to_owned(),
            }
        } else {
            AttrRef::Tag(a.tag)
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            AttrRef::Tag(t) => describe_tag(*t),
            AttrRef::Vendor { vendor, name } => format!("{vendor}-{name}"),
        }
    }

    /// As a 2.x Attribute Reference item.
    pub(crate) fn to_reference(&self) -> Item {
        match self {
            AttrRef::Tag(t) => Item::enumeration(tag::ATTRIBUTE_REFERENCE, *t),
            AttrRef::Vendor { vendor, name } => Item::structure(
                tag::ATTRIBUTE_REFERENCE,
                vec![
                    Item::text(tag::VENDOR_IDENTIFICATION, vendor.clone()),
                    Item::text(tag::ATTRIBUTE_NAME, name.clone()),
                ],
            ),
        }
    }

    /// As a 1.x Attribute Name.
    pub(crate) fn to_name(&self) -> String {
        match self {
            AttrRef::Tag(t) => spec_name(*t),
            AttrRef::Vendor { vendor, name } => format!("{vendor}-{name}"),
        }
    }
}

/// Every attribute value of an object, derived ones first.
pub(crate) fn all(o: &ManagedObject) -> Vec<Item> {
    let mut out = vec![
        Item::text(tag::UNIQUE_IDENTIFIER, o.uid.clone()),
        Item::enumeration(tag::OBJECT_TYPE, o.object_type.value()),
    ];
    out.extend(o.attributes.iter().cloned());
    out.push(Item::enumeration(tag::STATE, o.state.value()));
    out
}

/// The values of one attribute.
pub(crate) fn values(o: &ManagedObject, r: &AttrRef) -> Vec<Item> {
    match r {
        AttrRef::Tag(tag::UNIQUE_IDENTIFIER) => {
            vec![Item::text(tag::UNIQUE_IDENTIFIER, o.uid.clone())]
        }
        AttrRef::Tag(tag::OBJECT_TYPE) => {
            vec![Item::enumeration(tag::OBJECT_TYPE, o.object_type.value())]
        }
        AttrRef::Tag(tag::STATE) => vec![Item::enumeration(tag::STATE, o.state.value())],
        // KMIP 1.x gives every object an Operation Policy Name; the server's
        // one policy (owner, or admin) is called "default".
        AttrRef::Tag(tag::OPERATION_POLICY_NAME)
            if o.first_attribute(tag::OPERATION_POLICY_NAME).is_none() =>
        {
            vec![Item::text(tag::OPERATION_POLICY_NAME, "default")]
        }
        r => o
            .attributes
            .iter()
            .filter(|a| AttrRef::of(a) == *r)
            .cloned()
            .collect(),
    }
}

/// A 1.x Attribute; multi-instance standard attributes carry their index.
pub(crate) fn v1_with_index(a: &Item, index: i32) -> Item {
    let mut v1 = to_v1_attribute(a);
    if matches!(
        a.tag,
        tag::NAME | tag::LINK | tag::APPLICATION_SPECIFIC_INFORMATION
    ) && let crate::ttlv::Value::Structure(c) = &mut v1.value
    {
        c.insert(1, Item::integer(tag::ATTRIBUTE_INDEX, index));
    }
    v1
}

/// Attribute values in the response shape of the version: 2.x wraps them
/// in Attributes, 1.x lists Attribute { Name, Value } items.
pub(crate) fn response_items(version: ProtocolVersion, mut items: Vec<Item>) -> Vec<Item> {
    // KMIP 1.0's Digest has no Key Format Type.
    if version < ProtocolVersion::new(1, 1) {
        for d in items.iter_mut().filter(|i| i.tag == tag::DIGEST) {
            if let crate::ttlv::Value::Structure(c) = &mut d.value {
                c.retain(|f| f.tag != tag::KEY_FORMAT_TYPE);
            }
        }
    }
    if version.is_2x() {
        vec![Item::structure(tag::ATTRIBUTES, items)]
    } else {
        // 1.x numbers the values of a multi-instance standard attribute.
        let mut seen: Vec<(u32, i32)> = Vec::new();
        items
            .iter()
            .map(|a| {
                let n = match seen.iter_mut().find(|(t, _)| *t == a.tag) {
                    Some((_, n)) => {
                        *n += 1;
                        *n
                    }
                    None => {
                        seen.push((a.tag, 0));
                        0
                    }
                };
                v1_with_index(a, n)
            })
            .collect()
    }
}

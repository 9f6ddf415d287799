//! The TTLV codec: the item tree, its binary encoding and the KMIP XML and
//! JSON encodings. It knows tag and enumeration names but no KMIP rules.

pub mod binary;
pub(crate) mod enums;
pub mod item;
pub mod json;
pub(crate) mod tags;
pub(crate) mod text;
pub mod xml;

pub use binary::{DecodeError, Limits, decode, encode};
pub use item::{Bytes, Item, ItemType, Tag, Value};
pub use text::describe_tag;

/// The KMIP name of a tag (the XML element name), if it has one.
pub fn tag_name(tag: Tag) -> Option<&'static str> {
    tags::tag_name(tag)
}

/// The tag with this KMIP name (or an older spelling of it).
pub fn tag_by_name(name: &str) -> Option<Tag> {
    tags::tag_by_name(name)
}

/// The tag of an attribute named the 1.x way ("Cryptographic Length").
pub fn tag_by_attribute_name(name: &str) -> Option<Tag> {
    tags::tag_by_attribute_name(name)
}

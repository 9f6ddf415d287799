//! The dynamic TTLV tree. Every layer above the codec reads and builds
//! messages as `Item` trees, so the codec never needs to know KMIP semantics.

use std::fmt;
use zeroize::Zeroize;

/// A TTLV tag (three bytes on the wire, kept in the low 24 bits).
pub type Tag = u32;

/// The eleven TTLV item types, with their one-byte wire codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ItemType {
    Structure = 0x01,
    Integer = 0x02,
    LongInteger = 0x03,
    BigInteger = 0x04,
    Enumeration = 0x05,
    Boolean = 0x06,
    TextString = 0x07,
    ByteString = 0x08,
    DateTime = 0x09,
    Interval = 0x0A,
    DateTimeExtended = 0x0B,
}

impl ItemType {
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0x01 => Self::Structure,
            0x02 => Self::Integer,
            0x03 => Self::LongInteger,
            0x04 => Self::BigInteger,
            0x05 => Self::Enumeration,
            0x06 => Self::Boolean,
            0x07 => Self::TextString,
            0x08 => Self::ByteString,
            0x09 => Self::DateTime,
            0x0A => Self::Interval,
            0x0B => Self::DateTimeExtended,
            _ => return None,
        })
    }

    /// The name used by the XML and JSON encodings.
    pub fn name(self) -> &'static str {
        match self {
            Self::Structure => "Structure",
            Self::Integer => "Integer",
            Self::LongInteger => "LongInteger",
            Self::BigInteger => "BigInteger",
            Self::Enumeration => "Enumeration",
            Self::Boolean => "Boolean",
            Self::TextString => "TextString",
            Self::ByteString => "ByteString",
            Self::DateTime => "DateTime",
            Self::Interval => "Interval",
            Self::DateTimeExtended => "DateTimeExtended",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "Structure" => Self::Structure,
            "Integer" => Self::Integer,
            "LongInteger" => Self::LongInteger,
            "BigInteger" => Self::BigInteger,
            "Enumeration" => Self::Enumeration,
            "Boolean" => Self::Boolean,
            "TextString" => Self::TextString,
            "ByteString" => Self::ByteString,
            "DateTime" => Self::DateTime,
            "Interval" => Self::Interval,
            "DateTimeExtended" => Self::DateTimeExtended,
            _ => return None,
        })
    }
}

/// Bytes that may be key material: wiped when dropped and never printed,
/// so a tree holding a key can be logged or dropped without leaking it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bytes(Vec<u8>);

impl Bytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl From<&[u8]> for Bytes {
    fn from(v: &[u8]) -> Self {
        Self(v.to_vec())
    }
}

impl Drop for Bytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

/// A TTLV value. Date-times are POSIX seconds (microseconds for the
/// extended form); a Big Integer keeps its big-endian two's-complement
/// bytes as they travel, so no precision is ever lost.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Structure(Vec<Item>),
    Integer(i32),
    LongInteger(i64),
    BigInteger(Bytes),
    Enumeration(u32),
    Boolean(bool),
    TextString(String),
    ByteString(Bytes),
    DateTime(i64),
    Interval(u32),
    DateTimeExtended(i64),
}

impl Value {
    pub fn item_type(&self) -> ItemType {
        match self {
            Value::Structure(_) => ItemType::Structure,
            Value::Integer(_) => ItemType::Integer,
            Value::LongInteger(_) => ItemType::LongInteger,
            Value::BigInteger(_) => ItemType::BigInteger,
            Value::Enumeration(_) => ItemType::Enumeration,
            Value::Boolean(_) => ItemType::Boolean,
            Value::TextString(_) => ItemType::TextString,
            Value::ByteString(_) => ItemType::ByteString,
            Value::DateTime(_) => ItemType::DateTime,
            Value::Interval(_) => ItemType::Interval,
            Value::DateTimeExtended(_) => ItemType::DateTimeExtended,
        }
    }
}

/// One node of a TTLV tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub tag: Tag,
    pub value: Value,
}

impl Item {
    pub fn new(tag: Tag, value: Value) -> Self {
        Self { tag, value }
    }
    pub fn structure(tag: Tag, children: Vec<Item>) -> Self {
        Self::new(tag, Value::Structure(children))
    }
    pub fn integer(tag: Tag, v: i32) -> Self {
        Self::new(tag, Value::Integer(v))
    }
    pub fn enumeration(tag: Tag, v: u32) -> Self {
        Self::new(tag, Value::Enumeration(v))
    }
    pub fn text(tag: Tag, v: impl Into<String>) -> Self {
        Self::new(tag, Value::TextString(v.into()))
    }
    pub fn bytes(tag: Tag, v: impl Into<Bytes>) -> Self {
        Self::new(tag, Value::ByteString(v.into()))
    }
    pub fn boolean(tag: Tag, v: bool) -> Self {
        Self::new(tag, Value::Boolean(v))
    }
    pub fn date_time(tag: Tag, v: i64) -> Self {
        Self::new(tag, Value::DateTime(v))
    }

    /// Children of a structure; empty for any other type.
    pub fn children(&self) -> &[Item] {
        match &self.value {
            Value::Structure(c) => c,
            _ => &[],
        }
    }

    /// The first child with this tag.
    pub fn child(&self, tag: Tag) -> Option<&Item> {
        self.children().iter().find(|c| c.tag == tag)
    }

    /// Every child with this tag, in order.
    pub fn children_with(&self, tag: Tag) -> impl Iterator<Item = &Item> {
        self.children().iter().filter(move |c| c.tag == tag)
    }

    pub fn as_integer(&self) -> Option<i32> {
        match self.value {
            Value::Integer(v) => Some(v),
            _ => None,
        }
    }
    pub fn as_enumeration(&self) -> Option<u32> {
        match self.value {
            Value::Enumeration(v) => Some(v),
            _ => None,
        }
    }
    pub fn as_text(&self) -> Option<&str> {
        match &self.value {
            Value::TextString(v) => Some(v),
            _ => None,
        }
    }
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.value {
            Value::ByteString(v) => Some(v.as_slice()),
            _ => None,
        }
    }
    pub fn as_boolean(&self) -> Option<bool> {
        match self.value {
            Value::Boolean(v) => Some(v),
            _ => None,
        }
    }
    pub fn as_date_time(&self) -> Option<i64> {
        match self.value {
            Value::DateTime(v) => Some(v),
            _ => None,
        }
    }
}

//! The TTLV binary encoding: a bounded decoder and a canonical encoder.
//!
//! The decoder is the first thing that touches network bytes, so it checks
//! every length against what is left before it reads, caps nesting depth and
//! the number of items, and says exactly where and why it stopped.

use super::item::{Bytes, Item, ItemType, Tag, Value};
use thiserror::Error;

/// Bounds on what one decoded message may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest whole message (header included), in bytes.
    pub max_message_size: usize,
    /// Deepest structure nesting; the message itself is depth 1.
    pub max_depth: usize,
    /// Most items (of every type) in one message.
    pub max_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 1 << 20,
            max_depth: 32,
            max_items: 65_536,
        }
    }
}

/// Why a byte string is not a TTLV item. Offsets count from the start of
/// the buffer handed to [`decode`].
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum DecodeError {
    #[error("truncated at byte {offset}: need {needed} bytes, {available} left")]
    Truncated {
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("unknown item type 0x{code:02x} at byte {offset}")]
    UnknownType { offset: usize, code: u8 },
    #[error("{item_type:?} at byte {offset} has length {length}, expected {expected}")]
    BadLength {
        offset: usize,
        item_type: ItemType,
        length: u32,
        expected: &'static str,
    },
    #[error("boolean at byte {offset} holds {value}, not 0 or 1")]
    BadBoolean { offset: usize, value: u64 },
    #[error("text string at byte {offset} is not valid UTF-8")]
    BadUtf8 { offset: usize },
    #[error("structure at byte {offset} nests deeper than {limit}")]
    TooDeep { offset: usize, limit: usize },
    #[error("message holds more than {limit} items")]
    TooManyItems { limit: usize },
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("{count} unexpected bytes after the item, at byte {offset}")]
    TrailingBytes { offset: usize, count: usize },
}

/// Decodes exactly one item that fills `buf`.
pub fn decode(buf: &[u8], limits: &Limits) -> Result<Item, DecodeError> {
    if buf.len() > limits.max_message_size {
        return Err(DecodeError::TooLarge {
            size: buf.len(),
            limit: limits.max_message_size,
        });
    }
    let mut d = Decoder {
        buf,
        pos: 0,
        items: 0,
        limits,
    };
    let item = d.item(1)?;
    if d.pos != buf.len() {
        return Err(DecodeError::TrailingBytes {
            offset: d.pos,
            count: buf.len() - d.pos,
        });
    }
    Ok(item)
}

/// The fixed 8-byte header of an item: tag, type and length. The server
/// reads it alone first so it can refuse a message before reading its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub tag: Tag,
    pub type_code: u8,
    pub length: u32,
}

pub const HEADER_LEN: usize = 8;

pub fn decode_header(b: &[u8; HEADER_LEN]) -> Header {
    Header {
        tag: u32::from_be_bytes([0, b[0], b[1], b[2]]),
        type_code: b[3],
        length: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
    }
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    items: usize,
    limits: &'a Limits,
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let available = self.buf.len() - self.pos;
        if n > available {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                needed: n,
                available,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn item(&mut self, depth: usize) -> Result<Item, DecodeError> {
        let start = self.pos;
        self.items += 1;
        if self.items > self.limits.max_items {
            return Err(DecodeError::TooManyItems {
                limit: self.limits.max_items,
            });
        }
        let h = decode_header(&self.fixed::<HEADER_LEN>()?);
        let item_type = ItemType::from_code(h.type_code).ok_or(DecodeError::UnknownType {
            offset: start + 3,
            code: h.type_code,
        })?;
        let len = h.length as usize;
        let bad_len = |expected| DecodeError::BadLength {
            offset: start,
            item_type,
            length: h.length,
            expected,
        };
        let value = match item_type {
            ItemType::Structure => {
                if depth >= self.limits.max_depth {
                    return Err(DecodeError::TooDeep {
                        offset: start,
                        limit: self.limits.max_depth,
                    });
                }
                let body_len = self.buf.len() - self.pos;
                if len > body_len {
                    return Err(DecodeError::Truncated {
                        offset: self.pos,
                        needed: len,
                        available: body_len,
                    });
                }
                let end = self.pos + len;
                let mut children = Vec::new();
                while self.pos < end {
                    // A child must fit inside its parent, not merely in the buffer.
                    let saved = self.buf;
                    self.buf = &saved[..end];
                    let child = self.item(depth + 1);
                    self.buf = saved;
                    children.push(child?);
                }
                Value::Structure(children)
            }
            ItemType::Integer | ItemType::Enumeration | ItemType::Interval => {
                if len != 4 {
                    return Err(bad_len("4"));
                }
                let v = self.fixed::<8>()?;
                let raw = [v[0], v[1], v[2], v[3]];
                match item_type {
                    ItemType::Integer => Value::Integer(i32::from_be_bytes(raw)),
                    ItemType::Enumeration => Value::Enumeration(u32::from_be_bytes(raw)),
                    _ => Value::Interval(u32::from_be_bytes(raw)),
                }
            }
            ItemType::LongInteger | ItemType::DateTime | ItemType::DateTimeExtended => {
                if len != 8 {
                    return Err(bad_len("8"));
                }
                let v = i64::from_be_bytes(self.fixed::<8>()?);
                match item_type {
                    ItemType::LongInteger => Value::LongInteger(v),
                    ItemType::DateTime => Value::DateTime(v),
                    _ => Value::DateTimeExtended(v),
                }
            }
            ItemType::Boolean => {
                if len != 8 {
                    return Err(bad_len("8"));
                }
                match u64::from_be_bytes(self.fixed::<8>()?) {
                    0 => Value::Boolean(false),
                    1 => Value::Boolean(true),
                    value => {
                        return Err(DecodeError::BadBoolean {
                            offset: start,
                            value,
                        });
                    }
                }
            }
            ItemType::BigInteger => {
                if len == 0 || !len.is_multiple_of(8) {
                    return Err(bad_len("a non-zero multiple of 8"));
                }
                Value::BigInteger(Bytes::from(self.take(len)?))
            }
            ItemType::TextString | ItemType::ByteString => {
                let padded = len
                    .checked_add(7)
                    .map(|l| l & !7)
                    .ok_or(bad_len("< 2^32-8"))?;
                let body = self.take(padded)?;
                let data = &body[..len];
                if item_type == ItemType::TextString {
                    let s = std::str::from_utf8(data)
                        .map_err(|_| DecodeError::BadUtf8 { offset: start })?;
                    Value::TextString(s.to_owned())
                } else {
                    Value::ByteString(Bytes::from(data))
                }
            }
        };
        Ok(Item { tag: h.tag, value })
    }
}

/// The encoded size of an item, padding included.
pub fn encoded_len(item: &Item) -> usize {
    HEADER_LEN
        + match &item.value {
            Value::Structure(c) => c.iter().map(encoded_len).sum(),
            Value::TextString(s) => pad8(s.len()),
            Value::ByteString(b) | Value::BigInteger(b) => pad8(b.len()),
            _ => 8,
        }
}

fn pad8(n: usize) -> usize {
    (n + 7) & !7
}

/// Encodes `item` canonically (zero padding, minimal structure lengths).
pub fn encode(item: &Item) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(item));
    encode_into(item, &mut out);
    out
}

/// Appends the encoding of `item` to `out`.
pub fn encode_into(item: &Item, out: &mut Vec<u8>) {
    let tag = item.tag.to_be_bytes();
    out.extend_from_slice(&tag[1..4]);
    out.push(item.value.item_type() as u8);
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let body_start = out.len();
    match &item.value {
        Value::Structure(children) => {
            for c in children {
                encode_into(c, out);
            }
        }
        Value::Integer(v) => put4(out, v.to_be_bytes()),
        Value::Enumeration(v) | Value::Interval(v) => put4(out, v.to_be_bytes()),
        Value::LongInteger(v) | Value::DateTime(v) | Value::DateTimeExtended(v) => {
            out.extend_from_slice(&v.to_be_bytes())
        }
        Value::Boolean(b) => out.extend_from_slice(&u64::from(*b).to_be_bytes()),
        Value::TextString(s) => put_padded(out, s.as_bytes()),
        Value::ByteString(b) => put_padded(out, b.as_slice()),
        Value::BigInteger(b) => put_big_integer(out, b.as_slice()),
    }
    let len = match &item.value {
        Value::Integer(_) | Value::Enumeration(_) | Value::Interval(_) => 4,
        Value::TextString(s) => s.len(),
        Value::ByteString(b) => b.len(),
        _ => out.len() - body_start,
    };
    // Lengths above u32::MAX cannot be produced from a decoded message
    // (1 MiB limit); saturate rather than wrap for trees built in memory.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
}

fn put4(out: &mut Vec<u8>, b: [u8; 4]) {
    out.extend_from_slice(&b);
    out.extend_from_slice(&[0; 4]);
}

fn put_padded(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(data);
    out.resize(out.len() + pad8(data.len()) - data.len(), 0);
}

/// Big Integers travel sign-extended to a multiple of 8 bytes.
fn put_big_integer(out: &mut Vec<u8>, data: &[u8]) {
    let fill = if data.first().is_some_and(|b| b & 0x80 != 0) {
        0xff
    } else {
        0
    };
    let total = pad8(data.len()).max(8);
    out.resize(out.len() + total - data.len(), fill);
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i32>().prop_map(Value::Integer),
            any::<i64>().prop_map(Value::LongInteger),
            prop::collection::vec(any::<u8>(), 1..4).prop_map(|v| {
                let mut b = v.clone();
                b.resize(8 * v.len(), v[0]);
                Value::BigInteger(Bytes::new(b))
            }),
            any::<u32>().prop_map(Value::Enumeration),
            any::<bool>().prop_map(Value::Boolean),
            ".{0,40}".prop_map(Value::TextString),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(|v| Value::ByteString(v.into())),
            any::<i64>().prop_map(Value::DateTime),
            any::<u32>().prop_map(Value::Interval),
            any::<i64>().prop_map(Value::DateTimeExtended),
        ]
    }

    fn arb_item() -> impl Strategy<Value = Item> {
        let leaf = (0u32..0x0100_0000, arb_leaf()).prop_map(|(tag, value)| Item { tag, value });
        leaf.prop_recursive(6, 64, 8, |inner| {
            (0u32..0x0100_0000, prop::collection::vec(inner, 0..8))
                .prop_map(|(tag, c)| Item::structure(tag, c))
        })
    }

    const UNBOUNDED: Limits = Limits {
        max_message_size: usize::MAX,
        max_depth: 64,
        max_items: usize::MAX,
    };

    proptest! {
        #[test]
        fn round_trip(item in arb_item()) {
            let bytes = encode(&item);
            prop_assert_eq!(bytes.len(), encoded_len(&item));
            prop_assert_eq!(bytes.len() % 8, 0);
            let back = decode(&bytes, &UNBOUNDED).unwrap();
            prop_assert_eq!(back, item);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&bytes, &Limits::default());
        }

        #[test]
        fn every_truncation_is_an_error(item in arb_item(), cut in any::<prop::sample::Index>()) {
            let bytes = encode(&item);
            let n = cut.index(bytes.len());
            prop_assert!(decode(&bytes[..n], &UNBOUNDED).is_err());
        }
    }

    #[test]
    fn spec_example_integer() {
        // KMIP spec example: an Integer containing the decimal value 8.
        let bytes = hex::decode("42002002000000040000000800000000").unwrap();
        let item = decode(&bytes, &Limits::default()).unwrap();
        assert_eq!(item, Item::integer(0x420020, 8));
        assert_eq!(encode(&item), bytes);
    }

    #[test]
    fn spec_example_text_and_structure() {
        // Structure { Enumeration 254, Integer 255 } from the spec's examples.
        let bytes = hex::decode(
            "42002001000000204200040500000004000000FE000000004200050200000004000000FF00000000",
        )
        .unwrap();
        let item = decode(&bytes, &Limits::default()).unwrap();
        assert_eq!(
            item,
            Item::structure(
                0x420020,
                vec![
                    Item::enumeration(0x420004, 254),
                    Item::integer(0x420005, 255)
                ]
            )
        );
        let text = hex::decode("420020070000000B48656C6C6F20576F726C640000000000").unwrap();
        assert_eq!(
            decode(&text, &Limits::default()).unwrap(),
            Item::text(0x420020, "Hello World")
        );
    }

    #[test]
    fn big_integer_sign_extension() {
        let item = Item::new(0x420020, Value::BigInteger(Bytes::new(vec![0x80, 1])));
        let bytes = encode(&item);
        assert_eq!(
            &bytes[8..],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80, 0x01]
        );
    }

    #[test]
    fn child_overrunning_parent_is_refused() {
        // Structure claiming 16 bytes whose child claims 16 bytes of text.
        let mut bytes = hex::decode("4200200100000010").unwrap();
        bytes.extend(hex::decode("4200210700000010").unwrap());
        bytes.extend([0u8; 16]);
        assert!(matches!(
            decode(&bytes, &Limits::default()),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn depth_and_items_are_capped() {
        let mut item = Item::integer(0x420001, 1);
        for _ in 0..40 {
            item = Item::structure(0x420002, vec![item]);
        }
        let bytes = encode(&item);
        assert!(matches!(
            decode(&bytes, &Limits::default()),
            Err(DecodeError::TooDeep { limit: 32, .. })
        ));
        let wide = Item::structure(0x420002, vec![Item::integer(0x420001, 1); 100]);
        let limits = Limits {
            max_items: 50,
            ..Limits::default()
        };
        assert_eq!(
            decode(&encode(&wide), &limits),
            Err(DecodeError::TooManyItems { limit: 50 })
        );
    }
}

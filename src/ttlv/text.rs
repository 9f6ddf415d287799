//! Scalar values as text, shared by the XML and JSON encodings: enumeration
//! and mask names resolved through the tag's enumeration, dates as
//! xsd:dateTime, byte strings as hex.

use super::enums::{enum_for_tag, enum_value_by_name, enum_value_name, mask_for_tag};
use super::item::{Bytes, ItemType, Tag, Value};
use super::tags::{tag_by_attribute_name, tag_by_name, tag_name};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// 2.x Attribute Reference: its Enumeration value is a tag, named as one.
pub(crate) const ATTRIBUTE_REFERENCE: Tag = 0x42013B;

const ATTRIBUTE_NAME: Tag = 0x42000A;
const ATTRIBUTE_VALUE: Tag = 0x42000B;

/// The tag whose enumeration or mask names a scalar's value. A 1.x
/// Attribute carries its value under the generic Attribute Value tag, so
/// the attribute named beside it (`sibling_name`) decides instead.
pub(crate) fn interpreting_tag(tag: Tag, sibling_name: Option<&str>) -> Tag {
    if tag == ATTRIBUTE_VALUE {
        sibling_name.and_then(tag_by_attribute_name).unwrap_or(tag)
    } else {
        tag
    }
}

/// The Attribute Name text among a structure's children, if any.
pub(crate) fn attribute_name_of<'a, T>(
    children: &'a [T],
    tag_of: impl Fn(&T) -> Tag,
    text_of: impl Fn(&'a T) -> Option<&'a str>,
) -> Option<&'a str> {
    children
        .iter()
        .find(|c| tag_of(c) == ATTRIBUTE_NAME)
        .and_then(text_of)
}

/// Parses the text form of a scalar of `item_type` carried by `tag`.
/// Text strings keep their exact characters; other values may be padded
/// with white space, which is ignored.
pub(crate) fn parse_scalar(tag: Tag, item_type: ItemType, raw: &str) -> Result<Value, String> {
    let s = raw.trim();
    Ok(match item_type {
        ItemType::Structure => return Err("a structure has no scalar value".into()),
        ItemType::Integer => Value::Integer(parse_integer(tag, s)?),
        ItemType::LongInteger => Value::LongInteger(parse_i64(s)?),
        ItemType::BigInteger => {
            let hex = s.strip_prefix("0x").unwrap_or(s);
            let mut b = hex::decode(hex).map_err(|e| format!("bad hex big integer {s:?}: {e}"))?;
            if b.is_empty() {
                b = vec![0; 8];
            }
            Value::BigInteger(Bytes::new(b))
        }
        ItemType::Enumeration => Value::Enumeration(parse_enumeration(tag, s)?),
        ItemType::Boolean => Value::Boolean(match s {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(format!("bad boolean {s:?}")),
        }),
        ItemType::TextString => Value::TextString(raw.to_owned()),
        ItemType::ByteString => Value::ByteString(Bytes::new(
            hex::decode(s).map_err(|e| format!("bad hex byte string: {e}"))?,
        )),
        ItemType::DateTime => Value::DateTime(parse_date_time(s)?.unix_timestamp()),
        ItemType::Interval => Value::Interval(
            parse_i64(s)?
                .try_into()
                .map_err(|_| format!("interval {s:?} out of range"))?,
        ),
        ItemType::DateTimeExtended => {
            let t = parse_date_time(s)?;
            let micros = t.unix_timestamp_nanos() / 1000;
            Value::DateTimeExtended(
                i64::try_from(micros).map_err(|_| format!("date {s:?} out of range"))?,
            )
        }
    })
}

fn parse_i64(s: &str) -> Result<i64, String> {
    if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16)
            .map(|v| v as i64)
            .map_err(|_| format!("bad hex number {s:?}"))
    } else {
        s.parse().map_err(|_| format!("bad number {s:?}"))
    }
}

fn parse_u32_word(s: &str) -> Result<u32, String> {
    let v = parse_i64(s)?;
    if (i32::MIN as i64..=u32::MAX as i64).contains(&v) {
        Ok(v as u32)
    } else {
        Err(format!("{s:?} does not fit in 32 bits"))
    }
}

fn parse_integer(tag: Tag, s: &str) -> Result<i32, String> {
    let Some(flags) = mask_for_tag(tag) else {
        return parse_u32_word(s).map(|v| v as i32);
    };
    let mut acc = 0u32;
    for word in s
        .split(|c: char| c.is_whitespace() || c == '|')
        .filter(|w| !w.is_empty())
    {
        acc |= match flags.iter().find(|(_, n)| *n == word) {
            Some((bit, _)) => *bit,
            None => parse_u32_word(word).map_err(|_| format!("unknown mask flag {word:?}"))?,
        };
    }
    Ok(acc as i32)
}

fn parse_enumeration(tag: Tag, s: &str) -> Result<u32, String> {
    if s.starts_with("0x") || s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
        return parse_u32_word(s);
    }
    if tag == ATTRIBUTE_REFERENCE {
        return tag_by_name(s).ok_or_else(|| format!("unknown tag name {s:?}"));
    }
    let def = enum_for_tag(tag).ok_or_else(|| {
        format!(
            "no enumeration is known for tag {}, so {s:?} cannot be resolved",
            describe_tag(tag)
        )
    })?;
    enum_value_by_name(def, s).ok_or_else(|| format!("{s:?} is not a value of {}", def.name))
}

fn parse_date_time(s: &str) -> Result<OffsetDateTime, String> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    // xsd:dateTime without a zone: read as UTC.
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(s, &fmt)
        .map(|p| p.assume_utc())
        .or_else(|_| {
            parse_i64(s)
                .and_then(|v| OffsetDateTime::from_unix_timestamp(v).map_err(|e| e.to_string()))
        })
        .map_err(|_| format!("bad date-time {s:?}"))
}

/// The canonical text of a scalar (None for structures).
pub(crate) fn format_scalar(tag: Tag, v: &Value) -> Option<String> {
    Some(match v {
        Value::Structure(_) => return None,
        Value::Integer(i) => format_integer(tag, *i),
        Value::LongInteger(i) => i.to_string(),
        Value::BigInteger(b) => hex::encode_upper(b.as_slice()),
        Value::Enumeration(e) => format_enumeration(tag, *e),
        Value::Boolean(b) => b.to_string(),
        Value::TextString(s) => s.clone(),
        Value::ByteString(b) => hex::encode_upper(b.as_slice()),
        Value::DateTime(t) => format_date_time(*t, false),
        Value::Interval(i) => i.to_string(),
        Value::DateTimeExtended(us) => format_date_time(*us, true),
    })
}

fn format_integer(tag: Tag, v: i32) -> String {
    if let Some(flags) = mask_for_tag(tag) {
        let bits = v as u32;
        let mut names = Vec::new();
        let mut covered = 0u32;
        for (bit, name) in flags {
            if bits & bit == *bit && *bit != 0 && covered & bit == 0 {
                names.push(*name);
                covered |= bit;
            }
        }
        if covered == bits && !names.is_empty() {
            return names.join(" ");
        }
    }
    v.to_string()
}

pub(crate) fn format_enumeration(tag: Tag, v: u32) -> String {
    let name = if tag == ATTRIBUTE_REFERENCE {
        tag_name(v)
    } else {
        enum_for_tag(tag).and_then(|d| enum_value_name(d, v))
    };
    match name {
        Some(n) => n.to_owned(),
        None => format!("0x{v:08X}"),
    }
}

fn format_date_time(v: i64, micros: bool) -> String {
    let t = if micros {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1000)
    } else {
        OffsetDateTime::from_unix_timestamp(v)
    };
    let Ok(t) = t.map(|t| t.to_offset(UtcOffset::UTC)) else {
        // Outside the calendar range: keep the exact number.
        return v.to_string();
    };
    let fmt = if micros {
        time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
        )
    } else {
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+00:00")
    };
    t.format(&fmt).unwrap_or_else(|_| v.to_string())
}

/// A tag for messages: its name where known, else its hex value.
pub fn describe_tag(tag: Tag) -> String {
    match tag_name(tag) {
        Some(n) => n.to_owned(),
        None => format!("0x{tag:06X}"),
    }
}

//! The KMIP JSON encoding (Additional Message Encodings §5): each item is
//! `{"tag": NAME, "type": TYPE, "value": V}`, with `type` omitted for
//! structures, whose value is an array of items.

use super::item::{Bytes, Item, ItemType, Tag, Value};
use super::tags::{tag_by_name, tag_name};
use super::text::{attribute_name_of, describe_tag, format_scalar, interpreting_tag, parse_scalar};
use serde_json::{Map, Value as Json};
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum JsonError {
    #[error("JSON syntax: {0}")]
    Syntax(String),
    #[error("{at}: {message}")]
    Bad { at: String, message: String },
    #[error("JSON nests deeper than {0}")]
    TooDeep(usize),
}

const MAX_DEPTH: usize = 64;

pub fn to_json(item: &Item) -> Json {
    to_json_as(item, item.tag)
}

fn to_json_as(item: &Item, value_tag: Tag) -> Json {
    let mut m = Map::new();
    m.insert(
        "tag".into(),
        Json::String(match tag_name(item.tag) {
            Some(n) => n.to_owned(),
            None => format!("0x{:06X}", item.tag),
        }),
    );
    let value = match &item.value {
        Value::Structure(c) => {
            let name = attribute_name_of(c, |i| i.tag, Item::as_text);
            Json::Array(
                c.iter()
                    .map(|i| to_json_as(i, interpreting_tag(i.tag, name)))
                    .collect(),
            )
        }
        v => {
            m.insert("type".into(), Json::String(v.item_type().name().to_owned()));
            match v {
                Value::Integer(i) => match format_scalar(value_tag, v) {
                    Some(s) if s.parse::<i32>().is_err() => Json::String(s.replace(' ', "|")),
                    _ => Json::from(*i),
                },
                Value::LongInteger(i) => Json::from(*i),
                Value::Interval(i) => Json::from(*i),
                Value::Boolean(b) => Json::Bool(*b),
                Value::BigInteger(b) => {
                    Json::String(format!("0x{}", hex::encode_upper(b.as_slice())))
                }
                other => Json::String(format_scalar(value_tag, other).unwrap_or_default()),
            }
        }
    };
    m.insert("value".into(), value);
    Json::Object(m)
}

pub fn to_json_string(item: &Item) -> String {
    to_json(item).to_string()
}

pub fn from_json_str(s: &str) -> Result<Item, JsonError> {
    let v: Json = serde_json::from_str(s).map_err(|e| JsonError::Syntax(e.to_string()))?;
    from_json(&v)
}

pub fn from_json(v: &Json) -> Result<Item, JsonError> {
    item(v, None, 0)
}

/// `attribute_name`: the Attribute Name beside this item, for 1.x values.
fn item(v: &Json, attribute_name: Option<&str>, depth: usize) -> Result<Item, JsonError> {
    if depth > MAX_DEPTH {
        return Err(JsonError::TooDeep(MAX_DEPTH));
    }
    let bad = |at: &str, message: String| JsonError::Bad {
        at: at.to_owned(),
        message,
    };
    let obj = v
        .as_object()
        .ok_or_else(|| bad("item", "expected an object".into()))?;
    let tag_text = obj
        .get("tag")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("item", "missing \"tag\"".into()))?;
    let tag = parse_tag(tag_text).ok_or_else(|| bad(tag_text, "unknown tag".into()))?;
    let at = describe_tag(tag);
    let item_type = match obj.get("type") {
        None => ItemType::Structure,
        Some(t) => t
            .as_str()
            .and_then(ItemType::from_name)
            .ok_or_else(|| bad(&at, format!("unknown type {t}")))?,
    };
    let raw = obj
        .get("value")
        .ok_or_else(|| bad(&at, "missing \"value\"".into()))?;
    let value = match (item_type, raw) {
        (ItemType::Structure, Json::Array(children)) => {
            let name = children.iter().find_map(|c| {
                let o = c.as_object()?;
                (o.get("tag")?.as_str()? == "AttributeName").then(|| o.get("value")?.as_str())?
            });
            Value::Structure(
                children
                    .iter()
                    .map(|c| item(c, name, depth + 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        (ItemType::Structure, _) => return Err(bad(&at, "a structure's value is an array".into())),
        (ItemType::Boolean, Json::Bool(b)) => Value::Boolean(*b),
        (ItemType::Integer, Json::Number(n)) => Value::Integer(
            n.as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(|| bad(&at, format!("{n} is not a 32-bit integer")))?,
        ),
        (ItemType::Interval | ItemType::Enumeration, Json::Number(n)) => {
            let v = n
                .as_u64()
                .and_then(|i| u32::try_from(i).ok())
                .ok_or_else(|| bad(&at, format!("{n} is not a 32-bit unsigned integer")))?;
            if item_type == ItemType::Interval {
                Value::Interval(v)
            } else {
                Value::Enumeration(v)
            }
        }
        (ItemType::LongInteger | ItemType::DateTime, Json::Number(n)) => {
            let v = n
                .as_i64()
                .ok_or_else(|| bad(&at, format!("{n} is not a 64-bit integer")))?;
            if item_type == ItemType::LongInteger {
                Value::LongInteger(v)
            } else {
                Value::DateTime(v)
            }
        }
        (ItemType::BigInteger, Json::String(s)) => {
            let h = s.strip_prefix("0x").unwrap_or(s);
            Value::BigInteger(Bytes::new(
                hex::decode(h).map_err(|e| bad(&at, format!("bad hex: {e}")))?,
            ))
        }
        (_, Json::String(s)) => {
            let text = if item_type == ItemType::Integer {
                s.replace('|', " ")
            } else {
                s.clone()
            };
            parse_scalar(interpreting_tag(tag, attribute_name), item_type, &text)
                .map_err(|m| bad(&at, m))?
        }
        (t, other) => return Err(bad(&at, format!("{other} is not a valid {}", t.name()))),
    };
    Ok(Item { tag, value })
}

fn parse_tag(s: &str) -> Option<Tag> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok().filter(|t| *t <= 0xFF_FFFF),
        None => tag_by_name(s),
    }
}

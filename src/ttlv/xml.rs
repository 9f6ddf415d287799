//! The KMIP XML encoding (Additional Message Encodings §6, Profiles 2.x):
//! one element per item, named after its tag, with `type` and `value`
//! attributes. The OASIS conformance vectors are written in it.
//!
//! Reading goes through [`Element`], which keeps each value as the text the
//! document had, so a caller can see and substitute the vectors'
//! `$PLACEHOLDER`s before the tree becomes binary-ready [`Item`]s.

use super::item::{Item, ItemType, Tag, Value};
use super::tags::{tag_by_name, tag_name};
use super::text::{attribute_name_of, describe_tag, format_scalar, interpreting_tag, parse_scalar};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use std::fmt::Write as _;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum XmlError {
    #[error("XML syntax at byte {position}: {message}")]
    Syntax { position: u64, message: String },
    #[error("unknown tag name <{0}>")]
    UnknownTag(String),
    #[error("<{element}>: {message}")]
    BadValue { element: String, message: String },
    #[error("<{0}> needs a value attribute")]
    MissingValue(String),
    #[error("the document holds no element")]
    Empty,
    #[error("<{element}>: placeholder {placeholder} was not resolved")]
    Unresolved {
        element: String,
        placeholder: String,
    },
}

/// One element as written in the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub tag: Tag,
    pub item_type: ItemType,
    pub content: Content,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    Children(Vec<Element>),
    /// The value attribute, verbatim.
    Text(String),
}

impl Element {
    /// The `$NAME` placeholder this element's value holds, if any.
    pub fn placeholder(&self) -> Option<&str> {
        match &self.content {
            Content::Text(t) if t.starts_with('$') => Some(t),
            _ => None,
        }
    }

    /// Converts to an item; every placeholder is handed to `resolve`, whose
    /// answer (or refusal) decides the value.
    pub fn to_item_with(
        &self,
        resolve: &mut dyn FnMut(&Element) -> Option<Value>,
    ) -> Result<Item, XmlError> {
        self.convert(self.tag, resolve)
    }

    /// `value_tag` names the enumeration the value belongs to (see
    /// [`interpreting_tag`]).
    fn convert(
        &self,
        value_tag: Tag,
        resolve: &mut dyn FnMut(&Element) -> Option<Value>,
    ) -> Result<Item, XmlError> {
        let value = match &self.content {
            Content::Children(children) => {
                let name = attribute_name_of(
                    children,
                    |c| c.tag,
                    |c| match &c.content {
                        Content::Text(t) => Some(t.as_str()),
                        Content::Children(_) => None,
                    },
                );
                Value::Structure(
                    children
                        .iter()
                        .map(|c| c.convert(interpreting_tag(c.tag, name), resolve))
                        .collect::<Result<_, _>>()?,
                )
            }
            Content::Text(text) => {
                if let Some(p) = self
                    .placeholder()
                    .filter(|_| self.item_type != ItemType::TextString || is_placeholder_name(text))
                {
                    resolve(self).ok_or_else(|| XmlError::Unresolved {
                        element: describe_tag(self.tag),
                        placeholder: p.to_owned(),
                    })?
                } else {
                    parse_scalar(value_tag, self.item_type, text).map_err(|message| {
                        XmlError::BadValue {
                            element: describe_tag(self.tag),
                            message,
                        }
                    })?
                }
            }
        };
        Ok(Item {
            tag: self.tag,
            value,
        })
    }

    /// Converts a document with no placeholders.
    pub fn to_item(&self) -> Result<Item, XmlError> {
        self.to_item_with(&mut |_| None)
    }
}

/// `$NAME`, `$NAME_3`, `$NOW-3600`: the forms the vectors use.
fn is_placeholder_name(t: &str) -> bool {
    let body = &t[1..];
    !body.is_empty()
        && body
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '+'))
}

/// Parses a document. A `<KMIP>` or `<KmipTestCase>` root yields its child
/// messages in order; any other root is one element.
pub fn parse_document(text: &str) -> Result<Vec<Element>, XmlError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Element> = Vec::new();
    let mut roots: Vec<Element> = Vec::new();
    loop {
        let ev = reader.read_event().map_err(|e| XmlError::Syntax {
            position: reader.error_position(),
            message: e.to_string(),
        })?;
        match ev {
            // The wrapper of a test-case file is not an item.
            Event::Start(e) | Event::Empty(e) if stack.is_empty() && is_wrapper(e.name().0) => {}
            Event::End(e) if stack.is_empty() && is_wrapper(e.name().0) => {}
            Event::Start(e) => stack.push(start_element(&e)?),
            Event::Empty(e) => {
                let el = start_element(&e)?;
                attach(&mut stack, &mut roots, el);
            }
            Event::End(_) => {
                if let Some(el) = stack.pop() {
                    attach(&mut stack, &mut roots, el);
                }
            }
            Event::Eof => break,
            // Comments, declarations and the 1.x vectors' "# TIME n" text.
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Syntax {
            position: reader.buffer_position(),
            message: "document ends inside an element".into(),
        });
    }
    if roots.is_empty() {
        return Err(XmlError::Empty);
    }
    Ok(roots)
}

/// Parses a document that holds exactly one item, with no placeholders.
pub fn from_xml(text: &str) -> Result<Item, XmlError> {
    let mut els = parse_document(text)?;
    match els.len() {
        1 => els.remove(0).to_item(),
        _ => Err(XmlError::Syntax {
            position: 0,
            message: format!("expected one element, found {}", els.len()),
        }),
    }
}

fn is_wrapper(name: &str) -> bool {
    matches!(name, "KMIP" | "KmipTestCase")
}

fn attach(stack: &mut [Element], roots: &mut Vec<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => {
            if let Content::Children(c) = &mut parent.content {
                c.push(el);
            }
        }
        None => roots.push(el),
    }
}

fn start_element(e: &BytesStart) -> Result<Element, XmlError> {
    let name = e.name().0.to_owned();
    let mut type_attr = None;
    let mut value_attr = None;
    let mut tag_attr = None;
    for a in e.attributes() {
        let a = a.map_err(|err| XmlError::Syntax {
            position: 0,
            message: format!("<{name}>: {err}"),
        })?;
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| XmlError::Syntax {
                position: 0,
                message: format!("<{name}>: {err}"),
            })?
            .into_owned();
        match a.key.0 {
            "type" => type_attr = Some(v),
            "value" => value_attr = Some(v),
            "tag" => tag_attr = Some(v),
            _ => {}
        }
    }
    let tag = if name == "TTLV" {
        let t = tag_attr.ok_or_else(|| XmlError::BadValue {
            element: name.clone(),
            message: "a TTLV element needs a tag attribute".into(),
        })?;
        let hex = t.trim().trim_start_matches("0x");
        u32::from_str_radix(hex, 16)
            .ok()
            .filter(|t| *t <= 0xFF_FFFF)
            .ok_or_else(|| XmlError::BadValue {
                element: name.clone(),
                message: format!("bad tag {t:?}"),
            })?
    } else {
        tag_by_name(&name).ok_or_else(|| XmlError::UnknownTag(name.clone()))?
    };
    let item_type = match type_attr.as_deref() {
        None => ItemType::Structure,
        Some(t) => ItemType::from_name(t).ok_or_else(|| XmlError::BadValue {
            element: name.clone(),
            message: format!("unknown type {t:?}"),
        })?,
    };
    let content = if item_type == ItemType::Structure {
        Content::Children(Vec::new())
    } else {
        Content::Text(value_attr.ok_or(XmlError::MissingValue(name))?)
    };
    Ok(Element {
        tag,
        item_type,
        content,
    })
}

/// Writes one item as an indented XML element.
pub fn to_xml(item: &Item) -> String {
    let mut out = String::new();
    write_item(item, item.tag, 0, &mut out);
    out
}

/// Writes a sequence of messages under a `<KMIP>` root, as the vectors do.
pub fn to_xml_document(items: &[Item]) -> String {
    let mut out = String::from("<KMIP>\n");
    for item in items {
        write_item(item, item.tag, 1, &mut out);
    }
    out.push_str("</KMIP>\n");
    out
}

fn write_item(item: &Item, value_tag: Tag, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let (open, close) = match tag_name(item.tag) {
        Some(n) => (n.to_owned(), n.to_owned()),
        None => (
            format!("TTLV tag=\"0x{:06X}\"", item.tag),
            "TTLV".to_owned(),
        ),
    };
    match &item.value {
        Value::Structure(children) if children.is_empty() => {
            let _ = writeln!(out, "{indent}<{open}/>");
        }
        Value::Structure(children) => {
            let _ = writeln!(out, "{indent}<{open}>");
            let name = attribute_name_of(children, |c| c.tag, Item::as_text);
            for c in children {
                write_item(c, interpreting_tag(c.tag, name), depth + 1, out);
            }
            let _ = writeln!(out, "{indent}</{close}>");
        }
        v => {
            let text = format_scalar(value_tag, v).unwrap_or_default();
            let _ = writeln!(
                out,
                "{indent}<{open} type=\"{}\" value=\"{}\"/>",
                v.item_type().name(),
                quick_xml::escape::escape(text.as_str())
            );
        }
    }
}

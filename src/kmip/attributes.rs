//! Request attributes in both protocol generations, mapped onto one
//! internal form: a list of items whose tag is the attribute's own tag
//! (the 2.x shape). 1.x sends `Template-Attribute { Attribute { Attribute
//! Name, Attribute Index?, Attribute Value } }`; 2.x sends `Attributes {
//! <attribute items> }`. Custom attributes keep the 2.x vendor shape,
//! `Attribute { Vendor Identification, Attribute Name, Attribute Value }`;
//! a 1.x name `x-Foo` is vendor `x`, name `Foo`.

use super::error::{KmipError, KmipResult};
use super::tag;
use crate::ttlv::tags::tag_by_attribute_name;
use crate::ttlv::{Item, Value, describe_tag};

/// Reads the attributes of a Create/Register-style payload, whichever
/// form it uses (both at once are refused).
pub fn from_payload(payload: &Item) -> KmipResult<Vec<Item>> {
    let v1 = payload.child(tag::TEMPLATE_ATTRIBUTE);
    let v2 = payload.child(tag::ATTRIBUTES);
    match (v1, v2) {
        (Some(_), Some(_)) => Err(KmipError::invalid_message(
            "a request carries either a Template-Attribute or Attributes, not both",
        )),
        (Some(t), None) => from_template_attribute(t),
        (None, Some(a)) => from_attributes(a),
        (None, None) => Ok(Vec::new()),
    }
}

fn from_template_attribute(t: &Item) -> KmipResult<Vec<Item>> {
    let mut out = Vec::new();
    for c in t.children() {
        match c.tag {
            tag::ATTRIBUTE => out.push(from_v1_attribute(c)?),
            // A bare Name names a template (1.x); see `template_names`.
            tag::NAME => {}
            other => {
                return Err(KmipError::invalid_field(format!(
                    "unexpected {} in a Template-Attribute",
                    describe_tag(other)
                )));
            }
        }
    }
    Ok(out)
}

/// The templates a 1.x Template-Attribute refers to by name.
pub fn template_names(payload: &Item) -> Vec<String> {
    payload
        .child(tag::TEMPLATE_ATTRIBUTE)
        .map(|t| {
            t.children_with(tag::NAME)
                .filter_map(|n| n.child(tag::NAME_VALUE).and_then(Item::as_text))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The attributes a 1.x Template object carries (its own Name, which
/// names the template itself, is not passed on).
pub fn from_template(template: &Item) -> KmipResult<Vec<Item>> {
    Ok(template
        .children_with(tag::ATTRIBUTE)
        .map(from_v1_attribute)
        .collect::<KmipResult<Vec<_>>>()?
        .into_iter()
        .filter(|a| a.tag != tag::NAME)
        .collect())
}

/// One 1.x Attribute to the internal form.
pub fn from_v1_attribute(a: &Item) -> KmipResult<Item> {
    let name = a
        .child(tag::ATTRIBUTE_NAME)
        .and_then(Item::as_text)
        .ok_or_else(|| KmipError::invalid_field("an Attribute needs an Attribute Name"))?;
    let value = a
        .child(tag::ATTRIBUTE_VALUE)
        .ok_or_else(|| KmipError::invalid_field(format!("attribute {name:?} has no value")))?;
    if let Some((vendor, rest)) = custom_name(name) {
        return Ok(vendor_attribute(vendor, rest, value.value.clone()));
    }
    let t = tag_by_attribute_name(name)
        .ok_or_else(|| KmipError::invalid_field(format!("unknown attribute {name:?}")))?;
    Ok(Item::new(t, value.value.clone()))
}

/// `x-Foo` / `y-Foo` are the 1.x custom attribute names.
fn custom_name(name: &str) -> Option<(&str, &str)> {
    let (vendor, rest) = name.split_once('-')?;
    matches!(vendor, "x" | "y").then_some((vendor, rest))
}

pub fn vendor_attribute(vendor: &str, name: &str, value: Value) -> Item {
    Item::structure(
        tag::ATTRIBUTE,
        vec![
            Item::text(tag::VENDOR_IDENTIFICATION, vendor),
            Item::text(tag::ATTRIBUTE_NAME, name),
            Item::new(tag::ATTRIBUTE_VALUE, value),
        ],
    )
}

fn from_attributes(a: &Item) -> KmipResult<Vec<Item>> {
    let mut out = Vec::new();
    for c in a.children() {
        if c.tag == tag::ATTRIBUTE {
            let vendor = c.child(tag::VENDOR_IDENTIFICATION).and_then(Item::as_text);
            let name = c.child(tag::ATTRIBUTE_NAME).and_then(Item::as_text);
            match (vendor, name, c.child(tag::ATTRIBUTE_VALUE)) {
                (Some(v), Some(n), Some(val)) => {
                    out.push(vendor_attribute(v, n, val.value.clone()))
                }
                _ => {
                    return Err(KmipError::invalid_field(
                        "a vendor Attribute needs Vendor Identification, Attribute Name and Attribute Value",
                    ));
                }
            }
        } else {
            out.push(c.clone());
        }
    }
    Ok(out)
}

/// The internal form back to a 1.x Attribute (for 1.x responses).
pub fn to_v1_attribute(a: &Item) -> Item {
    let (name, value) = if a.tag == tag::ATTRIBUTE {
        let vendor = a
            .child(tag::VENDOR_IDENTIFICATION)
            .and_then(Item::as_text)
            .unwrap_or("x");
        let name = a
            .child(tag::ATTRIBUTE_NAME)
            .and_then(Item::as_text)
            .unwrap_or("");
        let value = a
            .child(tag::ATTRIBUTE_VALUE)
            .map(|v| v.value.clone())
            .unwrap_or(Value::TextString(String::new()));
        (format!("{vendor}-{name}"), value)
    } else {
        (spec_name(a.tag), a.value.clone())
    };
    Item::structure(
        tag::ATTRIBUTE,
        vec![
            Item::text(tag::ATTRIBUTE_NAME, name),
            Item::new(tag::ATTRIBUTE_VALUE, value),
        ],
    )
}

/// "CryptographicAlgorithm" -> "Cryptographic Algorithm": the 1.x
/// attribute name of a tag.
pub fn spec_name(t: u32) -> String {
    let camel = describe_tag(t);
    let mut out = String::with_capacity(camel.len() + 4);
    let chars: Vec<char> = camel.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
        if i > 0 && c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        out.push(*c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_map_to_one() {
        let v1 = Item::structure(
            tag::TEMPLATE_ATTRIBUTE,
            vec![
                Item::structure(
                    tag::ATTRIBUTE,
                    vec![
                        Item::text(tag::ATTRIBUTE_NAME, "Cryptographic Algorithm"),
                        Item::enumeration(tag::ATTRIBUTE_VALUE, 3),
                    ],
                ),
                Item::structure(
                    tag::ATTRIBUTE,
                    vec![
                        Item::text(tag::ATTRIBUTE_NAME, "x-Drive"),
                        Item::text(tag::ATTRIBUTE_VALUE, "sda"),
                    ],
                ),
            ],
        );
        let v2 = Item::structure(
            tag::ATTRIBUTES,
            vec![
                Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, 3),
                vendor_attribute("x", "Drive", Value::TextString("sda".into())),
            ],
        );
        let a = from_payload(&Item::structure(0, vec![v1])).unwrap();
        let b = from_payload(&Item::structure(0, vec![v2])).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            to_v1_attribute(&a[1])
                .child(tag::ATTRIBUTE_NAME)
                .unwrap()
                .as_text(),
            Some("x-Drive")
        );
        assert_eq!(
            spec_name(tag::CRYPTOGRAPHIC_USAGE_MASK),
            "Cryptographic Usage Mask"
        );
    }
}

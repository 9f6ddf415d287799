//! Register: the client supplies the object (symmetric key, secret data,
//! opaque object, certificate); it is stored as sent.

use super::{Context, new_object, object_tag, object_type_of, request_attributes, response};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ObjectType, ResultReason};
use crate::ttlv::{Item, Value};

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let object_type = object_type_of(payload)?;
    let object_tag = object_tag(object_type).ok_or_else(|| {
        KmipError::new(
            ResultReason::InvalidObjectType,
            format!("Register does not take {} objects yet", object_type.name()),
        )
    })?;
    let object = payload
        .child(object_tag)
        .filter(|o| matches!(o.value, Value::Structure(_)))
        .ok_or_else(|| {
            KmipError::missing_data(format!(
                "Register of a {} needs the object structure",
                object_type.name()
            ))
        })?
        .clone();
    let mut attrs = request_attributes(ctx, payload)?;
    // A key's algorithm and length live in its key block; mirror them as
    // attributes when the client did not send them.
    if let Some(block) = object.child(tag::KEY_BLOCK) {
        for t in [tag::CRYPTOGRAPHIC_ALGORITHM, tag::CRYPTOGRAPHIC_LENGTH] {
            if let Some(v) = block.child(t)
                && !attrs.iter().any(|a| a.tag == t)
            {
                attrs.push(v.clone());
            }
        }
    }
    // KMIP 1.0 names a template inside it: index that name on the object.
    if object_type == ObjectType::Template {
        for a in object.children_with(tag::ATTRIBUTE) {
            let item = crate::kmip::attributes::from_v1_attribute(a)?;
            if item.tag == tag::NAME && !attrs.contains(&item) {
                attrs.push(item);
            }
        }
    }
    let mut o = new_object(ctx, object_type, attrs, object)?;
    // Its value came from outside: whatever Extractable says now, it has
    // been out of the server, so it can never vouch for a wrap of a
    // Sensitive key (see `wrap::wrapping_key`).
    if o.first_attribute(tag::NEVER_EXTRACTABLE).is_some() {
        o.set_attribute(Item::boolean(tag::NEVER_EXTRACTABLE, false));
    }
    if object_type == ObjectType::Certificate
        && let Some(cert) = o.object.clone()
    {
        certificate_attributes(&cert, &mut o.attributes);
    }
    ctx.writer().insert(&o)?;
    Ok(response(vec![Item::text(tag::UNIQUE_IDENTIFIER, o.uid)]))
}

/// What the server reads off an X.509 certificate: its type, length, and
/// subject and issuer common names (read-only attributes).
fn certificate_attributes(object: &Item, attrs: &mut Vec<Item>) {
    const X_509: u32 = 0x01;
    let Some(der) = object
        .child(tag::CERTIFICATE_VALUE)
        .and_then(Item::as_bytes)
    else {
        return;
    };
    attrs.retain(|a| a.tag != tag::CERTIFICATE_TYPE);
    attrs.push(Item::enumeration(tag::CERTIFICATE_TYPE, X_509));
    attrs.push(Item::integer(
        tag::CERTIFICATE_LENGTH,
        i32::try_from(der.len()).unwrap_or(i32::MAX),
    ));
    if let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) {
        let cn = |name: &x509_parser::x509::X509Name<'_>| {
            name.iter_common_name()
                .next()
                .and_then(|c| c.as_str().ok())
                .map(str::to_owned)
        };
        if let Some(s) = cn(cert.subject()) {
            attrs.push(Item::text(tag::CERTIFICATE_SUBJECT_CN, s));
        }
        if let Some(i) = cn(cert.issuer()) {
            attrs.push(Item::text(tag::CERTIFICATE_ISSUER_CN, i));
        }
    }
}

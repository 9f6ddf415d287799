//! Register: the client supplies the object (symmetric key, secret data,
//! opaque object, certificate); it is stored as sent.

use super::{Context, new_object, object_tag, object_type_of, response};
use crate::kmip::attributes;
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ResultReason};
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
    let mut attrs = attributes::from_payload(payload)?;
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
    let o = new_object(ctx, object_type, attrs, object);
    ctx.keystore.insert(&o)?;
    Ok(response(vec![Item::text(tag::UNIQUE_IDENTIFIER, o.uid)]))
}

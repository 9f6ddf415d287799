//! Get: the object itself, as stored, to its owner only.

use super::{Context, load_owned, not_found, requested_uid, response, update_owned_with};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ResultReason};
use crate::ttlv::Item;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let mut o = load_owned(ctx, uid)?;
    // After Destroy the metadata stays but the material is gone.
    if o.object.is_none() {
        return Err(KmipError::new(
            ResultReason::ObjectDestroyed,
            format!("object {uid} was destroyed"),
        ));
    }
    if o.first_attribute(tag::EXTRACTABLE)
        .and_then(Item::as_boolean)
        == Some(false)
    {
        return Err(KmipError::new(
            ResultReason::NotExtractable,
            "the object is not Extractable: its value never leaves the server",
        ));
    }
    // A Sensitive value may leave only wrapped, under a key that never
    // leaves the server (see `wrap::wrapping_key`).
    let sensitive = o.first_attribute(tag::SENSITIVE).and_then(Item::as_boolean) == Some(true);
    if sensitive && payload.child(tag::KEY_WRAPPING_SPECIFICATION).is_none() {
        return Err(KmipError::new(
            ResultReason::Sensitive,
            "the object is Sensitive: its value cannot leave the server in clear",
        ));
    }
    // The first time the value leaves the server it is no longer Fresh.
    // Bookkeeping only: when it cannot be written (a node cut off from
    // its quorum serving degraded reads, a concurrent change) the value
    // is still served, and stays Fresh until a Get that can write.
    if o.first_attribute(tag::FRESH).and_then(Item::as_boolean) == Some(true) {
        match update_owned_with(ctx.writer(), ctx, uid, |o| {
            o.set_attribute(Item::boolean(tag::FRESH, false));
            Ok(())
        }) {
            Ok(updated) => o = updated,
            Err(e) => tracing::debug!(uid, error = %e.message, "Fresh not cleared"),
        }
    }
    let mut object = o.object.ok_or_else(|| not_found(uid))?;
    if let Some(format) = payload
        .child(tag::KEY_FORMAT_TYPE)
        .and_then(Item::as_enumeration)
    {
        object = super::wrap::convert_format(object, format)?;
    }
    if let Some(spec) = payload.child(tag::KEY_WRAPPING_SPECIFICATION) {
        object = super::wrap::wrap(ctx, object, spec, sensitive)?;
    }
    Ok(response(vec![
        Item::enumeration(tag::OBJECT_TYPE, o.object_type.value()),
        Item::text(tag::UNIQUE_IDENTIFIER, o.uid),
        object,
    ]))
}

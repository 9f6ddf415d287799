//! Get: the object itself, as stored, to its owner only.

use super::{Context, load_owned, not_found, requested_uid, response};
use crate::kmip::KmipResult;
use crate::kmip::tag;
use crate::ttlv::Item;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let o = load_owned(ctx, uid)?;
    // After Destroy the metadata stays but the material is gone.
    let object = o.object.ok_or_else(|| not_found(uid))?;
    Ok(response(vec![
        Item::enumeration(tag::OBJECT_TYPE, o.object_type.value()),
        Item::text(tag::UNIQUE_IDENTIFIER, o.uid),
        object,
    ]))
}

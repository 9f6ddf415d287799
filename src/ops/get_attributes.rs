//! Get Attributes: the values of the named attributes (all, when none is
//! named), in the order asked, skipping attributes the object lacks.

use super::attrs::{self, AttrRef};
use super::{Context, load_owned, requested_uid, response};
use crate::kmip::KmipResult;
use crate::kmip::tag;
use crate::ttlv::Item;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let o = load_owned(ctx, uid)?;
    let mut refs = Vec::new();
    for c in payload.children() {
        match c.tag {
            tag::ATTRIBUTE_REFERENCE => refs.push(AttrRef::from_reference(c)?),
            tag::ATTRIBUTE_NAME => refs.push(AttrRef::from_name(c.as_text().unwrap_or_default())?),
            _ => {}
        }
    }
    let items = if refs.is_empty() {
        attrs::all(&o)
    } else {
        refs.iter().flat_map(|r| attrs::values(&o, r)).collect()
    };
    let mut out = vec![Item::text(tag::UNIQUE_IDENTIFIER, o.uid.clone())];
    out.extend(attrs::response_items(ctx.version, items));
    Ok(response(out))
}

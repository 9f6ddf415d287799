//! Get Attribute List: which attributes an object has.

use super::attrs::{self, AttrRef};
use super::{Context, load_owned, requested_uid, response};
use crate::kmip::KmipResult;
use crate::kmip::tag;
use crate::ttlv::Item;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let o = load_owned(ctx, uid)?;
    let mut refs: Vec<AttrRef> = Vec::new();
    for a in attrs::all(&o) {
        let r = AttrRef::of(&a);
        if !refs.contains(&r) {
            refs.push(r);
        }
    }
    let mut out = vec![Item::text(tag::UNIQUE_IDENTIFIER, o.uid)];
    out.extend(refs.iter().map(|r| {
        if ctx.version.is_2x() {
            r.to_reference()
        } else {
            Item::text(tag::ATTRIBUTE_NAME, r.to_name())
        }
    }));
    Ok(response(out))
}

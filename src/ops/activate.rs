//! Activate: Pre-Active to Active, stamping the Activation Date.

use super::{Context, now, requested_uid, response, update_owned};
use crate::kmip::KmipResult;
use crate::kmip::tag;
use crate::objects::State;
use crate::ttlv::Item;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let o = update_owned(ctx, uid, |o| {
        o.state = o.state.transition(State::Active)?;
        let t = now();
        o.set_attribute(Item::date_time(tag::ACTIVATION_DATE, t));
        o.set_attribute(Item::date_time(tag::LAST_CHANGE_DATE, t));
        Ok(())
    })?;
    Ok(response(vec![Item::text(tag::UNIQUE_IDENTIFIER, o.uid)]))
}

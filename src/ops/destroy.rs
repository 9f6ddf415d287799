//! Destroy: the key material is erased; the metadata stays, so audits and
//! Locate by state can still see that the object existed. The record's
//! older versions, which still hold the material (sealed), are then
//! compacted out of the store's files in the background.

use super::{Context, not_found, now, requested_uid, response, update_owned};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ResultReason};
use crate::objects::State;
use crate::ttlv::Item;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let o = update_owned(ctx, uid, |o| {
        let to = match o.state {
            State::Destroyed | State::DestroyedCompromised => return Err(not_found(uid)),
            State::Active => {
                return Err(KmipError::new(
                    ResultReason::WrongKeyLifecycleState,
                    "an Active object must be revoked before it is destroyed",
                ));
            }
            State::Compromised => State::DestroyedCompromised,
            State::PreActive | State::Deactivated => State::Destroyed,
        };
        o.state = o.state.transition(to)?;
        o.object = None;
        let t = now();
        o.set_attribute(Item::date_time(tag::DESTROY_DATE, t));
        o.set_attribute(Item::date_time(tag::LAST_CHANGE_DATE, t));
        Ok(())
    })?;
    ctx.keystore.store().erase_later(o.uid.as_bytes());
    Ok(response(vec![Item::text(tag::UNIQUE_IDENTIFIER, o.uid)]))
}

//! Revoke: Key Compromise (or CA Compromise) makes an object Compromised
//! from any live state; other reasons deactivate an Active object.

use super::{Context, now, requested_uid, response, update_owned};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult};
use crate::objects::State;
use crate::ttlv::Item;

const KEY_COMPROMISE: u32 = 0x02;
const CA_COMPROMISE: u32 = 0x03;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let reason = payload
        .child(tag::REVOCATION_REASON)
        .ok_or_else(|| KmipError::missing_data("Revoke needs a Revocation Reason"))?;
    let code = reason
        .child(tag::REVOCATION_REASON_CODE)
        .and_then(Item::as_enumeration)
        .ok_or_else(|| KmipError::missing_data("a Revocation Reason needs a code"))?;
    let occurrence = payload
        .child(tag::COMPROMISE_OCCURRENCE_DATE)
        .and_then(Item::as_date_time);
    let o = update_owned(ctx, uid, |o| {
        let t = now();
        if matches!(code, KEY_COMPROMISE | CA_COMPROMISE) {
            o.state = o.state.transition(State::Compromised)?;
            o.set_attribute(Item::date_time(tag::COMPROMISE_DATE, t));
            o.set_attribute(Item::date_time(
                tag::COMPROMISE_OCCURRENCE_DATE,
                occurrence.unwrap_or(t),
            ));
        } else {
            o.state = o.state.transition(State::Deactivated)?;
            o.set_attribute(Item::date_time(tag::DEACTIVATION_DATE, t));
        }
        o.set_attribute(reason.clone());
        o.set_attribute(Item::date_time(tag::LAST_CHANGE_DATE, t));
        Ok(())
    })?;
    Ok(response(vec![Item::text(tag::UNIQUE_IDENTIFIER, o.uid)]))
}

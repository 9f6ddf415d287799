//! Check: whether an object could be used as described (usage mask,
//! lifecycle); success echoes the identifier.

use super::{Context, load_owned, requested_uid, response};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ResultReason};
use crate::objects::State;
use crate::ttlv::Item;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let o = load_owned(ctx, uid)?;
    if let Some(wanted) = payload
        .child(tag::CRYPTOGRAPHIC_USAGE_MASK)
        .and_then(Item::as_integer)
    {
        let have = o
            .first_attribute(tag::CRYPTOGRAPHIC_USAGE_MASK)
            .and_then(Item::as_integer)
            .unwrap_or(0);
        if have & wanted != wanted {
            return Err(KmipError::new(
                ResultReason::IncompatibleCryptographicUsageMask,
                "the object's usage mask does not allow that use",
            ));
        }
        if o.state != State::Active {
            return Err(KmipError::new(
                ResultReason::WrongKeyLifecycleState,
                format!("the object is {}, not Active", o.state.name()),
            ));
        }
    }
    Ok(response(vec![Item::text(tag::UNIQUE_IDENTIFIER, o.uid)]))
}

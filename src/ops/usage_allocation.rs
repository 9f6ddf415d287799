//! Get Usage Allocation: an Active object with Usage Limits hands out part
//! of its remaining count, atomically, and refuses once it is spent.

use super::{Context, requested_uid, response, update_owned};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ResultReason};
use crate::objects::State;
use crate::ttlv::{Item, Value};

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let wanted = match payload.child(tag::USAGE_LIMITS_COUNT).map(|c| &c.value) {
        Some(Value::LongInteger(n)) if *n > 0 => *n,
        Some(_) => {
            return Err(KmipError::invalid_field(
                "Usage Limits Count must be a positive Long Integer",
            ));
        }
        None => {
            return Err(KmipError::missing_data(
                "Get Usage Allocation needs a Usage Limits Count",
            ));
        }
    };
    let o = update_owned(ctx, uid, |o| {
        if o.state != State::Active {
            return Err(KmipError::new(
                ResultReason::WrongKeyLifecycleState,
                format!("the object is {}, not Active", o.state.name()),
            ));
        }
        let limits = o
            .first_attribute(tag::USAGE_LIMITS)
            .cloned()
            .ok_or_else(|| {
                KmipError::new(
                    ResultReason::IllegalOperation,
                    "the object has no Usage Limits",
                )
            })?;
        let left = match limits.child(tag::USAGE_LIMITS_COUNT).map(|c| &c.value) {
            Some(Value::LongInteger(n)) => *n,
            _ => {
                return Err(KmipError::new(
                    ResultReason::IllegalOperation,
                    "the Usage Limits have no count",
                ));
            }
        };
        if wanted > left {
            return Err(KmipError::new(
                ResultReason::UsageLimitExceeded,
                format!("{wanted} asked, {left} left"),
            ));
        }
        let updated: Vec<Item> = limits
            .children()
            .iter()
            .map(|c| match c.tag {
                tag::USAGE_LIMITS_COUNT => {
                    Item::new(tag::USAGE_LIMITS_COUNT, Value::LongInteger(left - wanted))
                }
                _ => c.clone(),
            })
            .collect();
        o.set_attribute(Item::structure(tag::USAGE_LIMITS, updated));
        Ok(())
    })?;
    Ok(response(vec![Item::text(tag::UNIQUE_IDENTIFIER, o.uid)]))
}

/// Usage Limits as a client sets them: the server adds the remaining count
/// (equal to the total) when the client leaves it out.
pub(super) fn with_count(limits: Item) -> Item {
    if limits.tag != tag::USAGE_LIMITS || limits.child(tag::USAGE_LIMITS_COUNT).is_some() {
        return limits;
    }
    let Some(total) = limits.child(tag::USAGE_LIMITS_TOTAL).cloned() else {
        return limits;
    };
    let mut children = Vec::new();
    for c in limits.children() {
        children.push(c.clone());
        if c.tag == tag::USAGE_LIMITS_TOTAL {
            children.push(Item::new(tag::USAGE_LIMITS_COUNT, total.value.clone()));
        }
    }
    Item::structure(tag::USAGE_LIMITS, children)
}

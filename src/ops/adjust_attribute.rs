//! Adjust Attribute (2.x): increment, decrement or negate a numeric (or
//! negate a boolean) attribute in place, atomically.

use super::attrs::AttrRef;
use super::{Context, now, requested_uid, response, update_owned};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ResultReason};
use crate::ttlv::{Item, Value};

const INCREMENT: u32 = 1;
const DECREMENT: u32 = 2;
const NEGATE: u32 = 3;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let r = AttrRef::from_reference(payload.child(tag::ATTRIBUTE_REFERENCE).ok_or_else(|| {
        KmipError::missing_data("Adjust Attribute needs an Attribute Reference")
    })?)?;
    let kind = payload
        .child(tag::ADJUSTMENT_TYPE)
        .and_then(Item::as_enumeration)
        .ok_or_else(|| KmipError::missing_data("Adjust Attribute needs an Adjustment Type"))?;
    let by = payload
        .child(tag::ADJUSTMENT_VALUE)
        .map(|v| v.value.clone());
    let o = update_owned(ctx, uid, |o| {
        super::edit_attributes::check_writable(o, &r)?;
        let slot = o
            .attributes
            .iter_mut()
            .find(|a| AttrRef::of(a) == r)
            .ok_or_else(|| {
                KmipError::new(
                    ResultReason::AttributeNotFound,
                    format!("{} is not set", r.describe()),
                )
            })?;
        slot.value = adjust(&slot.value, kind, by.as_ref())?;
        o.set_attribute(Item::date_time(tag::LAST_CHANGE_DATE, now()));
        Ok(())
    })?;
    Ok(response(vec![Item::text(tag::UNIQUE_IDENTIFIER, o.uid)]))
}

fn adjust(v: &Value, kind: u32, by: Option<&Value>) -> KmipResult<Value> {
    let overflow = || {
        KmipError::new(
            ResultReason::NumericRange,
            "the adjusted value is out of range",
        )
    };
    let step = |by: Option<&Value>| -> KmipResult<i64> {
        match by {
            None => Ok(1),
            Some(Value::Integer(n)) => Ok(i64::from(*n)),
            Some(Value::LongInteger(n)) | Some(Value::DateTime(n)) => Ok(*n),
            Some(Value::Interval(n)) => Ok(i64::from(*n)),
            Some(_) => Err(KmipError::new(
                ResultReason::InvalidDataType,
                "the Adjustment Value is not a number",
            )),
        }
    };
    let signed = |n: i64| match kind {
        INCREMENT => Ok(n),
        DECREMENT => n.checked_neg().ok_or_else(overflow),
        _ => Err(KmipError::invalid_field(format!(
            "unknown Adjustment Type {kind}"
        ))),
    };
    Ok(match (v, kind) {
        (Value::Boolean(b), NEGATE) => Value::Boolean(!b),
        (Value::Integer(n), NEGATE) => Value::Integer(n.checked_neg().ok_or_else(overflow)?),
        (Value::LongInteger(n), NEGATE) => {
            Value::LongInteger(n.checked_neg().ok_or_else(overflow)?)
        }
        (Value::Integer(n), _) => {
            let d = i32::try_from(signed(step(by)?)?).map_err(|_| overflow())?;
            Value::Integer(n.checked_add(d).ok_or_else(overflow)?)
        }
        (Value::LongInteger(n), _) => {
            Value::LongInteger(n.checked_add(signed(step(by)?)?).ok_or_else(overflow)?)
        }
        (Value::DateTime(n), _) => {
            Value::DateTime(n.checked_add(signed(step(by)?)?).ok_or_else(overflow)?)
        }
        (Value::Interval(n), _) => {
            let sum = i64::from(*n)
                .checked_add(signed(step(by)?)?)
                .ok_or_else(overflow)?;
            Value::Interval(u32::try_from(sum).map_err(|_| overflow())?)
        }
        _ => {
            return Err(KmipError::new(
                ResultReason::InvalidDataType,
                "only numbers, dates and booleans can be adjusted",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjustments() {
        assert_eq!(
            adjust(&Value::Integer(5), INCREMENT, None).unwrap(),
            Value::Integer(6)
        );
        assert_eq!(
            adjust(
                &Value::LongInteger(5),
                DECREMENT,
                Some(&Value::LongInteger(7))
            )
            .unwrap(),
            Value::LongInteger(-2)
        );
        assert_eq!(
            adjust(&Value::Boolean(true), NEGATE, None).unwrap(),
            Value::Boolean(false)
        );
        assert!(adjust(&Value::Integer(i32::MAX), INCREMENT, None).is_err());
        assert!(adjust(&Value::TextString("x".into()), INCREMENT, None).is_err());
        assert!(adjust(&Value::Interval(1), DECREMENT, Some(&Value::Integer(2))).is_err());
    }
}

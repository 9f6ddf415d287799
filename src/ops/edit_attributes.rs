//! The attribute edits: Add, Modify, Delete (1.x and 2.x forms) and Set
//! (2.x). Read-only attributes are refused, single-valued ones cannot gain
//! a second value, and a Name must stay unique among the owner's objects.

use super::attrs::{self, AttrRef, READ_ONLY, multi_valued};
use super::{Context, now, requested_uid, response, update_owned};
use crate::keystore::{IndexKind, Owners};
use crate::kmip::attributes::from_v1_attribute;
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ResultReason};
use crate::objects::{ManagedObject, State};
use crate::ttlv::Item;

/// What the key is: chosen when it is made, never edited afterwards.
const FIXED_AT_CREATION: &[u32] = &[tag::CRYPTOGRAPHIC_ALGORITHM, tag::CRYPTOGRAPHIC_LENGTH];

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Edit {
    Add,
    Modify,
    Delete,
    Set,
}

/// The attribute a request carries: 2.x New Attribute / Current Attribute
/// wrap one item; 1.x sends an Attribute { Name, Index?, Value }.
fn carried(payload: &Item, wrapper: u32) -> KmipResult<Option<(Item, Option<i32>)>> {
    if let Some(w) = payload.child(wrapper) {
        let inner = w
            .children()
            .first()
            .ok_or_else(|| KmipError::invalid_field("an empty attribute wrapper"))?;
        let item =
            if inner.tag == tag::ATTRIBUTE && inner.child(tag::VENDOR_IDENTIFICATION).is_none() {
                from_v1_attribute(inner)?
            } else {
                inner.clone()
            };
        return Ok(Some((item, None)));
    }
    // 1.x carries the new value as a plain Attribute.
    if wrapper == tag::NEW_ATTRIBUTE
        && let Some(a) = payload.child(tag::ATTRIBUTE)
    {
        let index = a.child(tag::ATTRIBUTE_INDEX).and_then(Item::as_integer);
        return Ok(Some((from_v1_attribute(a)?, index)));
    }
    Ok(None)
}

/// Read-only attributes, plus those a client sets only at creation.
pub(super) fn check_writable(o: &ManagedObject, r: &AttrRef) -> KmipResult<()> {
    if let AttrRef::Tag(t) = r {
        if READ_ONLY.contains(t) || FIXED_AT_CREATION.contains(t) {
            return Err(KmipError::new(
                ResultReason::AttributeReadOnly,
                format!("{} is set by the server", r.describe()),
            ));
        }
        // The activation date can move only while the object waits for it.
        if *t == tag::ACTIVATION_DATE && o.state != State::PreActive {
            return Err(KmipError::new(
                ResultReason::WrongKeyLifecycleState,
                format!(
                    "the Activation Date of a {} object cannot change",
                    o.state.name()
                ),
            ));
        }
    }
    Ok(())
}

fn check_unique_name(ctx: &Context<'_>, o: &ManagedObject, item: &Item) -> KmipResult<()> {
    if item.tag != tag::NAME {
        return Ok(());
    }
    let Some(name) = item.child(tag::NAME_VALUE).and_then(Item::as_text) else {
        return Err(KmipError::invalid_field("a Name needs a Name Value"));
    };
    // Names are unique per owner: only the index entries of the object's
    // owner are read (with, when the caller owns it, the caller's objects
    // from before owner keys), never another tenant's, and no record.
    let mut owners = vec![o.owner.as_str()];
    if ctx.identity.owns(&o.owner) {
        for own in ctx.identity.owners() {
            if !owners.contains(&own) {
                owners.push(own);
            }
        }
    }
    let holders = ctx
        .keystore
        .lookup(Owners::Of(&owners), IndexKind::Name, name.as_bytes(), 2)?;
    if holders.iter().any(|uid| *uid != o.uid) || o.names().any(|n| n == name) {
        return Err(KmipError::new(
            ResultReason::NonUniqueNameAttribute,
            format!("the name {name:?} is already in use"),
        ));
    }
    Ok(())
}

pub(super) fn run(ctx: &Context<'_>, payload: &Item, edit: Edit) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let new = carried(payload, tag::NEW_ATTRIBUTE)?;
    let current = carried(payload, tag::CURRENT_ATTRIBUTE)?;
    let reference = match (
        payload.child(tag::ATTRIBUTE_REFERENCE),
        payload.child(tag::ATTRIBUTE_NAME),
    ) {
        (Some(r), _) => Some(AttrRef::from_reference(r)?),
        (None, Some(n)) => Some(AttrRef::from_name(n.as_text().unwrap_or_default())?),
        _ => None,
    };
    let v1_index = payload
        .child(tag::ATTRIBUTE_INDEX)
        .and_then(Item::as_integer);
    // The attribute as changed, and its index among the values it shares a
    // name with (1.x answers with both).
    let mut answered: Option<(Item, i32)> = None;
    let o = update_owned(ctx, uid, |o| {
        let changed = match edit {
            Edit::Add | Edit::Set => {
                let (item, _) = new
                    .clone()
                    .ok_or_else(|| KmipError::missing_data("no attribute to add"))?;
                let item = super::usage_allocation::with_count(item);
                let r = AttrRef::of(&item);
                check_writable(o, &r)?;
                attrs::check_one_way(o, &r, Some(&item))?;
                check_unique_name(ctx, o, &item)?;
                let existing = attrs::values(o, &r);
                if edit == Edit::Add && !existing.is_empty() && !multi_valued(item.tag) {
                    return Err(KmipError::new(
                        ResultReason::AttributeSingleValued,
                        format!("{} already has a value", r.describe()),
                    ));
                }
                if edit == Edit::Add && existing.contains(&item) {
                    return Err(KmipError::new(
                        ResultReason::InvalidAttributeValue,
                        format!("{} already has this value", r.describe()),
                    ));
                }
                if edit == Edit::Set {
                    o.attributes.retain(|a| AttrRef::of(a) != r);
                }
                o.attributes.push(item.clone());
                item
            }
            Edit::Modify => {
                let (item, index) = new
                    .clone()
                    .ok_or_else(|| KmipError::missing_data("no new attribute value"))?;
                let r = AttrRef::of(&item);
                check_writable(o, &r)?;
                attrs::check_one_way(o, &r, Some(&item))?;
                check_unique_name(ctx, o, &item)?;
                let positions: Vec<usize> = o
                    .attributes
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| AttrRef::of(a) == r)
                    .map(|(i, _)| i)
                    .collect();
                if let Some((cur, _)) = &current
                    && AttrRef::of(cur) != r
                {
                    return Err(KmipError::invalid_field(
                        "the current and new values must be of the same attribute",
                    ));
                }
                let target = match &current {
                    Some((cur, _)) => o.attributes.iter().position(|a| a == cur),
                    None => positions.get(index.unwrap_or(0).max(0) as usize).copied(),
                };
                let Some(at) = target else {
                    return Err(KmipError::new(
                        ResultReason::AttributeNotFound,
                        format!("{} has no such value to modify", r.describe()),
                    ));
                };
                o.attributes[at] = item.clone();
                item
            }
            Edit::Delete => {
                let r = match (&current, &reference) {
                    (Some((cur, _)), _) => AttrRef::of(cur),
                    (None, Some(r)) => r.clone(),
                    _ => return Err(KmipError::missing_data("no attribute to delete")),
                };
                check_writable(o, &r)?;
                attrs::check_one_way(o, &r, None)?;
                let positions: Vec<usize> = o
                    .attributes
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| {
                        AttrRef::of(a) == r && current.as_ref().is_none_or(|(c, _)| *a == c)
                    })
                    .map(|(i, _)| i)
                    .collect();
                let at = positions
                    .get(v1_index.unwrap_or(0).max(0) as usize)
                    .copied()
                    .ok_or_else(|| {
                        KmipError::new(
                            ResultReason::AttributeNotFound,
                            format!("{} is not set", r.describe()),
                        )
                    })?;
                o.attributes.remove(at)
            }
        };
        // Once Sensitive is false (or Extractable true), it has not always been.
        let flag = |o: &ManagedObject, t| o.first_attribute(t).and_then(Item::as_boolean);
        if flag(o, tag::SENSITIVE) == Some(false) && flag(o, tag::ALWAYS_SENSITIVE).is_some() {
            o.set_attribute(Item::boolean(tag::ALWAYS_SENSITIVE, false));
        }
        if flag(o, tag::EXTRACTABLE) == Some(true) && flag(o, tag::NEVER_EXTRACTABLE).is_some() {
            o.set_attribute(Item::boolean(tag::NEVER_EXTRACTABLE, false));
        }
        o.set_attribute(Item::date_time(tag::LAST_CHANGE_DATE, now()));
        let index = o
            .attributes
            .iter()
            .filter(|a| AttrRef::of(a) == AttrRef::of(&changed))
            .position(|a| *a == changed)
            .unwrap_or(v1_index.unwrap_or(0).max(0) as usize);
        answered = Some((changed, i32::try_from(index).unwrap_or(0)));
        Ok(())
    })?;
    let mut out = vec![Item::text(tag::UNIQUE_IDENTIFIER, o.uid)];
    // 1.x answers with the attribute as it now stands.
    if !ctx.version.is_2x()
        && let Some((a, index)) = answered
    {
        out.push(attrs::v1_with_index(&a, index));
    }
    Ok(response(out))
}

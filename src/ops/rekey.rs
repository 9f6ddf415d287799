//! Re-key: a new symmetric key of the same kind replaces an existing one.
//! The new key takes the old one's attributes and names, the two are
//! linked (Replacement Object / Replaced Object), and both changes are one
//! atomic write. With an Offset, the new key's dates follow it.

use super::{
    Context, follow_dates, link, may_access, new_object, not_found, now, requested_uid, response,
};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ObjectType, ResultReason};
use crate::objects::ManagedObject;
use crate::ttlv::{Item, Value};

const REPLACEMENT_OBJECT_LINK: u32 = 0x106;
const REPLACED_OBJECT_LINK: u32 = 0x107;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let offset = payload.child(tag::OFFSET).and_then(|o| match o.value {
        Value::Interval(v) => Some(i64::from(v)),
        _ => None,
    });
    let result = ctx
        .writer()
        .update_and_insert(uid, |old: &mut ManagedObject| {
            if !may_access(ctx, old) {
                return Err(not_found(uid));
            }
            follow_dates(old, now());
            if old.object_type != ObjectType::SymmetricKey {
                return Err(KmipError::new(
                    ResultReason::IllegalObjectType,
                    "Re-key replaces symmetric keys; key pairs are re-keyed with Re-key Key Pair",
                ));
            }
            let block = old
                .object
                .as_ref()
                .and_then(|o| o.child(tag::KEY_BLOCK))
                .ok_or_else(|| {
                    KmipError::new(
                        ResultReason::ObjectDestroyed,
                        format!("object {uid} was destroyed"),
                    )
                })?;
            let length = block
                .child(tag::CRYPTOGRAPHIC_LENGTH)
                .and_then(Item::as_integer)
                .filter(|l| *l > 0 && l % 8 == 0 && *l <= 4096)
                .ok_or_else(|| {
                    KmipError::missing_data("the key to replace has no usable Cryptographic Length")
                })?;
            let material = super::random_bytes(length as usize / 8)?;
            let new_block: Vec<Item> = block
                .children()
                .iter()
                .map(|c| match c.tag {
                    tag::KEY_FORMAT_TYPE => Item::enumeration(tag::KEY_FORMAT_TYPE, 0x01),
                    tag::KEY_VALUE => Item::structure(
                        tag::KEY_VALUE,
                        vec![Item::bytes(tag::KEY_MATERIAL, material.clone())],
                    ),
                    _ => c.clone(),
                })
                .collect();
            let object = Item::structure(
                tag::SYMMETRIC_KEY,
                vec![Item::structure(tag::KEY_BLOCK, new_block)],
            );
            // The replacement inherits what the client set; the server sets the rest anew.
            let t = now();
            let mut attrs: Vec<Item> = old
                .attributes
                .iter()
                .filter(|a| {
                    !matches!(
                        a.tag,
                        tag::INITIAL_DATE
                            | tag::LAST_CHANGE_DATE
                            | tag::DIGEST
                            | tag::FRESH
                            | tag::ALWAYS_SENSITIVE
                            | tag::NEVER_EXTRACTABLE
                            | tag::LINK
                            | tag::ACTIVATION_DATE
                            | tag::DEACTIVATION_DATE
                            | tag::DESTROY_DATE
                            | tag::COMPROMISE_DATE
                            | tag::COMPROMISE_OCCURRENCE_DATE
                            | tag::REVOCATION_REASON
                    )
                })
                .cloned()
                .collect();
            let shifted = |t0: Option<i64>| t0.map(|_| t + offset.unwrap_or(0));
            if let Some(a) = shifted(
                old.first_attribute(tag::ACTIVATION_DATE)
                    .and_then(Item::as_date_time),
            ) {
                attrs.push(Item::date_time(tag::ACTIVATION_DATE, a));
            }
            let mut new = new_object(ctx, ObjectType::SymmetricKey, attrs, object)?;
            new.owner.clone_from(&old.owner);
            new.owner_name.clone_from(&old.owner_name);
            new.attributes.push(link(REPLACED_OBJECT_LINK, &old.uid));
            // The name moves to the replacement: a client locating it by name
            // finds the new key.
            old.attributes.retain(|a| a.tag != tag::NAME);
            old.attributes.push(link(REPLACEMENT_OBJECT_LINK, &new.uid));
            old.set_attribute(Item::date_time(tag::LAST_CHANGE_DATE, t));
            Ok(Some(new))
        })?;
    let (_, new) = result.ok_or_else(|| not_found(uid))?;
    let new = new.ok_or_else(|| not_found(uid))?;
    Ok(response(vec![Item::text(tag::UNIQUE_IDENTIFIER, new.uid)]))
}

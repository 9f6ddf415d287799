//! Locate: the caller's objects whose attributes match the request.
//! Candidates come from the store's indexes (name, group, custom
//! attribute, type, or the owner index), never a scan of the whole store,
//! and only from the caller's own entries: another tenant's objects are
//! never loaded, decrypted or even counted. The remaining filters are
//! checked on the candidates. Two values of one date attribute mean a
//! range. Results come newest first.

use super::attrs::{self, AttrRef};
use super::{Context, response};
use crate::keystore::{IndexKind, Owners};
use crate::kmip::attributes::{self as request_attrs, from_v1_attribute};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult};
use crate::objects::ManagedObject;
use crate::ttlv::{Item, Value};
use std::collections::BTreeSet;

const STORAGE_DESTROYED: i32 = 0x04;
const CANDIDATE_LIMIT: usize = 1_000_000;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let mut filters = request_attrs::from_payload(payload)?;
    for a in payload.children_with(tag::ATTRIBUTE) {
        filters.push(from_v1_attribute(a)?);
    }
    let max = payload.child(tag::MAXIMUM_ITEMS).and_then(Item::as_integer);
    let offset = payload
        .child(tag::OFFSET_ITEMS)
        .and_then(Item::as_integer)
        .unwrap_or(0);
    if max.is_some_and(|m| m < 0) || offset < 0 {
        return Err(KmipError::invalid_field(
            "Maximum Items and Offset Items cannot be negative",
        ));
    }
    let storage = payload
        .child(tag::STORAGE_STATUS_MASK)
        .and_then(Item::as_integer)
        .unwrap_or(1);

    let mut found: Vec<(i64, String)> = Vec::new();
    for uid in candidates(ctx, &filters)? {
        let Some(o) = ctx.keystore.load(&uid)? else {
            continue;
        };
        if !super::may_access(ctx, &o) {
            continue;
        }
        if o.state.is_destroyed() && storage & STORAGE_DESTROYED == 0 {
            continue;
        }
        if matches(&o, &filters) {
            let created = o
                .first_attribute(tag::INITIAL_DATE)
                .and_then(Item::as_date_time)
                .unwrap_or(0);
            found.push((created, o.uid));
        }
    }
    // Newest first: a client asking for one item gets the latest key.
    found.sort_by(|a, b| b.cmp(a));
    let total = found.len();
    let mut out = Vec::new();
    // Located Items exists from KMIP 1.3 on.
    if (max.is_some() || payload.child(tag::OFFSET_ITEMS).is_some())
        && ctx.version >= crate::kmip::ProtocolVersion::new(1, 3)
    {
        out.push(Item::integer(
            tag::LOCATED_ITEMS,
            i32::try_from(total).unwrap_or(i32::MAX),
        ));
    }
    out.extend(
        found
            .into_iter()
            .skip(offset as usize)
            .take(max.map_or(usize::MAX, |m| m as usize))
            .map(|(_, uid)| Item::text(tag::UNIQUE_IDENTIFIER, uid)),
    );
    Ok(response(out))
}

/// The smallest index-backed set of uids that can hold every match.
fn candidates(ctx: &Context<'_>, filters: &[Item]) -> KmipResult<BTreeSet<String>> {
    let mut sets: Vec<BTreeSet<String>> = Vec::new();
    let own = ctx.identity.owners();
    let owners = if ctx.admin {
        Owners::All
    } else {
        Owners::Of(&own)
    };
    let lookup = |sets: &mut Vec<BTreeSet<String>>, kind, value: &[u8]| -> KmipResult<()> {
        sets.push(
            ctx.keystore
                .lookup(owners, kind, value, CANDIDATE_LIMIT)?
                .into_iter()
                .collect(),
        );
        Ok(())
    };
    for f in filters {
        match f.tag {
            tag::NAME => {
                if let Some(n) = f.child(tag::NAME_VALUE).and_then(Item::as_text) {
                    lookup(&mut sets, IndexKind::Name, n.as_bytes())?;
                }
            }
            tag::OBJECT_GROUP => {
                if let Some(g) = f.as_text() {
                    lookup(&mut sets, IndexKind::Group, g.as_bytes())?;
                }
            }
            tag::OBJECT_TYPE => {
                if let Some(v) = f.as_enumeration() {
                    lookup(&mut sets, IndexKind::ObjectType, &v.to_be_bytes())?;
                }
            }
            tag::ATTRIBUTE => {
                if let Some(k) = crate::keystore::custom_index_key(f) {
                    lookup(&mut sets, IndexKind::Custom, &k)?;
                }
            }
            _ => {}
        }
    }
    if sets.is_empty() {
        if ctx.admin {
            // An admin with no indexed filter asks for everything.
            return Ok(ctx
                .keystore
                .all_uids(CANDIDATE_LIMIT)?
                .into_iter()
                .collect());
        }
        lookup(&mut sets, IndexKind::Owner, b"")?;
    }
    sets.sort_by_key(BTreeSet::len);
    let mut it = sets.into_iter();
    let first = it.next().unwrap_or_default();
    Ok(it.fold(first, |acc, s| acc.intersection(&s).cloned().collect()))
}

fn matches(o: &ManagedObject, filters: &[Item]) -> bool {
    let mut seen: Vec<AttrRef> = Vec::new();
    for f in filters {
        let r = AttrRef::of(f);
        if seen.contains(&r) {
            continue;
        }
        seen.push(r.clone());
        let wanted: Vec<&Item> = filters.iter().filter(|g| AttrRef::of(g) == r).collect();
        let have = attrs::values(o, &r);
        let ok = match (wanted.as_slice(), wanted.first().map(|w| &w.value)) {
            ([a, b], Some(Value::DateTime(_))) => {
                let (lo, hi) = match (&a.value, &b.value) {
                    (Value::DateTime(x), Value::DateTime(y)) => ((*x).min(*y), (*x).max(*y)),
                    _ => return false,
                };
                have.iter()
                    .any(|h| matches!(h.value, Value::DateTime(t) if (lo..=hi).contains(&t)))
            }
            _ => wanted
                .iter()
                .all(|w| have.iter().any(|h| value_matches(h, w))),
        };
        if !ok {
            return false;
        }
    }
    true
}

fn value_matches(have: &Item, wanted: &Item) -> bool {
    match (have.tag, &have.value, &wanted.value) {
        // A usage mask filter asks for at least these uses.
        (tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(h), Value::Integer(w)) => h & w == *w,
        // A name matches on its value, whatever its type.
        (tag::NAME, _, _) => have.child(tag::NAME_VALUE) == wanted.child(tag::NAME_VALUE),
        _ => have == wanted,
    }
}

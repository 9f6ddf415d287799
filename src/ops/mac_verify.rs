//! MAC Verify: checks an HMAC in constant time; the answer is the Validity
//! Indicator, not an error.

use super::Context;
use super::crypto::{self, USAGE_MAC_VERIFY};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult};
use crate::ttlv::Item;
use aws_lc_rs::hmac;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let (o, key) = crypto::hmac_key(ctx, payload, USAGE_MAC_VERIFY)?;
    let mac = payload
        .child(tag::MAC_DATA)
        .and_then(Item::as_bytes)
        .ok_or_else(|| KmipError::missing_data("MAC Verify needs the MAC Data"))?;
    let valid = hmac::verify(&key, crypto::data(payload)?, mac).is_ok();
    Ok(crypto::validity(o.uid, valid))
}

//! MAC Verify: checks an HMAC in constant time; the answer is the Validity
//! Indicator, not an error.

use super::crypto::{self, USAGE_MAC_VERIFY};
use super::{Context, requested_uid, response};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult};
use crate::ttlv::Item;
use aws_lc_rs::hmac;

const VALID: u32 = 0x01;
const INVALID: u32 = 0x02;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let o = crypto::usable_key(ctx, uid, USAGE_MAC_VERIFY)?;
    let (key, _, algorithm) = crypto::material(&o)?;
    let alg = crypto::hmac_algorithm(
        crypto::params_for(payload, &o)
            .algorithm
            .unwrap_or(algorithm),
    )?;
    let mac = payload
        .child(tag::MAC_DATA)
        .and_then(Item::as_bytes)
        .ok_or_else(|| KmipError::missing_data("MAC Verify needs the MAC Data"))?;
    let valid = hmac::verify(&hmac::Key::new(alg, &key), crypto::data(payload)?, mac).is_ok();
    Ok(response(vec![
        Item::text(tag::UNIQUE_IDENTIFIER, o.uid),
        Item::enumeration(tag::VALIDITY_INDICATOR, if valid { VALID } else { INVALID }),
    ]))
}

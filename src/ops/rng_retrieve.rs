//! RNG Retrieve: random bytes from the server's DRBG (aws-lc CTR-DRBG).

use super::{Context, response};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ResultReason};
use crate::ttlv::Item;

/// One request may ask for at most this much.
const MAX: i32 = 64 * 1024;

pub(super) fn run(_ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let n = payload
        .child(tag::DATA_LENGTH)
        .and_then(Item::as_integer)
        .ok_or_else(|| KmipError::missing_data("RNG Retrieve needs a Data Length"))?;
    if !(1..=MAX).contains(&n) {
        return Err(KmipError::invalid_field(format!(
            "Data Length must be between 1 and {MAX}"
        )));
    }
    let mut out = vec![0u8; n as usize];
    aws_lc_rs::rand::fill(&mut out).map_err(|_| {
        KmipError::new(
            ResultReason::CryptographicFailure,
            "the random generator failed",
        )
    })?;
    Ok(response(vec![Item::bytes(tag::DATA, out)]))
}

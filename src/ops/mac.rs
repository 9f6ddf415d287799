//! MAC: HMAC (SHA-1, SHA-2) of the request's data under the caller's key.

use super::crypto::{self, USAGE_MAC_GENERATE};
use super::{Context, response};
use crate::kmip::KmipResult;
use crate::kmip::tag;
use crate::ttlv::Item;
use aws_lc_rs::hmac;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let (o, key) = crypto::hmac_key(ctx, payload, USAGE_MAC_GENERATE)?;
    let mac = hmac::sign(&key, crypto::data(payload)?);
    Ok(response(vec![
        Item::text(tag::UNIQUE_IDENTIFIER, o.uid),
        Item::bytes(tag::MAC_DATA, mac.as_ref()),
    ]))
}
#[cfg(test)]
mod tests {
    use aws_lc_rs::hmac;

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", "what do ya want for nothing?".
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        assert_eq!(
            hex::encode(hmac::sign(&key, b"what do ya want for nothing?").as_ref()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}

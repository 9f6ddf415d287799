//! Interop (2.x): the test-harness markers around each conformance case.
//! They change nothing, so the answer is an empty success.

use super::{Context, response};
use crate::kmip::KmipResult;
use crate::ttlv::Item;

pub(super) fn run(_ctx: &Context<'_>, _payload: &Item) -> KmipResult<Item> {
    Ok(response(Vec::new()))
}

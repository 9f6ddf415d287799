//! Log (2.x): a client's message for the server's log.

use super::{Context, response};
use crate::kmip::KmipResult;
use crate::kmip::tag;
use crate::ttlv::Item;
use tracing::info;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let message = payload
        .child(tag::LOG_MESSAGE)
        .and_then(Item::as_text)
        .unwrap_or_default();
    // Bounded and quoted: a client cannot forge log lines.
    let shown: String = message.chars().take(512).collect();
    info!(identity = %ctx.identity, message = ?shown, "client log message");
    Ok(response(Vec::new()))
}

//! Discover Versions: the protocol versions both sides speak, newest first.

use super::{Context, response};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ProtocolVersion};
use crate::ttlv::{Item, describe_tag};

pub(super) fn run(_ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let mut offered = Vec::new();
    for c in payload.children() {
        if c.tag != tag::PROTOCOL_VERSION {
            return Err(KmipError::invalid_field(format!(
                "Discover Versions takes only Protocol Version items, found {}",
                describe_tag(c.tag)
            )));
        }
        offered.push(ProtocolVersion::from_item(c).ok_or_else(|| {
            KmipError::invalid_field("a Protocol Version needs an Integer major and minor")
        })?);
    }
    let versions = ProtocolVersion::SUPPORTED
        .iter()
        .filter(|v| offered.is_empty() || offered.contains(v))
        .map(|v| v.to_item())
        .collect();
    Ok(response(versions))
}

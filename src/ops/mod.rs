//! KMIP operations, one file each. Every operation is a function from the
//! caller's context and the request payload to a response payload or a
//! KMIP-shaped error; the server layer handles batches and framing.

mod discover_versions;
mod query;

use crate::auth::Identity;
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ObjectType, Operation, ProtocolVersion, ResultReason};
use crate::ttlv::Item;

/// What the operations may read about the server itself.
#[derive(Clone, Debug)]
pub struct ServerInfo {
    pub vendor_identification: String,
}

impl Default for ServerInfo {
    fn default() -> Self {
        Self {
            vendor_identification: format!("lkm {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Everything an operation knows about the request it serves.
pub struct Context<'a> {
    pub identity: &'a Identity,
    /// The version the response is written in.
    pub version: ProtocolVersion,
    pub server: &'a ServerInfo,
}

/// The operations this build serves, in the order Query lists them.
pub const SUPPORTED_OPERATIONS: &[Operation] = &[Operation::Query, Operation::DiscoverVersions];

/// The object types this build stores (the store arrives with its issue).
pub const SUPPORTED_OBJECT_TYPES: &[ObjectType] = &[];

/// Runs one batch item's operation. `payload` is the Request Payload
/// structure, if the request had one.
pub fn dispatch(ctx: &Context<'_>, op: Operation, payload: Option<&Item>) -> KmipResult<Item> {
    let empty = Item::structure(tag::REQUEST_PAYLOAD, Vec::new());
    let payload = payload.unwrap_or(&empty);
    match op {
        Operation::DiscoverVersions => discover_versions::run(ctx, payload),
        Operation::Query => query::run(ctx, payload),
        other => Err(KmipError::new(
            ResultReason::OperationNotSupported,
            format!("operation {} is not supported by this server", other.name()),
        )),
    }
}

/// Wraps response fields in a Response Payload.
fn response(children: Vec<Item>) -> Item {
    Item::structure(tag::RESPONSE_PAYLOAD, children)
}

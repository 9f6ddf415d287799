//! Typed KMIP messages over the TTLV tree: headers, batch items, results,
//! protocol versions and the enumerations the server branches on.

pub mod attributes;
pub mod enums;
pub mod error;
pub mod message;
pub mod tag;
pub mod version;

pub use enums::{
    BatchErrorContinuationOption, ObjectType, Operation, QueryFunction, ResultReason, ResultStatus,
};
pub use error::{KmipError, KmipResult};
pub use message::{
    RequestBatchItem, RequestHeader, RequestMessage, ResponseBatchItem, ResponseMessage,
};
pub use version::ProtocolVersion;

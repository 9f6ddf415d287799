//! The tags the message layer and operations name in code. The full table
//! (with names) lives in `ttlv::tags`; a test checks these against it.

use crate::ttlv::Tag;

pub const ASYNCHRONOUS_CAPABILITY: Tag = 0x4200F0;
pub const ASYNCHRONOUS_CORRELATION_VALUE: Tag = 0x420006;
pub const ASYNCHRONOUS_INDICATOR: Tag = 0x420007;
pub const ATTESTATION_CAPABILITY: Tag = 0x4200F1;
pub const ATTESTATION_CAPABLE_INDICATOR: Tag = 0x4200D3;
pub const AUTHENTICATION: Tag = 0x42000C;
pub const BATCH_CONTINUE_CAPABILITY: Tag = 0x4200FA;
pub const BATCH_COUNT: Tag = 0x42000D;
pub const BATCH_ERROR_CONTINUATION_OPTION: Tag = 0x42000E;
pub const BATCH_ITEM: Tag = 0x42000F;
pub const BATCH_ORDER_OPTION: Tag = 0x420010;
pub const BATCH_UNDO_CAPABILITY: Tag = 0x4200F9;
pub const CAPABILITY_INFORMATION: Tag = 0x4200F7;
pub const CLIENT_CORRELATION_VALUE: Tag = 0x420105;
pub const CRITICALITY_INDICATOR: Tag = 0x420026;
pub const CRYPTOGRAPHIC_ALGORITHM: Tag = 0x420028;
pub const CRYPTOGRAPHIC_LENGTH: Tag = 0x42002A;
pub const DESTROY_ACTION: Tag = 0x4200F3;
pub const DRBG_ALGORITHM: Tag = 0x4200DB;
pub const MAXIMUM_RESPONSE_SIZE: Tag = 0x420050;
pub const MESSAGE_EXTENSION: Tag = 0x420051;
pub const OBJECT_TYPE: Tag = 0x420057;
pub const OPERATION: Tag = 0x42005C;
pub const PROTOCOL_VERSION: Tag = 0x420069;
pub const PROTOCOL_VERSION_MAJOR: Tag = 0x42006A;
pub const PROTOCOL_VERSION_MINOR: Tag = 0x42006B;
pub const QUERY_FUNCTION: Tag = 0x420074;
pub const REQUEST_HEADER: Tag = 0x420077;
pub const REQUEST_MESSAGE: Tag = 0x420078;
pub const REQUEST_PAYLOAD: Tag = 0x420079;
pub const RESPONSE_HEADER: Tag = 0x42007A;
pub const RESPONSE_MESSAGE: Tag = 0x42007B;
pub const RESPONSE_PAYLOAD: Tag = 0x42007C;
pub const RESULT_MESSAGE: Tag = 0x42007D;
pub const RESULT_REASON: Tag = 0x42007E;
pub const RESULT_STATUS: Tag = 0x42007F;
pub const RNG_ALGORITHM: Tag = 0x4200DA;
pub const RNG_MODE: Tag = 0x4200F5;
pub const RNG_PARAMETERS: Tag = 0x4200D9;
pub const SERVER_CORRELATION_VALUE: Tag = 0x420106;
pub const SERVER_INFORMATION: Tag = 0x420088;
pub const SHREDDING_ALGORITHM: Tag = 0x4200F4;
pub const STREAMING_CAPABILITY: Tag = 0x4200EF;
pub const TIME_STAMP: Tag = 0x420092;
pub const UNIQUE_BATCH_ITEM_ID: Tag = 0x420093;
pub const UNWRAP_MODE: Tag = 0x4200F2;
pub const VENDOR_IDENTIFICATION: Tag = 0x42009D;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ttlv::tag_name;

    #[test]
    fn constants_match_the_tag_table() {
        let named = [
            (ASYNCHRONOUS_CAPABILITY, "AsynchronousCapability"),
            (ATTESTATION_CAPABILITY, "AttestationCapability"),
            (BATCH_CONTINUE_CAPABILITY, "BatchContinueCapability"),
            (BATCH_UNDO_CAPABILITY, "BatchUndoCapability"),
            (CAPABILITY_INFORMATION, "CapabilityInformation"),
            (CRITICALITY_INDICATOR, "CriticalityIndicator"),
            (CRYPTOGRAPHIC_ALGORITHM, "CryptographicAlgorithm"),
            (CRYPTOGRAPHIC_LENGTH, "CryptographicLength"),
            (DESTROY_ACTION, "DestroyAction"),
            (DRBG_ALGORITHM, "DRBGAlgorithm"),
            (RNG_ALGORITHM, "RNGAlgorithm"),
            (RNG_MODE, "RNGMode"),
            (RNG_PARAMETERS, "RNGParameters"),
            (SHREDDING_ALGORITHM, "ShreddingAlgorithm"),
            (STREAMING_CAPABILITY, "StreamingCapability"),
            (UNWRAP_MODE, "UnwrapMode"),
            (
                ASYNCHRONOUS_CORRELATION_VALUE,
                "AsynchronousCorrelationValue",
            ),
            (ASYNCHRONOUS_INDICATOR, "AsynchronousIndicator"),
            (ATTESTATION_CAPABLE_INDICATOR, "AttestationCapableIndicator"),
            (AUTHENTICATION, "Authentication"),
            (BATCH_COUNT, "BatchCount"),
            (
                BATCH_ERROR_CONTINUATION_OPTION,
                "BatchErrorContinuationOption",
            ),
            (BATCH_ITEM, "BatchItem"),
            (BATCH_ORDER_OPTION, "BatchOrderOption"),
            (CLIENT_CORRELATION_VALUE, "ClientCorrelationValue"),
            (MAXIMUM_RESPONSE_SIZE, "MaximumResponseSize"),
            (MESSAGE_EXTENSION, "MessageExtension"),
            (OBJECT_TYPE, "ObjectType"),
            (OPERATION, "Operation"),
            (PROTOCOL_VERSION, "ProtocolVersion"),
            (PROTOCOL_VERSION_MAJOR, "ProtocolVersionMajor"),
            (PROTOCOL_VERSION_MINOR, "ProtocolVersionMinor"),
            (QUERY_FUNCTION, "QueryFunction"),
            (REQUEST_HEADER, "RequestHeader"),
            (REQUEST_MESSAGE, "RequestMessage"),
            (REQUEST_PAYLOAD, "RequestPayload"),
            (RESPONSE_HEADER, "ResponseHeader"),
            (RESPONSE_MESSAGE, "ResponseMessage"),
            (RESPONSE_PAYLOAD, "ResponsePayload"),
            (RESULT_MESSAGE, "ResultMessage"),
            (RESULT_REASON, "ResultReason"),
            (RESULT_STATUS, "ResultStatus"),
            (SERVER_CORRELATION_VALUE, "ServerCorrelationValue"),
            (SERVER_INFORMATION, "ServerInformation"),
            (TIME_STAMP, "TimeStamp"),
            (UNIQUE_BATCH_ITEM_ID, "UniqueBatchItemID"),
            (VENDOR_IDENTIFICATION, "VendorIdentification"),
        ];
        for (tag, name) in named {
            assert_eq!(tag_name(tag), Some(name), "tag 0x{tag:06X}");
        }
    }
}

//! The tags the message layer and operations name in code. The full table
//! (with names) lives in `ttlv::tags`; a test checks these against it.

use crate::ttlv::Tag;

pub const ACTIVATION_DATE: Tag = 0x420001;
pub const ADJUSTMENT_TYPE: Tag = 0x420158;
pub const ADJUSTMENT_VALUE: Tag = 0x420162;
pub const ALWAYS_SENSITIVE: Tag = 0x420121;
pub const APPLICATION_SPECIFIC_INFORMATION: Tag = 0x420004;
pub const ASYNCHRONOUS_CAPABILITY: Tag = 0x4200F0;
pub const ASYNCHRONOUS_CORRELATION_VALUE: Tag = 0x420006;
pub const ASYNCHRONOUS_INDICATOR: Tag = 0x420007;
pub const ATTESTATION_CAPABILITY: Tag = 0x4200F1;
pub const ATTESTATION_CAPABLE_INDICATOR: Tag = 0x4200D3;
pub const ATTRIBUTE: Tag = 0x420008;
pub const ATTRIBUTES: Tag = 0x420125;
pub const ATTRIBUTE_INDEX: Tag = 0x420009;
pub const ATTRIBUTE_NAME: Tag = 0x42000A;
pub const ATTRIBUTE_REFERENCE: Tag = 0x42013B;
pub const ATTRIBUTE_VALUE: Tag = 0x42000B;
pub const AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA: Tag = 0x4200FE;
pub const AUTHENTICATED_ENCRYPTION_TAG: Tag = 0x4200FF;
pub const AUTHENTICATION: Tag = 0x42000C;
pub const BATCH_CONTINUE_CAPABILITY: Tag = 0x4200FA;
pub const BATCH_COUNT: Tag = 0x42000D;
pub const BATCH_ERROR_CONTINUATION_OPTION: Tag = 0x42000E;
pub const BATCH_ITEM: Tag = 0x42000F;
pub const BATCH_ORDER_OPTION: Tag = 0x420010;
pub const BATCH_UNDO_CAPABILITY: Tag = 0x4200F9;
pub const BLOCK_CIPHER_MODE: Tag = 0x420011;
pub const CAPABILITY_INFORMATION: Tag = 0x4200F7;
pub const CERTIFICATE: Tag = 0x420013;
pub const CERTIFICATE_ISSUER_CN: Tag = 0x420114;
pub const CERTIFICATE_LENGTH: Tag = 0x4200AD;
pub const CERTIFICATE_REQUEST: Tag = 0x420018;
pub const CERTIFICATE_SUBJECT_CN: Tag = 0x420108;
pub const CERTIFICATE_TYPE: Tag = 0x42001D;
pub const CERTIFICATE_VALUE: Tag = 0x42001E;
pub const CLIENT_CORRELATION_VALUE: Tag = 0x420105;
pub const COMMENT: Tag = 0x4200FD;
pub const COMMON_ATTRIBUTES: Tag = 0x420126;
pub const COMMON_TEMPLATE_ATTRIBUTE: Tag = 0x42001F;
pub const COMPROMISE_DATE: Tag = 0x420020;
pub const COMPROMISE_OCCURRENCE_DATE: Tag = 0x420021;
pub const CONTACT_INFORMATION: Tag = 0x420022;
pub const CRITICALITY_INDICATOR: Tag = 0x420026;
pub const CRYPTOGRAPHIC_ALGORITHM: Tag = 0x420028;
pub const CRYPTOGRAPHIC_DOMAIN_PARAMETERS: Tag = 0x420029;
pub const CRYPTOGRAPHIC_LENGTH: Tag = 0x42002A;
pub const CRYPTOGRAPHIC_PARAMETERS: Tag = 0x42002B;
pub const CRYPTOGRAPHIC_USAGE_MASK: Tag = 0x42002C;
pub const CURRENT_ATTRIBUTE: Tag = 0x42013C;
pub const DATA: Tag = 0x4200C2;
pub const DATA_LENGTH: Tag = 0x4200C4;
pub const DEACTIVATION_DATE: Tag = 0x42002F;
pub const DERIVATION_DATA: Tag = 0x420030;
pub const DERIVATION_METHOD: Tag = 0x420031;
pub const DERIVATION_PARAMETERS: Tag = 0x420032;
pub const DESCRIPTION: Tag = 0x4200FC;
pub const DESTROY_ACTION: Tag = 0x4200F3;
pub const DESTROY_DATE: Tag = 0x420033;
pub const DIGEST: Tag = 0x420034;
pub const DIGEST_VALUE: Tag = 0x420035;
pub const DIGITAL_SIGNATURE_ALGORITHM: Tag = 0x4200AE;
pub const DRBG_ALGORITHM: Tag = 0x4200DB;
pub const ENCODING_OPTION: Tag = 0x4200A3;
pub const ENCRYPTION_KEY_INFORMATION: Tag = 0x420036;
pub const EXTRACTABLE: Tag = 0x420122;
pub const FRESH: Tag = 0x4200A8;
pub const HASHING_ALGORITHM: Tag = 0x420038;
pub const INITIALIZATION_VECTOR: Tag = 0x42003A;
pub const INITIAL_DATE: Tag = 0x420039;
pub const INTEROP_FUNCTION: Tag = 0x420160;
pub const INTEROP_IDENTIFIER: Tag = 0x420161;
pub const ITERATION_COUNT: Tag = 0x42003C;
pub const IV_COUNTER_NONCE: Tag = 0x42003D;
pub const KEY: Tag = 0x42003F;
pub const KEY_BLOCK: Tag = 0x420040;
pub const KEY_FORMAT_TYPE: Tag = 0x420042;
pub const KEY_MATERIAL: Tag = 0x420043;
pub const KEY_VALUE: Tag = 0x420045;
pub const KEY_WRAPPING_DATA: Tag = 0x420046;
pub const KEY_WRAPPING_SPECIFICATION: Tag = 0x420047;
pub const LAST_CHANGE_DATE: Tag = 0x420048;
pub const LEASE_TIME: Tag = 0x420049;
pub const LINK: Tag = 0x42004A;
pub const LINKED_OBJECT_IDENTIFIER: Tag = 0x42004C;
pub const LINK_TYPE: Tag = 0x42004B;
pub const LOCATED_ITEMS: Tag = 0x4200D5;
pub const LOG_MESSAGE: Tag = 0x420141;
pub const MAC_DATA: Tag = 0x4200C6;
pub const MAXIMUM_ITEMS: Tag = 0x42004F;
pub const MAXIMUM_RESPONSE_SIZE: Tag = 0x420050;
pub const MESSAGE_EXTENSION: Tag = 0x420051;
pub const NAME: Tag = 0x420053;
pub const NAME_TYPE: Tag = 0x420054;
pub const NAME_VALUE: Tag = 0x420055;
pub const NEVER_EXTRACTABLE: Tag = 0x420123;
pub const NEW_ATTRIBUTE: Tag = 0x42013D;
pub const OBJECT_GROUP: Tag = 0x420056;
pub const OBJECT_GROUP_MEMBER: Tag = 0x4200AC;
pub const OBJECT_TYPE: Tag = 0x420057;
pub const OFFSET: Tag = 0x420058;
pub const OFFSET_ITEMS: Tag = 0x4200D4;
pub const OPAQUE_DATA_TYPE: Tag = 0x420059;
pub const OPAQUE_DATA_VALUE: Tag = 0x42005A;
pub const OPAQUE_OBJECT: Tag = 0x42005B;
pub const OPERATION: Tag = 0x42005C;
pub const OPERATION_POLICY_NAME: Tag = 0x42005D;
pub const ORIGINAL_CREATION_DATE: Tag = 0x4200BC;
pub const PADDING_METHOD: Tag = 0x42005F;
pub const PGP_KEY: Tag = 0x4200BD;
pub const PRIVATE_KEY: Tag = 0x420064;
pub const PRIVATE_KEY_ATTRIBUTES: Tag = 0x420127;
pub const PRIVATE_KEY_TEMPLATE_ATTRIBUTE: Tag = 0x420065;
pub const PRIVATE_KEY_UNIQUE_IDENTIFIER: Tag = 0x420066;
pub const PROCESS_START_DATE: Tag = 0x420067;
pub const PROTECT_STOP_DATE: Tag = 0x420068;
pub const PROTOCOL_VERSION: Tag = 0x420069;
pub const PROTOCOL_VERSION_MAJOR: Tag = 0x42006A;
pub const PROTOCOL_VERSION_MINOR: Tag = 0x42006B;
pub const PUBLIC_KEY: Tag = 0x42006D;
pub const PUBLIC_KEY_ATTRIBUTES: Tag = 0x420128;
pub const PUBLIC_KEY_TEMPLATE_ATTRIBUTE: Tag = 0x42006E;
pub const PUBLIC_KEY_UNIQUE_IDENTIFIER: Tag = 0x42006F;
pub const QUERY_FUNCTION: Tag = 0x420074;
pub const RANDOM_IV: Tag = 0x4200C5;
pub const RECOMMENDED_CURVE: Tag = 0x420075;
pub const REQUEST_HEADER: Tag = 0x420077;
pub const REQUEST_MESSAGE: Tag = 0x420078;
pub const REQUEST_PAYLOAD: Tag = 0x420079;
pub const RESPONSE_HEADER: Tag = 0x42007A;
pub const RESPONSE_MESSAGE: Tag = 0x42007B;
pub const RESPONSE_PAYLOAD: Tag = 0x42007C;
pub const RESULT_MESSAGE: Tag = 0x42007D;
pub const RESULT_REASON: Tag = 0x42007E;
pub const RESULT_STATUS: Tag = 0x42007F;
pub const REVOCATION_MESSAGE: Tag = 0x420080;
pub const REVOCATION_REASON: Tag = 0x420081;
pub const REVOCATION_REASON_CODE: Tag = 0x420082;
pub const RNG_ALGORITHM: Tag = 0x4200DA;
pub const RNG_MODE: Tag = 0x4200F5;
pub const RNG_PARAMETERS: Tag = 0x4200D9;
pub const SALT: Tag = 0x420084;
pub const SECRET_DATA: Tag = 0x420085;
pub const SECRET_DATA_TYPE: Tag = 0x420086;
pub const SENSITIVE: Tag = 0x420120;
pub const SERVER_CORRELATION_VALUE: Tag = 0x420106;
pub const SERVER_INFORMATION: Tag = 0x420088;
pub const SHREDDING_ALGORITHM: Tag = 0x4200F4;
pub const SIGNATURE_DATA: Tag = 0x4200C3;
pub const SPLIT_KEY: Tag = 0x420089;
pub const STATE: Tag = 0x42008D;
pub const STORAGE_STATUS_MASK: Tag = 0x42008E;
pub const STREAMING_CAPABILITY: Tag = 0x4200EF;
pub const SYMMETRIC_KEY: Tag = 0x42008F;
pub const TAG_LENGTH: Tag = 0x4200CE;
pub const TEMPLATE: Tag = 0x420090;
pub const TEMPLATE_ATTRIBUTE: Tag = 0x420091;
pub const TIME_STAMP: Tag = 0x420092;
pub const UNIQUE_BATCH_ITEM_ID: Tag = 0x420093;
pub const UNIQUE_IDENTIFIER: Tag = 0x420094;
pub const UNWRAP_MODE: Tag = 0x4200F2;
pub const USAGE_LIMITS: Tag = 0x420095;
pub const USAGE_LIMITS_COUNT: Tag = 0x420096;
pub const USAGE_LIMITS_TOTAL: Tag = 0x420097;
pub const USAGE_LIMITS_UNIT: Tag = 0x420098;
pub const VALIDITY_INDICATOR: Tag = 0x42009B;
pub const VENDOR_IDENTIFICATION: Tag = 0x42009D;
pub const WRAPPING_METHOD: Tag = 0x42009E;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ttlv::tag_name;

    #[test]
    fn constants_match_the_tag_table() {
        let named = [
            (MAC_DATA, "MACData"),
            (DATA_LENGTH, "DataLength"),
            (DERIVATION_DATA, "DerivationData"),
            (DERIVATION_METHOD, "DerivationMethod"),
            (DERIVATION_PARAMETERS, "DerivationParameters"),
            (INITIALIZATION_VECTOR, "InitializationVector"),
            (ITERATION_COUNT, "IterationCount"),
            (SALT, "Salt"),
            (COMMON_TEMPLATE_ATTRIBUTE, "CommonTemplateAttribute"),
            (
                PRIVATE_KEY_TEMPLATE_ATTRIBUTE,
                "PrivateKeyTemplateAttribute",
            ),
            (PUBLIC_KEY_TEMPLATE_ATTRIBUTE, "PublicKeyTemplateAttribute"),
            (COMMON_ATTRIBUTES, "CommonAttributes"),
            (PRIVATE_KEY_ATTRIBUTES, "PrivateKeyAttributes"),
            (PUBLIC_KEY_ATTRIBUTES, "PublicKeyAttributes"),
            (PRIVATE_KEY_UNIQUE_IDENTIFIER, "PrivateKeyUniqueIdentifier"),
            (PUBLIC_KEY_UNIQUE_IDENTIFIER, "PublicKeyUniqueIdentifier"),
            (
                CRYPTOGRAPHIC_DOMAIN_PARAMETERS,
                "CryptographicDomainParameters",
            ),
            (RECOMMENDED_CURVE, "RecommendedCurve"),
            (DATA, "Data"),
            (SIGNATURE_DATA, "SignatureData"),
            (VALIDITY_INDICATOR, "ValidityIndicator"),
            (IV_COUNTER_NONCE, "IVCounterNonce"),
            (PADDING_METHOD, "PaddingMethod"),
            (
                AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
                "AuthenticatedEncryptionAdditionalData",
            ),
            (AUTHENTICATED_ENCRYPTION_TAG, "AuthenticatedEncryptionTag"),
            (TAG_LENGTH, "TagLength"),
            (DIGITAL_SIGNATURE_ALGORITHM, "DigitalSignatureAlgorithm"),
            (RANDOM_IV, "RandomIV"),
            (USAGE_LIMITS, "UsageLimits"),
            (USAGE_LIMITS_TOTAL, "UsageLimitsTotal"),
            (USAGE_LIMITS_UNIT, "UsageLimitsUnit"),
            (ADJUSTMENT_TYPE, "AdjustmentType"),
            (ADJUSTMENT_VALUE, "AdjustmentValue"),
            (OFFSET, "Offset"),
            (KEY_WRAPPING_SPECIFICATION, "KeyWrappingSpecification"),
            (KEY_WRAPPING_DATA, "KeyWrappingData"),
            (WRAPPING_METHOD, "WrappingMethod"),
            (ENCRYPTION_KEY_INFORMATION, "EncryptionKeyInformation"),
            (CRYPTOGRAPHIC_PARAMETERS, "CryptographicParameters"),
            (BLOCK_CIPHER_MODE, "BlockCipherMode"),
            (ENCODING_OPTION, "EncodingOption"),
            (KEY, "Key"),
            (CERTIFICATE_ISSUER_CN, "CertificateIssuerCN"),
            (CERTIFICATE_SUBJECT_CN, "CertificateSubjectCN"),
            (ATTRIBUTE_REFERENCE, "AttributeReference"),
            (FRESH, "Fresh"),
            (DIGEST, "Digest"),
            (HASHING_ALGORITHM, "HashingAlgorithm"),
            (DIGEST_VALUE, "DigestValue"),
            (MAXIMUM_ITEMS, "MaximumItems"),
            (OFFSET_ITEMS, "OffsetItems"),
            (STORAGE_STATUS_MASK, "StorageStatusMask"),
            (OBJECT_GROUP_MEMBER, "ObjectGroupMember"),
            (LOCATED_ITEMS, "LocatedItems"),
            (INTEROP_FUNCTION, "InteropFunction"),
            (INTEROP_IDENTIFIER, "InteropIdentifier"),
            (LOG_MESSAGE, "LogMessage"),
            (PUBLIC_KEY, "PublicKey"),
            (PRIVATE_KEY, "PrivateKey"),
            (SPLIT_KEY, "SplitKey"),
            (PGP_KEY, "PGPKey"),
            (CERTIFICATE_REQUEST, "CertificateRequest"),
            (CURRENT_ATTRIBUTE, "CurrentAttribute"),
            (NEW_ATTRIBUTE, "NewAttribute"),
            (USAGE_LIMITS_COUNT, "UsageLimitsCount"),
            (REVOCATION_MESSAGE, "RevocationMessage"),
            (LINK, "Link"),
            (LINK_TYPE, "LinkType"),
            (LINKED_OBJECT_IDENTIFIER, "LinkedObjectIdentifier"),
            (LEASE_TIME, "LeaseTime"),
            (PROTECT_STOP_DATE, "ProtectStopDate"),
            (PROCESS_START_DATE, "ProcessStartDate"),
            (CONTACT_INFORMATION, "ContactInformation"),
            (
                APPLICATION_SPECIFIC_INFORMATION,
                "ApplicationSpecificInformation",
            ),
            (DESCRIPTION, "Description"),
            (COMMENT, "Comment"),
            (SENSITIVE, "Sensitive"),
            (ALWAYS_SENSITIVE, "AlwaysSensitive"),
            (EXTRACTABLE, "Extractable"),
            (NEVER_EXTRACTABLE, "NeverExtractable"),
            (OPERATION_POLICY_NAME, "OperationPolicyName"),
            (CERTIFICATE_LENGTH, "CertificateLength"),
            (
                ASYNCHRONOUS_CORRELATION_VALUE,
                "AsynchronousCorrelationValue",
            ),
            (
                BATCH_ERROR_CONTINUATION_OPTION,
                "BatchErrorContinuationOption",
            ),
            (ACTIVATION_DATE, "ActivationDate"),
            (ASYNCHRONOUS_CAPABILITY, "AsynchronousCapability"),
            (ASYNCHRONOUS_INDICATOR, "AsynchronousIndicator"),
            (ATTESTATION_CAPABILITY, "AttestationCapability"),
            (ATTESTATION_CAPABLE_INDICATOR, "AttestationCapableIndicator"),
            (ATTRIBUTE, "Attribute"),
            (ATTRIBUTES, "Attributes"),
            (ATTRIBUTE_INDEX, "AttributeIndex"),
            (ATTRIBUTE_NAME, "AttributeName"),
            (ATTRIBUTE_VALUE, "AttributeValue"),
            (AUTHENTICATION, "Authentication"),
            (BATCH_CONTINUE_CAPABILITY, "BatchContinueCapability"),
            (BATCH_COUNT, "BatchCount"),
            (BATCH_ITEM, "BatchItem"),
            (BATCH_ORDER_OPTION, "BatchOrderOption"),
            (BATCH_UNDO_CAPABILITY, "BatchUndoCapability"),
            (CAPABILITY_INFORMATION, "CapabilityInformation"),
            (CERTIFICATE, "Certificate"),
            (CERTIFICATE_TYPE, "CertificateType"),
            (CERTIFICATE_VALUE, "CertificateValue"),
            (CLIENT_CORRELATION_VALUE, "ClientCorrelationValue"),
            (COMPROMISE_DATE, "CompromiseDate"),
            (COMPROMISE_OCCURRENCE_DATE, "CompromiseOccurrenceDate"),
            (CRITICALITY_INDICATOR, "CriticalityIndicator"),
            (CRYPTOGRAPHIC_ALGORITHM, "CryptographicAlgorithm"),
            (CRYPTOGRAPHIC_LENGTH, "CryptographicLength"),
            (CRYPTOGRAPHIC_USAGE_MASK, "CryptographicUsageMask"),
            (DEACTIVATION_DATE, "DeactivationDate"),
            (DESTROY_ACTION, "DestroyAction"),
            (DESTROY_DATE, "DestroyDate"),
            (DRBG_ALGORITHM, "DRBGAlgorithm"),
            (INITIAL_DATE, "InitialDate"),
            (KEY_BLOCK, "KeyBlock"),
            (KEY_FORMAT_TYPE, "KeyFormatType"),
            (KEY_MATERIAL, "KeyMaterial"),
            (KEY_VALUE, "KeyValue"),
            (LAST_CHANGE_DATE, "LastChangeDate"),
            (MAXIMUM_RESPONSE_SIZE, "MaximumResponseSize"),
            (MESSAGE_EXTENSION, "MessageExtension"),
            (NAME, "Name"),
            (NAME_TYPE, "NameType"),
            (NAME_VALUE, "NameValue"),
            (OBJECT_GROUP, "ObjectGroup"),
            (OBJECT_TYPE, "ObjectType"),
            (OPAQUE_DATA_TYPE, "OpaqueDataType"),
            (OPAQUE_DATA_VALUE, "OpaqueDataValue"),
            (OPAQUE_OBJECT, "OpaqueObject"),
            (OPERATION, "Operation"),
            (ORIGINAL_CREATION_DATE, "OriginalCreationDate"),
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
            (REVOCATION_REASON, "RevocationReason"),
            (REVOCATION_REASON_CODE, "RevocationReasonCode"),
            (RNG_ALGORITHM, "RNGAlgorithm"),
            (RNG_MODE, "RNGMode"),
            (RNG_PARAMETERS, "RNGParameters"),
            (SECRET_DATA, "SecretData"),
            (SECRET_DATA_TYPE, "SecretDataType"),
            (SERVER_CORRELATION_VALUE, "ServerCorrelationValue"),
            (SERVER_INFORMATION, "ServerInformation"),
            (SHREDDING_ALGORITHM, "ShreddingAlgorithm"),
            (STATE, "State"),
            (STREAMING_CAPABILITY, "StreamingCapability"),
            (SYMMETRIC_KEY, "SymmetricKey"),
            (TEMPLATE_ATTRIBUTE, "TemplateAttribute"),
            (TIME_STAMP, "TimeStamp"),
            (UNIQUE_BATCH_ITEM_ID, "UniqueBatchItemID"),
            (UNIQUE_IDENTIFIER, "UniqueIdentifier"),
            (UNWRAP_MODE, "UnwrapMode"),
            (VENDOR_IDENTIFICATION, "VendorIdentification"),
            (TEMPLATE, "Template"),
        ];
        for (tag, name) in named {
            assert_eq!(tag_name(tag), Some(name), "tag 0x{tag:06X}");
        }
    }
}

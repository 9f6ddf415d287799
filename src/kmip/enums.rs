//! The KMIP enumerations that code branches on. Values not listed here
//! still travel as plain `u32`s; a test checks every listed value against
//! the codec's name table so the two never drift apart.

macro_rules! kmip_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $value:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        #[allow(non_camel_case_types)] // the XML names, as the spec spells them
        pub enum $name { $($variant = $value),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn from_u32(v: u32) -> Option<Self> {
                match v {
                    $(x if x == $value => Some($name::$variant),)*
                    _ => None,
                }
            }

            pub fn value(self) -> u32 {
                self as u32
            }

            /// The XML-encoding name, for messages and tests.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),* }
            }
        }
    };
}

kmip_enum!(
    /// Operation (KMIP 1.0-2.1).
    Operation {
        Create = 0x01, CreateKeyPair = 0x02, Register = 0x03, ReKey = 0x04,
        DeriveKey = 0x05, Certify = 0x06, ReCertify = 0x07, Locate = 0x08,
        Check = 0x09, Get = 0x0A, GetAttributes = 0x0B, GetAttributeList = 0x0C,
        AddAttribute = 0x0D, ModifyAttribute = 0x0E, DeleteAttribute = 0x0F,
        ObtainLease = 0x10, GetUsageAllocation = 0x11, Activate = 0x12,
        Revoke = 0x13, Destroy = 0x14, Archive = 0x15, Recover = 0x16,
        Validate = 0x17, Query = 0x18, Cancel = 0x19, Poll = 0x1A, Notify = 0x1B,
        Put = 0x1C, ReKeyKeyPair = 0x1D, DiscoverVersions = 0x1E, Encrypt = 0x1F,
        Decrypt = 0x20, Sign = 0x21, SignatureVerify = 0x22, MAC = 0x23,
        MACVerify = 0x24, RNGRetrieve = 0x25, RNGSeed = 0x26, Hash = 0x27,
        CreateSplitKey = 0x28, JoinSplitKey = 0x29, Import = 0x2A, Export = 0x2B,
        Log = 0x2C, Login = 0x2D, Logout = 0x2E, DelegatedLogin = 0x2F,
        AdjustAttribute = 0x30, SetAttribute = 0x31, SetEndpointRole = 0x32,
        PKCS_11 = 0x33, Interop = 0x34, ReProvision = 0x35, SetDefaults = 0x36,
        SetConstraints = 0x37, GetConstraints = 0x38,
        QueryAsynchronousRequests = 0x39, Process = 0x3A, Ping = 0x3B,
    }
);

kmip_enum!(ResultStatus {
    Success = 0,
    OperationFailed = 1,
    OperationPending = 2,
    OperationUndone = 3,
});

kmip_enum!(
    /// Result Reason. Values from 0x0F on appeared in later versions; a
    /// 1.x response only uses the reasons its version defines (see
    /// [`ResultReason::for_version`]).
    ResultReason {
        ItemNotFound = 0x01, ResponseTooLarge = 0x02,
        AuthenticationNotSuccessful = 0x03, InvalidMessage = 0x04,
        OperationNotSupported = 0x05, MissingData = 0x06, InvalidField = 0x07,
        FeatureNotSupported = 0x08, OperationCanceledByRequester = 0x09,
        CryptographicFailure = 0x0A, IllegalOperation = 0x0B,
        PermissionDenied = 0x0C, ObjectArchived = 0x0D, IndexOutOfBounds = 0x0E,
        ApplicationNamespaceNotSupported = 0x0F,
        KeyFormatTypeNotSupported = 0x10, KeyCompressionTypeNotSupported = 0x11,
        EncodingOptionError = 0x12, KeyValueNotPresent = 0x13,
        AttestationRequired = 0x14, AttestationFailed = 0x15, Sensitive = 0x16,
        NotExtractable = 0x17, ObjectAlreadyExists = 0x18,
        InvalidTicket = 0x19, UsageLimitExceeded = 0x1A, NumericRange = 0x1B,
        InvalidDataType = 0x1C, ReadOnlyAttribute = 0x1D,
        MultiValuedAttribute = 0x1E, UnsupportedAttribute = 0x1F,
        AttributeInstanceNotFound = 0x20, AttributeNotFound = 0x21,
        AttributeReadOnly = 0x22, AttributeSingleValued = 0x23,
        BadCryptographicParameters = 0x24, BadPassword = 0x25, CodecError = 0x26,
        IllegalObjectType = 0x28, IncompatibleCryptographicUsageMask = 0x29,
        InternalServerError = 0x2A, InvalidAsynchronousCorrelationValue = 0x2B,
        InvalidAttribute = 0x2C, InvalidAttributeValue = 0x2D,
        InvalidCorrelationValue = 0x2E, InvalidCSR = 0x2F,
        InvalidObjectType = 0x30, KeyWrapTypeNotSupported = 0x32,
        MissingInitializationVector = 0x34, NonUniqueNameAttribute = 0x35,
        ObjectDestroyed = 0x36, ObjectNotFound = 0x37, NotAuthorized = 0x39,
        ServerLimitExceeded = 0x3A, UnknownEnumeration = 0x3B,
        UnknownMessageExtension = 0x3C, UnknownTag = 0x3D,
        UnsupportedCryptographicParameters = 0x3E,
        UnsupportedProtocolVersion = 0x3F, WrappingObjectArchived = 0x40,
        WrappingObjectDestroyed = 0x41, WrappingObjectNotFound = 0x42,
        WrongKeyLifecycleState = 0x43, ProtectionStorageUnavailable = 0x44,
        PKCS_11CodecError = 0x45, PKCS_11InvalidFunction = 0x46,
        PKCS_11InvalidInterface = 0x47,
        PrivateProtectionStorageUnavailable = 0x48,
        PublicProtectionStorageUnavailable = 0x49, UnknownObjectGroup = 0x4A,
        ConstraintViolation = 0x4B, DuplicateProcessRequest = 0x4C,
        GeneralFailure = 0x100,
    }
);

impl ResultReason {
    /// The reason as a client of `major` can read it: 1.x defines the
    /// values up to Object Already Exists (0x18) plus General Failure; the
    /// finer 2.x reasons fall back to the closest 1.x one.
    pub fn for_version(self, major: i32) -> Self {
        use ResultReason::*;
        if major >= 2 || self.value() <= 0x18 || self == GeneralFailure {
            return self;
        }
        match self {
            UnsupportedProtocolVersion
            | CodecError
            | InvalidDataType
            | UnknownTag
            | UnknownEnumeration
            | MissingInitializationVector => InvalidMessage,
            UnknownMessageExtension => FeatureNotSupported,
            AttributeNotFound | AttributeInstanceNotFound | ObjectNotFound | ObjectDestroyed => {
                ItemNotFound
            }
            ReadOnlyAttribute
            | AttributeReadOnly
            | AttributeSingleValued
            | MultiValuedAttribute
            | NonUniqueNameAttribute
            | InvalidAttribute
            | InvalidAttributeValue
            | UnsupportedAttribute
            | InvalidObjectType
            | IllegalObjectType
            | NumericRange => InvalidField,
            NotAuthorized | WrongKeyLifecycleState | UsageLimitExceeded => PermissionDenied,
            BadCryptographicParameters
            | UnsupportedCryptographicParameters
            | IncompatibleCryptographicUsageMask => CryptographicFailure,
            _ => GeneralFailure,
        }
    }
}

kmip_enum!(BatchErrorContinuationOption {
    Continue = 1,
    Stop = 2,
    Undo = 3,
});

kmip_enum!(QueryFunction {
    QueryOperations = 0x01, QueryObjects = 0x02, QueryServerInformation = 0x03,
    QueryApplicationNamespaces = 0x04, QueryExtensionList = 0x05,
    QueryExtensionMap = 0x06, QueryAttestationTypes = 0x07, QueryRNGs = 0x08,
    QueryValidations = 0x09, QueryProfiles = 0x0A, QueryCapabilities = 0x0B,
    QueryClientRegistrationMethods = 0x0C, QueryDefaultsInformation = 0x0D,
    QueryStorageProtectionMasks = 0x0E,
});

kmip_enum!(ObjectType {
    Certificate = 0x01, SymmetricKey = 0x02, PublicKey = 0x03, PrivateKey = 0x04,
    SplitKey = 0x05, Template = 0x06, SecretData = 0x07, OpaqueObject = 0x08,
    PGPKey = 0x09, CertificateRequest = 0x0A,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kmip::tag;
    use crate::ttlv::enums::{enum_for_tag, enum_value_name};

    fn check(tag: u32, pairs: impl Iterator<Item = (u32, &'static str)>) {
        let def = enum_for_tag(tag).expect("enumeration known to the codec");
        for (v, name) in pairs {
            assert_eq!(
                enum_value_name(def, v),
                Some(name),
                "{} value 0x{v:X}",
                def.name
            );
        }
    }

    #[test]
    fn values_match_the_codec_tables() {
        check(
            tag::OPERATION,
            Operation::ALL.iter().map(|o| (o.value(), o.name())),
        );
        check(
            tag::RESULT_STATUS,
            ResultStatus::ALL.iter().map(|o| (o.value(), o.name())),
        );
        check(
            tag::RESULT_REASON,
            ResultReason::ALL.iter().map(|o| (o.value(), o.name())),
        );
        check(
            tag::BATCH_ERROR_CONTINUATION_OPTION,
            BatchErrorContinuationOption::ALL
                .iter()
                .map(|o| (o.value(), o.name())),
        );
        check(
            tag::QUERY_FUNCTION,
            QueryFunction::ALL.iter().map(|o| (o.value(), o.name())),
        );
        check(
            tag::OBJECT_TYPE,
            ObjectType::ALL.iter().map(|o| (o.value(), o.name())),
        );
    }
}

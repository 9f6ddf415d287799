//! KMIP tag numbers and their XML/JSON names (KMIP 1.0 to 2.1).
//!
//! Data only. Names are the normalised CamelCase forms used by the KMIP XML
//! encoding and the OASIS test vectors. Canonical names follow KMIP 2.1; tags
//! that KMIP 2.x marks "(Reserved)" keep their last 1.x name and are flagged
//! `1.x` below. Extension tags (0x54xxxx) have no names here.

use std::collections::HashMap;
use std::sync::OnceLock;

/// (tag, name) for every KMIP 1.0-2.1 tag, sorted by tag, canonical (2.1) name.
pub(crate) static TAGS: &[(u32, &str)] = &[
    (0x420001, "ActivationDate"),
    (0x420002, "ApplicationData"),
    (0x420003, "ApplicationNamespace"),
    (0x420004, "ApplicationSpecificInformation"),
    (0x420005, "ArchiveDate"),
    (0x420006, "AsynchronousCorrelationValue"),
    (0x420007, "AsynchronousIndicator"),
    (0x420008, "Attribute"),
    (0x420009, "AttributeIndex"), // 1.x; reserved in 2.x
    (0x42000A, "AttributeName"),
    (0x42000B, "AttributeValue"),
    (0x42000C, "Authentication"),
    (0x42000D, "BatchCount"),
    (0x42000E, "BatchErrorContinuationOption"),
    (0x42000F, "BatchItem"),
    (0x420010, "BatchOrderOption"),
    (0x420011, "BlockCipherMode"),
    (0x420012, "CancellationResult"),
    (0x420013, "Certificate"),
    (0x420014, "CertificateIdentifier"), // 1.x; reserved in 2.x
    (0x420015, "CertificateIssuer"),     // 1.x; reserved in 2.x
    (0x420016, "CertificateIssuerAlternativeName"), // 1.x; reserved in 2.x
    (0x420017, "CertificateIssuerDistinguishedName"), // 1.x; reserved in 2.x
    (0x420018, "CertificateRequest"),
    (0x420019, "CertificateRequestType"),
    (0x42001A, "CertificateSubject"), // 1.x; reserved in 2.x
    (0x42001B, "CertificateSubjectAlternativeName"), // 1.x; reserved in 2.x
    (0x42001C, "CertificateSubjectDistinguishedName"), // 1.x; reserved in 2.x
    (0x42001D, "CertificateType"),
    (0x42001E, "CertificateValue"),
    (0x42001F, "CommonTemplateAttribute"), // 1.x; reserved in 2.x
    (0x420020, "CompromiseDate"),
    (0x420021, "CompromiseOccurrenceDate"),
    (0x420022, "ContactInformation"),
    (0x420023, "Credential"),
    (0x420024, "CredentialType"),
    (0x420025, "CredentialValue"),
    (0x420026, "CriticalityIndicator"),
    (0x420027, "CRTCoefficient"),
    (0x420028, "CryptographicAlgorithm"),
    (0x420029, "CryptographicDomainParameters"),
    (0x42002A, "CryptographicLength"),
    (0x42002B, "CryptographicParameters"),
    (0x42002C, "CryptographicUsageMask"),
    (0x42002D, "CustomAttribute"), // 1.x; reserved in 2.x
    (0x42002E, "D"),
    (0x42002F, "DeactivationDate"),
    (0x420030, "DerivationData"),
    (0x420031, "DerivationMethod"),
    (0x420032, "DerivationParameters"),
    (0x420033, "DestroyDate"),
    (0x420034, "Digest"),
    (0x420035, "DigestValue"),
    (0x420036, "EncryptionKeyInformation"),
    (0x420037, "G"),
    (0x420038, "HashingAlgorithm"),
    (0x420039, "InitialDate"),
    (0x42003A, "InitializationVector"),
    (0x42003B, "Issuer"), // 1.x; reserved in 2.x
    (0x42003C, "IterationCount"),
    (0x42003D, "IVCounterNonce"),
    (0x42003E, "J"),
    (0x42003F, "Key"),
    (0x420040, "KeyBlock"),
    (0x420041, "KeyCompressionType"),
    (0x420042, "KeyFormatType"),
    (0x420043, "KeyMaterial"),
    (0x420044, "KeyPartIdentifier"),
    (0x420045, "KeyValue"),
    (0x420046, "KeyWrappingData"),
    (0x420047, "KeyWrappingSpecification"),
    (0x420048, "LastChangeDate"),
    (0x420049, "LeaseTime"),
    (0x42004A, "Link"),
    (0x42004B, "LinkType"),
    (0x42004C, "LinkedObjectIdentifier"),
    (0x42004D, "MACSignature"),
    (0x42004E, "MACSignatureKeyInformation"),
    (0x42004F, "MaximumItems"),
    (0x420050, "MaximumResponseSize"),
    (0x420051, "MessageExtension"),
    (0x420052, "Modulus"),
    (0x420053, "Name"),
    (0x420054, "NameType"),
    (0x420055, "NameValue"),
    (0x420056, "ObjectGroup"),
    (0x420057, "ObjectType"),
    (0x420058, "Offset"),
    (0x420059, "OpaqueDataType"),
    (0x42005A, "OpaqueDataValue"),
    (0x42005B, "OpaqueObject"),
    (0x42005C, "Operation"),
    (0x42005D, "OperationPolicyName"), // 1.x; reserved in 2.x
    (0x42005E, "P"),
    (0x42005F, "PaddingMethod"),
    (0x420060, "PrimeExponentP"),
    (0x420061, "PrimeExponentQ"),
    (0x420062, "PrimeFieldSize"),
    (0x420063, "PrivateExponent"),
    (0x420064, "PrivateKey"),
    (0x420065, "PrivateKeyTemplateAttribute"), // 1.x; reserved in 2.x
    (0x420066, "PrivateKeyUniqueIdentifier"),
    (0x420067, "ProcessStartDate"),
    (0x420068, "ProtectStopDate"),
    (0x420069, "ProtocolVersion"),
    (0x42006A, "ProtocolVersionMajor"),
    (0x42006B, "ProtocolVersionMinor"),
    (0x42006C, "PublicExponent"),
    (0x42006D, "PublicKey"),
    (0x42006E, "PublicKeyTemplateAttribute"), // 1.x; reserved in 2.x
    (0x42006F, "PublicKeyUniqueIdentifier"),
    (0x420070, "PutFunction"),
    (0x420071, "Q"),
    (0x420072, "QString"),
    (0x420073, "Qlength"),
    (0x420074, "QueryFunction"),
    (0x420075, "RecommendedCurve"),
    (0x420076, "ReplacedUniqueIdentifier"),
    (0x420077, "RequestHeader"),
    (0x420078, "RequestMessage"),
    (0x420079, "RequestPayload"),
    (0x42007A, "ResponseHeader"),
    (0x42007B, "ResponseMessage"),
    (0x42007C, "ResponsePayload"),
    (0x42007D, "ResultMessage"),
    (0x42007E, "ResultReason"),
    (0x42007F, "ResultStatus"),
    (0x420080, "RevocationMessage"),
    (0x420081, "RevocationReason"),
    (0x420082, "RevocationReasonCode"),
    (0x420083, "KeyRoleType"),
    (0x420084, "Salt"),
    (0x420085, "SecretData"),
    (0x420086, "SecretDataType"),
    (0x420087, "SerialNumber"), // 1.x; reserved in 2.x
    (0x420088, "ServerInformation"),
    (0x420089, "SplitKey"),
    (0x42008A, "SplitKeyMethod"),
    (0x42008B, "SplitKeyParts"),
    (0x42008C, "SplitKeyThreshold"),
    (0x42008D, "State"),
    (0x42008E, "StorageStatusMask"),
    (0x42008F, "SymmetricKey"),
    (0x420090, "Template"),          // 1.x; reserved in 2.x
    (0x420091, "TemplateAttribute"), // 1.x; reserved in 2.x
    (0x420092, "TimeStamp"),
    (0x420093, "UniqueBatchItemID"),
    (0x420094, "UniqueIdentifier"),
    (0x420095, "UsageLimits"),
    (0x420096, "UsageLimitsCount"),
    (0x420097, "UsageLimitsTotal"),
    (0x420098, "UsageLimitsUnit"),
    (0x420099, "Username"),
    (0x42009A, "ValidityDate"),
    (0x42009B, "ValidityIndicator"),
    (0x42009C, "VendorExtension"),
    (0x42009D, "VendorIdentification"),
    (0x42009E, "WrappingMethod"),
    (0x42009F, "X"),
    (0x4200A0, "Y"),
    (0x4200A1, "Password"),
    (0x4200A2, "DeviceIdentifier"),
    (0x4200A3, "EncodingOption"),
    (0x4200A4, "ExtensionInformation"),
    (0x4200A5, "ExtensionName"),
    (0x4200A6, "ExtensionTag"),
    (0x4200A7, "ExtensionType"),
    (0x4200A8, "Fresh"),
    (0x4200A9, "MachineIdentifier"),
    (0x4200AA, "MediaIdentifier"),
    (0x4200AB, "NetworkIdentifier"),
    (0x4200AC, "ObjectGroupMember"),
    (0x4200AD, "CertificateLength"),
    (0x4200AE, "DigitalSignatureAlgorithm"),
    (0x4200AF, "CertificateSerialNumber"),
    (0x4200B0, "DeviceSerialNumber"),
    (0x4200B1, "IssuerAlternativeName"),
    (0x4200B2, "IssuerDistinguishedName"),
    (0x4200B3, "SubjectAlternativeName"),
    (0x4200B4, "SubjectDistinguishedName"),
    (0x4200B5, "X_509CertificateIdentifier"),
    (0x4200B6, "X_509CertificateIssuer"),
    (0x4200B7, "X_509CertificateSubject"),
    (0x4200B8, "KeyValueLocation"),
    (0x4200B9, "KeyValueLocationValue"),
    (0x4200BA, "KeyValueLocationType"),
    (0x4200BB, "KeyValuePresent"),
    (0x4200BC, "OriginalCreationDate"),
    (0x4200BD, "PGPKey"),
    (0x4200BE, "PGPKeyVersion"),
    (0x4200BF, "AlternativeName"),
    (0x4200C0, "AlternativeNameValue"),
    (0x4200C1, "AlternativeNameType"),
    (0x4200C2, "Data"),
    (0x4200C3, "SignatureData"),
    (0x4200C4, "DataLength"),
    (0x4200C5, "RandomIV"),
    (0x4200C6, "MACData"),
    (0x4200C7, "AttestationType"),
    (0x4200C8, "Nonce"),
    (0x4200C9, "NonceID"),
    (0x4200CA, "NonceValue"),
    (0x4200CB, "AttestationMeasurement"),
    (0x4200CC, "AttestationAssertion"),
    (0x4200CD, "IVLength"),
    (0x4200CE, "TagLength"),
    (0x4200CF, "FixedFieldLength"),
    (0x4200D0, "CounterLength"),
    (0x4200D1, "InitialCounterValue"),
    (0x4200D2, "InvocationFieldLength"),
    (0x4200D3, "AttestationCapableIndicator"),
    (0x4200D4, "OffsetItems"),
    (0x4200D5, "LocatedItems"),
    (0x4200D6, "CorrelationValue"),
    (0x4200D7, "InitIndicator"),
    (0x4200D8, "FinalIndicator"),
    (0x4200D9, "RNGParameters"),
    (0x4200DA, "RNGAlgorithm"),
    (0x4200DB, "DRBGAlgorithm"),
    (0x4200DC, "FIPS186Variation"),
    (0x4200DD, "PredictionResistance"),
    (0x4200DE, "RandomNumberGenerator"),
    (0x4200DF, "ValidationInformation"),
    (0x4200E0, "ValidationAuthorityType"),
    (0x4200E1, "ValidationAuthorityCountry"),
    (0x4200E2, "ValidationAuthorityURI"),
    (0x4200E3, "ValidationVersionMajor"),
    (0x4200E4, "ValidationVersionMinor"),
    (0x4200E5, "ValidationType"),
    (0x4200E6, "ValidationLevel"),
    (0x4200E7, "ValidationCertificateIdentifier"),
    (0x4200E8, "ValidationCertificateURI"),
    (0x4200E9, "ValidationVendorURI"),
    (0x4200EA, "ValidationProfile"),
    (0x4200EB, "ProfileInformation"),
    (0x4200EC, "ProfileName"),
    (0x4200ED, "ServerURI"),
    (0x4200EE, "ServerPort"),
    (0x4200EF, "StreamingCapability"),
    (0x4200F0, "AsynchronousCapability"),
    (0x4200F1, "AttestationCapability"),
    (0x4200F2, "UnwrapMode"),
    (0x4200F3, "DestroyAction"),
    (0x4200F4, "ShreddingAlgorithm"),
    (0x4200F5, "RNGMode"),
    (0x4200F6, "ClientRegistrationMethod"),
    (0x4200F7, "CapabilityInformation"),
    (0x4200F8, "KeyWrapType"),
    (0x4200F9, "BatchUndoCapability"),
    (0x4200FA, "BatchContinueCapability"),
    (0x4200FB, "PKCS_12FriendlyName"),
    (0x4200FC, "Description"),
    (0x4200FD, "Comment"),
    (0x4200FE, "AuthenticatedEncryptionAdditionalData"),
    (0x4200FF, "AuthenticatedEncryptionTag"),
    (0x420100, "SaltLength"),
    (0x420101, "MaskGenerator"),
    (0x420102, "MaskGeneratorHashingAlgorithm"),
    (0x420103, "PSource"),
    (0x420104, "TrailerField"),
    (0x420105, "ClientCorrelationValue"),
    (0x420106, "ServerCorrelationValue"),
    (0x420107, "DigestedData"),
    (0x420108, "CertificateSubjectCN"),
    (0x420109, "CertificateSubjectO"),
    (0x42010A, "CertificateSubjectOU"),
    (0x42010B, "CertificateSubjectEmail"),
    (0x42010C, "CertificateSubjectC"),
    (0x42010D, "CertificateSubjectST"),
    (0x42010E, "CertificateSubjectL"),
    (0x42010F, "CertificateSubjectUID"),
    (0x420110, "CertificateSubjectSerialNumber"),
    (0x420111, "CertificateSubjectTitle"),
    (0x420112, "CertificateSubjectDC"),
    (0x420113, "CertificateSubjectDNQualifier"),
    (0x420114, "CertificateIssuerCN"),
    (0x420115, "CertificateIssuerO"),
    (0x420116, "CertificateIssuerOU"),
    (0x420117, "CertificateIssuerEmail"),
    (0x420118, "CertificateIssuerC"),
    (0x420119, "CertificateIssuerST"),
    (0x42011A, "CertificateIssuerL"),
    (0x42011B, "CertificateIssuerUID"),
    (0x42011C, "CertificateIssuerSerialNumber"),
    (0x42011D, "CertificateIssuerTitle"),
    (0x42011E, "CertificateIssuerDC"),
    (0x42011F, "CertificateIssuerDNQualifier"),
    (0x420120, "Sensitive"),
    (0x420121, "AlwaysSensitive"),
    (0x420122, "Extractable"),
    (0x420123, "NeverExtractable"),
    (0x420124, "ReplaceExisting"),
    (0x420125, "Attributes"),                         // 2.0
    (0x420126, "CommonAttributes"),                   // 2.0
    (0x420127, "PrivateKeyAttributes"),               // 2.0
    (0x420128, "PublicKeyAttributes"),                // 2.0
    (0x420129, "ExtensionEnumeration"),               // 2.0
    (0x42012A, "ExtensionAttribute"),                 // 2.0
    (0x42012B, "ExtensionParentStructureTag"),        // 2.0
    (0x42012C, "ExtensionDescription"),               // 2.0
    (0x42012D, "ServerName"),                         // 2.0
    (0x42012E, "ServerSerialNumber"),                 // 2.0
    (0x42012F, "ServerVersion"),                      // 2.0
    (0x420130, "ServerLoad"),                         // 2.0
    (0x420131, "ProductName"),                        // 2.0
    (0x420132, "BuildLevel"),                         // 2.0
    (0x420133, "BuildDate"),                          // 2.0
    (0x420134, "ClusterInfo"),                        // 2.0
    (0x420135, "AlternateFailoverEndpoints"),         // 2.0
    (0x420136, "ShortUniqueIdentifier"),              // 2.0
    (0x420138, "Tag"),                                // 2.0
    (0x420139, "CertificateRequestUniqueIdentifier"), // 2.0
    (0x42013A, "NISTKeyType"),                        // 2.0
    (0x42013B, "AttributeReference"),                 // 2.0
    (0x42013C, "CurrentAttribute"),                   // 2.0
    (0x42013D, "NewAttribute"),                       // 2.0
    (0x420140, "CertificateRequestValue"),            // 2.0
    (0x420141, "LogMessage"),                         // 2.0
    (0x420142, "ProfileVersion"),                     // 2.0
    (0x420143, "ProfileVersionMajor"),                // 2.0
    (0x420144, "ProfileVersionMinor"),                // 2.0
    (0x420145, "ProtectionLevel"),                    // 2.0
    (0x420146, "ProtectionPeriod"),                   // 2.0
    (0x420147, "QuantumSafe"),                        // 2.0
    (0x420148, "QuantumSafeCapability"),              // 2.0
    (0x420149, "Ticket"),                             // 2.0
    (0x42014A, "TicketType"),                         // 2.0
    (0x42014B, "TicketValue"),                        // 2.0
    (0x42014C, "RequestCount"),                       // 2.0
    (0x42014D, "Rights"),                             // 2.0
    (0x42014E, "Objects"),                            // 2.0
    (0x42014F, "Operations"),                         // 2.0
    (0x420150, "Right"),                              // 2.0
    (0x420151, "EndpointRole"),                       // 2.0
    (0x420152, "DefaultsInformation"),                // 2.0
    (0x420153, "ObjectDefaults"),                     // 2.0
    (0x420154, "Ephemeral"),                          // 2.0
    (0x420155, "ServerHashedPassword"),               // 2.0
    (0x420156, "OneTimePassword"),                    // 2.0
    (0x420157, "HashedPassword"),                     // 2.0
    (0x420158, "AdjustmentType"),                     // 2.0
    (0x420159, "PKCS_11Interface"),                   // 2.0
    (0x42015A, "PKCS_11Function"),                    // 2.0
    (0x42015B, "PKCS_11InputParameters"),             // 2.0
    (0x42015C, "PKCS_11OutputParameters"),            // 2.0
    (0x42015D, "PKCS_11ReturnCode"),                  // 2.0
    (0x42015E, "ProtectionStorageMask"),              // 2.0
    (0x42015F, "ProtectionStorageMasks"),             // 2.0
    (0x420160, "InteropFunction"),                    // 2.0
    (0x420161, "InteropIdentifier"),                  // 2.0
    (0x420162, "AdjustmentValue"),                    // 2.0
    (0x420163, "CommonProtectionStorageMasks"),       // 2.0
    (0x420164, "PrivateProtectionStorageMasks"),      // 2.0
    (0x420165, "PublicProtectionStorageMasks"),       // 2.0
    (0x420166, "ObjectGroups"),                       // 2.1
    (0x420167, "ObjectTypes"),                        // 2.1
    (0x420168, "Constraints"),                        // 2.1
    (0x420169, "Constraint"),                         // 2.1
    (0x42016A, "RotateInterval"),                     // 2.1
    (0x42016B, "RotateAutomatic"),                    // 2.1
    (0x42016C, "RotateOffset"),                       // 2.1
    (0x42016D, "RotateDate"),                         // 2.1
    (0x42016E, "RotateGeneration"),                   // 2.1
    (0x42016F, "RotateName"),                         // 2.1
    (0x420170, "RotateNameValue"),                    // 2.1
    (0x420171, "RotateNameType"),                     // 2.1
    (0x420172, "RotateLatest"),                       // 2.1
    (0x420173, "AsynchronousRequest"),                // 2.1
    (0x420174, "SubmissionDate"),                     // 2.1
    (0x420175, "ProcessingStage"),                    // 2.1
    (0x420176, "AsynchronousCorrelationValues"),      // 2.1
];

/// Older or alternative spellings seen in 1.x vectors/specs -> tag (may be empty).
pub(crate) static TAG_ALIASES: &[(&str, u32)] = &[];

/// Name of a KMIP tag, or `None` for an unknown/extension tag.
pub(crate) fn tag_name(tag: u32) -> Option<&'static str> {
    let i = TAGS.binary_search_by_key(&tag, |&(t, _)| t).ok()?;
    TAGS.get(i).map(|&(_, name)| name)
}

fn name_index() -> &'static HashMap<&'static str, u32> {
    static INDEX: OnceLock<HashMap<&'static str, u32>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut m = HashMap::with_capacity(TAGS.len() + TAG_ALIASES.len());
        for &(tag, name) in TAGS {
            m.insert(name, tag);
        }
        for &(name, tag) in TAG_ALIASES {
            m.entry(name).or_insert(tag);
        }
        m
    })
}

/// Tag for a CamelCase tag name (canonical or alias), e.g. `"UniqueIdentifier"`.
pub(crate) fn tag_by_name(name: &str) -> Option<u32> {
    name_index().get(name).copied()
}

/// Tag for a spec-style attribute name as carried in a 1.x `AttributeName`
/// text string, e.g. `"Cryptographic Usage Mask"` or `"X.509 Certificate Issuer"`.
/// Tries the text as given, then its normalised CamelCase form. Custom
/// attributes (`x-...`, `y-...`) have no tag and give `None`.
pub(crate) fn tag_by_attribute_name(name: &str) -> Option<u32> {
    tag_by_name(name).or_else(|| tag_by_name(&normalize_name(name)))
}

/// KMIP XML/JSON name normalisation: brackets become spaces; a punctuation
/// character followed by a letter and then a lower-case letter becomes a
/// space, any other punctuation becomes `_`; leading digits of the first word
/// move to its end; each word is capitalised and the words are joined.
/// E.g. `"Pre-Active"` -> `"PreActive"`, `"PKCS#11 Function"` ->
/// `"PKCS_11Function"`, `"3DES"` -> `"DES3"`.
pub(crate) fn normalize_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut spaced = String::with_capacity(name.len());
    for (i, &c) in chars.iter().enumerate() {
        let mapped = if c == '(' || c == ')' || c.is_whitespace() {
            ' '
        } else if c.is_alphanumeric() || c == '_' {
            c
        } else {
            let next = chars.get(i + 1).copied();
            let after = chars.get(i + 2).copied();
            match (next, after) {
                (Some(n), Some(a)) if n.is_alphabetic() && a.is_lowercase() => ' ',
                _ => '_',
            }
        };
        spaced.push(mapped);
    }
    let mut out = String::with_capacity(spaced.len());
    for (i, word) in spaced.split_whitespace().enumerate() {
        let reordered;
        let word = if i == 0 && word.starts_with(|c: char| c.is_ascii_digit()) {
            let split = word
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(word.len());
            let (digits, rest) = word.split_at(split);
            reordered = format!("{rest}{digits}");
            reordered.as_str()
        } else {
            word
        };
        let mut cs = word.chars();
        if let Some(first) = cs.next() {
            out.extend(first.to_uppercase());
            out.push_str(cs.as_str());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_sorted_unique_and_round_trip() {
        for pair in TAGS.windows(2) {
            assert!(
                pair[0].0 < pair[1].0,
                "TAGS not sorted at {:#08X}",
                pair[1].0
            );
        }
        for &(tag, name) in TAGS {
            assert_eq!(tag_by_name(name), Some(tag), "{name}");
            assert_eq!(tag_name(tag), Some(name));
        }
        for &(alias, tag) in TAG_ALIASES {
            assert!(tag_name(tag).is_some(), "alias {alias} -> unknown tag");
            assert_eq!(tag_by_name(alias), Some(tag), "alias {alias} shadowed");
        }
    }

    #[test]
    fn well_known_tags() {
        assert_eq!(tag_by_name("ProtocolVersionMajor"), Some(0x42006A));
        assert_eq!(tag_by_name("UniqueIdentifier"), Some(0x420094));
        assert_eq!(tag_by_name("RequestMessage"), Some(0x420078));
        assert_eq!(tag_by_name("AttributeReference"), Some(0x42013B));
        assert_eq!(tag_name(0x42005C), Some("Operation"));
        assert_eq!(tag_name(0x540001), None);
        assert_eq!(tag_by_name("NoSuchTag"), None);
    }

    #[test]
    fn attribute_names_normalise() {
        assert_eq!(normalize_name("Pre-Active"), "PreActive");
        assert_eq!(normalize_name("PKCS#11 Function"), "PKCS_11Function");
        assert_eq!(normalize_name("3DES"), "DES3");
        assert_eq!(
            normalize_name("Encrypt then MAC/sign"),
            "EncryptThenMACSign"
        );
        assert_eq!(
            normalize_name("Polynomial Sharing GF (2^8)"),
            "PolynomialSharingGF2_8"
        );
        assert_eq!(
            tag_by_attribute_name("Cryptographic Usage Mask"),
            Some(0x42002C)
        );
        assert_eq!(
            tag_by_attribute_name("X.509 Certificate Issuer"),
            Some(0x4200B6)
        );
        assert_eq!(tag_by_attribute_name("x-custom"), None);
    }
}

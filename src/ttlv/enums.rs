//! KMIP enumerations and bit masks (KMIP 1.0 to 2.1), keyed by tag.
//!
//! Data only. Value names are the normalised CamelCase forms used by the KMIP
//! XML encoding and the OASIS test vectors; canonical names follow KMIP 2.1,
//! except where the vectors use another spelling (then the 2.1 spelling is an
//! alias). Values of 1.x/2.0 that KMIP 2.1 dropped or marks "(Reserved)" are
//! kept and flagged `not in 2.1`. Extension values (0x8XXXXXXX) have no entries.
//! Tag 0x42013B `AttributeReference` holds a tag number, see `super::tags`.

/// One KMIP enumeration: its name and its (value, name) pairs sorted by value.
pub(crate) struct EnumDef {
    pub(crate) name: &'static str,
    pub(crate) values: &'static [(u32, &'static str)],
}

pub(crate) static ADJUSTMENT_TYPE: EnumDef = EnumDef {
    name: "AdjustmentType",
    values: &[
        (0x00000001, "Increment"),
        (0x00000002, "Decrement"),
        (0x00000003, "Negate"),
    ],
};

pub(crate) static ALTERNATIVE_NAME_TYPE: EnumDef = EnumDef {
    name: "AlternativeNameType",
    values: &[
        (0x00000001, "UninterpretedTextString"),
        (0x00000002, "URI"),
        (0x00000003, "ObjectSerialNumber"),
        (0x00000004, "EmailAddress"),
        (0x00000005, "DNSName"),
        (0x00000006, "X_500DistinguishedName"),
        (0x00000007, "IPAddress"),
    ],
};

pub(crate) static ASYNCHRONOUS_INDICATOR: EnumDef = EnumDef {
    name: "AsynchronousIndicator",
    values: &[
        (0x00000001, "Mandatory"),
        (0x00000002, "Optional"),
        (0x00000003, "Prohibited"),
    ],
};

pub(crate) static ATTESTATION_TYPE: EnumDef = EnumDef {
    name: "AttestationType",
    values: &[
        (0x00000001, "TPMQuote"),
        (0x00000002, "TCGIntegrityReport"),
        (0x00000003, "SAMLAssertion"),
    ],
};

pub(crate) static BATCH_ERROR_CONTINUATION_OPTION: EnumDef = EnumDef {
    name: "BatchErrorContinuationOption",
    values: &[
        (0x00000001, "Continue"),
        (0x00000002, "Stop"),
        (0x00000003, "Undo"),
    ],
};

pub(crate) static BLOCK_CIPHER_MODE: EnumDef = EnumDef {
    name: "BlockCipherMode",
    values: &[
        (0x00000001, "CBC"),
        (0x00000002, "ECB"),
        (0x00000003, "PCBC"),
        (0x00000004, "CFB"),
        (0x00000005, "OFB"),
        (0x00000006, "CTR"),
        (0x00000007, "CMAC"),
        (0x00000008, "CCM"),
        (0x00000009, "GCM"),
        (0x0000000A, "CBC_MAC"),
        (0x0000000B, "XTS"),
        (0x0000000C, "AESKeyWrapPadding"),
        (0x0000000D, "NISTKeyWrap"),
        (0x0000000E, "X9_102AESKW"),
        (0x0000000F, "X9_102TDKW"),
        (0x00000010, "X9_102AKW1"),
        (0x00000011, "X9_102AKW2"),
        (0x00000012, "AEAD"),
    ],
};

pub(crate) static CANCELLATION_RESULT: EnumDef = EnumDef {
    name: "CancellationResult",
    values: &[
        (0x00000001, "Canceled"),
        (0x00000002, "UnableToCancel"),
        (0x00000003, "Completed"),
        (0x00000004, "Failed"),
        (0x00000005, "Unavailable"),
    ],
};

pub(crate) static CERTIFICATE_REQUEST_TYPE: EnumDef = EnumDef {
    name: "CertificateRequestType",
    values: &[
        (0x00000001, "CRMF"),
        (0x00000002, "PKCS_10"),
        (0x00000003, "PEM"),
        (0x00000004, "PGP"), // not in 2.1
    ],
};

pub(crate) static CERTIFICATE_TYPE: EnumDef = EnumDef {
    name: "CertificateType",
    values: &[(0x00000001, "X_509"), (0x00000002, "PGP")],
};

pub(crate) static CLIENT_REGISTRATION_METHOD: EnumDef = EnumDef {
    name: "ClientRegistrationMethod",
    values: &[
        (0x00000001, "Unspecified"),
        (0x00000002, "ServerPreGenerated"),
        (0x00000003, "ServerOnDemand"),
        (0x00000004, "ClientGenerated"),
        (0x00000005, "ClientRegistered"),
    ],
};

pub(crate) static CREDENTIAL_TYPE: EnumDef = EnumDef {
    name: "CredentialType",
    values: &[
        (0x00000001, "UsernameAndPassword"),
        (0x00000002, "Device"),
        (0x00000003, "Attestation"),
        (0x00000004, "OneTimePassword"),
        (0x00000005, "HashedPassword"),
        (0x00000006, "Ticket"),
    ],
};

pub(crate) static CRYPTOGRAPHIC_ALGORITHM: EnumDef = EnumDef {
    name: "CryptographicAlgorithm",
    values: &[
        (0x00000001, "DES"),
        (0x00000002, "DES3"),
        (0x00000003, "AES"),
        (0x00000004, "RSA"),
        (0x00000005, "DSA"),
        (0x00000006, "ECDSA"),
        (0x00000007, "HMAC_SHA1"),
        (0x00000008, "HMAC_SHA224"),
        (0x00000009, "HMAC_SHA256"),
        (0x0000000A, "HMAC_SHA384"),
        (0x0000000B, "HMAC_SHA512"),
        (0x0000000C, "HMAC_MD5"),
        (0x0000000D, "DH"),
        (0x0000000E, "ECDH"),
        (0x0000000F, "ECMQV"),
        (0x00000010, "Blowfish"),
        (0x00000011, "Camellia"),
        (0x00000012, "CAST5"),
        (0x00000013, "IDEA"),
        (0x00000014, "MARS"),
        (0x00000015, "RC2"),
        (0x00000016, "RC4"),
        (0x00000017, "RC5"),
        (0x00000018, "SKIPJACK"),
        (0x00000019, "Twofish"),
        (0x0000001A, "EC"),
        (0x0000001B, "OneTimePad"),
        (0x0000001C, "ChaCha20"),
        (0x0000001D, "Poly1305"),
        (0x0000001E, "ChaCha20Poly1305"),
        (0x0000001F, "SHA3_224"),
        (0x00000020, "SHA3_256"),
        (0x00000021, "SHA3_384"),
        (0x00000022, "SHA3_512"),
        (0x00000023, "HMAC_SHA3_224"),
        (0x00000024, "HMAC_SHA3_256"),
        (0x00000025, "HMAC_SHA3_384"),
        (0x00000026, "HMAC_SHA3_512"),
        (0x00000027, "SHAKE_128"),
        (0x00000028, "SHAKE_256"),
        (0x00000029, "ARIA"),
        (0x0000002A, "SEED"),
        (0x0000002B, "SM2"),
        (0x0000002C, "SM3"),
        (0x0000002D, "SM4"),
        (0x0000002E, "GOSTR34_10_2012"),
        (0x0000002F, "GOSTR34_11_2012"),
        (0x00000030, "GOSTR34_13_2015"),
        (0x00000031, "GOST28147_89"),
        (0x00000032, "XMSS"),
        (0x00000033, "SPHINCS_256"),
        (0x00000034, "McEliece"),
        (0x00000035, "McEliece_6960119"),
        (0x00000036, "McEliece_8192128"),
        (0x00000037, "Ed25519"),
        (0x00000038, "Ed448"),
    ],
};

pub(crate) static DRBG_ALGORITHM: EnumDef = EnumDef {
    name: "DRBGAlgorithm",
    values: &[
        (0x00000001, "Unspecified"),
        (0x00000002, "Dual_EC"),
        (0x00000003, "Hash"),
        (0x00000004, "HMAC"),
        (0x00000005, "CTR"),
    ],
};

pub(crate) static DATA: EnumDef = EnumDef {
    name: "Data",
    values: &[
        (0x00000001, "Decrypt"),
        (0x00000002, "Encrypt"),
        (0x00000003, "Hash"),
        (0x00000004, "MACMACData"),
        (0x00000005, "RNGRetrieve"),
        (0x00000006, "SignSignatureData"),
        (0x00000007, "SignatureVerify"),
    ],
};

pub(crate) static DERIVATION_METHOD: EnumDef = EnumDef {
    name: "DerivationMethod",
    values: &[
        (0x00000001, "PBKDF2"),
        (0x00000002, "HASH"),
        (0x00000003, "HMAC"),
        (0x00000004, "ENCRYPT"),
        (0x00000005, "NIST800_108_C"),
        (0x00000006, "NIST800_108_F"),
        (0x00000007, "NIST800_108_DPI"),
        (0x00000008, "AsymmetricKey"),
        (0x00000009, "AWSSignatureVersion4"),
        (0x0000000A, "HKDF"),
    ],
};

pub(crate) static DESTROY_ACTION: EnumDef = EnumDef {
    name: "DestroyAction",
    values: &[
        (0x00000001, "Unspecified"),
        (0x00000002, "KeyMaterialDeleted"),
        (0x00000003, "KeyMaterialShredded"),
        (0x00000004, "MetaDataDeleted"),
        (0x00000005, "MetaDataShredded"),
        (0x00000006, "Deleted"),
        (0x00000007, "Shredded"),
    ],
};

pub(crate) static DIGITAL_SIGNATURE_ALGORITHM: EnumDef = EnumDef {
    name: "DigitalSignatureAlgorithm",
    values: &[
        (0x00000001, "MD2WithRSAEncryption"),
        (0x00000002, "MD5WithRSAEncryption"),
        (0x00000003, "SHA_1WithRSAEncryption"),
        (0x00000004, "SHA_224WithRSAEncryption"),
        (0x00000005, "SHA_256WithRSAEncryption"),
        (0x00000006, "SHA_384WithRSAEncryption"),
        (0x00000007, "SHA_512WithRSAEncryption"),
        (0x00000008, "RSASSA_PSS"),
        (0x00000009, "DSAWithSHA_1"),
        (0x0000000A, "DSAWithSHA224"),
        (0x0000000B, "DSAWithSHA256"),
        (0x0000000C, "ECDSAWithSHA_1"),
        (0x0000000D, "ECDSAWithSHA224"),
        (0x0000000E, "ECDSAWithSHA256"),
        (0x0000000F, "ECDSAWithSHA384"),
        (0x00000010, "ECDSAWithSHA512"),
        (0x00000011, "SHA3_256WithRSAEncryption"),
        (0x00000012, "SHA3_384WithRSAEncryption"),
        (0x00000013, "SHA3_512WithRSAEncryption"),
    ],
};

pub(crate) static ENCODING_OPTION: EnumDef = EnumDef {
    name: "EncodingOption",
    values: &[(0x00000001, "NoEncoding"), (0x00000002, "TTLVEncoding")],
};

pub(crate) static ENDPOINT_ROLE: EnumDef = EnumDef {
    name: "EndpointRole",
    values: &[(0x00000001, "Client"), (0x00000002, "Server")],
};

pub(crate) static FIPS186_VARIATION: EnumDef = EnumDef {
    name: "FIPS186Variation",
    values: &[
        (0x00000001, "Unspecified"),
        (0x00000002, "GPXOriginal"),
        (0x00000003, "GPXChangeNotice"),
        (0x00000004, "XOriginal"),
        (0x00000005, "XChangeNotice"),
        (0x00000006, "KOriginal"),
        (0x00000007, "KChangeNotice"),
    ],
};

pub(crate) static HASHING_ALGORITHM: EnumDef = EnumDef {
    name: "HashingAlgorithm",
    values: &[
        (0x00000001, "MD2"),
        (0x00000002, "MD4"),
        (0x00000003, "MD5"),
        (0x00000004, "SHA_1"),
        (0x00000005, "SHA_224"),
        (0x00000006, "SHA_256"),
        (0x00000007, "SHA_384"),
        (0x00000008, "SHA_512"),
        (0x00000009, "RIPEMD_160"),
        (0x0000000A, "Tiger"),
        (0x0000000B, "Whirlpool"),
        (0x0000000C, "SHA_512_224"),
        (0x0000000D, "SHA_512_256"),
        (0x0000000E, "SHA3_224"),
        (0x0000000F, "SHA3_256"),
        (0x00000010, "SHA3_384"),
        (0x00000011, "SHA3_512"),
    ],
};

pub(crate) static INTEROP_FUNCTION: EnumDef = EnumDef {
    name: "InteropFunction",
    values: &[
        (0x00000001, "Begin"),
        (0x00000002, "End"),
        (0x00000003, "Reset"),
    ],
};

pub(crate) static ITEM_TYPE: EnumDef = EnumDef {
    name: "ItemType",
    values: &[
        (0x00000001, "Structure"),
        (0x00000002, "Integer"),
        (0x00000003, "LongInteger"),
        (0x00000004, "BigInteger"),
        (0x00000005, "Enumeration"),
        (0x00000006, "Boolean"),
        (0x00000007, "TextString"),
        (0x00000008, "ByteString"),
        (0x00000009, "DateTime"),
        (0x0000000A, "Interval"),
        (0x0000000B, "DateTimeExtended"),
    ],
};

pub(crate) static KEY_COMPRESSION_TYPE: EnumDef = EnumDef {
    name: "KeyCompressionType",
    values: &[
        (0x00000001, "ECPublicKeyTypeUncompressed"),
        (0x00000002, "ECPublicKeyTypeX9_62CompressedPrime"),
        (0x00000003, "ECPublicKeyTypeX9_62CompressedChar2"),
        (0x00000004, "ECPublicKeyTypeX9_62Hybrid"),
    ],
};

pub(crate) static KEY_FORMAT_TYPE: EnumDef = EnumDef {
    name: "KeyFormatType",
    values: &[
        (0x00000001, "Raw"),
        (0x00000002, "Opaque"),
        (0x00000003, "PKCS_1"),
        (0x00000004, "PKCS_8"),
        (0x00000005, "X_509"),
        (0x00000006, "ECPrivateKey"),
        (0x00000007, "TransparentSymmetricKey"),
        (0x00000008, "TransparentDSAPrivateKey"),
        (0x00000009, "TransparentDSAPublicKey"),
        (0x0000000A, "TransparentRSAPrivateKey"),
        (0x0000000B, "TransparentRSAPublicKey"),
        (0x0000000C, "TransparentDHPrivateKey"),
        (0x0000000D, "TransparentDHPublicKey"),
        (0x0000000E, "TransparentECDSAPrivateKey"), // not in 2.1
        (0x0000000F, "TransparentECDSAPublicKey"),  // not in 2.1
        (0x00000010, "TransparentECDHPrivateKey"),  // not in 2.1
        (0x00000011, "TransparentECDHPublicKey"),   // not in 2.1
        (0x00000012, "TransparentECMQVPrivateKey"), // not in 2.1
        (0x00000013, "TransparentECMQVPublicKey"),  // not in 2.1
        (0x00000014, "TransparentECPrivateKey"),
        (0x00000015, "TransparentECPublicKey"),
        (0x00000016, "PKCS_12"),
        (0x00000017, "PKCS_10"),
    ],
};

pub(crate) static KEY_ROLE_TYPE: EnumDef = EnumDef {
    name: "KeyRoleType",
    values: &[
        (0x00000001, "BDK"),
        (0x00000002, "CVK"),
        (0x00000003, "DEK"),
        (0x00000004, "MKAC"),
        (0x00000005, "MKSMC"),
        (0x00000006, "MKSMI"),
        (0x00000007, "MKDAC"),
        (0x00000008, "MKDN"),
        (0x00000009, "MKCP"),
        (0x0000000A, "MKOTH"),
        (0x0000000B, "KEK"),
        (0x0000000C, "MAC16609"),
        (0x0000000D, "MAC97971"),
        (0x0000000E, "MAC97972"),
        (0x0000000F, "MAC97973"),
        (0x00000010, "MAC97974"),
        (0x00000011, "MAC97975"),
        (0x00000012, "ZPK"),
        (0x00000013, "PVKIBM"),
        (0x00000014, "PVKPVV"),
        (0x00000015, "PVKOTH"),
        (0x00000016, "DUKPT"),
        (0x00000017, "IV"),
        (0x00000018, "TRKBK"),
    ],
};

pub(crate) static KEY_VALUE_LOCATION_TYPE: EnumDef = EnumDef {
    name: "KeyValueLocationType",
    values: &[(0x00000001, "UninterpretedTextString"), (0x00000002, "URI")],
};

pub(crate) static KEY_WRAP_TYPE: EnumDef = EnumDef {
    name: "KeyWrapType",
    values: &[(0x00000001, "NotWrapped"), (0x00000002, "AsRegistered")],
};

pub(crate) static LINK_TYPE: EnumDef = EnumDef {
    name: "LinkType",
    values: &[
        (0x00000101, "CertificateLink"),
        (0x00000102, "PublicKeyLink"),
        (0x00000103, "PrivateKeyLink"),
        (0x00000104, "DerivationBaseObjectLink"),
        (0x00000105, "DerivedKeyLink"),
        (0x00000106, "ReplacementObjectLink"),
        (0x00000107, "ReplacedObjectLink"),
        (0x00000108, "ParentLink"),
        (0x00000109, "ChildLink"),
        (0x0000010A, "PreviousLink"),
        (0x0000010B, "NextLink"),
        (0x0000010C, "PKCS_12CertificateLink"),
        (0x0000010D, "PKCS_12PasswordLink"),
        (0x0000010E, "WrappingKeyLink"),
    ],
};

pub(crate) static MASK_GENERATOR: EnumDef = EnumDef {
    name: "MaskGenerator",
    values: &[(0x00000001, "MGF1")],
};

pub(crate) static NIST_KEY_TYPE: EnumDef = EnumDef {
    name: "NISTKeyType",
    values: &[
        (0x00000001, "PrivateSignatureKey"),
        (0x00000002, "PublicSignatureVerificationKey"),
        (0x00000003, "SymmetricAuthenticationKey"),
        (0x00000004, "PrivateAuthenticationKey"),
        (0x00000005, "PublicAuthenticationKey"),
        (0x00000006, "SymmetricDataEncryptionKey"),
        (0x00000007, "SymmetricKeyWrappingKey"),
        (0x00000008, "SymmetricRandomNumberGenerationKey"),
        (0x00000009, "SymmetricMasterKey"),
        (0x0000000A, "PrivateKeyTransportKey"),
        (0x0000000B, "PublicKeyTransportKey"),
        (0x0000000C, "SymmetricKeyAgreementKey"),
        (0x0000000D, "PrivateStaticKeyAgreementKey"),
        (0x0000000E, "PublicStaticKeyAgreementKey"),
        (0x0000000F, "PrivateEphemeralKeyAgreementKey"),
        (0x00000010, "PublicEphemeralKeyAgreementKey"),
        (0x00000011, "SymmetricAuthorizationKey"),
        (0x00000012, "PrivateAuthorizationKey"),
        (0x00000013, "PublicAuthorizationKey"),
    ],
};

pub(crate) static NAME_TYPE: EnumDef = EnumDef {
    name: "NameType",
    values: &[(0x00000001, "UninterpretedTextString"), (0x00000002, "URI")],
};

pub(crate) static OBJECT_GROUP_MEMBER: EnumDef = EnumDef {
    name: "ObjectGroupMember",
    values: &[
        (0x00000001, "GroupMemberFresh"),
        (0x00000002, "GroupMemberDefault"),
    ],
};

pub(crate) static OBJECT_TYPE: EnumDef = EnumDef {
    name: "ObjectType",
    values: &[
        (0x00000001, "Certificate"),
        (0x00000002, "SymmetricKey"),
        (0x00000003, "PublicKey"),
        (0x00000004, "PrivateKey"),
        (0x00000005, "SplitKey"),
        (0x00000006, "Template"), // not in 2.1
        (0x00000007, "SecretData"),
        (0x00000008, "OpaqueObject"),
        (0x00000009, "PGPKey"),
        (0x0000000A, "CertificateRequest"),
    ],
};

pub(crate) static OPAQUE_DATA_TYPE: EnumDef = EnumDef {
    name: "OpaqueDataType",
    values: &[],
};

pub(crate) static OPERATION: EnumDef = EnumDef {
    name: "Operation",
    values: &[
        (0x00000001, "Create"),
        (0x00000002, "CreateKeyPair"),
        (0x00000003, "Register"),
        (0x00000004, "ReKey"),
        (0x00000005, "DeriveKey"),
        (0x00000006, "Certify"),
        (0x00000007, "ReCertify"),
        (0x00000008, "Locate"),
        (0x00000009, "Check"),
        (0x0000000A, "Get"),
        (0x0000000B, "GetAttributes"),
        (0x0000000C, "GetAttributeList"),
        (0x0000000D, "AddAttribute"),
        (0x0000000E, "ModifyAttribute"),
        (0x0000000F, "DeleteAttribute"),
        (0x00000010, "ObtainLease"),
        (0x00000011, "GetUsageAllocation"),
        (0x00000012, "Activate"),
        (0x00000013, "Revoke"),
        (0x00000014, "Destroy"),
        (0x00000015, "Archive"),
        (0x00000016, "Recover"),
        (0x00000017, "Validate"),
        (0x00000018, "Query"),
        (0x00000019, "Cancel"),
        (0x0000001A, "Poll"),
        (0x0000001B, "Notify"),
        (0x0000001C, "Put"),
        (0x0000001D, "ReKeyKeyPair"),
        (0x0000001E, "DiscoverVersions"),
        (0x0000001F, "Encrypt"),
        (0x00000020, "Decrypt"),
        (0x00000021, "Sign"),
        (0x00000022, "SignatureVerify"),
        (0x00000023, "MAC"),
        (0x00000024, "MACVerify"),
        (0x00000025, "RNGRetrieve"),
        (0x00000026, "RNGSeed"),
        (0x00000027, "Hash"),
        (0x00000028, "CreateSplitKey"),
        (0x00000029, "JoinSplitKey"),
        (0x0000002A, "Import"),
        (0x0000002B, "Export"),
        (0x0000002C, "Log"),
        (0x0000002D, "Login"),
        (0x0000002E, "Logout"),
        (0x0000002F, "DelegatedLogin"),
        (0x00000030, "AdjustAttribute"),
        (0x00000031, "SetAttribute"),
        (0x00000032, "SetEndpointRole"),
        (0x00000033, "PKCS_11"),
        (0x00000034, "Interop"),
        (0x00000035, "ReProvision"),
        (0x00000036, "SetDefaults"),
        (0x00000037, "SetConstraints"),
        (0x00000038, "GetConstraints"),
        (0x00000039, "QueryAsynchronousRequests"),
        (0x0000003A, "Process"),
        (0x0000003B, "Ping"),
    ],
};

pub(crate) static PKCS_11_FUNCTION: EnumDef = EnumDef {
    name: "PKCS_11Function",
    values: &[
        (0x00000001, "C_Initialize"),
        (0x00000002, "C_Finalize"),
        (0x00000003, "C_GetInfo"),
        (0x00000004, "C_GetFunctionList"),
        (0x00000005, "C_GetSlotList"),
        (0x00000006, "C_GetSlotInfo"),
        (0x00000007, "C_GetTokenInfo"),
        (0x00000008, "C_GetMechanismList"),
        (0x00000009, "C_GetMechanismInfo"),
        (0x0000000A, "C_InitToken"),
        (0x0000000B, "C_InitPIN"),
        (0x0000000C, "C_SetPIN"),
        (0x0000000D, "C_OpenSession"),
        (0x0000000E, "C_CloseSession"),
        (0x0000000F, "C_CloseAllSessions"),
        (0x00000010, "C_GetSessionInfo"),
        (0x00000011, "C_GetOperationState"),
        (0x00000012, "C_SetOperationState"),
        (0x00000013, "C_Login"),
        (0x00000014, "C_Logout"),
        (0x00000015, "C_CreateObject"),
        (0x00000016, "C_CopyObject"),
        (0x00000017, "C_DestroyObject"),
        (0x00000018, "C_GetObjectSize"),
        (0x00000019, "C_GetAttributeValue"),
        (0x0000001A, "C_SetAttributeValue"),
        (0x0000001B, "C_FindObjectsInit"),
        (0x0000001C, "C_FindObjects"),
        (0x0000001D, "C_FindObjectsFinal"),
        (0x0000001E, "C_EncryptInit"),
        (0x0000001F, "C_Encrypt"),
        (0x00000020, "C_EncryptUpdate"),
        (0x00000021, "C_EncryptFinal"),
        (0x00000022, "C_DecryptInit"),
        (0x00000023, "C_Decrypt"),
        (0x00000024, "C_DecryptUpdate"),
        (0x00000025, "C_DecryptFinal"),
        (0x00000026, "C_DigestInit"),
        (0x00000027, "C_Digest"),
        (0x00000028, "C_DigestUpdate"),
        (0x00000029, "C_DigestKey"),
        (0x0000002A, "C_DigestFinal"),
        (0x0000002B, "C_SignInit"),
        (0x0000002C, "C_Sign"),
        (0x0000002D, "C_SignUpdate"),
        (0x0000002E, "C_SignFinal"),
        (0x0000002F, "C_SignRecoverInit"),
        (0x00000030, "C_SignRecover"),
        (0x00000031, "C_VerifyInit"),
        (0x00000032, "C_Verify"),
        (0x00000033, "C_VerifyUpdate"),
        (0x00000034, "C_VerifyFinal"),
        (0x00000035, "C_VerifyRecoverInit"),
        (0x00000036, "C_VerifyRecover"),
        (0x00000037, "C_DigestEncryptUpdate"),
        (0x00000038, "C_DecryptDigestUpdate"),
        (0x00000039, "C_SignEncryptUpdate"),
        (0x0000003A, "C_DecryptVerifyUpdate"),
        (0x0000003B, "C_GenerateKey"),
        (0x0000003C, "C_GenerateKeyPair"),
        (0x0000003D, "C_WrapKey"),
        (0x0000003E, "C_UnwrapKey"),
        (0x0000003F, "C_DeriveKey"),
        (0x00000040, "C_SeedRandom"),
        (0x00000041, "C_GenerateRandom"),
        (0x00000042, "C_GetFunctionStatus"),
        (0x00000043, "C_CancelFunction"),
        (0x00000044, "C_WaitForSlotEvent"),
        (0x00000045, "C_GetInterfaceList"),
        (0x00000046, "C_GetInterface"),
        (0x00000047, "C_LoginUser"),
        (0x00000048, "C_SessionCancel"),
        (0x00000049, "C_MessageEncryptInit"),
        (0x0000004A, "C_EncryptMessage"),
        (0x0000004B, "C_EncryptMessageBegin"),
        (0x0000004C, "C_EncryptMessageNext"),
        (0x0000004D, "C_MessageEncryptFinal"),
        (0x0000004E, "C_MessageDecryptInit"),
        (0x0000004F, "C_DecryptMessage"),
        (0x00000050, "C_DecryptMessageBegin"),
        (0x00000051, "C_DecryptMessageNext"),
        (0x00000052, "C_MessageDecryptFinal"),
        (0x00000053, "C_MessageSignInit"),
        (0x00000054, "C_SignMessage"),
        (0x00000055, "C_SignMessageBegin"),
        (0x00000056, "C_SignMessageNext"),
        (0x00000057, "C_MessageSignFinal"),
        (0x00000058, "C_MessageVerifyInit"),
        (0x00000059, "C_VerifyMessage"),
        (0x0000005A, "C_VerifyMessageBegin"),
        (0x0000005B, "C_VerifyMessageNext"),
        (0x0000005C, "C_MessageVerifyFinal"),
    ],
};

pub(crate) static PKCS_11_RETURN_CODE: EnumDef = EnumDef {
    name: "PKCS_11ReturnCode",
    values: &[
        (0x00000000, "OK"),
        (0x00000001, "CANCEL"),
        (0x00000002, "HOST_MEMORY"),
        (0x00000003, "SLOT_ID_INVALID"),
        (0x00000005, "GENERAL_ERROR"),
        (0x00000006, "FUNCTION_FAILED"),
        (0x00000007, "ARGUMENTS_BAD"),
        (0x00000008, "NO_EVENT"),
        (0x00000009, "NEED_TO_CREATE_THREADS"),
        (0x0000000A, "CANT_LOCK"),
        (0x00000010, "ATTRIBUTE_READ_ONLY"),
        (0x00000011, "ATTRIBUTE_SENSITIVE"),
        (0x00000012, "ATTRIBUTE_TYPE_INVALID"),
        (0x00000013, "ATTRIBUTE_VALUE_INVALID"),
        (0x0000001B, "ACTION_PROHIBITED"),
        (0x00000020, "DATA_INVALID"),
        (0x00000021, "DATA_LEN_RANGE"),
        (0x00000030, "DEVICE_ERROR"),
        (0x00000031, "DEVICE_MEMORY"),
        (0x00000032, "DEVICE_REMOVED"),
        (0x00000040, "ENCRYPTED_DATA_INVALID"),
        (0x00000041, "ENCRYPTED_DATA_LEN_RANGE"),
        (0x00000050, "FUNCTION_CANCELED"),
        (0x00000051, "FUNCTION_NOT_PARALLEL"),
        (0x00000054, "FUNCTION_NOT_SUPPORTED"),
        (0x00000060, "KEY_HANDLE_INVALID"),
        (0x00000062, "KEY_SIZE_RANGE"),
        (0x00000063, "KEY_TYPE_INCONSISTENT"),
        (0x00000064, "KEY_NOT_NEEDED"),
        (0x00000065, "KEY_CHANGED"),
        (0x00000066, "KEY_NEEDED"),
        (0x00000067, "KEY_INDIGESTIBLE"),
        (0x00000068, "KEY_FUNCTION_NOT_PERMITTED"),
        (0x00000069, "KEY_NOT_WRAPPABLE"),
        (0x0000006A, "KEY_UNEXTRACTABLE"),
        (0x00000070, "MECHANISM_INVALID"),
        (0x00000071, "MECHANISM_PARAM_INVALID"),
        (0x00000082, "OBJECT_HANDLE_INVALID"),
        (0x00000090, "OPERATION_ACTIVE"),
        (0x00000091, "OPERATION_NOT_INITIALIZED"),
        (0x000000A0, "PIN_INCORRECT"),
        (0x000000A1, "PIN_INVALID"),
        (0x000000A2, "PIN_LEN_RANGE"),
        (0x000000A3, "PIN_EXPIRED"),
        (0x000000A4, "PIN_LOCKED"),
        (0x000000B0, "SESSION_CLOSED"),
        (0x000000B1, "SESSION_COUNT"),
        (0x000000B3, "SESSION_HANDLE_INVALID"),
        (0x000000B4, "SESSION_PARALLEL_NOT_SUPPORTED"),
        (0x000000B5, "SESSION_READ_ONLY"),
        (0x000000B6, "SESSION_EXISTS"),
        (0x000000B7, "SESSION_READ_ONLY_EXISTS"),
        (0x000000B8, "SESSION_READ_WRITE_SO_EXISTS"),
        (0x000000C0, "SIGNATURE_INVALID"),
        (0x000000C1, "SIGNATURE_LEN_RANGE"),
        (0x000000D0, "TEMPLATE_INCOMPLETE"),
        (0x000000D1, "TEMPLATE_INCONSISTENT"),
        (0x000000E0, "TOKEN_NOT_PRESENT"),
        (0x000000E1, "TOKEN_NOT_RECOGNIZED"),
        (0x000000E2, "TOKEN_WRITE_PROTECTED"),
        (0x000000F0, "UNWRAPPING_KEY_HANDLE_INVALID"),
        (0x000000F1, "UNWRAPPING_KEY_SIZE_RANGE"),
        (0x000000F2, "UNWRAPPING_KEY_TYPE_INCONSISTENT"),
        (0x00000100, "USER_ALREADY_LOGGED_IN"),
        (0x00000101, "USER_NOT_LOGGED_IN"),
        (0x00000102, "USER_PIN_NOT_INITIALIZED"),
        (0x00000103, "USER_TYPE_INVALID"),
        (0x00000104, "USER_ANOTHER_ALREADY_LOGGED_IN"),
        (0x00000105, "USER_TOO_MANY_TYPES"),
        (0x00000110, "WRAPPED_KEY_INVALID"),
        (0x00000112, "WRAPPED_KEY_LEN_RANGE"),
        (0x00000113, "WRAPPING_KEY_HANDLE_INVALID"),
        (0x00000114, "WRAPPING_KEY_SIZE_RANGE"),
        (0x00000115, "WRAPPING_KEY_TYPE_INCONSISTENT"),
        (0x00000120, "RANDOM_SEED_NOT_SUPPORTED"),
        (0x00000121, "RANDOM_NO_RNG"),
        (0x00000130, "DOMAIN_PARAMS_INVALID"),
        (0x00000140, "CURVE_NOT_SUPPORTED"),
        (0x00000150, "BUFFER_TOO_SMALL"),
        (0x00000160, "SAVED_STATE_INVALID"),
        (0x00000170, "INFORMATION_SENSITIVE"),
        (0x00000180, "STATE_UNSAVEABLE"),
        (0x00000190, "CRYPTOKI_NOT_INITIALIZED"),
        (0x00000191, "CRYPTOKI_ALREADY_INITIALIZED"),
        (0x000001A0, "MUTEX_BAD"),
        (0x000001A1, "MUTEX_NOT_LOCKED"),
        (0x000001B0, "NEW_PIN_MODE"),
        (0x000001B1, "NEXT_OTP"),
        (0x000001B5, "EXCEEDED_MAX_ITERATIONS"),
        (0x000001B6, "FIPS_SELF_TEST_FAILED"),
        (0x000001B7, "LIBRARY_LOAD_FAILED"),
        (0x000001B8, "PIN_TOO_WEAK"),
        (0x000001B9, "PUBLIC_KEY_INVALID"),
        (0x00000200, "FUNCTION_REJECTED"),
        (0x00000201, "TOKEN_RESOURCE_EXCEEDED"),
        (0x00000202, "OPERATION_CANCEL_FAILED"),
    ],
};

pub(crate) static PADDING_METHOD: EnumDef = EnumDef {
    name: "PaddingMethod",
    values: &[
        (0x00000001, "None"),
        (0x00000002, "OAEP"),
        (0x00000003, "PKCS5"),
        (0x00000004, "SSL3"),
        (0x00000005, "Zeros"),
        (0x00000006, "ANSIX9_23"),
        (0x00000007, "ISO10126"),
        (0x00000008, "PKCS1V1_5"),
        (0x00000009, "X9_31"),
        (0x0000000A, "PSS"),
    ],
};

pub(crate) static PROCESSING_STAGE: EnumDef = EnumDef {
    name: "ProcessingStage",
    values: &[
        (0x00000001, "Submitted"),
        (0x00000002, "InProcess"),
        (0x00000003, "Completed"),
    ],
};

pub(crate) static PROFILE_NAME: EnumDef = EnumDef {
    name: "ProfileName",
    values: &[
        (0x00000001, "BaselineServerBasicKMIPV1_2"), // not in 2.1
        (0x00000002, "BaselineServerTLSV1_2KMIPV1_2"), // not in 2.1
        (0x00000003, "BaselineClientBasicKMIPV1_2"), // not in 2.1
        (0x00000004, "BaselineClientTLSV1_2KMIPV1_2"), // not in 2.1
        (0x00000005, "CompleteServerBasicKMIPV1_2"), // not in 2.1
        (0x00000006, "CompleteServerTLSV1_2KMIPV1_2"), // not in 2.1
        (0x00000007, "TapeLibraryClientKMIPV1_0"),   // not in 2.1
        (0x00000008, "TapeLibraryClientKMIPV1_1"),   // not in 2.1
        (0x00000009, "TapeLibraryClientKMIPV1_2"),   // not in 2.1
        (0x0000000A, "TapeLibraryServerKMIPV1_0"),   // not in 2.1
        (0x0000000B, "TapeLibraryServerKMIPV1_1"),   // not in 2.1
        (0x0000000C, "TapeLibraryServerKMIPV1_2"),   // not in 2.1
        (0x0000000D, "SymmetricKeyLifecycleClientKMIPV1_0"), // not in 2.1
        (0x0000000E, "SymmetricKeyLifecycleClientKMIPV1_1"), // not in 2.1
        (0x0000000F, "SymmetricKeyLifecycleClientKMIPV1_2"), // not in 2.1
        (0x00000010, "SymmetricKeyLifecycleServerKMIPV1_0"), // not in 2.1
        (0x00000011, "SymmetricKeyLifecycleServerKMIPV1_1"), // not in 2.1
        (0x00000012, "SymmetricKeyLifecycleServerKMIPV1_2"), // not in 2.1
        (0x00000013, "AsymmetricKeyLifecycleClientKMIPV1_0"), // not in 2.1
        (0x00000014, "AsymmetricKeyLifecycleClientKMIPV1_1"), // not in 2.1
        (0x00000015, "AsymmetricKeyLifecycleClientKMIPV1_2"), // not in 2.1
        (0x00000016, "AsymmetricKeyLifecycleServerKMIPV1_0"), // not in 2.1
        (0x00000017, "AsymmetricKeyLifecycleServerKMIPV1_1"), // not in 2.1
        (0x00000018, "AsymmetricKeyLifecycleServerKMIPV1_2"), // not in 2.1
        (0x00000019, "BasicCryptographicClientKMIPV1_2"), // not in 2.1
        (0x0000001A, "BasicCryptographicServerKMIPV1_2"), // not in 2.1
        (0x0000001B, "AdvancedCryptographicClientKMIPV1_2"), // not in 2.1
        (0x0000001C, "AdvancedCryptographicServerKMIPV1_2"), // not in 2.1
        (0x0000001D, "RNGCryptographicClientKMIPV1_2"), // not in 2.1
        (0x0000001E, "RNGCryptographicServerKMIPV1_2"), // not in 2.1
        (0x0000001F, "BasicSymmetricKeyFoundryClientKMIPV1_0"), // not in 2.1
        (0x00000020, "IntermediateSymmetricKeyFoundryClientKMIPV1_0"), // not in 2.1
        (0x00000021, "AdvancedSymmetricKeyFoundryClientKMIPV1_0"), // not in 2.1
        (0x00000022, "BasicSymmetricKeyFoundryClientKMIPV1_1"), // not in 2.1
        (0x00000023, "IntermediateSymmetricKeyFoundryClientKMIPV1_1"), // not in 2.1
        (0x00000024, "AdvancedSymmetricKeyFoundryClientKMIPV1_1"), // not in 2.1
        (0x00000025, "BasicSymmetricKeyFoundryClientKMIPV1_2"), // not in 2.1
        (0x00000026, "IntermediateSymmetricKeyFoundryClientKMIPV1_2"), // not in 2.1
        (0x00000027, "AdvancedSymmetricKeyFoundryClientKMIPV1_2"), // not in 2.1
        (0x00000028, "SymmetricKeyFoundryServerKMIPV1_0"), // not in 2.1
        (0x00000029, "SymmetricKeyFoundryServerKMIPV1_1"), // not in 2.1
        (0x0000002A, "SymmetricKeyFoundryServerKMIPV1_2"), // not in 2.1
        (0x0000002B, "OpaqueManagedObjectStoreClientKMIPV1_0"), // not in 2.1
        (0x0000002C, "OpaqueManagedObjectStoreClientKMIPV1_1"), // not in 2.1
        (0x0000002D, "OpaqueManagedObjectStoreClientKMIPV1_2"), // not in 2.1
        (0x0000002E, "OpaqueManagedObjectStoreServerKMIPV1_0"), // not in 2.1
        (0x0000002F, "OpaqueManagedObjectStoreServerKMIPV1_1"), // not in 2.1
        (0x00000030, "OpaqueManagedObjectStoreServerKMIPV1_2"), // not in 2.1
        (0x00000031, "SuiteBMinLOS_128ClientKMIPV1_0"), // not in 2.1
        (0x00000032, "SuiteBMinLOS_128ClientKMIPV1_1"), // not in 2.1
        (0x00000033, "SuiteBMinLOS_128ClientKMIPV1_2"), // not in 2.1
        (0x00000034, "SuiteBMinLOS_128ServerKMIPV1_0"), // not in 2.1
        (0x00000035, "SuiteBMinLOS_128ServerKMIPV1_1"), // not in 2.1
        (0x00000036, "SuiteBMinLOS_128ServerKMIPV1_2"), // not in 2.1
        (0x00000037, "SuiteBMinLOS_192ClientKMIPV1_0"), // not in 2.1
        (0x00000038, "SuiteBMinLOS_192ClientKMIPV1_1"), // not in 2.1
        (0x00000039, "SuiteBMinLOS_192ClientKMIPV1_2"), // not in 2.1
        (0x0000003A, "SuiteBMinLOS_192ServerKMIPV1_0"), // not in 2.1
        (0x0000003B, "SuiteBMinLOS_192ServerKMIPV1_1"), // not in 2.1
        (0x0000003C, "SuiteBMinLOS_192ServerKMIPV1_2"), // not in 2.1
        (
            0x0000003D,
            "StorageArrayWithSelfEncryptingDriveClientKMIPV1_0",
        ), // not in 2.1
        (
            0x0000003E,
            "StorageArrayWithSelfEncryptingDriveClientKMIPV1_1",
        ), // not in 2.1
        (
            0x0000003F,
            "StorageArrayWithSelfEncryptingDriveClientKMIPV1_2",
        ), // not in 2.1
        (
            0x00000040,
            "StorageArrayWithSelfEncryptingDriveServerKMIPV1_0",
        ), // not in 2.1
        (
            0x00000041,
            "StorageArrayWithSelfEncryptingDriveServerKMIPV1_1",
        ), // not in 2.1
        (
            0x00000042,
            "StorageArrayWithSelfEncryptingDriveServerKMIPV1_2",
        ), // not in 2.1
        (0x00000043, "HTTPSClientKMIPV1_0"),         // not in 2.1
        (0x00000044, "HTTPSClientKMIPV1_1"),         // not in 2.1
        (0x00000045, "HTTPSClientKMIPV1_2"),         // not in 2.1
        (0x00000046, "HTTPSServerKMIPV1_0"),         // not in 2.1
        (0x00000047, "HTTPSServerKMIPV1_1"),         // not in 2.1
        (0x00000048, "HTTPSServerKMIPV1_2"),         // not in 2.1
        (0x00000049, "JSONClientKMIPV1_0"),          // not in 2.1
        (0x0000004A, "JSONClientKMIPV1_1"),          // not in 2.1
        (0x0000004B, "JSONClientKMIPV1_2"),          // not in 2.1
        (0x0000004C, "JSONServerKMIPV1_0"),          // not in 2.1
        (0x0000004D, "JSONServerKMIPV1_1"),          // not in 2.1
        (0x0000004E, "JSONServerKMIPV1_2"),          // not in 2.1
        (0x0000004F, "XMLClientKMIPV1_0"),           // not in 2.1
        (0x00000050, "XMLClientKMIPV1_1"),           // not in 2.1
        (0x00000051, "XMLClientKMIPV1_2"),           // not in 2.1
        (0x00000052, "XMLServerKMIPV1_0"),           // not in 2.1
        (0x00000053, "XMLServerKMIPV1_1"),           // not in 2.1
        (0x00000054, "XMLServerKMIPV1_2"),           // not in 2.1
        (0x00000055, "BaselineServerBasicKMIPV1_3"), // not in 2.1
        (0x00000056, "BaselineServerTLSV1_2KMIPV1_3"), // not in 2.1
        (0x00000057, "BaselineClientBasicKMIPV1_3"), // not in 2.1
        (0x00000058, "BaselineClientTLSV1_2KMIPV1_3"), // not in 2.1
        (0x00000059, "CompleteServerBasicKMIPV1_3"), // not in 2.1
        (0x0000005A, "CompleteServerTLSV1_2KMIPV1_3"), // not in 2.1
        (0x0000005B, "TapeLibraryClientKMIPV1_3"),   // not in 2.1
        (0x0000005C, "TapeLibraryServerKMIPV1_3"),   // not in 2.1
        (0x0000005D, "SymmetricKeyLifecycleClientKMIPV1_3"), // not in 2.1
        (0x0000005E, "SymmetricKeyLifecycleServerKMIPV1_3"), // not in 2.1
        (0x0000005F, "AsymmetricKeyLifecycleClientKMIPV1_3"), // not in 2.1
        (0x00000060, "AsymmetricKeyLifecycleServerKMIPV1_3"), // not in 2.1
        (0x00000061, "BasicCryptographicClientKMIPV1_3"), // not in 2.1
        (0x00000062, "BasicCryptographicServerKMIPV1_3"), // not in 2.1
        (0x00000063, "AdvancedCryptographicClientKMIPV1_3"), // not in 2.1
        (0x00000064, "AdvancedCryptographicServerKMIPV1_3"), // not in 2.1
        (0x00000065, "RNGCryptographicClientKMIPV1_3"), // not in 2.1
        (0x00000066, "RNGCryptographicServerKMIPV1_3"), // not in 2.1
        (0x00000067, "BasicSymmetricKeyFoundryClientKMIPV1_3"), // not in 2.1
        (0x00000068, "IntermediateSymmetricKeyFoundryClientKMIPV1_3"), // not in 2.1
        (0x00000069, "AdvancedSymmetricKeyFoundryClientKMIPV1_3"), // not in 2.1
        (0x0000006A, "SymmetricKeyFoundryServerKMIPV1_3"), // not in 2.1
        (0x0000006B, "OpaqueManagedObjectStoreClientKMIPV1_3"), // not in 2.1
        (0x0000006C, "OpaqueManagedObjectStoreServerKMIPV1_3"), // not in 2.1
        (0x0000006D, "SuiteBMinLOS_128ClientKMIPV1_3"), // not in 2.1
        (0x0000006E, "SuiteBMinLOS_128ServerKMIPV1_3"), // not in 2.1
        (0x0000006F, "SuiteBMinLOS_192ClientKMIPV1_3"), // not in 2.1
        (0x00000070, "SuiteBMinLOS_192ServerKMIPV1_3"), // not in 2.1
        (
            0x00000071,
            "StorageArrayWithSelfEncryptingDriveClientKMIPV1_3",
        ), // not in 2.1
        (
            0x00000072,
            "StorageArrayWithSelfEncryptingDriveServerKMIPV1_3",
        ), // not in 2.1
        (0x00000073, "HTTPSClientKMIPV1_3"),         // not in 2.1
        (0x00000074, "HTTPSServerKMIPV1_3"),         // not in 2.1
        (0x00000075, "JSONClientKMIPV1_3"),          // not in 2.1
        (0x00000076, "JSONServerKMIPV1_3"),          // not in 2.1
        (0x00000077, "XMLClientKMIPV1_3"),           // not in 2.1
        (0x00000078, "XMLServerKMIPV1_3"),           // not in 2.1
        (0x00000079, "BaselineServerBasicKMIPV1_4"), // not in 2.1
        (0x0000007A, "BaselineServerTLSV1_2KMIPV1_4"), // not in 2.1
        (0x0000007B, "BaselineClientBasicKMIPV1_4"), // not in 2.1
        (0x0000007C, "BaselineClientTLSV1_2KMIPV1_4"), // not in 2.1
        (0x0000007D, "CompleteServerBasicKMIPV1_4"), // not in 2.1
        (0x0000007E, "CompleteServerTLSV1_2KMIPV1_4"), // not in 2.1
        (0x0000007F, "TapeLibraryClientKMIPV1_4"),   // not in 2.1
        (0x00000080, "TapeLibraryServerKMIPV1_4"),   // not in 2.1
        (0x00000081, "SymmetricKeyLifecycleClientKMIPV1_4"), // not in 2.1
        (0x00000082, "SymmetricKeyLifecycleServerKMIPV1_4"), // not in 2.1
        (0x00000083, "AsymmetricKeyLifecycleClientKMIPV1_4"), // not in 2.1
        (0x00000084, "AsymmetricKeyLifecycleServerKMIPV1_4"), // not in 2.1
        (0x00000085, "BasicCryptographicClientKMIPV1_4"), // not in 2.1
        (0x00000086, "BasicCryptographicServerKMIPV1_4"), // not in 2.1
        (0x00000087, "AdvancedCryptographicClientKMIPV1_4"), // not in 2.1
        (0x00000088, "AdvancedCryptographicServerKMIPV1_4"), // not in 2.1
        (0x00000089, "RNGCryptographicClientKMIPV1_4"), // not in 2.1
        (0x0000008A, "RNGCryptographicServerKMIPV1_4"), // not in 2.1
        (0x0000008B, "BasicSymmetricKeyFoundryClientKMIPV1_4"), // not in 2.1
        (0x0000008C, "IntermediateSymmetricKeyFoundryClientKMIPV1_4"), // not in 2.1
        (0x0000008D, "AdvancedSymmetricKeyFoundryClientKMIPV1_4"), // not in 2.1
        (0x0000008E, "SymmetricKeyFoundryServerKMIPV1_4"), // not in 2.1
        (0x0000008F, "OpaqueManagedObjectStoreClientKMIPV1_4"), // not in 2.1
        (0x00000090, "OpaqueManagedObjectStoreServerKMIPV1_4"), // not in 2.1
        (0x00000091, "SuiteBMinLOS_128ClientKMIPV1_4"), // not in 2.1
        (0x00000092, "SuiteBMinLOS_128ServerKMIPV1_4"), // not in 2.1
        (0x00000093, "SuiteBMinLOS_192ClientKMIPV1_4"), // not in 2.1
        (0x00000094, "SuiteBMinLOS_192ServerKMIPV1_4"), // not in 2.1
        (
            0x00000095,
            "StorageArrayWithSelfEncryptingDriveClientKMIPV1_4",
        ), // not in 2.1
        (
            0x00000096,
            "StorageArrayWithSelfEncryptingDriveServerKMIPV1_4",
        ), // not in 2.1
        (0x00000097, "HTTPSClientKMIPV1_4"),         // not in 2.1
        (0x00000098, "HTTPSServerKMIPV1_4"),         // not in 2.1
        (0x00000099, "JSONClientKMIPV1_4"),          // not in 2.1
        (0x0000009A, "JSONServerKMIPV1_4"),          // not in 2.1
        (0x0000009B, "XMLClientKMIPV1_4"),           // not in 2.1
        (0x0000009C, "XMLServerKMIPV1_4"),           // not in 2.1
        (0x00000104, "CompleteServerBasic"),
        (0x00000105, "CompleteServerTLSV1_2"),
        (0x00000106, "TapeLibraryClient"),
        (0x00000107, "TapeLibraryServer"),
        (0x00000108, "SymmetricKeyLifecycleClient"),
        (0x00000109, "SymmetricKeyLifecycleServer"),
        (0x0000010A, "AsymmetricKeyLifecycleClient"),
        (0x0000010B, "AsymmetricKeyLifecycleServer"),
        (0x0000010C, "BasicCryptographicClient"),
        (0x0000010D, "BasicCryptographicServer"),
        (0x0000010E, "AdvancedCryptographicClient"),
        (0x0000010F, "AdvancedCryptographicServer"),
        (0x00000110, "RNGCryptographicClient"),
        (0x00000111, "RNGCryptographicServer"),
        (0x00000112, "BasicSymmetricKeyFoundryClient"),
        (0x00000113, "IntermediateSymmetricKeyFoundryClient"),
        (0x00000114, "AdvancedSymmetricKeyFoundryClient"),
        (0x00000115, "SymmetricKeyFoundryServer"),
        (0x00000116, "OpaqueManagedObjectStoreClient"),
        (0x00000117, "OpaqueManagedObjectStoreServer"),
        (0x00000118, "SuiteBMinLOS_128Client"), // not in 2.1
        (0x00000119, "SuiteBMinLOS_128Server"), // not in 2.1
        (0x0000011A, "SuiteBMinLOS_192Client"), // not in 2.1
        (0x0000011B, "SuiteBMinLOS_192Server"), // not in 2.1
        (0x0000011C, "StorageArrayWithSelfEncryptingDriveClient"),
        (0x0000011D, "StorageArrayWithSelfEncryptingDriveServer"),
        (0x0000011E, "HTTPSClient"),
        (0x0000011F, "HTTPSServer"),
        (0x00000120, "JSONClient"),
        (0x00000121, "JSONServer"),
        (0x00000122, "XMLClient"),
        (0x00000123, "XMLServer"),
        (0x00000124, "AESXTSClient"),
        (0x00000125, "AESXTSServer"),
        (0x00000126, "QuantumSafeClient"),
        (0x00000127, "QuantumSafeServer"),
        (0x00000128, "PKCS_11Client"),
        (0x00000129, "PKCS_11Server"),
        (0x0000012A, "BaselineClient"),
        (0x0000012B, "BaselineServer"),
        (0x0000012C, "CompleteServer"),
    ],
};

pub(crate) static PROTECTION_LEVEL: EnumDef = EnumDef {
    name: "ProtectionLevel",
    values: &[(0x00000001, "High"), (0x00000002, "Low")],
};

pub(crate) static PUT_FUNCTION: EnumDef = EnumDef {
    name: "PutFunction",
    values: &[(0x00000001, "New"), (0x00000002, "Replace")],
};

pub(crate) static QUERY_FUNCTION: EnumDef = EnumDef {
    name: "QueryFunction",
    values: &[
        (0x00000001, "QueryOperations"),
        (0x00000002, "QueryObjects"),
        (0x00000003, "QueryServerInformation"),
        (0x00000004, "QueryApplicationNamespaces"),
        (0x00000005, "QueryExtensionList"),
        (0x00000006, "QueryExtensionMap"),
        (0x00000007, "QueryAttestationTypes"),
        (0x00000008, "QueryRNGs"),
        (0x00000009, "QueryValidations"),
        (0x0000000A, "QueryProfiles"),
        (0x0000000B, "QueryCapabilities"),
        (0x0000000C, "QueryClientRegistrationMethods"),
        (0x0000000D, "QueryDefaultsInformation"),
        (0x0000000E, "QueryStorageProtectionMasks"),
    ],
};

pub(crate) static RNG_ALGORITHM: EnumDef = EnumDef {
    name: "RNGAlgorithm",
    values: &[
        (0x00000001, "Unspecified"),
        (0x00000002, "FIPS186_2"),
        (0x00000003, "DRBG"),
        (0x00000004, "NRBG"),
        (0x00000005, "ANSIX9_31"),
        (0x00000006, "ANSIX9_62"),
    ],
};

pub(crate) static RNG_MODE: EnumDef = EnumDef {
    name: "RNGMode",
    values: &[
        (0x00000001, "Unspecified"),
        (0x00000002, "SharedInstantiation"),
        (0x00000003, "NonSharedInstantiation"),
    ],
};

pub(crate) static RECOMMENDED_CURVE: EnumDef = EnumDef {
    name: "RecommendedCurve",
    values: &[
        (0x00000001, "P_192"),
        (0x00000002, "K_163"),
        (0x00000003, "B_163"),
        (0x00000004, "P_224"),
        (0x00000005, "K_233"),
        (0x00000006, "B_233"),
        (0x00000007, "P_256"),
        (0x00000008, "K_283"),
        (0x00000009, "B_283"),
        (0x0000000A, "P_384"),
        (0x0000000B, "K_409"),
        (0x0000000C, "B_409"),
        (0x0000000D, "P_521"),
        (0x0000000E, "K_571"),
        (0x0000000F, "B_571"),
        (0x00000010, "SECP112R1"),
        (0x00000011, "SECP112R2"),
        (0x00000012, "SECP128R1"),
        (0x00000013, "SECP128R2"),
        (0x00000014, "SECP160K1"),
        (0x00000015, "SECP160R1"),
        (0x00000016, "SECP160R2"),
        (0x00000017, "SECP192K1"),
        (0x00000018, "SECP224K1"),
        (0x00000019, "SECP256K1"),
        (0x0000001A, "SECT113R1"),
        (0x0000001B, "SECT113R2"),
        (0x0000001C, "SECT131R1"),
        (0x0000001D, "SECT131R2"),
        (0x0000001E, "SECT163R1"),
        (0x0000001F, "SECT193R1"),
        (0x00000020, "SECT193R2"),
        (0x00000021, "SECT239K1"),
        (0x00000022, "ANSIX9P192V2"),
        (0x00000023, "ANSIX9P192V3"),
        (0x00000024, "ANSIX9P239V1"),
        (0x00000025, "ANSIX9P239V2"),
        (0x00000026, "ANSIX9P239V3"),
        (0x00000027, "ANSIX9C2PNB163V1"),
        (0x00000028, "ANSIX9C2PNB163V2"),
        (0x00000029, "ANSIX9C2PNB163V3"),
        (0x0000002A, "ANSIX9C2PNB176V1"),
        (0x0000002B, "ANSIX9C2TNB191V1"),
        (0x0000002C, "ANSIX9C2TNB191V2"),
        (0x0000002D, "ANSIX9C2TNB191V3"),
        (0x0000002E, "ANSIX9C2PNB208W1"),
        (0x0000002F, "ANSIX9C2TNB239V1"),
        (0x00000030, "ANSIX9C2TNB239V2"),
        (0x00000031, "ANSIX9C2TNB239V3"),
        (0x00000032, "ANSIX9C2PNB272W1"),
        (0x00000033, "ANSIX9C2PNB304W1"),
        (0x00000034, "ANSIX9C2TNB359V1"),
        (0x00000035, "ANSIX9C2PNB368W1"),
        (0x00000036, "ANSIX9C2TNB431R1"),
        (0x00000037, "BRAINPOOLP160R1"),
        (0x00000038, "BRAINPOOLP160T1"),
        (0x00000039, "BRAINPOOLP192R1"),
        (0x0000003A, "BRAINPOOLP192T1"),
        (0x0000003B, "BRAINPOOLP224R1"),
        (0x0000003C, "BRAINPOOLP224T1"),
        (0x0000003D, "BRAINPOOLP256R1"),
        (0x0000003E, "BRAINPOOLP256T1"),
        (0x0000003F, "BRAINPOOLP320R1"),
        (0x00000040, "BRAINPOOLP320T1"),
        (0x00000041, "BRAINPOOLP384R1"),
        (0x00000042, "BRAINPOOLP384T1"),
        (0x00000043, "BRAINPOOLP512R1"),
        (0x00000044, "BRAINPOOLP512T1"),
        (0x00000045, "CURVE25519"),
        (0x00000046, "CURVE448"),
    ],
};

pub(crate) static RESULT_REASON: EnumDef = EnumDef {
    name: "ResultReason",
    values: &[
        (0x00000001, "ItemNotFound"),
        (0x00000002, "ResponseTooLarge"),
        (0x00000003, "AuthenticationNotSuccessful"),
        (0x00000004, "InvalidMessage"),
        (0x00000005, "OperationNotSupported"),
        (0x00000006, "MissingData"),
        (0x00000007, "InvalidField"),
        (0x00000008, "FeatureNotSupported"),
        (0x00000009, "OperationCanceledByRequester"),
        (0x0000000A, "CryptographicFailure"),
        (0x0000000B, "IllegalOperation"), // not in 2.1
        (0x0000000C, "PermissionDenied"),
        (0x0000000D, "ObjectArchived"),
        (0x0000000E, "IndexOutOfBounds"), // not in 2.1
        (0x0000000F, "ApplicationNamespaceNotSupported"),
        (0x00000010, "KeyFormatTypeNotSupported"),
        (0x00000011, "KeyCompressionTypeNotSupported"),
        (0x00000012, "EncodingOptionError"),
        (0x00000013, "KeyValueNotPresent"),
        (0x00000014, "AttestationRequired"),
        (0x00000015, "AttestationFailed"),
        (0x00000016, "Sensitive"),
        (0x00000017, "NotExtractable"),
        (0x00000018, "ObjectAlreadyExists"),
        (0x00000019, "InvalidTicket"),
        (0x0000001A, "UsageLimitExceeded"),
        (0x0000001B, "NumericRange"),
        (0x0000001C, "InvalidDataType"),
        (0x0000001D, "ReadOnlyAttribute"),
        (0x0000001E, "MultiValuedAttribute"),
        (0x0000001F, "UnsupportedAttribute"),
        (0x00000020, "AttributeInstanceNotFound"),
        (0x00000021, "AttributeNotFound"),
        (0x00000022, "AttributeReadOnly"),
        (0x00000023, "AttributeSingleValued"),
        (0x00000024, "BadCryptographicParameters"),
        (0x00000025, "BadPassword"),
        (0x00000026, "CodecError"),
        (0x00000028, "IllegalObjectType"),
        (0x00000029, "IncompatibleCryptographicUsageMask"),
        (0x0000002A, "InternalServerError"),
        (0x0000002B, "InvalidAsynchronousCorrelationValue"),
        (0x0000002C, "InvalidAttribute"),
        (0x0000002D, "InvalidAttributeValue"),
        (0x0000002E, "InvalidCorrelationValue"),
        (0x0000002F, "InvalidCSR"),
        (0x00000030, "InvalidObjectType"),
        (0x00000032, "KeyWrapTypeNotSupported"),
        (0x00000034, "MissingInitializationVector"),
        (0x00000035, "NonUniqueNameAttribute"),
        (0x00000036, "ObjectDestroyed"),
        (0x00000037, "ObjectNotFound"),
        (0x00000039, "NotAuthorized"),
        (0x0000003A, "ServerLimitExceeded"),
        (0x0000003B, "UnknownEnumeration"),
        (0x0000003C, "UnknownMessageExtension"),
        (0x0000003D, "UnknownTag"),
        (0x0000003E, "UnsupportedCryptographicParameters"),
        (0x0000003F, "UnsupportedProtocolVersion"),
        (0x00000040, "WrappingObjectArchived"),
        (0x00000041, "WrappingObjectDestroyed"),
        (0x00000042, "WrappingObjectNotFound"),
        (0x00000043, "WrongKeyLifecycleState"),
        (0x00000044, "ProtectionStorageUnavailable"),
        (0x00000045, "PKCS_11CodecError"),
        (0x00000046, "PKCS_11InvalidFunction"),
        (0x00000047, "PKCS_11InvalidInterface"),
        (0x00000048, "PrivateProtectionStorageUnavailable"),
        (0x00000049, "PublicProtectionStorageUnavailable"),
        (0x0000004A, "UnknownObjectGroup"),
        (0x0000004B, "ConstraintViolation"),
        (0x0000004C, "DuplicateProcessRequest"),
        (0x00000100, "GeneralFailure"),
    ],
};

pub(crate) static RESULT_STATUS: EnumDef = EnumDef {
    name: "ResultStatus",
    values: &[
        (0x00000000, "Success"),
        (0x00000001, "OperationFailed"),
        (0x00000002, "OperationPending"),
        (0x00000003, "OperationUndone"),
    ],
};

pub(crate) static REVOCATION_REASON_CODE: EnumDef = EnumDef {
    name: "RevocationReasonCode",
    values: &[
        (0x00000001, "Unspecified"),
        (0x00000002, "KeyCompromise"),
        (0x00000003, "CACompromise"),
        (0x00000004, "AffiliationChanged"),
        (0x00000005, "Superseded"),
        (0x00000006, "CessationOfOperation"),
        (0x00000007, "PrivilegeWithdrawn"),
    ],
};

pub(crate) static ROTATE_NAME_TYPE: EnumDef = EnumDef {
    name: "RotateNameType",
    values: &[(0x00000001, "UninterpretedTextString"), (0x00000002, "URI")],
};

pub(crate) static SECRET_DATA_TYPE: EnumDef = EnumDef {
    name: "SecretDataType",
    values: &[(0x00000001, "Password"), (0x00000002, "Seed")],
};

pub(crate) static SHREDDING_ALGORITHM: EnumDef = EnumDef {
    name: "ShreddingAlgorithm",
    values: &[
        (0x00000001, "Unspecified"),
        (0x00000002, "Cryptographic"),
        (0x00000003, "Unsupported"),
    ],
};

pub(crate) static SPLIT_KEY_METHOD: EnumDef = EnumDef {
    name: "SplitKeyMethod",
    values: &[
        (0x00000001, "XOR"),
        (0x00000002, "PolynomialSharingGF2_16"),
        (0x00000003, "PolynomialSharingPrimeField"),
        (0x00000004, "PolynomialSharingGF2_8"),
    ],
};

pub(crate) static STATE: EnumDef = EnumDef {
    name: "State",
    values: &[
        (0x00000001, "PreActive"),
        (0x00000002, "Active"),
        (0x00000003, "Deactivated"),
        (0x00000004, "Compromised"),
        (0x00000005, "Destroyed"),
        (0x00000006, "DestroyedCompromised"),
    ],
};

pub(crate) static TICKET_TYPE: EnumDef = EnumDef {
    name: "TicketType",
    values: &[(0x00000001, "Login")],
};

pub(crate) static UNIQUE_IDENTIFIER: EnumDef = EnumDef {
    name: "UniqueIdentifier",
    values: &[
        (0x00000001, "IDPlaceholder"),
        (0x00000002, "Certify"),
        (0x00000003, "Create"),
        (0x00000004, "CreateKeyPair"),
        (0x00000005, "CreateKeyPairPrivateKey"),
        (0x00000006, "CreateKeyPairPublicKey"),
        (0x00000007, "CreateSplitKey"),
        (0x00000008, "DeriveKey"),
        (0x00000009, "Import"),
        (0x0000000A, "JoinSplitKey"),
        (0x0000000B, "Locate"),
        (0x0000000C, "Register"),
        (0x0000000D, "ReKey"),
        (0x0000000E, "ReCertify"),
        (0x0000000F, "ReKeyKeyPair"),
        (0x00000010, "ReKeyKeyPairPrivateKey"),
        (0x00000011, "ReKeyKeyPairPublicKey"),
    ],
};

pub(crate) static UNWRAP_MODE: EnumDef = EnumDef {
    name: "UnwrapMode",
    values: &[
        (0x00000001, "Unspecified"),
        (0x00000002, "Processed"),
        (0x00000003, "NotProcessed"),
    ],
};

pub(crate) static USAGE_LIMITS_UNIT: EnumDef = EnumDef {
    name: "UsageLimitsUnit",
    values: &[(0x00000001, "Byte"), (0x00000002, "Object")],
};

pub(crate) static VALIDATION_AUTHORITY_TYPE: EnumDef = EnumDef {
    name: "ValidationAuthorityType",
    values: &[
        (0x00000001, "Unspecified"),
        (0x00000002, "NISTCMVP"),
        (0x00000003, "CommonCriteria"),
    ],
};

pub(crate) static VALIDATION_TYPE: EnumDef = EnumDef {
    name: "ValidationType",
    values: &[
        (0x00000001, "Unspecified"),
        (0x00000002, "Hardware"),
        (0x00000003, "Software"),
        (0x00000004, "Firmware"),
        (0x00000005, "Hybrid"),
    ],
};

pub(crate) static VALIDITY_INDICATOR: EnumDef = EnumDef {
    name: "ValidityIndicator",
    values: &[
        (0x00000001, "Valid"),
        (0x00000002, "Invalid"),
        (0x00000003, "Unknown"),
    ],
};

pub(crate) static WRAPPING_METHOD: EnumDef = EnumDef {
    name: "WrappingMethod",
    values: &[
        (0x00000001, "Encrypt"),
        (0x00000002, "MACSign"),
        (0x00000003, "EncryptThenMACSign"),
        (0x00000004, "MACSignThenEncrypt"),
        (0x00000005, "TR_31"),
    ],
};

/// Older or alternative value spellings: (enumeration name, alias, value).
static ENUM_ALIASES: &[(&str, &str, u32)] = &[
    (
        "DigitalSignatureAlgorithm",
        "MD2WithRSAEncryptionPKCS_1V1_5",
        0x00000001,
    ),
    (
        "DigitalSignatureAlgorithm",
        "MD5WithRSAEncryptionPKCS_1V1_5",
        0x00000002,
    ),
    (
        "DigitalSignatureAlgorithm",
        "RSASSA_PSSPKCS_1V2_1",
        0x00000008,
    ),
    (
        "DigitalSignatureAlgorithm",
        "SHA_1WithRSAEncryptionPKCS_1V1_5",
        0x00000003,
    ),
    (
        "DigitalSignatureAlgorithm",
        "SHA_224WithRSAEncryptionPKCS_1V1_5",
        0x00000004,
    ),
    (
        "DigitalSignatureAlgorithm",
        "SHA_256WithRSAEncryptionPKCS_1V1_5",
        0x00000005,
    ),
    (
        "DigitalSignatureAlgorithm",
        "SHA_384WithRSAEncryptionPKCS_1V1_5",
        0x00000006,
    ),
    (
        "DigitalSignatureAlgorithm",
        "SHA_512WithRSAEncryptionPKCS_1V1_5",
        0x00000007,
    ),
    ("HashingAlgorithm", "SHA_3_224", 0x0000000E),
    ("HashingAlgorithm", "SHA_3_256", 0x0000000F),
    ("HashingAlgorithm", "SHA_3_384", 0x00000010),
    ("HashingAlgorithm", "SHA_3_512", 0x00000011),
    ("MaskGenerator", "MFG1", 0x00000001),
    ("ResultReason", "NotAuthorised", 0x00000039),
];

/// Enumeration-typed tags -> their enumeration, sorted by tag.
static TAG_ENUMS: &[(u32, &EnumDef)] = &[
    (0x420007, &ASYNCHRONOUS_INDICATOR),
    (0x42000E, &BATCH_ERROR_CONTINUATION_OPTION),
    (0x420011, &BLOCK_CIPHER_MODE),
    (0x420012, &CANCELLATION_RESULT),
    (0x420019, &CERTIFICATE_REQUEST_TYPE),
    (0x42001D, &CERTIFICATE_TYPE),
    (0x420024, &CREDENTIAL_TYPE),
    (0x420028, &CRYPTOGRAPHIC_ALGORITHM),
    (0x420031, &DERIVATION_METHOD),
    (0x420038, &HASHING_ALGORITHM),
    (0x420041, &KEY_COMPRESSION_TYPE),
    (0x420042, &KEY_FORMAT_TYPE),
    (0x42004B, &LINK_TYPE),
    (0x42004C, &UNIQUE_IDENTIFIER),
    (0x420054, &NAME_TYPE),
    (0x420057, &OBJECT_TYPE),
    (0x420059, &OPAQUE_DATA_TYPE),
    (0x42005C, &OPERATION),
    (0x42005F, &PADDING_METHOD),
    (0x420070, &PUT_FUNCTION),
    (0x420074, &QUERY_FUNCTION),
    (0x420075, &RECOMMENDED_CURVE),
    (0x42007E, &RESULT_REASON),
    (0x42007F, &RESULT_STATUS),
    (0x420082, &REVOCATION_REASON_CODE),
    (0x420083, &KEY_ROLE_TYPE),
    (0x420086, &SECRET_DATA_TYPE),
    (0x42008A, &SPLIT_KEY_METHOD),
    (0x42008D, &STATE),
    (0x420094, &UNIQUE_IDENTIFIER),
    (0x420098, &USAGE_LIMITS_UNIT),
    (0x42009B, &VALIDITY_INDICATOR),
    (0x42009E, &WRAPPING_METHOD),
    (0x4200A3, &ENCODING_OPTION),
    (0x4200A7, &ITEM_TYPE),
    (0x4200AC, &OBJECT_GROUP_MEMBER),
    (0x4200AE, &DIGITAL_SIGNATURE_ALGORITHM),
    (0x4200BA, &KEY_VALUE_LOCATION_TYPE),
    (0x4200C1, &ALTERNATIVE_NAME_TYPE),
    (0x4200C2, &DATA),
    (0x4200C7, &ATTESTATION_TYPE),
    (0x4200DA, &RNG_ALGORITHM),
    (0x4200DB, &DRBG_ALGORITHM),
    (0x4200DC, &FIPS186_VARIATION),
    (0x4200E0, &VALIDATION_AUTHORITY_TYPE),
    (0x4200E5, &VALIDATION_TYPE),
    (0x4200EC, &PROFILE_NAME),
    (0x4200F2, &UNWRAP_MODE),
    (0x4200F3, &DESTROY_ACTION),
    (0x4200F4, &SHREDDING_ALGORITHM),
    (0x4200F5, &RNG_MODE),
    (0x4200F6, &CLIENT_REGISTRATION_METHOD),
    (0x4200F8, &KEY_WRAP_TYPE),
    (0x420101, &MASK_GENERATOR),
    (0x420102, &HASHING_ALGORITHM),
    (0x42013A, &NIST_KEY_TYPE),
    (0x420145, &PROTECTION_LEVEL),
    (0x42014A, &TICKET_TYPE),
    (0x420151, &ENDPOINT_ROLE),
    (0x420158, &ADJUSTMENT_TYPE),
    (0x42015A, &PKCS_11_FUNCTION),
    (0x42015D, &PKCS_11_RETURN_CODE),
    (0x420160, &INTEROP_FUNCTION),
    (0x420171, &ROTATE_NAME_TYPE),
    (0x420175, &PROCESSING_STAGE),
];

/// Flags of the CryptographicUsageMask bit mask.
pub(crate) static CRYPTOGRAPHIC_USAGE_MASK_FLAGS: &[(u32, &str)] = &[
    (0x00000001, "Sign"),
    (0x00000002, "Verify"),
    (0x00000004, "Encrypt"),
    (0x00000008, "Decrypt"),
    (0x00000010, "WrapKey"),
    (0x00000020, "UnwrapKey"),
    (0x00000040, "Export"), // not in 2.1
    (0x00000080, "MACGenerate"),
    (0x00000100, "MACVerify"),
    (0x00000200, "DeriveKey"),
    (0x00000400, "ContentCommitment"), // not in 2.1
    (0x00000800, "KeyAgreement"),
    (0x00001000, "CertificateSign"),
    (0x00002000, "CRLSign"),
    (0x00004000, "GenerateCryptogram"), // not in 2.1
    (0x00008000, "ValidateCryptogram"), // not in 2.1
    (0x00010000, "TranslateEncrypt"),   // not in 2.1
    (0x00020000, "TranslateDecrypt"),   // not in 2.1
    (0x00040000, "TranslateWrap"),      // not in 2.1
    (0x00080000, "TranslateUnwrap"),    // not in 2.1
    (0x00100000, "Authenticate"),
    (0x00200000, "Unrestricted"),
    (0x00400000, "FPEEncrypt"),
    (0x00800000, "FPEDecrypt"),
];

/// Flags of the StorageStatusMask bit mask.
pub(crate) static STORAGE_STATUS_MASK_FLAGS: &[(u32, &str)] = &[
    (0x00000001, "OnLineStorage"),
    (0x00000002, "ArchivalStorage"),
    (0x00000004, "DestroyedStorage"),
];

/// Flags of the ProtectionStorageMask bit mask.
pub(crate) static PROTECTION_STORAGE_MASK_FLAGS: &[(u32, &str)] = &[
    (0x00000001, "Software"),
    (0x00000002, "Hardware"),
    (0x00000004, "OnProcessor"),
    (0x00000008, "OnSystem"),
    (0x00000010, "OffSystem"),
    (0x00000020, "Hypervisor"),
    (0x00000040, "OperatingSystem"),
    (0x00000080, "Container"),
    (0x00000100, "OnPremises"),
    (0x00000200, "OffPremises"),
    (0x00000400, "SelfManaged"),
    (0x00000800, "Outsourced"),
    (0x00001000, "Validated"),
    (0x00002000, "SameJurisdiction"),
];

/// The enumeration that the value of an Enumeration item with this tag belongs to.
pub(crate) fn enum_for_tag(tag: u32) -> Option<&'static EnumDef> {
    let i = TAG_ENUMS.binary_search_by_key(&tag, |&(t, _)| t).ok()?;
    TAG_ENUMS.get(i).map(|&(_, def)| def)
}

/// Name of `value` in `def`, or `None` if it has none (e.g. an extension value).
pub(crate) fn enum_value_name(def: &EnumDef, value: u32) -> Option<&'static str> {
    let i = def.values.binary_search_by_key(&value, |&(v, _)| v).ok()?;
    def.values.get(i).map(|&(_, name)| name)
}

/// Value of `name` in `def`; also accepts the older spellings in `ENUM_ALIASES`.
pub(crate) fn enum_value_by_name(def: &EnumDef, name: &str) -> Option<u32> {
    def.values
        .iter()
        .find(|&&(_, n)| n == name)
        .map(|&(v, _)| v)
        .or_else(|| {
            ENUM_ALIASES
                .iter()
                .find(|&&(e, a, _)| e == def.name && a == name)
                .map(|&(_, _, v)| v)
        })
}

/// Bit-mask Integer tags -> their flags (bit value, name).
pub(crate) fn mask_for_tag(tag: u32) -> Option<&'static [(u32, &'static str)]> {
    match tag {
        0x42002C => Some(CRYPTOGRAPHIC_USAGE_MASK_FLAGS),
        0x42008E => Some(STORAGE_STATUS_MASK_FLAGS),
        0x42015E => Some(PROTECTION_STORAGE_MASK_FLAGS),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_defs() -> impl Iterator<Item = &'static EnumDef> {
        TAG_ENUMS.iter().map(|&(_, d)| d)
    }

    #[test]
    fn tables_sorted_unique_and_round_trip() {
        for pair in TAG_ENUMS.windows(2) {
            assert!(
                pair[0].0 < pair[1].0,
                "TAG_ENUMS not sorted at {:#08X}",
                pair[1].0
            );
        }
        for def in all_defs() {
            for pair in def.values.windows(2) {
                assert!(pair[0].0 < pair[1].0, "{} not sorted", def.name);
            }
            for &(v, n) in def.values {
                assert_eq!(enum_value_by_name(def, n), Some(v), "{}.{n}", def.name);
                assert_eq!(enum_value_name(def, v), Some(n));
            }
        }
        for &(e, alias, v) in ENUM_ALIASES {
            let def = all_defs().find(|d| d.name == e);
            let def = def.unwrap_or_else(|| panic!("alias for unknown enumeration {e}"));
            assert!(enum_value_name(def, v).is_some(), "{e}.{alias}");
            assert_eq!(
                enum_value_by_name(def, alias),
                Some(v),
                "{e}.{alias} shadowed"
            );
        }
        for flags in [
            CRYPTOGRAPHIC_USAGE_MASK_FLAGS,
            STORAGE_STATUS_MASK_FLAGS,
            PROTECTION_STORAGE_MASK_FLAGS,
        ] {
            for pair in flags.windows(2) {
                assert!(pair[0].0 < pair[1].0);
            }
            assert!(flags.iter().all(|&(bit, _)| bit.is_power_of_two()));
        }
    }

    fn value(tag: u32, name: &str) -> Option<u32> {
        enum_for_tag(tag).and_then(|d| enum_value_by_name(d, name))
    }

    #[test]
    fn well_known_values() {
        assert_eq!(value(0x42005C, "Create"), Some(0x01));
        assert_eq!(value(0x42005C, "Locate"), Some(0x08));
        assert_eq!(value(0x42005C, "Get"), Some(0x0A));
        assert_eq!(value(0x42005C, "Query"), Some(0x18));
        assert_eq!(value(0x42005C, "DiscoverVersions"), Some(0x1E));
        assert_eq!(value(0x42005C, "Interop"), Some(0x34));
        assert_eq!(value(0x420057, "SymmetricKey"), Some(0x02));
        assert_eq!(value(0x42007F, "OperationFailed"), Some(0x01));
        assert_eq!(value(0x42007E, "ItemNotFound"), Some(0x01));
        assert_eq!(value(0x42007E, "OperationNotSupported"), Some(0x05));
        assert_eq!(value(0x42007E, "GeneralFailure"), Some(0x100));
        assert_eq!(value(0x420054, "UninterpretedTextString"), Some(0x01));
        assert_eq!(value(0x420042, "TransparentSymmetricKey"), Some(0x07));
        assert_eq!(value(0x420028, "AES"), Some(0x03));
        assert_eq!(value(0x420028, "DES3"), Some(0x02));
        assert_eq!(value(0x42008D, "PreActive"), Some(0x01));
        assert_eq!(value(0x420074, "QueryOperations"), Some(0x01));
        assert_eq!(value(0x42000E, "Undo"), Some(0x03));
        assert_eq!(value(0x420160, "Begin"), Some(0x01));
        assert_eq!(value(0x420082, "Unspecified"), Some(0x01));
        assert!(
            enum_for_tag(0x42013B).is_none(),
            "AttributeReference holds tags"
        );
        let usage = mask_for_tag(0x42002C).unwrap_or_default();
        assert!(usage.contains(&(0x04, "Encrypt")));
        assert!(mask_for_tag(0x42002A).is_none());
    }
}

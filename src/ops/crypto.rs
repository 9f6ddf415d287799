//! What the cryptographic operations share: reading Cryptographic
//! Parameters, and finding a key the caller may use for the purpose (its
//! own, Active, with the use in its usage mask).

use super::{Context, load_owned};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ResultReason};
use crate::objects::{ManagedObject, State};
use crate::ttlv::Item;
use aws_lc_rs::aead::{self, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{AES_128, AES_256, EncryptionContext, UnboundCipherKey};
use aws_lc_rs::iv::FixedLength;
use zeroize::Zeroizing;

pub(super) const USAGE_SIGN: i32 = 0x01;
pub(super) const USAGE_VERIFY: i32 = 0x02;
pub(super) const USAGE_ENCRYPT: i32 = 0x04;
pub(super) const USAGE_DECRYPT: i32 = 0x08;
pub(super) const USAGE_MAC_GENERATE: i32 = 0x80;
pub(super) const USAGE_MAC_VERIFY: i32 = 0x100;

pub(super) const AES: u32 = 0x03;
pub(super) const RSA: u32 = 0x04;
pub(super) const ECDSA: u32 = 0x06;
pub(super) const EC: u32 = 0x17;

pub(super) const MODE_CBC: u32 = 0x01;
pub(super) const MODE_ECB: u32 = 0x02;
pub(super) const MODE_CTR: u32 = 0x06;
pub(super) const MODE_GCM: u32 = 0x09;

pub(super) const PAD_NONE: u32 = 0x01;
pub(super) const PAD_PKCS5: u32 = 0x03;
pub(super) const PAD_PKCS1V15: u32 = 0x08;
pub(super) const PAD_PSS: u32 = 0x0A;

pub(super) const SHA_256: u32 = 0x06;
pub(super) const SHA_384: u32 = 0x07;
pub(super) const SHA_512: u32 = 0x08;

pub(super) const FORMAT_PKCS_1: u32 = 0x03;

/// Cryptographic Parameters, each field optional.
#[derive(Default, Debug)]
pub(super) struct Params {
    pub mode: Option<u32>,
    pub padding: Option<u32>,
    pub hashing: Option<u32>,
    pub algorithm: Option<u32>,
    pub tag_length: Option<i32>,
}

pub(super) fn params(payload: &Item) -> Params {
    from_structure(payload.child(tag::CRYPTOGRAPHIC_PARAMETERS))
}

fn from_structure(p: Option<&Item>) -> Params {
    let Some(p) = p else {
        return Params::default();
    };
    let e = |t| p.child(t).and_then(Item::as_enumeration);
    Params {
        mode: e(tag::BLOCK_CIPHER_MODE),
        padding: e(tag::PADDING_METHOD),
        hashing: e(tag::HASHING_ALGORITHM),
        algorithm: e(tag::CRYPTOGRAPHIC_ALGORITHM),
        tag_length: p.child(tag::TAG_LENGTH).and_then(Item::as_integer),
    }
}

/// The request's parameters, each missing one taken from the key's own
/// Cryptographic Parameters attribute.
pub(super) fn params_for(payload: &Item, key: &ManagedObject) -> Params {
    let asked = params(payload);
    let own = from_structure(key.first_attribute(tag::CRYPTOGRAPHIC_PARAMETERS));
    Params {
        mode: asked.mode.or(own.mode),
        padding: asked.padding.or(own.padding),
        hashing: asked.hashing.or(own.hashing),
        algorithm: asked.algorithm.or(own.algorithm),
        tag_length: asked.tag_length.or(own.tag_length),
    }
}

/// The caller's key, whose usage mask allows `usage`, in a state that
/// allows it: protecting (encrypt, sign, MAC) needs an Active key;
/// processing (decrypt, verify) also accepts a Deactivated or Compromised
/// one, so data protected before a revocation can still be read.
pub(super) fn usable_key(ctx: &Context<'_>, uid: &str, usage: i32) -> KmipResult<ManagedObject> {
    let o = load_owned(ctx, uid)?;
    let processing = matches!(usage, USAGE_DECRYPT | USAGE_VERIFY | USAGE_MAC_VERIFY);
    let allowed = match o.state {
        State::Active => true,
        State::Deactivated | State::Compromised => processing,
        _ => false,
    };
    if !allowed {
        return Err(KmipError::new(
            ResultReason::WrongKeyLifecycleState,
            format!("a {} key cannot be used for this", o.state.name()),
        ));
    }
    let mask = o
        .first_attribute(tag::CRYPTOGRAPHIC_USAGE_MASK)
        .and_then(Item::as_integer)
        .unwrap_or(0);
    if mask & usage == 0 {
        return Err(KmipError::new(
            ResultReason::IncompatibleCryptographicUsageMask,
            "the key's usage mask does not allow this operation",
        ));
    }
    Ok(o)
}

/// The key's material, its format and algorithm.
pub(super) fn material(o: &ManagedObject) -> KmipResult<(Zeroizing<Vec<u8>>, u32, u32)> {
    let block = o
        .object
        .as_ref()
        .and_then(|ob| ob.child(tag::KEY_BLOCK))
        .ok_or_else(|| KmipError::new(ResultReason::KeyValueNotPresent, "the key has no value"))?;
    let bytes = block
        .child(tag::KEY_VALUE)
        .and_then(|v| v.child(tag::KEY_MATERIAL))
        .and_then(|m| {
            m.as_bytes()
                .or_else(|| m.child(tag::KEY).and_then(Item::as_bytes))
        })
        .ok_or_else(|| {
            KmipError::new(
                ResultReason::KeyFormatTypeNotSupported,
                "the key's format is not usable here",
            )
        })?;
    let format = block
        .child(tag::KEY_FORMAT_TYPE)
        .and_then(Item::as_enumeration)
        .unwrap_or(0);
    let algorithm = block
        .child(tag::CRYPTOGRAPHIC_ALGORITHM)
        .and_then(Item::as_enumeration)
        .or_else(|| {
            o.first_attribute(tag::CRYPTOGRAPHIC_ALGORITHM)
                .and_then(Item::as_enumeration)
        })
        .unwrap_or(0);
    Ok((Zeroizing::new(bytes.to_vec()), format, algorithm))
}

pub(super) fn data(payload: &Item) -> KmipResult<&[u8]> {
    payload
        .child(tag::DATA)
        .and_then(Item::as_bytes)
        .ok_or_else(|| KmipError::missing_data("the request needs Data"))
}

pub(super) fn failure(what: &str) -> KmipError {
    KmipError::new(ResultReason::CryptographicFailure, format!("{what} failed"))
}

pub(super) fn unsupported(what: impl Into<String>) -> KmipError {
    KmipError::new(ResultReason::UnsupportedCryptographicParameters, what)
}

pub(super) fn cipher_key(key: &[u8]) -> KmipResult<UnboundCipherKey> {
    let alg = match key.len() {
        16 => &AES_128,
        32 => &AES_256,
        n => {
            return Err(unsupported(format!(
                "AES-{} is not supported here; use AES-128 or AES-256",
                n * 8
            )));
        }
    };
    UnboundCipherKey::new(alg, key).map_err(|_| failure("key setup"))
}

pub(super) fn iv16(iv: &[u8]) -> KmipResult<EncryptionContext> {
    let iv: [u8; 16] = iv
        .try_into()
        .map_err(|_| KmipError::invalid_field("the IV must be 16 bytes for AES"))?;
    Ok(EncryptionContext::Iv128(FixedLength::from(iv)))
}

pub(super) fn gcm_key(key: &[u8]) -> KmipResult<LessSafeKey> {
    let alg = match key.len() {
        16 => &aead::AES_128_GCM,
        32 => &aead::AES_256_GCM,
        n => {
            return Err(unsupported(format!(
                "AES-{}-GCM is not supported here",
                n * 8
            )));
        }
    };
    Ok(LessSafeKey::new(
        UnboundKey::new(alg, key).map_err(|_| failure("key setup"))?,
    ))
}

pub(super) fn nonce(iv: &[u8]) -> KmipResult<Nonce> {
    Nonce::try_assume_unique_for_key(iv)
        .map_err(|_| KmipError::invalid_field("the GCM nonce must be 12 bytes"))
}

/// The HMAC for a key's (or the request's) MAC algorithm.
pub(super) fn hmac_algorithm(algorithm: u32) -> KmipResult<aws_lc_rs::hmac::Algorithm> {
    use aws_lc_rs::hmac;
    Ok(match algorithm {
        0x07 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        0x08 => hmac::HMAC_SHA224,
        0x09 => hmac::HMAC_SHA256,
        0x0A => hmac::HMAC_SHA384,
        0x0B => hmac::HMAC_SHA512,
        other => {
            return Err(unsupported(format!(
                "MAC algorithm {other} is not supported; use HMAC-SHA-1/224/256/384/512"
            )));
        }
    })
}

fn oaep(hashing: u32) -> KmipResult<&'static aws_lc_rs::rsa::OaepAlgorithm> {
    use aws_lc_rs::rsa;
    Ok(match hashing {
        0x04 => &rsa::OAEP_SHA1_MGF1SHA1,
        SHA_256 => &rsa::OAEP_SHA256_MGF1SHA256,
        SHA_384 => &rsa::OAEP_SHA384_MGF1SHA384,
        SHA_512 => &rsa::OAEP_SHA512_MGF1SHA512,
        other => return Err(unsupported(format!("OAEP with hashing algorithm {other}"))),
    })
}

const PAD_OAEP: u32 = 0x02;
const SHA_1_DEFAULT: u32 = 0x04;

/// RSA encryption (OAEP, SHA-1 by default as the specification says, or
/// PKCS#1 v1.5) with a public key in X.509 SubjectPublicKeyInfo form.
pub(super) fn rsa_encrypt(public_der: &[u8], p: &Params, data: &[u8]) -> KmipResult<Vec<u8>> {
    use aws_lc_rs::rsa::{OaepPublicEncryptingKey, Pkcs1PublicEncryptingKey, PublicEncryptingKey};
    let key = PublicEncryptingKey::from_der(public_der).map_err(|_| {
        KmipError::new(
            ResultReason::KeyFormatTypeNotSupported,
            "the RSA public key must be X.509 (SubjectPublicKeyInfo)",
        )
    })?;
    let mut out = vec![0u8; key.key_size_bytes()];
    let n = match p.padding.unwrap_or(PAD_OAEP) {
        PAD_OAEP => OaepPublicEncryptingKey::new(key)
            .map_err(|_| failure("key setup"))?
            .encrypt(
                oaep(p.hashing.unwrap_or(SHA_1_DEFAULT))?,
                data,
                &mut out,
                None,
            )
            .map_err(|_| failure("RSA encryption (message too long?)"))?
            .len(),
        PAD_PKCS1V15 => Pkcs1PublicEncryptingKey::new(key)
            .map_err(|_| failure("key setup"))?
            .encrypt(data, &mut out)
            .map_err(|_| failure("RSA encryption (message too long?)"))?
            .len(),
        other => return Err(unsupported(format!("RSA encryption with padding {other}"))),
    };
    out.truncate(n);
    Ok(out)
}

/// RSA decryption with a private key in PKCS#8 or PKCS#1 form.
pub(super) fn rsa_decrypt(
    private_der: &[u8],
    format: u32,
    p: &Params,
    data: &[u8],
) -> KmipResult<Zeroizing<Vec<u8>>> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::{
        OaepPrivateDecryptingKey, Pkcs1PrivateDecryptingKey, PrivateDecryptingKey,
    };
    // aws-lc reads PKCS#1 keys for signing; re-encode them as PKCS#8.
    let pkcs8: Zeroizing<Vec<u8>> = if format == FORMAT_PKCS_1 {
        let kp = aws_lc_rs::rsa::KeyPair::from_der(private_der).map_err(|_| {
            KmipError::new(
                ResultReason::KeyFormatTypeNotSupported,
                "not a PKCS#1 RSA private key",
            )
        })?;
        Zeroizing::new(
            kp.as_der()
                .map_err(|_| failure("PKCS#8 encoding"))?
                .as_ref()
                .to_vec(),
        )
    } else {
        Zeroizing::new(private_der.to_vec())
    };
    let key = PrivateDecryptingKey::from_pkcs8(&pkcs8).map_err(|_| {
        KmipError::new(
            ResultReason::KeyFormatTypeNotSupported,
            "the RSA private key must be PKCS#8",
        )
    })?;
    let mut out = Zeroizing::new(vec![0u8; key.key_size_bytes()]);
    let n = match p.padding.unwrap_or(PAD_OAEP) {
        PAD_OAEP => OaepPrivateDecryptingKey::new(key)
            .map_err(|_| failure("key setup"))?
            .decrypt(
                oaep(p.hashing.unwrap_or(SHA_1_DEFAULT))?,
                data,
                &mut out,
                None,
            )
            .map_err(|_| failure("RSA decryption"))?
            .len(),
        PAD_PKCS1V15 => Pkcs1PrivateDecryptingKey::new(key)
            .map_err(|_| failure("key setup"))?
            .decrypt(data, &mut out)
            .map_err(|_| failure("RSA decryption"))?
            .len(),
        other => return Err(unsupported(format!("RSA decryption with padding {other}"))),
    };
    out.truncate(n);
    Ok(out)
}

/// The answer of the verify operations: the key's id and whether the
/// signature or MAC held (Validity Indicator Valid / Invalid).
pub(super) fn validity(uid: String, valid: bool) -> Item {
    const VALID: u32 = 0x01;
    const INVALID: u32 = 0x02;
    super::response(vec![
        Item::text(tag::UNIQUE_IDENTIFIER, uid),
        Item::enumeration(tag::VALIDITY_INDICATOR, if valid { VALID } else { INVALID }),
    ])
}

/// The caller's HMAC key for `usage`, ready to use.
pub(super) fn hmac_key(
    ctx: &Context<'_>,
    payload: &Item,
    usage: i32,
) -> KmipResult<(ManagedObject, aws_lc_rs::hmac::Key)> {
    let uid = super::requested_uid(payload)?;
    let o = usable_key(ctx, uid, usage)?;
    let (key, _, algorithm) = material(&o)?;
    let alg = hmac_algorithm(params_for(payload, &o).algorithm.unwrap_or(algorithm))?;
    Ok((o, aws_lc_rs::hmac::Key::new(alg, &key)))
}

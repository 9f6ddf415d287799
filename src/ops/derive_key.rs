//! Derive Key: a new symmetric key or secret data from a base object the
//! caller may derive from, by PBKDF2, HKDF ("HMAC"), NIST SP 800-108
//! counter mode with HMAC, or encryption of the derivation data (AES or
//! Blowfish in CBC mode with PKCS5 padding). Primitives come from aws-lc
//! and, for Blowfish, RustCrypto.

use super::crypto::{self, SHA_256, SHA_384, SHA_512};
use super::{Context, link, load_owned, new_object, object_type_of, request_attributes, response};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ObjectType, ResultReason};
use crate::ttlv::{Bytes, Item};
use aws_lc_rs::{hkdf, hmac, pbkdf2};
use std::num::NonZeroU32;
use zeroize::Zeroizing;

const PBKDF2: u32 = 0x01;
const HMAC: u32 = 0x03;
const ENCRYPT: u32 = 0x04;
const NIST800_108_C: u32 = 0x05;
const SHA_1: u32 = 0x04;
const USAGE_DERIVE_KEY: i32 = 0x200;
const BLOWFISH: u32 = 0x10;
const MODE_CBC: u32 = 0x01;
const RAW: u32 = 0x01;
const OPAQUE: u32 = 0x02;
const SEED: u32 = 0x02;
const DERIVATION_BASE_OBJECT_LINK: u32 = 0x104;
/// Longest derived value: 64 KiB is far beyond any key.
const MAX_LEN: usize = 64 * 1024;
/// PBKDF2 work a single request may ask for (iterations times output
/// blocks), so one client cannot pin the server's threads.
const MAX_PBKDF2_WORK: u64 = 10_000_000;

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let object_type = object_type_of(payload)?;
    if !matches!(
        object_type,
        ObjectType::SymmetricKey | ObjectType::SecretData
    ) {
        return Err(KmipError::new(
            ResultReason::InvalidObjectType,
            "Derive Key makes symmetric keys or secret data",
        ));
    }
    let base_uid = payload
        .child(tag::UNIQUE_IDENTIFIER)
        .and_then(Item::as_text)
        .ok_or_else(|| {
            KmipError::missing_data("Derive Key needs the base object's Unique Identifier")
        })?;
    let base = load_owned(ctx, base_uid)?;
    if base.state.is_destroyed() || base.state == crate::objects::State::Compromised {
        return Err(KmipError::new(
            ResultReason::WrongKeyLifecycleState,
            format!("the base object is {}", base.state.name()),
        ));
    }
    let mask = base
        .first_attribute(tag::CRYPTOGRAPHIC_USAGE_MASK)
        .and_then(Item::as_integer)
        .unwrap_or(0);
    if mask & USAGE_DERIVE_KEY == 0 {
        return Err(KmipError::new(
            ResultReason::IncompatibleCryptographicUsageMask,
            "the base object's usage mask does not allow Derive Key",
        ));
    }
    let (secret, _, base_algorithm) = crypto::material(&base)?;
    let method = payload
        .child(tag::DERIVATION_METHOD)
        .and_then(Item::as_enumeration)
        .ok_or_else(|| KmipError::missing_data("Derive Key needs a Derivation Method"))?;
    let params = payload
        .child(tag::DERIVATION_PARAMETERS)
        .ok_or_else(|| KmipError::missing_data("Derive Key needs Derivation Parameters"))?;
    let mut attrs = request_attributes(ctx, payload)?;
    let bits = attrs
        .iter()
        .find(|a| a.tag == tag::CRYPTOGRAPHIC_LENGTH)
        .and_then(Item::as_integer)
        .ok_or_else(|| KmipError::missing_data("Derive Key needs a Cryptographic Length"))?;
    if bits <= 0 || bits % 8 != 0 || bits as usize / 8 > MAX_LEN {
        return Err(KmipError::invalid_field(format!(
            "Cryptographic Length {bits} is not a whole number of bytes"
        )));
    }
    let len = bits as usize / 8;
    let bytes = |t| params.child(t).and_then(Item::as_bytes).unwrap_or(&[]);
    let p = params
        .child(tag::CRYPTOGRAPHIC_PARAMETERS)
        .map(|c| crypto::params(&Item::structure(tag::REQUEST_PAYLOAD, vec![c.clone()])))
        .unwrap_or_default();
    let derived: Zeroizing<Vec<u8>> = match method {
        PBKDF2 => {
            let alg = match p.hashing.unwrap_or(SHA_256) {
                SHA_1 => pbkdf2::PBKDF2_HMAC_SHA1,
                SHA_256 => pbkdf2::PBKDF2_HMAC_SHA256,
                SHA_384 => pbkdf2::PBKDF2_HMAC_SHA384,
                SHA_512 => pbkdf2::PBKDF2_HMAC_SHA512,
                other => {
                    return Err(crypto::unsupported(format!(
                        "PBKDF2 with hashing algorithm {other}"
                    )));
                }
            };
            let iterations = params
                .child(tag::ITERATION_COUNT)
                .and_then(Item::as_integer)
                .and_then(|i| NonZeroU32::new(u32::try_from(i).ok()?))
                .ok_or_else(|| {
                    KmipError::missing_data("PBKDF2 needs a positive Iteration Count")
                })?;
            let blocks = len.div_ceil(20) as u64;
            if u64::from(iterations.get()) * blocks > MAX_PBKDF2_WORK {
                return Err(KmipError::invalid_field(format!(
                    "PBKDF2 with {iterations} iterations for {len} bytes is more work than one request may ask"
                )));
            }
            let mut out = Zeroizing::new(vec![0u8; len]);
            pbkdf2::derive(alg, iterations, bytes(tag::SALT), &secret, &mut out);
            out
        }
        HMAC => {
            let alg = match p.hashing.unwrap_or(SHA_256) {
                SHA_1 => hkdf::HKDF_SHA1_FOR_LEGACY_USE_ONLY,
                SHA_256 => hkdf::HKDF_SHA256,
                SHA_384 => hkdf::HKDF_SHA384,
                SHA_512 => hkdf::HKDF_SHA512,
                other => {
                    return Err(crypto::unsupported(format!(
                        "HKDF with hashing algorithm {other}"
                    )));
                }
            };
            let info = [bytes(tag::DERIVATION_DATA)];
            let mut out = Zeroizing::new(vec![0u8; len]);
            hkdf::Salt::new(alg, bytes(tag::SALT))
                .extract(&secret)
                .expand(&info, Len(len))
                .and_then(|okm| okm.fill(&mut out))
                .map_err(|_| crypto::failure("HKDF (output too long for the hash?)"))?;
            out
        }
        NIST800_108_C => {
            let alg = match p.hashing.unwrap_or(SHA_256) {
                SHA_1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                SHA_256 => hmac::HMAC_SHA256,
                SHA_384 => hmac::HMAC_SHA384,
                SHA_512 => hmac::HMAC_SHA512,
                other => {
                    return Err(crypto::unsupported(format!(
                        "SP 800-108 with hashing algorithm {other}"
                    )));
                }
            };
            sp800_108_counter(alg, &secret, bytes(tag::DERIVATION_DATA), len)
        }
        ENCRYPT => {
            if p.mode.unwrap_or(MODE_CBC) != MODE_CBC {
                return Err(crypto::unsupported(
                    "Derive Key by encryption uses CBC with PKCS5 padding",
                ));
            }
            let iv = bytes(tag::INITIALIZATION_VECTOR);
            let data = bytes(tag::DERIVATION_DATA);
            let mut out = match p.algorithm.unwrap_or(base_algorithm) {
                BLOWFISH => blowfish_cbc(&secret, iv, data)?,
                crypto::AES => aes_cbc(&secret, iv, data)?,
                other => {
                    return Err(crypto::unsupported(format!(
                        "Derive Key by encryption with algorithm {other}"
                    )));
                }
            };
            out.truncate(len);
            out
        }
        other => {
            return Err(KmipError::new(
                ResultReason::InvalidField,
                format!("Derivation Method {other} is not supported"),
            ));
        }
    };
    if derived.len() < len {
        return Err(KmipError::invalid_field(
            "the derivation produced fewer bytes than the Cryptographic Length asks",
        ));
    }
    let material = Item::bytes(tag::KEY_MATERIAL, Bytes::from(derived.as_slice()));
    let object = if object_type == ObjectType::SecretData {
        attrs.retain(|a| {
            a.tag != tag::CRYPTOGRAPHIC_LENGTH && a.tag != tag::CRYPTOGRAPHIC_ALGORITHM
        });
        Item::structure(
            tag::SECRET_DATA,
            vec![
                Item::enumeration(tag::SECRET_DATA_TYPE, SEED),
                Item::structure(
                    tag::KEY_BLOCK,
                    vec![
                        Item::enumeration(tag::KEY_FORMAT_TYPE, OPAQUE),
                        Item::structure(tag::KEY_VALUE, vec![material]),
                    ],
                ),
            ],
        )
    } else {
        let algorithm = attrs
            .iter()
            .find(|a| a.tag == tag::CRYPTOGRAPHIC_ALGORITHM)
            .and_then(Item::as_enumeration)
            .ok_or_else(|| {
                KmipError::missing_data("a derived key needs a Cryptographic Algorithm")
            })?;
        Item::structure(
            tag::SYMMETRIC_KEY,
            vec![Item::structure(
                tag::KEY_BLOCK,
                vec![
                    Item::enumeration(tag::KEY_FORMAT_TYPE, RAW),
                    Item::structure(tag::KEY_VALUE, vec![material]),
                    Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, algorithm),
                    Item::integer(tag::CRYPTOGRAPHIC_LENGTH, bits),
                ],
            )],
        )
    };
    attrs.push(link(DERIVATION_BASE_OBJECT_LINK, &base.uid));
    let mut o = new_object(ctx, object_type, attrs, object)?;
    // A derived value is only as secret as its base: whoever could read the
    // base can compute it (PKCS#11 derives these two flags the same way).
    for t in [tag::ALWAYS_SENSITIVE, tag::NEVER_EXTRACTABLE] {
        let of = |x: &crate::objects::ManagedObject| {
            x.first_attribute(t).and_then(Item::as_boolean) == Some(true)
        };
        if o.first_attribute(t).is_some() {
            let kept = of(&o) && of(&base);
            o.set_attribute(Item::boolean(t, kept));
        }
    }
    ctx.writer().insert(&o)?;
    Ok(response(vec![Item::text(tag::UNIQUE_IDENTIFIER, o.uid)]))
}

/// SP 800-108 KDF in counter mode: K(i) = PRF(KI, [i]32 || fixed data).
fn sp800_108_counter(
    alg: hmac::Algorithm,
    key: &[u8],
    fixed: &[u8],
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let k = hmac::Key::new(alg, key);
    let mut out = Zeroizing::new(Vec::with_capacity(len + 64));
    let mut i: u32 = 1;
    while out.len() < len {
        let mut c = hmac::Context::with_key(&k);
        c.update(&i.to_be_bytes());
        c.update(fixed);
        out.extend_from_slice(c.sign().as_ref());
        i += 1;
    }
    out.truncate(len);
    out
}

fn blowfish_cbc(key: &[u8], iv: &[u8], data: &[u8]) -> KmipResult<Zeroizing<Vec<u8>>> {
    use cbc::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
    let enc = cbc::Encryptor::<blowfish::Blowfish>::new_from_slices(key, iv)
        .map_err(|_| KmipError::invalid_field("Blowfish takes a 4-56 byte key and an 8-byte IV"))?;
    Ok(Zeroizing::new(enc.encrypt_padded_vec::<Pkcs7>(data)))
}

fn aes_cbc(key: &[u8], iv: &[u8], data: &[u8]) -> KmipResult<Zeroizing<Vec<u8>>> {
    use aws_lc_rs::cipher::PaddedBlockEncryptingKey;
    let k = PaddedBlockEncryptingKey::cbc_pkcs7(crypto::cipher_key(key)?)
        .map_err(|_| crypto::failure("cipher setup"))?;
    let mut buf = data.to_vec();
    k.less_safe_encrypt(&mut buf, crypto::iv16(iv)?)
        .map_err(|_| crypto::failure("encryption"))?;
    Ok(Zeroizing::new(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_rfc6070() {
        // RFC 6070: "password", "salt", 4096 iterations, 20 bytes.
        let mut out = [0u8; 20];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA1,
            NonZeroU32::new(4096).unwrap(),
            b"salt",
            b"password",
            &mut out,
        );
        assert_eq!(hex::encode(out), "4b007901b765489abead49d926f721d065a429c1");
    }

    #[test]
    fn hkdf_rfc5869_case_7() {
        // RFC 5869 A.7: SHA-1, IKM 22 x 0x0c, no salt, no info, L = 42.
        let ikm = [0x0cu8; 22];
        let mut out = [0u8; 42];
        hkdf::Salt::new(hkdf::HKDF_SHA1_FOR_LEGACY_USE_ONLY, &[])
            .extract(&ikm)
            .expand(&[&[]], Len(42))
            .unwrap()
            .fill(&mut out)
            .unwrap();
        assert_eq!(
            hex::encode(out),
            "2c91117204d745f3500d636a62f64f0ab3bae548aa53d423b0d1f27ebba6f5e5673a081d70cce7acfc48"
        );
    }

    #[test]
    fn blowfish_cbc_known_answer() {
        // Eric Young's Blowfish CBC test data (the set PyKMIP's suite uses).
        let key = hex::decode("0123456789ABCDEFF0E1D2C3B4A59687").unwrap();
        let iv = hex::decode("FEDCBA9876543210").unwrap();
        let data =
            hex::decode("37363534333231204E6F77206973207468652074696D6520666F722000").unwrap();
        let out = blowfish_cbc(&key, &iv, &data).unwrap();
        assert_eq!(
            hex::encode_upper(&out[..32]),
            "6B77B4D63006DEE605B156E27403979358DEB9E7154616D9749DECBEC05D264B"
        );
    }
}

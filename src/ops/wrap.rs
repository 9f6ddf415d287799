//! Key formats and key wrapping on the way out of Get: a symmetric key as
//! Raw or Transparent, and any key block wrapped under another managed AES
//! key with NIST key wrap (RFC 3394) or key wrap with padding (RFC 5649).

use super::crypto::USAGE_DECRYPT;
use super::{Context, load_owned};
use crate::config::WrappedKeyValue;
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ResultReason};
use crate::objects::State;
use crate::ttlv::{self, Bytes, Item, Value};
use aws_lc_rs::key_wrap::{AES_128, AES_256, AesKek, KeyWrap, KeyWrapPadded};
use zeroize::Zeroizing;

const RAW: u32 = 0x01;
const TRANSPARENT_SYMMETRIC_KEY: u32 = 0x07;
const WRAPPING_METHOD_ENCRYPT: u32 = 0x01;
const AES_KEY_WRAP_PADDING: u32 = 0x0C;
const NIST_KEY_WRAP: u32 = 0x0D;
const NO_ENCODING: u32 = 0x01;
const TTLV_ENCODING: u32 = 0x02;
const USAGE_WRAP_KEY: i32 = 0x10;

/// The object in the key format the client asked for.
pub(super) fn convert_format(object: Item, wanted: u32) -> KmipResult<Item> {
    let Some(block) = object.child(tag::KEY_BLOCK) else {
        return Err(KmipError::new(
            ResultReason::KeyFormatTypeNotSupported,
            "this object has no key block to convert",
        ));
    };
    let have = block
        .child(tag::KEY_FORMAT_TYPE)
        .and_then(Item::as_enumeration);
    if have == Some(wanted) {
        return Ok(object);
    }
    let material = block
        .child(tag::KEY_VALUE)
        .and_then(|v| v.child(tag::KEY_MATERIAL))
        .ok_or_else(|| {
            KmipError::new(ResultReason::KeyFormatTypeNotSupported, "no key material")
        })?;
    let new_material = match (object.tag, have, wanted, &material.value) {
        (tag::SYMMETRIC_KEY, Some(RAW), TRANSPARENT_SYMMETRIC_KEY, Value::ByteString(b)) => {
            Item::structure(tag::KEY_MATERIAL, vec![Item::bytes(tag::KEY, b.clone())])
        }
        (tag::SYMMETRIC_KEY, Some(TRANSPARENT_SYMMETRIC_KEY), RAW, Value::Structure(_)) => {
            let key = material
                .child(tag::KEY)
                .and_then(Item::as_bytes)
                .ok_or_else(|| KmipError::new(ResultReason::KeyFormatTypeNotSupported, "no Key"))?;
            Item::bytes(tag::KEY_MATERIAL, key)
        }
        _ => {
            return Err(KmipError::new(
                ResultReason::KeyFormatTypeNotSupported,
                "the key cannot be given in that format",
            ));
        }
    };
    Ok(map_block(object, |block| {
        for c in block.iter_mut() {
            match c.tag {
                tag::KEY_FORMAT_TYPE => *c = Item::enumeration(tag::KEY_FORMAT_TYPE, wanted),
                tag::KEY_VALUE => {
                    if let Value::Structure(v) = &mut c.value {
                        for m in v.iter_mut().filter(|m| m.tag == tag::KEY_MATERIAL) {
                            *m = new_material.clone();
                        }
                    }
                }
                _ => {}
            }
        }
    }))
}

fn map_block(mut object: Item, f: impl FnOnce(&mut Vec<Item>)) -> Item {
    if let Value::Structure(children) = &mut object.value
        && let Some(block) = children.iter_mut().find(|c| c.tag == tag::KEY_BLOCK)
        && let Value::Structure(b) = &mut block.value
    {
        f(b);
    }
    object
}

/// The object with its Key Value wrapped as the specification says; a
/// `sensitive` object only under a key that keeps it inside the server.
pub(super) fn wrap(
    ctx: &Context<'_>,
    object: Item,
    spec: &Item,
    sensitive: bool,
) -> KmipResult<Item> {
    let method = spec
        .child(tag::WRAPPING_METHOD)
        .and_then(Item::as_enumeration);
    if method != Some(WRAPPING_METHOD_ENCRYPT) {
        return Err(KmipError::new(
            ResultReason::FeatureNotSupported,
            "only the Encrypt wrapping method is supported",
        ));
    }
    let info = spec
        .child(tag::ENCRYPTION_KEY_INFORMATION)
        .ok_or_else(|| KmipError::missing_data("key wrapping needs Encryption Key Information"))?;
    let wrapping_uid = info
        .child(tag::UNIQUE_IDENTIFIER)
        .and_then(Item::as_text)
        .ok_or_else(|| {
            KmipError::missing_data("key wrapping needs the wrapping key's identifier")
        })?;
    let mode = info
        .child(tag::CRYPTOGRAPHIC_PARAMETERS)
        .and_then(|p| p.child(tag::BLOCK_CIPHER_MODE))
        .and_then(Item::as_enumeration)
        .unwrap_or(NIST_KEY_WRAP);
    // With no Encoding Option, the key material itself is wrapped, as the
    // OASIS test cases (AX-M-2, TC-14x) expect; TTLV encoding of the whole
    // Key Value is used when asked for by name. The form of the answer for
    // an explicit No Encoding is `kmip.wrapped_key_value`.
    let encoding = spec
        .child(tag::ENCODING_OPTION)
        .and_then(Item::as_enumeration)
        .unwrap_or(NO_ENCODING);
    let kek = wrapping_key(ctx, wrapping_uid, sensitive)?;
    let block = object.child(tag::KEY_BLOCK).ok_or_else(|| {
        KmipError::new(
            ResultReason::IllegalObjectType,
            "only key blocks can be wrapped",
        )
    })?;
    let key_value = block
        .child(tag::KEY_VALUE)
        .ok_or_else(|| KmipError::new(ResultReason::KeyValueNotPresent, "the key has no value"))?;
    let plain: Zeroizing<Vec<u8>> = match encoding {
        NO_ENCODING => Zeroizing::new(
            key_value
                .child(tag::KEY_MATERIAL)
                .and_then(Item::as_bytes)
                .ok_or_else(|| {
                    KmipError::new(
                        ResultReason::EncodingOptionError,
                        "No Encoding needs byte-string key material",
                    )
                })?
                .to_vec(),
        ),
        TTLV_ENCODING => Zeroizing::new(ttlv::encode(key_value)),
        other => {
            return Err(KmipError::new(
                ResultReason::EncodingOptionError,
                format!("unknown Encoding Option {other}"),
            ));
        }
    };
    let wrapped = aes_wrap(&kek, mode, &plain)?;
    let mut data = vec![
        Item::enumeration(tag::WRAPPING_METHOD, WRAPPING_METHOD_ENCRYPT),
        info.clone(),
    ];
    if let Some(e) = spec.child(tag::ENCODING_OPTION) {
        data.push(e.clone());
    }
    let as_structure = encoding == NO_ENCODING
        && spec.child(tag::ENCODING_OPTION).is_some()
        && match ctx.server.wrapped_key_value {
            WrappedKeyValue::Auto => !ctx.version.is_2x(),
            WrappedKeyValue::ByteString => false,
            WrappedKeyValue::Structure => true,
        };
    let value = if as_structure {
        Item::structure(
            tag::KEY_VALUE,
            vec![Item::bytes(tag::KEY_MATERIAL, Bytes::new(wrapped))],
        )
    } else {
        Item::bytes(tag::KEY_VALUE, Bytes::new(wrapped))
    };
    Ok(map_block(object, |block| {
        for c in block.iter_mut().filter(|c| c.tag == tag::KEY_VALUE) {
            *c = value.clone();
        }
        block.push(Item::structure(tag::KEY_WRAPPING_DATA, data));
    }))
}

/// The wrapping key: an Active AES key of the caller that may wrap keys.
/// For a Sensitive key it must also be a key whose value nobody can know
/// or use to unwrap outside: not Extractable and never so (a key made by
/// the server, not one registered with known bytes), and not allowed to
/// Decrypt (AES decryption undoes a key wrap one block at a time).
fn wrapping_key(
    ctx: &Context<'_>,
    uid: &str,
    for_sensitive: bool,
) -> KmipResult<Zeroizing<Vec<u8>>> {
    let k = load_owned(ctx, uid)?;
    if for_sensitive {
        let flag = |t| k.first_attribute(t).and_then(Item::as_boolean);
        if flag(tag::EXTRACTABLE) != Some(false) || flag(tag::NEVER_EXTRACTABLE) != Some(true) {
            return Err(KmipError::new(
                ResultReason::PermissionDenied,
                "a Sensitive key can be wrapped only under a key that is not Extractable and never was",
            ));
        }
        let mask = k
            .first_attribute(tag::CRYPTOGRAPHIC_USAGE_MASK)
            .and_then(Item::as_integer)
            .unwrap_or(0);
        if mask & USAGE_DECRYPT != 0 {
            return Err(KmipError::new(
                ResultReason::PermissionDenied,
                "a Sensitive key can be wrapped only under a key whose Cryptographic Usage Mask has no Decrypt",
            ));
        }
    }
    if k.state != State::Active {
        return Err(KmipError::new(
            ResultReason::WrongKeyLifecycleState,
            format!("the wrapping key is {}, not Active", k.state.name()),
        ));
    }
    let mask = k
        .first_attribute(tag::CRYPTOGRAPHIC_USAGE_MASK)
        .and_then(Item::as_integer)
        .unwrap_or(0);
    if mask & USAGE_WRAP_KEY == 0 {
        return Err(KmipError::new(
            ResultReason::IncompatibleCryptographicUsageMask,
            "the wrapping key may not wrap keys (no Wrap Key in its usage mask)",
        ));
    }
    let material = k
        .object
        .as_ref()
        .and_then(|o| o.child(tag::KEY_BLOCK))
        .and_then(|b| b.child(tag::KEY_VALUE))
        .and_then(|v| v.child(tag::KEY_MATERIAL))
        .and_then(|m| {
            m.as_bytes().map(<[u8]>::to_vec).or_else(|| {
                m.child(tag::KEY)
                    .and_then(Item::as_bytes)
                    .map(<[u8]>::to_vec)
            })
        })
        .ok_or_else(|| {
            KmipError::new(
                ResultReason::IllegalObjectType,
                "the wrapping key is not a symmetric key",
            )
        })?;
    Ok(Zeroizing::new(material))
}

fn aes_wrap(kek: &[u8], mode: u32, plain: &[u8]) -> KmipResult<Vec<u8>> {
    let cipher = match kek.len() {
        16 => &AES_128,
        32 => &AES_256,
        n => {
            return Err(KmipError::new(
                ResultReason::CryptographicFailure,
                format!(
                    "a {}-bit wrapping key cannot wrap: use AES-128 or AES-256",
                    n * 8
                ),
            ));
        }
    };
    let key = AesKek::new(cipher, kek)
        .map_err(|_| KmipError::new(ResultReason::CryptographicFailure, "bad wrapping key"))?;
    let mut out = vec![0u8; plain.len() + 16];
    let fail = |_| {
        KmipError::new(
            ResultReason::CryptographicFailure,
            "key wrap failed (RFC 3394 needs a value of at least 16 bytes, in 8-byte steps)",
        )
    };
    let n = match mode {
        NIST_KEY_WRAP => key.wrap(plain, &mut out).map_err(fail)?.len(),
        AES_KEY_WRAP_PADDING => key.wrap_with_padding(plain, &mut out).map_err(fail)?.len(),
        other => {
            return Err(KmipError::new(
                ResultReason::UnsupportedCryptographicParameters,
                format!(
                    "block cipher mode {other} cannot wrap keys; use NIST Key Wrap or AES Key Wrap Padding"
                ),
            ));
        }
    };
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3394_and_rfc5649_known_answers() {
        // RFC 3394 §4.1: 128-bit key data with a 128-bit KEK.
        let kek = hex::decode("000102030405060708090A0B0C0D0E0F").unwrap();
        let data = hex::decode("00112233445566778899AABBCCDDEEFF").unwrap();
        assert_eq!(
            hex::encode_upper(aes_wrap(&kek, NIST_KEY_WRAP, &data).unwrap()),
            "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"
        );
        // RFC 3394 §4.6: 256-bit key data with a 256-bit KEK.
        let kek = hex::decode("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
            .unwrap();
        let data = hex::decode("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
            .unwrap();
        assert_eq!(
            hex::encode_upper(aes_wrap(&kek, NIST_KEY_WRAP, &data).unwrap()),
            "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"
        );
        // RFC 5649 pads odd lengths: 20 octets come back as 32.
        let padded = aes_wrap(&kek, AES_KEY_WRAP_PADDING, &data[..20]).unwrap();
        assert_eq!(padded.len(), 32);
        let key = AesKek::new(&AES_256, &kek).unwrap();
        let mut out = [0u8; 32];
        assert_eq!(
            key.unwrap_with_padding(&padded, &mut out).unwrap(),
            &data[..20]
        );
        // A 192-bit KEK is refused by name, not silently.
        assert!(aes_wrap(&[0u8; 24], NIST_KEY_WRAP, &data).is_err());
    }
}

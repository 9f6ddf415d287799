//! Decrypt with AES keys, the counterpart of Encrypt: the client gives
//! back the IV (and, for GCM, the tag and additional data).

use super::crypto::{
    self, AES, MODE_CBC, MODE_CTR, MODE_ECB, MODE_GCM, PAD_NONE, PAD_PKCS5, USAGE_DECRYPT,
    cipher_key, gcm_key, nonce,
};
use super::{Context, requested_uid, response};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ResultReason};
use crate::ttlv::{Bytes, Item};
use aws_lc_rs::aead::Aad;
use aws_lc_rs::cipher::{DecryptingKey, DecryptionContext, PaddedBlockDecryptingKey};
use aws_lc_rs::iv::FixedLength;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let o = crypto::usable_key(ctx, uid, USAGE_DECRYPT)?;
    let (key, format, algorithm) = crypto::material(&o)?;
    let p = crypto::params_for(payload, &o);
    if algorithm == crypto::RSA {
        let plain = crypto::rsa_decrypt(&key, format, &p, crypto::data(payload)?)?;
        return Ok(response(vec![
            Item::text(tag::UNIQUE_IDENTIFIER, o.uid.clone()),
            Item::bytes(tag::DATA, Bytes::from(plain.as_slice())),
        ]));
    }
    if p.algorithm.unwrap_or(algorithm) != AES || algorithm != AES {
        return Err(crypto::unsupported("Decrypt takes AES or RSA keys"));
    }
    let mut data = crypto::data(payload)?.to_vec();
    let iv = payload
        .child(tag::IV_COUNTER_NONCE)
        .and_then(Item::as_bytes);
    let need_iv = || {
        iv.ok_or_else(|| {
            KmipError::new(
                ResultReason::MissingInitializationVector,
                "Decrypt needs the IV",
            )
        })
    };
    // ECB takes no IV; the other block modes take the client's.
    let block_context = |mode: u32| -> KmipResult<DecryptionContext> {
        if mode == MODE_ECB {
            return Ok(DecryptionContext::None);
        }
        let iv: [u8; 16] = need_iv()?
            .try_into()
            .map_err(|_| KmipError::invalid_field("the IV must be 16 bytes for AES"))?;
        Ok(DecryptionContext::Iv128(FixedLength::from(iv)))
    };
    let plain: Vec<u8> = match (p.mode.unwrap_or(MODE_CBC), p.padding.unwrap_or(PAD_NONE)) {
        (mode @ (MODE_CBC | MODE_ECB), PAD_PKCS5) => {
            let k = if mode == MODE_ECB {
                PaddedBlockDecryptingKey::ecb_pkcs7(cipher_key(&key)?)
            } else {
                PaddedBlockDecryptingKey::cbc_pkcs7(cipher_key(&key)?)
            }
            .map_err(|_| crypto::failure("cipher setup"))?;
            let c = block_context(mode)?;
            k.decrypt(&mut data, c)
                .map_err(|_| crypto::failure("decryption (bad padding or key)"))?
                .to_vec()
        }
        (mode @ (MODE_CBC | MODE_CTR | MODE_ECB), PAD_NONE) => {
            let k = match mode {
                MODE_CBC => DecryptingKey::cbc(cipher_key(&key)?),
                MODE_CTR => DecryptingKey::ctr(cipher_key(&key)?),
                _ => DecryptingKey::ecb(cipher_key(&key)?),
            }
            .map_err(|_| crypto::failure("cipher setup"))?;
            let c = block_context(mode)?;
            k.decrypt(&mut data, c)
                .map_err(|_| crypto::failure("decryption"))?
                .to_vec()
        }
        (MODE_GCM, _) => {
            let t = payload
                .child(tag::AUTHENTICATED_ENCRYPTION_TAG)
                .and_then(Item::as_bytes)
                .ok_or_else(|| {
                    KmipError::missing_data("GCM decryption needs the Authenticated Encryption Tag")
                })?;
            let aad = payload
                .child(tag::AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA)
                .and_then(Item::as_bytes)
                .unwrap_or(&[]);
            data.extend_from_slice(t);
            gcm_key(&key)?
                .open_in_place(nonce(need_iv()?)?, Aad::from(aad), &mut data)
                .map_err(|_| crypto::failure("authenticated decryption (tag mismatch)"))?
                .to_vec()
        }
        (mode, padding) => {
            return Err(crypto::unsupported(format!(
                "block cipher mode {mode} with padding {padding} is not supported"
            )));
        }
    };
    Ok(response(vec![
        Item::text(tag::UNIQUE_IDENTIFIER, o.uid),
        Item::bytes(tag::DATA, Bytes::new(plain)),
    ]))
}

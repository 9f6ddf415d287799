//! Encrypt with AES keys: CBC and ECB with PKCS5 padding, CBC and CTR
//! without, and GCM with its tag and additional data. The server makes the
//! IV when the client sends none, and returns it only then.

use super::crypto::{
    self, AES, MODE_CBC, MODE_CTR, MODE_ECB, MODE_GCM, PAD_NONE, PAD_PKCS5, USAGE_ENCRYPT,
    cipher_key, gcm_key, iv16, nonce,
};
use super::{Context, requested_uid, response};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult};
use crate::ttlv::Item;
use aws_lc_rs::aead::Aad;
use aws_lc_rs::cipher::{
    DecryptionContext, EncryptingKey, EncryptionContext, PaddedBlockEncryptingKey,
};

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let o = crypto::usable_key(ctx, uid, USAGE_ENCRYPT)?;
    let (key, _, algorithm) = crypto::material(&o)?;
    let p = crypto::params_for(payload, &o);
    if algorithm == crypto::RSA {
        let out = crypto::rsa_encrypt(&key, &p, crypto::data(payload)?)?;
        return Ok(response(vec![
            Item::text(tag::UNIQUE_IDENTIFIER, o.uid.clone()),
            Item::bytes(tag::DATA, out),
        ]));
    }
    if p.algorithm.unwrap_or(algorithm) != AES || algorithm != AES {
        return Err(crypto::unsupported("Encrypt takes AES or RSA keys"));
    }
    let mut data = crypto::data(payload)?.to_vec();
    let client_iv = payload
        .child(tag::IV_COUNTER_NONCE)
        .and_then(Item::as_bytes);
    let mut out = vec![Item::text(tag::UNIQUE_IDENTIFIER, o.uid.clone())];
    let mut generated_iv: Option<Vec<u8>> = None;
    let mut gcm_tag = None;
    match (p.mode.unwrap_or(MODE_CBC), p.padding.unwrap_or(PAD_NONE)) {
        (MODE_CBC, PAD_PKCS5) | (MODE_ECB, PAD_PKCS5) => {
            let ecb = p.mode == Some(MODE_ECB);
            let k = if ecb {
                PaddedBlockEncryptingKey::ecb_pkcs7(cipher_key(&key)?)
            } else {
                PaddedBlockEncryptingKey::cbc_pkcs7(cipher_key(&key)?)
            }
            .map_err(|_| crypto::failure("cipher setup"))?;
            let used = match (ecb, client_iv) {
                (true, _) => k.less_safe_encrypt(&mut data, EncryptionContext::None),
                (false, Some(iv)) => k.less_safe_encrypt(&mut data, iv16(iv)?),
                (false, None) => k.encrypt(&mut data),
            }
            .map_err(|_| crypto::failure("encryption"))?;
            if !ecb && client_iv.is_none() {
                generated_iv = iv_of(used);
            }
        }
        (mode @ (MODE_CBC | MODE_CTR | MODE_ECB), PAD_NONE) => {
            if mode != MODE_CTR && data.len() % 16 != 0 {
                return Err(KmipError::invalid_field(
                    "without padding the data must be whole 16-byte blocks",
                ));
            }
            let k = match mode {
                MODE_CBC => EncryptingKey::cbc(cipher_key(&key)?),
                MODE_CTR => EncryptingKey::ctr(cipher_key(&key)?),
                _ => EncryptingKey::ecb(cipher_key(&key)?),
            }
            .map_err(|_| crypto::failure("cipher setup"))?;
            let used = match (mode, client_iv) {
                (MODE_ECB, _) => k.less_safe_encrypt(&mut data, EncryptionContext::None),
                (_, Some(iv)) => k.less_safe_encrypt(&mut data, iv16(iv)?),
                (_, None) => k.encrypt(&mut data),
            }
            .map_err(|_| crypto::failure("encryption"))?;
            if mode != MODE_ECB && client_iv.is_none() {
                generated_iv = iv_of(used);
            }
        }
        (MODE_GCM, _) => {
            if p.tag_length.is_some_and(|t| t != 16) {
                return Err(crypto::unsupported("GCM tags are 16 bytes here"));
            }
            let iv = match client_iv {
                Some(iv) => iv.to_vec(),
                None => {
                    let mut iv = vec![0u8; 12];
                    aws_lc_rs::rand::fill(&mut iv).map_err(|_| crypto::failure("IV generation"))?;
                    generated_iv = Some(iv.clone());
                    iv
                }
            };
            let aad = payload
                .child(tag::AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA)
                .and_then(Item::as_bytes)
                .unwrap_or(&[]);
            let t = gcm_key(&key)?
                .seal_in_place_separate_tag(nonce(&iv)?, Aad::from(aad), &mut data)
                .map_err(|_| crypto::failure("encryption"))?;
            gcm_tag = Some(t.as_ref().to_vec());
        }
        (mode, padding) => {
            return Err(crypto::unsupported(format!(
                "block cipher mode {mode} with padding {padding} is not supported"
            )));
        }
    }
    out.push(Item::bytes(tag::DATA, data));
    if let Some(iv) = generated_iv {
        out.push(Item::bytes(tag::IV_COUNTER_NONCE, iv));
    }
    if let Some(t) = gcm_tag {
        out.push(Item::bytes(tag::AUTHENTICATED_ENCRYPTION_TAG, t));
    }
    Ok(response(out))
}

fn iv_of(ctx: DecryptionContext) -> Option<Vec<u8>> {
    match ctx {
        DecryptionContext::Iv128(iv) => Some(iv.as_ref().to_vec()),
        _ => None,
    }
}

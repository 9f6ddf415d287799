//! Sign: RSA (PSS or PKCS#1 v1.5, SHA-256/384/512) and ECDSA signatures
//! with the caller's private key, by aws-lc.

use super::crypto::{
    self, EC, ECDSA, FORMAT_PKCS_1, PAD_PKCS1V15, PAD_PSS, RSA, SHA_256, SHA_384, SHA_512,
    USAGE_SIGN,
};
use super::{Context, requested_uid, response};
use crate::kmip::KmipResult;
use crate::kmip::tag;
use crate::ttlv::Item;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, RsaEncoding};

pub(super) fn rsa_scheme(padding: u32, hashing: u32) -> KmipResult<&'static dyn RsaEncoding> {
    Ok(match (padding, hashing) {
        (PAD_PSS, SHA_256) => &signature::RSA_PSS_SHA256,
        (PAD_PSS, SHA_384) => &signature::RSA_PSS_SHA384,
        (PAD_PSS, SHA_512) => &signature::RSA_PSS_SHA512,
        (PAD_PKCS1V15, SHA_256) => &signature::RSA_PKCS1_SHA256,
        (PAD_PKCS1V15, SHA_384) => &signature::RSA_PKCS1_SHA384,
        (PAD_PKCS1V15, SHA_512) => &signature::RSA_PKCS1_SHA512,
        _ => {
            return Err(crypto::unsupported(
                "RSA signatures are PSS or PKCS#1 v1.5 with SHA-256/384/512",
            ));
        }
    })
}

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let o = crypto::usable_key(ctx, uid, USAGE_SIGN)?;
    let (key, format, algorithm) = crypto::material(&o)?;
    let p = crypto::params_for(payload, &o);
    let data = crypto::data(payload)?;
    let rng = SystemRandom::new();
    let sig = match p.algorithm.unwrap_or(algorithm) {
        RSA => {
            let kp = if format == FORMAT_PKCS_1 {
                signature::RsaKeyPair::from_der(&key)
            } else {
                signature::RsaKeyPair::from_pkcs8(&key)
            }
            .map_err(|_| crypto::failure("reading the RSA private key"))?;
            let scheme = rsa_scheme(p.padding.unwrap_or(PAD_PSS), p.hashing.unwrap_or(SHA_256))?;
            let mut sig = vec![0u8; kp.public_modulus_len()];
            kp.sign(scheme, &rng, data, &mut sig)
                .map_err(|_| crypto::failure("signing"))?;
            sig
        }
        ECDSA | EC => {
            let alg = match p.hashing.unwrap_or(SHA_256) {
                SHA_384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                SHA_256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                other => {
                    return Err(crypto::unsupported(format!(
                        "ECDSA with hashing algorithm {other}"
                    )));
                }
            };
            let kp = EcdsaKeyPair::from_pkcs8(alg, &key)
                .map_err(|_| crypto::failure("reading the EC private key"))?;
            kp.sign(&rng, data)
                .map_err(|_| crypto::failure("signing"))?
                .as_ref()
                .to_vec()
        }
        other => {
            return Err(crypto::unsupported(format!(
                "cannot sign with algorithm {other}"
            )));
        }
    };
    Ok(response(vec![
        Item::text(tag::UNIQUE_IDENTIFIER, o.uid),
        Item::bytes(tag::SIGNATURE_DATA, sig),
    ]))
}

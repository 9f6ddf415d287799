//! Signature Verify: checks an RSA or ECDSA signature with the caller's
//! public key; the answer is the Validity Indicator, not an error.

use super::crypto::{
    self, EC, ECDSA, PAD_PKCS1V15, PAD_PSS, RSA, SHA_256, SHA_384, SHA_512, USAGE_VERIFY,
};
use super::{Context, requested_uid};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult};
use crate::ttlv::Item;
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};

fn rsa_algorithm(padding: u32, hashing: u32) -> KmipResult<&'static dyn VerificationAlgorithm> {
    Ok(match (padding, hashing) {
        (PAD_PSS, SHA_256) => &signature::RSA_PSS_2048_8192_SHA256,
        (PAD_PSS, SHA_384) => &signature::RSA_PSS_2048_8192_SHA384,
        (PAD_PSS, SHA_512) => &signature::RSA_PSS_2048_8192_SHA512,
        (PAD_PKCS1V15, SHA_256) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (PAD_PKCS1V15, SHA_384) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (PAD_PKCS1V15, SHA_512) => &signature::RSA_PKCS1_2048_8192_SHA512,
        _ => {
            return Err(crypto::unsupported(
                "RSA signatures are PSS or PKCS#1 v1.5 with SHA-256/384/512",
            ));
        }
    })
}

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let uid = requested_uid(payload)?;
    let o = crypto::usable_key(ctx, uid, USAGE_VERIFY)?;
    let (key, _, algorithm) = crypto::material(&o)?;
    let p = crypto::params_for(payload, &o);
    let data = crypto::data(payload)?;
    let sig = payload
        .child(tag::SIGNATURE_DATA)
        .and_then(Item::as_bytes)
        .ok_or_else(|| KmipError::missing_data("Signature Verify needs the Signature Data"))?;
    let alg: &'static dyn VerificationAlgorithm = match p.algorithm.unwrap_or(algorithm) {
        RSA => rsa_algorithm(p.padding.unwrap_or(PAD_PSS), p.hashing.unwrap_or(SHA_256))?,
        ECDSA | EC => match p.hashing.unwrap_or(SHA_256) {
            SHA_384 => &signature::ECDSA_P384_SHA384_ASN1,
            SHA_256 => &signature::ECDSA_P256_SHA256_ASN1,
            other => {
                return Err(crypto::unsupported(format!(
                    "ECDSA with hashing algorithm {other}"
                )));
            }
        },
        other => {
            return Err(crypto::unsupported(format!(
                "cannot verify with algorithm {other}"
            )));
        }
    };
    let valid = UnparsedPublicKey::new(alg, key.as_slice())
        .verify(data, sig)
        .is_ok();
    Ok(crypto::validity(o.uid, valid))
}

//! AES-256-GCM with a random 96-bit nonce, the one cipher of the key
//! hierarchy. Sealed bytes are `nonce || ciphertext || tag`; the caller's
//! associated data binds them to where they belong.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use thiserror::Error;
use zeroize::Zeroizing;

pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A 256-bit key, wiped on drop.
pub type SecretKey = Zeroizing<[u8; KEY_LEN]>;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("sealed data is too short ({0} bytes)")]
    Short(usize),
    #[error("authentication failed: the data was altered, moved, or sealed under another key")]
    Authentication,
    #[error("the system random generator failed")]
    Random,
}

/// A fresh random key.
pub fn generate_key() -> Result<SecretKey, EnvelopeError> {
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    aws_lc_rs::rand::fill(k.as_mut()).map_err(|_| EnvelopeError::Random)?;
    Ok(k)
}

pub fn seal(key: &[u8; KEY_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| EnvelopeError::Random)?;
    let cipher = Aes256Gcm::new(&(*key).into());
    let ct = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| EnvelopeError::Authentication)?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

pub fn open(
    key: &[u8; KEY_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(EnvelopeError::Short(sealed.len()));
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce
        .try_into()
        .map_err(|_| EnvelopeError::Short(sealed.len()))?;
    let cipher = Aes256Gcm::new(&(*key).into());
    cipher
        .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| EnvelopeError::Authentication)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_tamper_is_caught() {
        let k = generate_key().unwrap();
        let sealed = seal(&k, b"uid-1", b"secret key bytes").unwrap();
        assert_eq!(
            open(&k, b"uid-1", &sealed).unwrap().as_slice(),
            b"secret key bytes"
        );
        assert_eq!(
            open(&k, b"uid-2", &sealed),
            Err(EnvelopeError::Authentication)
        );
        let other = generate_key().unwrap();
        assert_eq!(
            open(&other, b"uid-1", &sealed),
            Err(EnvelopeError::Authentication)
        );
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 1;
            assert_eq!(open(&k, b"uid-1", &t), Err(EnvelopeError::Authentication));
        }
        assert_eq!(open(&k, b"", &[0; 10]), Err(EnvelopeError::Short(10)));
    }

    #[test]
    fn known_answer_nist_gcm() {
        // NIST GCM test vector (gcmEncryptExtIV256, Count 0, PTlen 128):
        // checks that the cipher is AES-256-GCM and not merely self-consistent.
        let key: [u8; 32] =
            hex::decode("31bdadd96698c204aa9ce1448ea94ae1fb4a9a0b3c9d773b51bb1822666b8f22")
                .unwrap()
                .try_into()
                .unwrap();
        let nonce = hex::decode("0d18e06c7c725ac9e362e1ce").unwrap();
        let pt = hex::decode("2db5168e932556f8089a0622981d017d").unwrap();
        let expected =
            hex::decode("fa4362189661d163fcd6a56d8bf0405ad636ac1bbedd5cc3ee727dc2ab4a9489")
                .unwrap();
        let mut sealed = nonce.clone();
        sealed.extend_from_slice(&expected);
        assert_eq!(open(&key, b"", &sealed).unwrap().as_slice(), pt.as_slice());
    }
}

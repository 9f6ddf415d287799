//! AES-256-GCM with a random 96-bit nonce, the one cipher of the key
//! hierarchy. Sealed bytes are `nonce || ciphertext || tag`; the caller's
//! associated data binds them to where they belong.
//!
//! [`seal`] uses its key directly, which is right for keys that seal a
//! handful of times (the root key, the keyring). A key that seals without
//! bound, as a KEK does on every record write, uses [`seal_once`] instead:
//! each call derives a fresh one-time key from the key and a random salt.
//!
//! Why: NIST SP 800-38D caps random 96-bit nonces at 2^32 encryptions per
//! key (the chance of a repeated nonce, which leaks the GHASH key and the
//! XOR of two plaintexts, must stay under 2^-32). A store rewriting 10,000
//! records a second reaches 2^32 seals under one KEK in five days. With
//! [`seal_once`], the one-time key is HKDF-SHA256-Expand(key, label ||
//! salt) with a 192-bit random salt (RFC 5869 allows skipping Extract for a
//! uniformly random key, which a KEK is). Each one-time key encrypts exactly
//! one message, so the per-key nonce bound is never approached; two seals
//! share a key only if their salts collide, which after q seals has a
//! chance of at most q^2 / 2^193 (2^-97 at 2^48 seals), and even then their
//! independent random nonces would also have to collide. The security of
//! the KEK rests on HMAC-SHA256 being a PRF, which holds for far more than
//! 2^64 evaluations.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use aws_lc_rs::hkdf;
use thiserror::Error;
use zeroize::Zeroizing;

pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// The random salt in front of a [`seal_once`] envelope.
pub(crate) const SALT_LEN: usize = 24;
/// Separates one-time record keys from anything else derived from a KEK.
/// Fixed length, so `label || salt` is unambiguous; label, salt and the
/// HKDF counter fit one SHA-256 block, so a derivation costs four block
/// computations.
const ONCE_LABEL: &[u8; 18] = b"lkm-record-key-v2\0";

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
    #[error("the one-time key could not be derived")]
    Derive,
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
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    seal_into(key, &nonce, aad, plaintext, &mut out)?;
    Ok(out)
}

/// Appends `nonce || ciphertext || tag` to `out`.
fn seal_into(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EnvelopeError> {
    let cipher = Aes256Gcm::new(&(*key).into());
    let ct = cipher
        .encrypt(
            &Nonce::from(*nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| EnvelopeError::Authentication)?;
    out.extend_from_slice(nonce);
    out.extend_from_slice(&ct);
    Ok(())
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

/// The one-time key for `salt`: HKDF-SHA256-Expand(key, label || salt, 32).
fn one_time_key(key: &[u8; KEY_LEN], salt: &[u8; SALT_LEN]) -> Result<SecretKey, EnvelopeError> {
    // The Prk holds a copy of the key and wipes it on drop; the output is
    // written straight into memory wiped on drop.
    let prk = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, key.as_ref());
    let info: [&[u8]; 2] = [ONCE_LABEL, salt];
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    prk.expand(&info, hkdf::HKDF_SHA256)
        .and_then(|okm| okm.fill(out.as_mut()))
        .map_err(|_| EnvelopeError::Derive)?;
    Ok(out)
}

/// Seals under a one-time key derived from `key` and a fresh random salt
/// (see the module doc for why): `salt || nonce || ciphertext || tag`.
/// The salt needs no authentication of its own: a changed salt derives
/// another key, and the tag no longer verifies.
pub(crate) fn seal_once(
    key: &[u8; KEY_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let mut random = [0u8; SALT_LEN + NONCE_LEN];
    aws_lc_rs::rand::fill(&mut random).map_err(|_| EnvelopeError::Random)?;
    let (salt, nonce) = random.split_at(SALT_LEN);
    let salt: &[u8; SALT_LEN] = salt.try_into().map_err(|_| EnvelopeError::Random)?;
    let nonce: &[u8; NONCE_LEN] = nonce.try_into().map_err(|_| EnvelopeError::Random)?;
    let once = one_time_key(key, salt)?;
    let mut out = Vec::with_capacity(SALT_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(salt);
    seal_into(&once, nonce, aad, plaintext, &mut out)?;
    Ok(out)
}

/// Opens what [`seal_once`] sealed.
pub(crate) fn open_once(
    key: &[u8; KEY_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    if sealed.len() < SALT_LEN + NONCE_LEN + TAG_LEN {
        return Err(EnvelopeError::Short(sealed.len()));
    }
    let (salt, rest) = sealed.split_at(SALT_LEN);
    let salt: &[u8; SALT_LEN] = salt
        .try_into()
        .map_err(|_| EnvelopeError::Short(sealed.len()))?;
    let once = one_time_key(key, salt)?;
    open(&once, aad, rest)
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
    fn seal_once_round_trip_and_every_tamper_is_caught() {
        let k = generate_key().unwrap();
        let sealed = seal_once(&k, b"uid-1", b"secret key bytes").unwrap();
        assert_eq!(sealed.len(), SALT_LEN + NONCE_LEN + 16 + TAG_LEN);
        assert_eq!(
            open_once(&k, b"uid-1", &sealed).unwrap().as_slice(),
            b"secret key bytes"
        );
        assert_eq!(
            open_once(&k, b"uid-2", &sealed),
            Err(EnvelopeError::Authentication)
        );
        let other = generate_key().unwrap();
        assert_eq!(
            open_once(&other, b"uid-1", &sealed),
            Err(EnvelopeError::Authentication)
        );
        // Salt, nonce, ciphertext and tag: every bit matters.
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 1;
            assert_eq!(
                open_once(&k, b"uid-1", &t),
                Err(EnvelopeError::Authentication),
                "byte {i}"
            );
        }
        // Not the direct construction under the key itself.
        assert_eq!(
            open(&k, b"uid-1", &sealed[SALT_LEN..]),
            Err(EnvelopeError::Authentication)
        );
        let short = &sealed[..SALT_LEN + NONCE_LEN + TAG_LEN - 1];
        assert_eq!(
            open_once(&k, b"uid-1", short),
            Err(EnvelopeError::Short(short.len()))
        );
    }

    #[test]
    fn each_seal_once_uses_its_own_key() {
        let k = generate_key().unwrap();
        let a = seal_once(&k, b"aad", b"the same plaintext").unwrap();
        let b = seal_once(&k, b"aad", b"the same plaintext").unwrap();
        let salt = |s: &[u8]| -> [u8; SALT_LEN] { s[..SALT_LEN].try_into().unwrap() };
        assert_ne!(salt(&a), salt(&b));
        let (ka, kb) = (
            one_time_key(&k, &salt(&a)).unwrap(),
            one_time_key(&k, &salt(&b)).unwrap(),
        );
        assert_ne!(*ka, *kb);
        assert_ne!(*ka, *k);
        // Each is sealed by its own one-time key, and only by it.
        assert_eq!(
            open(&ka, b"aad", &a[SALT_LEN..]).unwrap().as_slice(),
            b"the same plaintext"
        );
        assert_eq!(
            open(&kb, b"aad", &b[SALT_LEN..]).unwrap().as_slice(),
            b"the same plaintext"
        );
        assert_eq!(
            open(&ka, b"aad", &b[SALT_LEN..]),
            Err(EnvelopeError::Authentication)
        );
    }

    #[test]
    fn one_time_key_is_hkdf_sha256_expand() {
        // HKDF-Expand with one output block is HMAC(key, info || 0x01);
        // the expected value was also computed apart from this code base
        // (Python's `cryptography`, HKDFExpand).
        let key: [u8; KEY_LEN] = std::array::from_fn(|i| i as u8);
        let salt: [u8; SALT_LEN] = std::array::from_fn(|i| 0x40 + i as u8);
        let derived = one_time_key(&key, &salt).unwrap();
        let mut msg = ONCE_LABEL.to_vec();
        msg.extend_from_slice(&salt);
        msg.push(1);
        let mac = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key),
            &msg,
        );
        assert_eq!(derived.as_slice(), mac.as_ref());
        assert_eq!(
            hex::encode(*derived),
            "8138915822309a0ed1b6ea11633084392658cb1cf595954a3fdf886ebd8dc9cf"
        );
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

//! The sealed form of an object record:
//! `format(1) || record version(8) || KEK version(4) || nonce || ciphertext || tag`.
//! The associated data binds the ciphertext to its uid, record version and
//! KEK version, so a record copied under another uid, a header edited to
//! name another version, or any flipped bit fails authentication.

use crate::seal::envelope::{self, EnvelopeError};
use crate::seal::keyring::Keyring;
use thiserror::Error;
use zeroize::Zeroizing;

const FORMAT: u8 = 1;
const HEADER: usize = 1 + 8 + 4;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RecordSealError {
    #[error("is malformed")]
    Malformed,
    #[error("names KEK version {0}, which the keyring does not hold")]
    UnknownKek(u32),
    #[error("failed authentication: tampered, swapped or sealed under another key")]
    Authentication,
    #[error("could not be sealed: {0}")]
    Seal(EnvelopeError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub record_version: u64,
    pub kek_version: u32,
}

fn aad(uid: &str, h: RecordHeader) -> Vec<u8> {
    let mut a = Vec::with_capacity(uid.len() + 32);
    a.extend_from_slice(b"lkm-record-v1\0");
    a.extend_from_slice(uid.as_bytes());
    a.push(0);
    a.extend_from_slice(&h.record_version.to_be_bytes());
    a.extend_from_slice(&h.kek_version.to_be_bytes());
    a
}

/// Seals `plaintext` under the keyring's newest KEK.
pub fn seal(
    keyring: &Keyring,
    uid: &str,
    record_version: u64,
    plaintext: &[u8],
) -> Result<Vec<u8>, RecordSealError> {
    let kek_version = keyring.current_version();
    let kek = keyring
        .kek(kek_version)
        .ok_or(RecordSealError::UnknownKek(kek_version))?;
    let h = RecordHeader {
        record_version,
        kek_version,
    };
    let body = envelope::seal(kek, &aad(uid, h), plaintext).map_err(RecordSealError::Seal)?;
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.push(FORMAT);
    out.extend_from_slice(&record_version.to_be_bytes());
    out.extend_from_slice(&kek_version.to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads the header without any key: what the re-wrap scan needs.
pub fn header(sealed: &[u8]) -> Result<RecordHeader, RecordSealError> {
    if sealed.len() < HEADER || sealed[0] != FORMAT {
        return Err(RecordSealError::Malformed);
    }
    let rv: [u8; 8] = sealed[1..9]
        .try_into()
        .map_err(|_| RecordSealError::Malformed)?;
    let kv: [u8; 4] = sealed[9..13]
        .try_into()
        .map_err(|_| RecordSealError::Malformed)?;
    Ok(RecordHeader {
        record_version: u64::from_be_bytes(rv),
        kek_version: u32::from_be_bytes(kv),
    })
}

pub fn open(
    keyring: &Keyring,
    uid: &str,
    sealed: &[u8],
) -> Result<(RecordHeader, Zeroizing<Vec<u8>>), RecordSealError> {
    let h = header(sealed)?;
    let kek = keyring
        .kek(h.kek_version)
        .ok_or(RecordSealError::UnknownKek(h.kek_version))?;
    let plain = envelope::open(kek, &aad(uid, h), &sealed[HEADER..])
        .map_err(|_| RecordSealError::Authentication)?;
    Ok((h, plain))
}

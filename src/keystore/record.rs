//! The sealed form of an object record:
//! `format(1) || record version(8) || KEK version(4) || body`, where the
//! body is, by format:
//!
//! - 2 (every new seal): `salt(24) || nonce(12) || ciphertext || tag`,
//!   AES-256-GCM under a one-time key derived from the KEK and the salt
//!   ([`envelope::seal_once`]), so the number of records sealed under one
//!   KEK is not limited by the 2^32 bound on random GCM nonces.
//! - 1 (stores written before format 2): `nonce(12) || ciphertext || tag`,
//!   AES-256-GCM under the KEK itself. Still opened; every write of the
//!   record, and the re-wrap after a KEK rotation, re-seals it as format 2.
//!
//! The associated data binds the ciphertext to its uid, record version,
//! KEK version and format, so a record copied under another uid, a header
//! edited to name another version or format, or any flipped bit fails
//! authentication.

use crate::seal::envelope::{self, EnvelopeError};
use crate::seal::keyring::Keyring;
use thiserror::Error;
use zeroize::Zeroizing;

/// The format every seal writes.
pub(super) const FORMAT: u8 = 2;
/// The format of stores written before one-time keys.
const FORMAT_DIRECT: u8 = 1;
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
    pub format: u8,
    pub record_version: u64,
    pub kek_version: u32,
}

fn aad(uid: &str, h: RecordHeader) -> Vec<u8> {
    let mut a = Vec::with_capacity(uid.len() + 32);
    // The label names the format (v1, v2), so a header edited from one
    // format to the other cannot authenticate.
    a.extend_from_slice(b"lkm-record-v");
    a.push(b'0' + h.format);
    a.push(0);
    a.extend_from_slice(uid.as_bytes());
    a.push(0);
    a.extend_from_slice(&h.record_version.to_be_bytes());
    a.extend_from_slice(&h.kek_version.to_be_bytes());
    a
}

/// Seals `plaintext` under the keyring's newest KEK, in the current format.
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
        format: FORMAT,
        record_version,
        kek_version,
    };
    let body = envelope::seal_once(kek, &aad(uid, h), plaintext).map_err(RecordSealError::Seal)?;
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.push(FORMAT);
    out.extend_from_slice(&record_version.to_be_bytes());
    out.extend_from_slice(&kek_version.to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads the header without any key: what the re-wrap scan needs.
pub fn header(sealed: &[u8]) -> Result<RecordHeader, RecordSealError> {
    let format = *sealed.first().ok_or(RecordSealError::Malformed)?;
    if sealed.len() < HEADER || !matches!(format, FORMAT | FORMAT_DIRECT) {
        return Err(RecordSealError::Malformed);
    }
    let rv: [u8; 8] = sealed[1..9]
        .try_into()
        .map_err(|_| RecordSealError::Malformed)?;
    let kv: [u8; 4] = sealed[9..13]
        .try_into()
        .map_err(|_| RecordSealError::Malformed)?;
    Ok(RecordHeader {
        format,
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
    let body = &sealed[HEADER..];
    let plain = if h.format == FORMAT_DIRECT {
        envelope::open(kek, &aad(uid, h), body)
    } else {
        envelope::open_once(kek, &aad(uid, h), body)
    }
    .map_err(|_| RecordSealError::Authentication)?;
    Ok((h, plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A keyring whose only KEK (version 1) is the bytes 0, 1, ..., 31.
    fn fixed_keyring() -> Keyring {
        let mut b = vec![1u8];
        b.extend_from_slice(&[0xee; 32]);
        b.extend_from_slice(&1u32.to_be_bytes());
        b.extend_from_slice(&1u32.to_be_bytes());
        b.extend((0..32).map(|i| i as u8));
        Keyring::from_bytes(&b).unwrap()
    }

    const PLAIN: &[u8] = b"a record sealed by lkm before format 2";

    /// Made outside this code base (Python's `cryptography`) with the
    /// format-1 layout: AES-256-GCM under KEK 1, AAD
    /// "lkm-record-v1\0" || uid || 0 || version 3 || KEK version 1.
    const FORMAT_1: &str = "010000000000000003000000010102030405060708090a0b0c64ca28b08ffb82e26cd106267c768e08203ac192fc0070a7c4399656fb9610aaf689faab4e87c85b73a2461dd63106cb656029775973";

    /// The same plaintext in format 2, also made outside: salt 0x40..0x57,
    /// key = HKDF-SHA256-Expand(KEK, "lkm-record-key-v2\0" || salt, 32),
    /// AAD "lkm-record-v2\0" || uid || 0 || version 3 || KEK version 1.
    const FORMAT_2: &str = "02000000000000000300000001404142434445464748494a4b4c4d4e4f5051525354555657a0a1a2a3a4a5a6a7a8a9aaabd3554ea5dd0489ebc36a0a07389c41d365ba9a2d647542183d1f9b61a79fbadb3d93007228d8a2c4001753d24fabaee9bf467b931693";

    #[test]
    fn format_1_records_of_older_stores_still_open() {
        let ring = fixed_keyring();
        let sealed = hex::decode(FORMAT_1).unwrap();
        let (h, plain) = open(&ring, "golden-uid", &sealed).unwrap();
        assert_eq!(
            h,
            RecordHeader {
                format: 1,
                record_version: 3,
                kek_version: 1
            }
        );
        assert_eq!(plain.as_slice(), PLAIN);
        assert_eq!(
            open(&ring, "other-uid", &sealed),
            Err(RecordSealError::Authentication)
        );
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 1;
            assert!(open(&ring, "golden-uid", &t).is_err(), "byte {i}");
        }
    }

    #[test]
    fn format_2_known_answer() {
        let ring = fixed_keyring();
        let sealed = hex::decode(FORMAT_2).unwrap();
        let (h, plain) = open(&ring, "golden-uid", &sealed).unwrap();
        assert_eq!((h.format, h.record_version, h.kek_version), (2, 3, 1));
        assert_eq!(plain.as_slice(), PLAIN);
    }

    #[test]
    fn seals_format_2_and_round_trips() {
        let ring = fixed_keyring();
        let sealed = seal(&ring, "u-1", 7, b"object").unwrap();
        assert_eq!(sealed[0], FORMAT);
        assert_eq!(
            sealed.len(),
            HEADER + envelope::SALT_LEN + 12 + b"object".len() + 16
        );
        let (h, plain) = open(&ring, "u-1", &sealed).unwrap();
        assert_eq!(
            h,
            RecordHeader {
                format: 2,
                record_version: 7,
                kek_version: 1
            }
        );
        assert_eq!(plain.as_slice(), b"object");
        // Two seals of the same record: different salts, so different
        // one-time keys, and different bytes.
        let again = seal(&ring, "u-1", 7, b"object").unwrap();
        let salt = |s: &[u8]| s[HEADER..HEADER + envelope::SALT_LEN].to_vec();
        assert_ne!(salt(&sealed), salt(&again));
        assert_ne!(sealed, again);
    }

    #[test]
    fn every_tamper_of_a_format_2_record_is_caught() {
        let ring = fixed_keyring().rotated().unwrap();
        let sealed = seal(&ring, "u-1", 7, b"object").unwrap();
        // Header (format, versions), salt, nonce, ciphertext, tag.
        for i in 0..sealed.len() {
            for bit in [0x01, 0x80] {
                let mut t = sealed.clone();
                t[i] ^= bit;
                let e = open(&ring, "u-1", &t).unwrap_err();
                assert!(
                    matches!(
                        e,
                        RecordSealError::Authentication
                            | RecordSealError::Malformed
                            | RecordSealError::UnknownKek(_)
                    ),
                    "byte {i}: {e:?}"
                );
            }
        }
        // Relabelled as format 1, or moved to another uid.
        let mut as_v1 = sealed.clone();
        as_v1[0] = FORMAT_DIRECT;
        assert_eq!(
            open(&ring, "u-1", &as_v1),
            Err(RecordSealError::Authentication)
        );
        assert_eq!(
            open(&ring, "u-2", &sealed),
            Err(RecordSealError::Authentication)
        );
        // Version 1 of the KEK holds a valid key, but not this record's.
        let mut other_kek = sealed.clone();
        other_kek[9..13].copy_from_slice(&1u32.to_be_bytes());
        assert_eq!(
            open(&ring, "u-1", &other_kek),
            Err(RecordSealError::Authentication)
        );
        for n in 0..HEADER + envelope::SALT_LEN + 12 + 16 {
            assert!(open(&ring, "u-1", &sealed[..n]).is_err(), "{n} bytes");
        }
        assert_eq!(header(&[]), Err(RecordSealError::Malformed));
        assert_eq!(header(&[3; 20]), Err(RecordSealError::Malformed));
    }
}

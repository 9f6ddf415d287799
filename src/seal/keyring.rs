//! The versioned KEK ring and the index key. Several KEK versions can be
//! live at once: records name the version that wrapped them, new records use
//! the newest, and a background re-wrap moves old records forward before an
//! old version is retired. The index key (for the keyed hashes of names and
//! attribute values in the indexes) never rotates with the KEKs, so indexes
//! stay valid across rotations.

use super::envelope::{EnvelopeError, KEY_LEN, SecretKey, generate_key};
use aws_lc_rs::hmac;
use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;
use zeroize::Zeroizing;

const FORMAT: u8 = 1;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyringError {
    #[error("the keyring is malformed")]
    Malformed,
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
}

pub struct Keyring {
    keks: BTreeMap<u32, SecretKey>,
    index_key: SecretKey,
    index_hmac: hmac::Key,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("kek_versions", &self.keks.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// A new ring with KEK version 1 and a fresh index key.
    pub fn generate() -> Result<Keyring, KeyringError> {
        let mut keks = BTreeMap::new();
        keks.insert(1, generate_key()?);
        Ok(Self::assemble(keks, generate_key()?))
    }

    fn assemble(keks: BTreeMap<u32, SecretKey>, index_key: SecretKey) -> Keyring {
        let index_hmac = hmac::Key::new(hmac::HMAC_SHA256, index_key.as_ref());
        Keyring {
            keks,
            index_key,
            index_hmac,
        }
    }

    /// The newest KEK version, used for every new wrap.
    pub fn current_version(&self) -> u32 {
        self.keks.keys().next_back().copied().unwrap_or(0)
    }

    pub fn versions(&self) -> Vec<u32> {
        self.keks.keys().copied().collect()
    }

    pub fn kek(&self, version: u32) -> Option<&SecretKey> {
        self.keks.get(&version)
    }

    /// A copy of this ring with one more, newest, KEK version.
    pub fn rotated(&self) -> Result<Keyring, KeyringError> {
        let mut keks: BTreeMap<u32, SecretKey> = self
            .keks
            .iter()
            .map(|(v, k)| (*v, Zeroizing::new(**k)))
            .collect();
        keks.insert(self.current_version() + 1, generate_key()?);
        Ok(Self::assemble(keks, Zeroizing::new(*self.index_key)))
    }

    /// A copy without the versions older than `keep_from`.
    pub fn retired_below(&self, keep_from: u32) -> Keyring {
        let keks = self
            .keks
            .iter()
            .filter(|(v, _)| **v >= keep_from)
            .map(|(v, k)| (*v, Zeroizing::new(**k)))
            .collect();
        Self::assemble(keks, Zeroizing::new(*self.index_key))
    }

    /// A keyed hash for index entries: reveals equality, not the value.
    pub fn index_hash(&self, domain: u8, data: &[u8]) -> [u8; 16] {
        let mut ctx = hmac::Context::with_key(&self.index_hmac);
        ctx.update(&[domain]);
        ctx.update(data);
        let tag = ctx.sign();
        let mut out = [0u8; 16];
        out.copy_from_slice(&tag.as_ref()[..16]);
        out
    }

    /// `format || index key || count || (version || key)*`, to be sealed.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(1 + KEY_LEN + 4 + self.keks.len() * 36));
        out.push(FORMAT);
        out.extend_from_slice(self.index_key.as_ref());
        out.extend_from_slice(&(self.keks.len() as u32).to_be_bytes());
        for (v, k) in &self.keks {
            out.extend_from_slice(&v.to_be_bytes());
            out.extend_from_slice(k.as_ref());
        }
        out
    }

    pub fn from_bytes(b: &[u8]) -> Result<Keyring, KeyringError> {
        let take_key = |s: &[u8]| -> Result<SecretKey, KeyringError> {
            let arr: [u8; KEY_LEN] = s.try_into().map_err(|_| KeyringError::Malformed)?;
            Ok(Zeroizing::new(arr))
        };
        if b.len() < 1 + KEY_LEN + 4 || b[0] != FORMAT {
            return Err(KeyringError::Malformed);
        }
        let index_key = take_key(&b[1..1 + KEY_LEN])?;
        let count_at = 1 + KEY_LEN;
        let count = u32::from_be_bytes(
            b[count_at..count_at + 4]
                .try_into()
                .map_err(|_| KeyringError::Malformed)?,
        ) as usize;
        let body = &b[count_at + 4..];
        if count == 0 || body.len() != count * (4 + KEY_LEN) {
            return Err(KeyringError::Malformed);
        }
        let mut keks = BTreeMap::new();
        for chunk in body.chunks_exact(4 + KEY_LEN) {
            let v = u32::from_be_bytes(chunk[..4].try_into().map_err(|_| KeyringError::Malformed)?);
            keks.insert(v, take_key(&chunk[4..])?);
        }
        Ok(Self::assemble(keks, index_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialise_rotate_retire() {
        let k = Keyring::generate().unwrap();
        let k2 = k.rotated().unwrap();
        assert_eq!(k2.versions(), vec![1, 2]);
        assert_eq!(k2.current_version(), 2);
        let back = Keyring::from_bytes(&k2.to_bytes()).unwrap();
        assert_eq!(back.versions(), vec![1, 2]);
        assert_eq!(**back.kek(1).unwrap(), **k.kek(1).unwrap());
        assert_eq!(back.index_hash(1, b"name"), k.index_hash(1, b"name"));
        assert_ne!(back.index_hash(1, b"name"), back.index_hash(2, b"name"));
        assert_eq!(k2.retired_below(2).versions(), vec![2]);
        assert!(Keyring::from_bytes(&k2.to_bytes()[..40]).is_err());
        assert!(!format!("{k2:?}").contains(&hex::encode(**k2.kek(1).unwrap())));
    }
}

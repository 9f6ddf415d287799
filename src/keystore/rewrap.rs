//! The background re-wrap after a KEK rotation: walk the records in uid
//! order, re-seal those under an older KEK with the newest one, and keep
//! the position in the store (in the same batch as the records moved), so a
//! restart resumes where it stopped. When the walk completes, the older
//! KEK versions are retired from the ring. The walk also re-seals records
//! still in an older record format under the newest KEK (stores written
//! before format 2), so after a rotation every record is current.

use super::{KeyStore, KeyStoreError, record};
use crate::store::{Cf, Command};
use tracing::info;

pub(super) const META_CURSOR: &[u8] = b"rewrap-cursor";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewrapProgress {
    /// Records re-sealed by this step.
    pub moved: usize,
    /// True once no record uses an older KEK and the old versions are gone.
    pub done: bool,
}

impl KeyStore {
    /// Moves up to `max` records to the newest KEK.
    pub fn rewrap_step(&self, max: usize) -> Result<RewrapProgress, KeyStoreError> {
        let writer = self.writer();
        let keyring = self.keyring()?;
        let current = keyring.current_version();
        if keyring.versions().len() == 1 {
            return Ok(RewrapProgress {
                moved: 0,
                done: true,
            });
        }
        let cursor = self.store().get(Cf::Meta, META_CURSOR)?.unwrap_or_default();
        let batch = self
            .store()
            .scan(Cf::Objects, b"", &cursor, max.max(1) + 1)?;
        let mut moved = 0;
        let mut last = None;
        for (key, value) in batch.iter().take(max.max(1)) {
            last = Some(key.clone());
            let uid = std::str::from_utf8(key)
                .map_err(|_| KeyStoreError::Meta("an object key is not a uid".into()))?
                .to_owned();
            let h = record::header(value).map_err(|e| Self::record_error(&uid, e))?;
            if h.kek_version == current && h.format == record::FORMAT {
                continue;
            }
            let _guard = self.stripe(&uid);
            // Re-read under the lock: a writer may have moved it already.
            if let Some((version, o)) = self.load_versioned(&keyring, &uid)? {
                let sealed = record::seal(&keyring, &uid, version + 1, &o.encode())
                    .map_err(|e| Self::record_error(&uid, e))?;
                let mut c = Command::default();
                c.put(Cf::Objects, key.to_vec(), sealed);
                let mut next = key.to_vec();
                next.push(0);
                c.put(Cf::Meta, META_CURSOR, next);
                c.expect.push(super::expect(&uid, version));
                match self.submit(c) {
                    Ok(_) => moved += 1,
                    // Written since by someone else, under the new KEK.
                    Err(KeyStoreError::Changed { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if batch.len() > max.max(1) {
            if let Some(k) = last {
                let mut next = k.to_vec();
                next.push(0);
                let mut c = Command::default();
                c.put(Cf::Meta, META_CURSOR, next);
                self.submit(c)?;
            }
            return Ok(RewrapProgress { moved, done: false });
        }
        // A writer that fetched the ring before the rotation may have sealed
        // a record under the old KEK behind the cursor. With every writer
        // held off, check every header (no decryption) before an old key
        // is dropped, and go round again from the first straggler.
        drop(writer);
        let _exclusive = self.retirer();
        if let Some(straggler) = self.first_record_below(current)? {
            let mut c = Command::default();
            c.put(Cf::Meta, META_CURSOR, straggler);
            self.submit(c)?;
            return Ok(RewrapProgress { moved, done: false });
        }
        self.retire_old_keks(current)?;
        Ok(RewrapProgress { moved, done: true })
    }

    fn first_record_below(&self, current: u32) -> Result<Option<Vec<u8>>, KeyStoreError> {
        let mut from: Vec<u8> = Vec::new();
        loop {
            let chunk = self.store().scan(Cf::Objects, b"", &from, 4096)?;
            for (key, value) in &chunk {
                let uid = String::from_utf8_lossy(key);
                if record::header(value)
                    .map_err(|e| Self::record_error(&uid, e))?
                    .kek_version
                    < current
                {
                    return Ok(Some(key.to_vec()));
                }
            }
            match chunk.last() {
                Some((k, _)) if chunk.len() == 4096 => {
                    from = k.to_vec();
                    from.push(0);
                }
                _ => return Ok(None),
            }
        }
    }

    fn retire_old_keks(&self, keep_from: u32) -> Result<(), KeyStoreError> {
        let ring = self.replace_keyring(|k| Ok(k.retired_below(keep_from)), "RetireKek")?;
        info!(kek_versions = ?ring.versions(), "re-wrap complete; older KEKs retired");
        Ok(())
    }
}

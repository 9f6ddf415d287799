//! The one-time rebuild of an index written by an earlier build. Format 1
//! keyed names, groups, types, states and custom values by value alone,
//! across every owner; format 2 puts every entry under its owner (see
//! `index`). The entries are hashes that only the keyring can recompute,
//! so the rebuild runs at unseal, before the store answers anyone: every
//! old entry and owner counter is dropped, every record is read once and
//! indexed anew, in bounded batches, and the new format is recorded last.
//! A crash part-way leaves the old format recorded, so the next unseal
//! starts over from a clean index.

use super::{KeyStore, KeyStoreError, index, put_entry};
use crate::audit::Draft;
use crate::seal::keyring::Keyring;
use crate::store::{Cf, Command};
use tracing::{error, info};

/// Records read, or entries deleted, per write batch.
const BATCH: usize = 1024;

impl KeyStore {
    /// Rebuilds the index if the store's layout is older than this build's.
    /// Runs while unsealing, with the keyring just opened.
    pub(super) fn reindex_if_needed(&self, keyring: &Keyring) -> Result<(), KeyStoreError> {
        let found = match self.store.get(Cf::Meta, index::META_FORMAT)? {
            None => 1,
            Some(v) => v
                .as_slice()
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| KeyStoreError::Meta("the index format record is malformed".into()))?,
        };
        if found == index::FORMAT {
            return Ok(());
        }
        if found > index::FORMAT {
            return Err(KeyStoreError::Meta(format!(
                "the index has format {found}; this build reads format {}",
                index::FORMAT
            )));
        }
        info!(
            from = found,
            to = index::FORMAT,
            "rebuilding the index (entries by owner); this runs once"
        );
        let started = std::time::Instant::now();
        self.clear(Cf::Index, b"")?;
        self.clear(Cf::Meta, index::META_OWNERS.as_bytes())?;
        let (mut indexed, mut unreadable) = (0u64, 0u64);
        let mut from: Vec<u8> = Vec::new();
        loop {
            let chunk = self.store.scan(Cf::Objects, b"", &from, BATCH)?;
            let mut c = Command::default();
            for (key, _) in &chunk {
                let opened = match std::str::from_utf8(key) {
                    Ok(uid) => self.load_versioned(keyring, uid),
                    Err(_) => Err(KeyStoreError::Meta("an object key is not a uid".into())),
                };
                match opened {
                    Ok(Some((_, o))) => {
                        for e in index::entries(keyring, &o) {
                            put_entry(&mut c, &e);
                        }
                        indexed += 1;
                    }
                    Ok(None) => {}
                    // One damaged record must not keep every key locked
                    // away: it stays as it is (Get names the damage), unindexed.
                    Err(e) => {
                        unreadable += 1;
                        error!(error = %e, "a record could not be read to index it");
                    }
                }
            }
            self.submit(c)?;
            match chunk.last() {
                Some((k, _)) if chunk.len() == BATCH => {
                    from = k.to_vec();
                    from.push(0);
                }
                _ => break,
            }
        }
        let mut c = Command::default();
        c.put(
            Cf::Meta,
            index::META_FORMAT,
            index::FORMAT.to_be_bytes().to_vec(),
        );
        let draft = Draft::new("local", "RebuildIndex").detail(format!(
            "index format {found} -> {}: {indexed} objects indexed, {unreadable} unreadable",
            index::FORMAT
        ));
        c.audit.push(super::stamp(draft));
        self.submit(c)?;
        info!(
            indexed,
            unreadable,
            seconds = started.elapsed().as_secs_f64(),
            "index rebuilt"
        );
        Ok(())
    }

    /// Deletes every key of `cf` that starts with `prefix`, a batch at a time.
    fn clear(&self, cf: Cf, prefix: &[u8]) -> Result<(), KeyStoreError> {
        let mut from = prefix.to_vec();
        loop {
            let chunk = self.store.scan(cf, prefix, &from, BATCH)?;
            let mut c = Command::default();
            for (k, _) in &chunk {
                c.delete(cf, k.to_vec());
            }
            self.submit(c)?;
            match chunk.last() {
                Some((k, _)) if chunk.len() == BATCH => {
                    from = k.to_vec();
                    from.push(0);
                }
                _ => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{IndexKind, Owners};
    use super::*;
    use crate::kmip::{ObjectType, tag};
    use crate::objects::{ManagedObject, State};
    use crate::seal::shares::ShareFile;
    use crate::ttlv::Item;
    use std::collections::BTreeSet;
    use std::sync::atomic::Ordering;

    fn object(i: usize, owner: &str, name: &str) -> ManagedObject {
        ManagedObject {
            uid: format!("{i:08}-0000-4000-8000-000000000000"),
            object_type: ObjectType::SecretData,
            state: if i.is_multiple_of(2) {
                State::Active
            } else {
                State::PreActive
            },
            owner: owner.into(),
            owner_name: String::new(),
            attributes: vec![
                Item::structure(
                    tag::NAME,
                    vec![
                        Item::text(tag::NAME_VALUE, name),
                        Item::enumeration(tag::NAME_TYPE, 1),
                    ],
                ),
                Item::text(tag::OBJECT_GROUP, "bay-3"),
                Item::date_time(tag::INITIAL_DATE, 1_700_000_000 + i as i64),
            ],
            object: None,
        }
    }

    /// The entries the builds before owner-scoped indexes wrote.
    fn format_1_entries(keyring: &Keyring, o: &ManagedObject) -> BTreeSet<Vec<u8>> {
        let mut out = BTreeSet::new();
        let mut hashed = |kind: IndexKind, value: &[u8]| {
            let mut k = vec![kind as u8];
            k.extend_from_slice(&keyring.index_hash(kind as u8, value));
            k.extend_from_slice(o.uid.as_bytes());
            out.insert(k);
        };
        hashed(IndexKind::Owner, o.owner.as_bytes());
        hashed(IndexKind::ObjectType, &o.object_type.value().to_be_bytes());
        hashed(IndexKind::State, &o.state.value().to_be_bytes());
        for n in o.names() {
            hashed(IndexKind::Name, n.as_bytes());
        }
        hashed(IndexKind::Group, b"bay-3");
        for a in o.attribute(tag::INITIAL_DATE) {
            let mut k = vec![IndexKind::Date as u8];
            k.extend_from_slice(&a.tag.to_be_bytes());
            k.extend_from_slice(&index::ordered_date(a.as_date_time().unwrap()));
            k.extend_from_slice(o.uid.as_bytes());
            out.insert(k);
        }
        out
    }

    fn all_keys(ks: &KeyStore, cf: Cf, prefix: &[u8]) -> BTreeSet<Vec<u8>> {
        ks.store
            .scan(cf, prefix, prefix, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k.to_vec())
            .collect()
    }

    #[test]
    fn a_format_1_index_is_rebuilt_by_owner_once_at_unseal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let share = |f: &ShareFile| ShareFile::parse(&f.to_json()).unwrap();
        let shares: Vec<ShareFile>;
        // Two owners, one of them also under a fingerprint (objects of an
        // earlier build), and one name both use.
        let objects: Vec<ManagedObject> = (0..2 * BATCH + 7)
            .map(|i| {
                let owner = match i % 3 {
                    0 => "subject:CN=a",
                    1 => "subject:CN=b",
                    _ => "ab12",
                };
                object(i, owner, if i < 2 { "x" } else { "other" })
            })
            .collect();
        let expected: BTreeSet<Vec<u8>>;
        {
            let ks = KeyStore::open(&path).unwrap();
            shares = ks.initialize(1, 1, "test", |_| Ok(())).unwrap();
            ks.unseal(share(&shares[0])).unwrap();
            ks.insert_bulk(&objects).unwrap();
            let keyring = ks.keyring().unwrap();
            expected = objects
                .iter()
                .flat_map(|o| index::entries(&keyring, o))
                .collect();
            assert_eq!(all_keys(&ks, Cf::Index, b""), expected);
            // Turn the store into one an earlier build wrote.
            let mut c = Command::default();
            for k in &expected {
                c.delete(Cf::Index, k.clone());
            }
            for k in all_keys(&ks, Cf::Meta, index::META_OWNERS.as_bytes()) {
                c.delete(Cf::Meta, k);
            }
            c.delete(Cf::Meta, index::META_FORMAT);
            for o in &objects {
                for k in format_1_entries(&keyring, o) {
                    c.put(Cf::Index, k, Vec::new());
                }
            }
            ks.store.apply(&c).unwrap();
        }
        let ks = KeyStore::open(&path).unwrap();
        ks.unseal(share(&shares[0])).unwrap();
        assert_eq!(
            ks.records_opened.load(Ordering::Relaxed),
            objects.len() as u64,
            "every record read once"
        );
        // Exactly the entries this build writes; nothing of the old layout.
        assert_eq!(all_keys(&ks, Cf::Index, b""), expected);
        let by = |owners: Owners<'_>, kind, value: &[u8]| {
            ks.lookup(owners, kind, value, usize::MAX).unwrap()
        };
        assert_eq!(
            by(Owners::Of(&["subject:CN=a"]), IndexKind::Name, b"x"),
            vec![objects[0].uid.clone()]
        );
        assert_eq!(
            by(Owners::Of(&["subject:CN=b"]), IndexKind::Name, b"x"),
            vec![objects[1].uid.clone()]
        );
        assert_eq!(by(Owners::All, IndexKind::Name, b"x").len(), 2);
        assert_eq!(
            by(Owners::Of(&["ab12"]), IndexKind::Owner, b"").len(),
            objects.len() / 3
        );
        assert_eq!(
            by(Owners::All, IndexKind::Group, b"bay-3").len(),
            objects.len()
        );
        // The owner counters are back, one per owner.
        assert_eq!(ks.owner_tags().unwrap().len(), 3);
        // Once: sealing and unsealing again reads nothing.
        ks.seal();
        let before = ks.records_opened.load(Ordering::Relaxed);
        ks.unseal(share(&shares[0])).unwrap();
        assert_eq!(ks.records_opened.load(Ordering::Relaxed), before);
    }
}

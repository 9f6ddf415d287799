//! For tests that drive the key store through its library API, with no
//! server: objects built directly, and a store opened and unsealed.
//! Pulled in with `#[path]`, so it needs nothing else from `common`.
#![allow(dead_code)]

use lkm::keystore::KeyStore;
use lkm::kmip::{ObjectType, tag};
use lkm::objects::{ManagedObject, State};
use lkm::seal::shares::ShareFile;
use lkm::ttlv::Item;
use std::path::Path;

/// Pre-Active symmetric key number `i` (uid `{i:08}-uid`), owned by
/// "tester" and named `name`; `key` is what its Symmetric Key holds.
pub fn symmetric_key(i: usize, name: impl Into<String>, key: Vec<Item>) -> ManagedObject {
    ManagedObject {
        uid: format!("{i:08}-uid"),
        object_type: ObjectType::SymmetricKey,
        state: State::PreActive,
        owner: "f".repeat(64),
        owner_name: "tester".into(),
        attributes: vec![Item::structure(
            tag::NAME,
            vec![
                Item::text(tag::NAME_VALUE, name),
                Item::enumeration(tag::NAME_TYPE, 1),
            ],
        )],
        object: Some(Item::structure(tag::SYMMETRIC_KEY, key)),
    }
}

/// Opens the store in `dir` and unseals it with `files`.
pub fn unsealed(dir: &Path, files: &[ShareFile]) -> KeyStore {
    let ks = KeyStore::open(dir).unwrap();
    for f in files {
        ks.unseal(ShareFile::parse(&f.to_json()).unwrap()).unwrap();
    }
    ks
}

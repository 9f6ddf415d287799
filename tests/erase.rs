//! Destroy drops the key material from the object's record, and the
//! record's older versions (which still hold it, sealed) then leave the
//! store's files: RocksDB would otherwise keep them in SST files until a
//! compaction happens to pass over them.

mod common;
#[path = "common/restart.rs"]
mod restart;

use lkm::kmip::{Operation, ProtocolVersion};
use lkm::store::Cf;
use std::path::Path;
use std::time::Duration;

/// Whether any file under `dir` holds `needle`.
fn files_hold(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if !e.file_type().unwrap().is_file() {
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap_or_default();
        if bytes.windows(needle.len()).any(|w| w == needle) {
            found.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_compacts_the_older_versions_out_of_the_store_files() {
    let server = restart::start_kept().await;
    let mut c = server.client(ProtocolVersion::new(2, 1)).await;
    let uid = common::create_keys(&mut c, 1).await.remove(0);
    c.call(Operation::Get, common::uid_payload(&uid))
        .await
        .unwrap();
    drop(c);
    // Reopening flushes what the WAL holds into an SST file, where an
    // overwritten version stays until a compaction passes over it.
    let server = restart::restart(restart::stop(server).await).await;
    let store_dir = server.dir.path().join("store");
    let sealed = server
        .keystore
        .store()
        .get(Cf::Objects, uid.as_bytes())
        .unwrap()
        .unwrap();
    // Past the nonce: ciphertext of the record, unique to this version.
    let needle = &sealed[sealed.len() - 48..sealed.len() - 16];
    let before = files_hold(&store_dir, needle);
    assert!(
        before.iter().any(|f| f.ends_with(".sst")),
        "the test must see the version in an SST file first: {before:?}"
    );

    let mut c = server.client(ProtocolVersion::new(2, 1)).await;
    c.call(Operation::Destroy, common::uid_payload(&uid))
        .await
        .unwrap();
    // The metadata stays, the material is gone from the record.
    let now = server
        .keystore
        .store()
        .get(Cf::Objects, uid.as_bytes())
        .unwrap()
        .unwrap();
    assert_ne!(now, sealed);
    let mut left = files_hold(&store_dir, needle);
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = files_hold(&store_dir, needle);
    }
    assert!(
        left.is_empty(),
        "the destroyed key's older record is still in {left:?}"
    );
    // The object is still known, as destroyed.
    assert!(
        c.call(Operation::GetAttributes, common::uid_payload(&uid))
            .await
            .is_ok()
    );
    drop(c);
    drop(restart::stop(server).await);
}

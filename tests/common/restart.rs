//! Servers that can be stopped and started again on the same data
//! directory (their one share kept beside it), so a test can change the
//! store in between, as someone with access to the disk could.
#![allow(dead_code)]

use crate::common::{self, TestServer};
use lkm::keystore::KeyStore;
use lkm::seal::shares::ShareFile;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

fn share_path(dir: &Path) -> PathBuf {
    dir.join("test-share.json")
}

/// Like `common::start`, keeping the share in the data directory.
pub async fn start_kept() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    lkm::pki::init(&dir.path().join("certs"), false).unwrap();
    let config = common::test_config(dir.path());
    let keystore = Arc::new(KeyStore::open(&config.store_dir()).unwrap());
    let share = share_path(dir.path());
    keystore
        .initialize(1, 1, "test", |files| {
            files
                .iter()
                .try_for_each(|f| f.write(&share))
                .map_err(|e| e.to_string())
        })
        .unwrap();
    keystore.unseal(ShareFile::read(&share).unwrap()).unwrap();
    common::start_on(dir, config, keystore).await
}

/// Stops the server and waits until its store is closed.
pub async fn stop(server: TestServer) -> TempDir {
    let TestServer {
        handle,
        keystore,
        dir,
        ..
    } = server;
    handle.shutdown();
    handle.wait().await;
    // Background tasks let go of the key store once they see the shutdown.
    let mut ks = keystore;
    for _ in 0..200 {
        match Arc::try_unwrap(ks) {
            Ok(k) => {
                drop(k);
                return dir;
            }
            Err(still) => {
                ks = still;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    panic!("the key store is still in use after shutdown");
}

/// Opens the store again, unseals it with the kept share, and serves it.
pub async fn restart(dir: TempDir) -> TestServer {
    let config = common::test_config(dir.path());
    let keystore = Arc::new(KeyStore::open(&config.store_dir()).unwrap());
    keystore
        .unseal(ShareFile::read(&share_path(dir.path())).unwrap())
        .unwrap();
    common::start_on(dir, config, keystore).await
}

/// Runs the `lkm` binary; whether it succeeded, and what it printed.
pub fn lkm(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(common::lkm_binary())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

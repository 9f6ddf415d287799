//! openraft's own storage conformance suite, run against our log store
//! and state machine (each case on a fresh pair in a temporary directory).

use super::log_store::LogStore;
use super::state_machine::StateMachine;
use super::types::Lkm;
use crate::store::Store;
use openraft::StorageError;
use openraft::testing::log::{StoreBuilder, Suite};
use std::sync::Arc;

struct Fresh;

fn fail(e: std::io::Error) -> StorageError<Lkm> {
    StorageError::from_io_error(openraft::ErrorSubject::Store, openraft::ErrorVerb::Read, e)
}

impl StoreBuilder<Lkm, LogStore, StateMachine, tempfile::TempDir> for Fresh {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<Lkm>> {
        let dir = tempfile::tempdir().map_err(fail)?;
        let store = Arc::new(
            Store::open(&dir.path().join("store")).map_err(|e| fail(std::io::Error::other(e)))?,
        );
        let log = LogStore::open(&dir.path().join("raft")).map_err(fail)?;
        let sm = StateMachine::open(store, &dir.path().join("snapshots")).map_err(fail)?;
        Ok((dir, log, sm))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_stores_pass_openraft_storage_suite() {
    if let Err(e) = Suite::test_all(Fresh).await {
        panic!("openraft storage suite: {e}");
    }
}

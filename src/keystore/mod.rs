//! The sealed key store: RocksDB records sealed by the KEK ring, the ring
//! sealed by a root key, the root key sealed by the master key (MEK), and
//! the MEK never stored, only split into Shamir shares.
//!
//! ```text
//! record  --AES-GCM(one-time key from KEK vN and a salt,
//!                  aad = uid|record version|N)-->            objects CF
//! keyring --AES-GCM(root key)-->                             meta "keyring"
//! root    --AES-GCM(MEK)-->                                  meta "root"
//! MEK     --Shamir K of n-->                                 share files
//! ```
//!
//! The root key sits between the MEK and the ring so the ring can gain a
//! KEK version (rotation) while unsealed, after the MEK has been wiped.

mod audit_queue;
mod index;
mod record;
mod reindex;
mod rewrap;

pub use index::{IndexKind, custom_key as custom_index_key};
pub use rewrap::RewrapProgress;

use crate::audit::{Draft, Scope, Stamped};
use crate::objects::ManagedObject;
use crate::seal::envelope::{self, SecretKey};
use crate::seal::keyring::{Keyring, KeyringError};
use crate::seal::shares::{self, ShareError, ShareFile, SplitInfo, SplitRecord};
use crate::store::{Applied, Applier, Cf, Command, Expect, Store, StoreError, SubmitError};
use record::RecordSealError;
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::{info, warn};

const META_CLUSTER: &[u8] = b"cluster";
const META_ROOT: &[u8] = b"root";
const META_KEYRING: &[u8] = b"keyring";
const LOCK_STRIPES: usize = 64;
/// How long shares given to a sealed store wait for the rest by default
/// (`seal.pending_share_timeout_s`).
pub const DEFAULT_PENDING_SHARE_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Error)]
pub enum KeyStoreError {
    #[error("{0}")]
    Sealed(SealStatus),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("object record {uid} {reason}")]
    Record { uid: String, reason: String },
    #[error("the store is already initialized (cluster {0})")]
    AlreadyInitialized(String),
    #[error("the store is not initialized: run `lkm init`")]
    NotInitialized,
    #[error(transparent)]
    Share(#[from] ShareError),
    #[error("the keyring could not be read: {0}")]
    Keyring(#[from] KeyringError),
    #[error("object {0} already exists")]
    Exists(String),
    #[error("object {uid} changed since (record version {found}, expected {expected})")]
    Changed {
        uid: String,
        expected: u64,
        found: u64,
    },
    #[error("the store metadata is damaged: {0}")]
    Meta(String),
    #[error("the share files could not be saved, so nothing was initialized: {0}")]
    Persist(String),
    /// The write could not be committed, or its outcome is unknown.
    #[error(transparent)]
    Submit(SubmitError),
}

impl From<SubmitError> for KeyStoreError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Store(s) => KeyStoreError::Store(s),
            other => KeyStoreError::Submit(other),
        }
    }
}

/// What `lkm status` and the sealed error messages say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealStatus {
    pub initialized: bool,
    pub sealed: bool,
    pub have: usize,
    pub need: u8,
    pub shares: u8,
    pub cluster_id: Option<String>,
    pub kek_versions: Vec<u32>,
}

impl fmt::Display for SealStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.initialized {
            write!(f, "not initialized: run `lkm init`")
        } else if self.sealed {
            write!(
                f,
                "sealed: {} of {} shares needed to unseal have been given",
                self.have, self.need
            )
        } else {
            write!(f, "unsealed (KEK versions {:?})", self.kek_versions)
        }
    }
}

enum SealState {
    Uninitialized,
    Sealed {
        record: SplitRecord,
        /// Shares given so far (each wiped on drop), and when the first of
        /// them came: they are dropped once they have waited too long.
        given: Vec<ShareFile>,
        first_given: Option<Instant>,
    },
    Unsealed {
        record: SplitRecord,
        keyring: Arc<Keyring>,
        root: SecretKey,
    },
}

impl SealState {
    fn sealed(record: SplitRecord) -> SealState {
        SealState::Sealed {
            record,
            given: Vec::new(),
            first_given: None,
        }
    }
}

pub struct KeyStore {
    store: Arc<Store>,
    /// Where commands go to be applied: the store itself, or the cluster.
    applier: Arc<dyn Applier>,
    /// Audit entries of reads, waiting to be written in one command.
    queue: audit_queue::AuditQueue,
    /// The store's meta generation this key store last read the
    /// hierarchy's records at (see [`KeyStore::refresh`]).
    meta_seen: AtomicU64,
    seal: RwLock<SealState>,
    stripes: Vec<Mutex<()>>,
    /// Held shared by every writer from the moment it takes the keyring
    /// until its batch is applied, and exclusively when an old KEK is
    /// retired: no record can be sealed under a KEK that is being dropped.
    writers: RwLock<()>,
    /// Records decrypted since open: lets tests prove that opening and
    /// unsealing reads no object.
    pub records_opened: AtomicU64,
    /// Milliseconds shares given while sealed are kept waiting for the
    /// rest before they are dropped.
    pending_share_timeout_ms: AtomicU64,
}

/// The status of a state the caller already holds (taking the lock again
/// could wait behind a queued writer).
fn status_of(state: &SealState) -> SealStatus {
    match state {
        SealState::Uninitialized => SealStatus {
            initialized: false,
            sealed: true,
            have: 0,
            need: 0,
            shares: 0,
            cluster_id: None,
            kek_versions: vec![],
        },
        SealState::Sealed { record, given, .. } => SealStatus {
            initialized: true,
            sealed: true,
            have: given.len(),
            need: record.split.threshold,
            shares: record.split.shares,
            cluster_id: Some(record.split.cluster_id.clone()),
            kek_versions: vec![],
        },
        SealState::Unsealed {
            record, keyring, ..
        } => SealStatus {
            initialized: true,
            sealed: false,
            have: record.split.threshold as usize,
            need: record.split.threshold,
            shares: record.split.shares,
            cluster_id: Some(record.split.cluster_id.clone()),
            kek_versions: keyring.versions(),
        },
    }
}

fn root_aad(split: &SplitInfo) -> Vec<u8> {
    format!("lkm-root\0{}\0{}", split.cluster_id, split.split_id).into_bytes()
}

fn keyring_aad(split: &SplitInfo) -> Vec<u8> {
    format!("lkm-keyring\0{}", split.cluster_id).into_bytes()
}

/// Reads the cluster record, and says (once, at open) what is weaker in a
/// store made by older code: no share commitments, or threshold 1 of
/// several shares. Both still unseal, as before.
fn read_cluster_record(bytes: &[u8]) -> Result<SplitRecord, KeyStoreError> {
    let record: SplitRecord = serde_json::from_slice(bytes)
        .map_err(|e| KeyStoreError::Meta(format!("cluster record: {e}")))?;
    record
        .validate()
        .map_err(|e| KeyStoreError::Meta(format!("cluster record: {e}")))?;
    let split = &record.split;
    if record.is_legacy() {
        warn!(
            cluster = %split.cluster_id,
            "this store was initialized without share commitments: shares are checked for \
             structure only, and a bad share shows only as shares that do not rebuild the key"
        );
    }
    if split.threshold == 1 && split.shares > 1 {
        warn!(
            cluster = %split.cluster_id,
            shares = split.shares,
            "this store was initialized with threshold 1: each of its shares unseals it alone"
        );
    }
    Ok(record)
}

impl KeyStore {
    /// Opens the store; it starts sealed (or uninitialized).
    /// The store is written directly: for tests, benches and tools that
    /// own it alone. The server goes through the cluster
    /// ([`KeyStore::with_applier`]).
    pub fn open(path: &Path) -> Result<KeyStore, KeyStoreError> {
        let store = Arc::new(Store::open(path)?);
        KeyStore::with_applier(store.clone(), store)
    }

    /// A key store over `store` whose writes go through `applier`.
    pub fn with_applier(
        store: Arc<Store>,
        applier: Arc<dyn Applier>,
    ) -> Result<KeyStore, KeyStoreError> {
        let meta_seen = store.meta_generation();
        let seal = match store.get(Cf::Meta, META_CLUSTER)? {
            None => SealState::Uninitialized,
            Some(bytes) => SealState::sealed(read_cluster_record(&bytes)?),
        };
        Ok(KeyStore {
            store,
            applier,
            queue: audit_queue::AuditQueue::default(),
            meta_seen: AtomicU64::new(meta_seen),
            seal: RwLock::new(seal),
            stripes: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            writers: RwLock::new(()),
            records_opened: AtomicU64::new(0),
            pending_share_timeout_ms: AtomicU64::new(
                DEFAULT_PENDING_SHARE_TIMEOUT.as_millis() as u64
            ),
        })
    }

    /// How long shares given while sealed wait for the rest before they
    /// are dropped (`seal.pending_share_timeout_s`).
    pub fn set_pending_share_timeout(&self, timeout: Duration) {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.pending_share_timeout_ms.store(ms, Ordering::Relaxed);
    }

    fn pending_share_timeout(&self) -> Duration {
        Duration::from_millis(self.pending_share_timeout_ms.load(Ordering::Relaxed))
    }

    /// Creates the key hierarchy in an empty store and returns the share
    /// files; the MEK is wiped before this returns. The store stays sealed.
    /// `persist` must put the shares somewhere safe: it runs before the
    /// store is written, so if it fails nothing is initialized (a store
    /// whose shares were never saved could never be unsealed).
    pub fn initialize(
        &self,
        shares: u8,
        threshold: u8,
        note: &str,
        persist: impl FnOnce(&[ShareFile]) -> Result<(), String>,
    ) -> Result<Vec<ShareFile>, KeyStoreError> {
        let cluster_id = uuid::Uuid::new_v4().to_string();
        self.initialize_in(&cluster_id, shares, threshold, note, persist)
    }

    /// [`initialize`](Self::initialize) for the cluster `cluster_id` (the
    /// id in its node certificates), so that shares, status and
    /// certificates all name one cluster.
    pub fn initialize_in(
        &self,
        cluster_id: &str,
        shares: u8,
        threshold: u8,
        note: &str,
        persist: impl FnOnce(&[ShareFile]) -> Result<(), String>,
    ) -> Result<Vec<ShareFile>, KeyStoreError> {
        let mut state = self.write_state();
        if let SealState::Sealed { record, .. } | SealState::Unsealed { record, .. } = &*state {
            return Err(KeyStoreError::AlreadyInitialized(
                record.split.cluster_id.clone(),
            ));
        }
        shares::check_threshold(threshold, shares)?;
        let split = SplitInfo {
            cluster_id: cluster_id.to_owned(),
            split_id: uuid::Uuid::new_v4().to_string(),
            threshold,
            shares,
        };
        let mek = envelope::generate_key().map_err(|e| KeyStoreError::Meta(e.to_string()))?;
        let files = shares::split(&mek, &split, note)?;
        let record = SplitRecord::new(split.clone(), &files)?;
        let root = envelope::generate_key().map_err(|e| KeyStoreError::Meta(e.to_string()))?;
        let keyring = Keyring::generate()?;
        let sealed_root = envelope::seal(&mek, &root_aad(&split), root.as_ref())
            .map_err(|e| KeyStoreError::Meta(e.to_string()))?;
        drop(mek);
        let sealed_ring = envelope::seal(&root, &keyring_aad(&split), &keyring.to_bytes())
            .map_err(|e| KeyStoreError::Meta(e.to_string()))?;
        let mut c = Command::default();
        c.put(
            Cf::Meta,
            META_CLUSTER,
            serde_json::to_vec(&record).map_err(|e| KeyStoreError::Meta(e.to_string()))?,
        );
        c.put(Cf::Meta, META_ROOT, sealed_root);
        c.put(Cf::Meta, META_KEYRING, sealed_ring);
        c.put(
            Cf::Meta,
            index::META_FORMAT,
            index::FORMAT.to_be_bytes().to_vec(),
        );
        persist(&files).map_err(KeyStoreError::Persist)?;
        let draft = Draft::new("local", "Init").detail(format!(
            "cluster {}: {shares} shares, {threshold} needed to unseal",
            split.cluster_id
        ));
        c.audit.push(stamp(draft));
        self.submit(c)?;
        info!(cluster = %split.cluster_id, shares, threshold, "store initialized");
        *state = SealState::sealed(record);
        Ok(files)
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, SealState> {
        self.seal.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, SealState> {
        self.seal.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The seal state, once shares that waited too long are dropped.
    pub fn status(&self) -> SealStatus {
        self.refresh();
        self.drop_expired_shares(Instant::now());
        status_of(&self.read_state())
    }

    /// Drops (and wipes) the shares given while sealed if, at `now`, the
    /// first of them has waited the pending-share timeout or longer: a
    /// share given and never completed must not stay in memory for good.
    /// Returns how many were dropped. The server calls it every second;
    /// `now` is a parameter so tests need not wait.
    pub fn drop_expired_shares(&self, now: Instant) -> usize {
        let timeout = self.pending_share_timeout();
        let expired = |state: &SealState| match state {
            SealState::Sealed {
                first_given: Some(first),
                ..
            } => now.saturating_duration_since(*first) >= timeout,
            _ => false,
        };
        if !expired(&self.read_state()) {
            return 0;
        }
        let (dropped, cluster) = {
            let mut state = self.write_state();
            if !expired(&state) {
                return 0;
            }
            let SealState::Sealed { record, given, .. } = &*state else {
                return 0;
            };
            let (dropped, cluster) = (given.len(), record.split.cluster_id.clone());
            // The old state, and with it every share, is dropped and wiped.
            *state = SealState::sealed(record.clone());
            (dropped, cluster)
        };
        warn!(
            cluster = %cluster,
            dropped,
            timeout_s = timeout.as_secs(),
            "shares given to unseal were dropped: the threshold was not reached in time; give them again"
        );
        let draft = Draft::new("local", "UnsealTimeout").detail(format!(
            "{dropped} share(s) given to unseal were dropped after {} s without reaching the threshold",
            timeout.as_secs()
        ));
        if let Err(e) = self.record(&draft) {
            warn!(error = %e, "the audit log cannot be written");
        }
        dropped
    }

    /// Adds one share. It must belong to this store's split and match the
    /// commitment recorded for its index at init; a bad share is refused,
    /// named by its index, and changes nothing. With the threshold reached,
    /// rebuilds the MEK, unwraps the root key and the keyring, and wipes the
    /// MEK and every share; shares that do not rebuild the key are all
    /// dropped, so the operators start over.
    pub fn unseal(&self, share: ShareFile) -> Result<SealStatus, KeyStoreError> {
        let now = Instant::now();
        self.drop_expired_shares(now);
        {
            let mut state = self.write_state();
            let (record, given, first_given) = match &mut *state {
                SealState::Uninitialized => return Err(KeyStoreError::NotInitialized),
                SealState::Unsealed { .. } => return Ok(status_of(&state)),
                SealState::Sealed {
                    record,
                    given,
                    first_given,
                } => (record.clone(), given, first_given),
            };
            record.admit(&share)?;
            if given.iter().any(|g| g.index == share.index) {
                return Err(ShareError::Duplicate(share.index).into());
            }
            given.push(share);
            first_given.get_or_insert(now);
            if given.len() >= record.split.threshold as usize {
                let taken = std::mem::take(given);
                *first_given = None;
                let (keyring, root) = self.open_hierarchy(&record.split, &taken)?;
                drop(taken);
                self.store
                    .unlock_audit(root.as_ref(), &record.split.cluster_id);
                // Before anyone can look anything up (and with the audit
                // key, for its entry): a store of an earlier build gets its
                // index rebuilt, once.
                if let Err(e) = self.reindex_if_needed(&keyring) {
                    // Still sealed: the audit key goes with the rest.
                    self.store.lock_audit();
                    return Err(e);
                }
                info!(cluster = %record.split.cluster_id, kek_versions = ?keyring.versions(), "unsealed");
                *state = SealState::Unsealed {
                    record,
                    keyring: Arc::new(keyring),
                    root,
                };
            }
        }
        Ok(self.status())
    }

    fn open_hierarchy(
        &self,
        split: &SplitInfo,
        given: &[ShareFile],
    ) -> Result<(Keyring, SecretKey), KeyStoreError> {
        let mek = shares::combine(given, split.threshold)?;
        let sealed_root = self
            .store
            .get(Cf::Meta, META_ROOT)?
            .ok_or_else(|| KeyStoreError::Meta("no sealed root key".into()))?;
        let root_bytes = envelope::open(&mek, &root_aad(split), &sealed_root)
            .map_err(|_| KeyStoreError::Share(ShareError::WrongKey))?;
        drop(mek);
        let root: [u8; envelope::KEY_LEN] = root_bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyStoreError::Meta("root key has the wrong length".into()))?;
        let root = zeroize::Zeroizing::new(root);
        let keyring = self.read_keyring(split, &root)?;
        Ok((keyring, root))
    }

    fn read_keyring(&self, split: &SplitInfo, root: &SecretKey) -> Result<Keyring, KeyStoreError> {
        let sealed = self
            .store
            .get(Cf::Meta, META_KEYRING)?
            .ok_or_else(|| KeyStoreError::Meta("no sealed keyring".into()))?;
        let plain = envelope::open(root, &keyring_aad(split), &sealed)
            .map_err(|e| KeyStoreError::Meta(format!("keyring: {e}")))?;
        Ok(Keyring::from_bytes(&plain)?)
    }

    /// Forgets the keys: the store is sealed again until K shares arrive.
    pub fn seal(&self) {
        let mut state = self.write_state();
        self.store.lock_audit();
        if let SealState::Unsealed { record, .. } | SealState::Sealed { record, .. } = &*state {
            *state = SealState::sealed(record.clone());
        }
    }

    /// Catches up with the hierarchy's records when an applied command
    /// changed them (another node initialized the store, rotated the KEK):
    /// an uninitialized store becomes sealed, an unsealed one re-reads its
    /// keyring with the root key it holds. Cheap when nothing changed (one
    /// atomic load); skipped while someone else holds the state.
    fn refresh(&self) {
        let generation = self.store.meta_generation();
        if self.meta_seen.load(Ordering::Acquire) == generation {
            return;
        }
        let Ok(mut state) = self.seal.try_write() else {
            return;
        };
        let record = match self.store.get(Cf::Meta, META_CLUSTER) {
            Ok(Some(bytes)) => match read_cluster_record(&bytes) {
                Ok(r) => r,
                Err(e) => {
                    warn!(error = %e, "the replicated cluster record cannot be read");
                    return;
                }
            },
            Ok(None) => return,
            Err(e) => {
                warn!(error = %e, "the store cannot be read");
                return;
            }
        };
        match &mut *state {
            SealState::Uninitialized => {
                info!(cluster = %record.split.cluster_id, "the key hierarchy arrived through the cluster");
                *state = SealState::sealed(record);
            }
            SealState::Unsealed {
                record: held,
                keyring,
                root,
            } => match self.read_keyring(&held.split, root) {
                Ok(k) => *keyring = Arc::new(k),
                Err(e) => warn!(error = %e, "the replicated keyring cannot be opened"),
            },
            SealState::Sealed { .. } => {}
        }
        self.meta_seen.store(generation, Ordering::Release);
    }

    /// The keyring, or the sealed status as the error.
    pub fn keyring(&self) -> Result<Arc<Keyring>, KeyStoreError> {
        self.refresh();
        let state = self.read_state();
        match &*state {
            SealState::Unsealed { keyring, .. } => Ok(keyring.clone()),
            other => {
                let status = status_of(other);
                Err(if status.initialized {
                    KeyStoreError::Sealed(status)
                } else {
                    KeyStoreError::NotInitialized
                })
            }
        }
    }

    fn stripe(&self, uid: &str) -> std::sync::MutexGuard<'_, ()> {
        let h = uid
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        self.stripes[h % LOCK_STRIPES]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn record_error(uid: &str, e: RecordSealError) -> KeyStoreError {
        KeyStoreError::Record {
            uid: uid.to_owned(),
            reason: e.to_string(),
        }
    }

    fn put_command(
        &self,
        keyring: &Keyring,
        o: &ManagedObject,
        record_version: u64,
        old_entries: &BTreeSet<Vec<u8>>,
        was: Option<Kind>,
    ) -> Result<Command, KeyStoreError> {
        let sealed = record::seal(keyring, &o.uid, record_version, &o.encode())
            .map_err(|e| Self::record_error(&o.uid, e))?;
        let new_entries = index::entries(keyring, o);
        let mut c = Command::default();
        c.put(Cf::Objects, o.uid.as_bytes(), sealed);
        for gone in old_entries.difference(&new_entries) {
            delete_entry(&mut c, gone);
        }
        for added in new_entries.difference(old_entries) {
            put_entry(&mut c, added);
        }
        let now = kind(o);
        if was != Some(now) {
            if let Some(w) = was {
                count(&mut c, w, -1);
            }
            count(&mut c, now, 1);
        }
        Ok(c)
    }

    fn writer(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.writers.read().unwrap_or_else(|p| p.into_inner())
    }

    fn retirer(&self) -> std::sync::RwLockWriteGuard<'_, ()> {
        self.writers.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores a new object: record and index entries in one durable batch.
    pub fn insert(&self, o: &ManagedObject) -> Result<(), KeyStoreError> {
        self.insert_as(o, None)
    }

    /// Neither a lookup first nor a uid lock: the command expects the
    /// record absent (version 0), which apply checks anyway, so an insert
    /// over an existing uid is refused there and writes nothing. A lock
    /// held across the commit would make unrelated creates whose uids
    /// share a stripe wait for each other's commit.
    fn insert_as(&self, o: &ManagedObject, audit: Option<&Scope>) -> Result<(), KeyStoreError> {
        let _writer = self.writer();
        let keyring = self.keyring()?;
        let c = self.put_command(&keyring, o, 1, &BTreeSet::new(), None)?;
        match self.commit(c, audit, &[(&o.uid, 1)], vec![expect(&o.uid, 0)]) {
            Err(KeyStoreError::Changed {
                uid, expected: 0, ..
            }) if uid == o.uid => Err(KeyStoreError::Exists(uid)),
            other => other,
        }
    }

    /// Writes a change durably, with its audit entry when it has a scope;
    /// `uids` are the objects written, each with its new record version,
    /// and `expect` what the change was computed from: if another write
    /// got there first, nothing is written ([`KeyStoreError::Changed`]).
    fn commit(
        &self,
        mut c: Command,
        audit: Option<&Scope>,
        uids: &[(&str, u64)],
        expect: Vec<Expect>,
    ) -> Result<(), KeyStoreError> {
        c.expect = expect;
        if let Some(scope) = audit {
            c.audit.push(stamp(scope.change(uids)));
        }
        self.submit(c)?;
        if let Some(scope) = audit {
            scope.committed(uids);
        }
        Ok(())
    }

    /// Hands a command to the applier; a precondition that failed is
    /// [`KeyStoreError::Changed`].
    fn submit(&self, c: Command) -> Result<Applied, KeyStoreError> {
        let applied = self.applier.submit(c)?;
        if let Some(conflict) = applied.conflict {
            return Err(KeyStoreError::Changed {
                uid: conflict.uid,
                expected: conflict.expected,
                found: conflict.found,
            });
        }
        Ok(applied)
    }

    /// Records an action that changed nothing (a read, a refusal): queued,
    /// and written with others by [`KeyStore::flush_audit`] within about a
    /// millisecond (the server's flusher). A process that dies in that
    /// window loses those entries of reads, never a change's. Past the
    /// queue's bound (a cluster without quorum, a stalled disk), the
    /// caller writes the queue itself and gets its error.
    pub fn record(&self, draft: &Draft) -> Result<(), KeyStoreError> {
        if self.queue.push(stamp(draft.clone())) {
            self.flush_audit()?;
        }
        Ok(())
    }

    /// Writes the queued audit entries of reads as one command; on failure
    /// they go back to the front of the queue.
    pub fn flush_audit(&self) -> Result<(), KeyStoreError> {
        let entries = self.queue.take();
        if entries.is_empty() {
            return Ok(());
        }
        let c = Command {
            audit: entries.clone(),
            ..Command::default()
        };
        match self.applier.submit(c) {
            Ok(_) => Ok(()),
            // They may be in the log: sending them again could write them twice.
            Err(SubmitError::Unknown(e)) => Err(SubmitError::Unknown(e).into()),
            Err(e) => {
                // Nothing was written: they wait for the next try.
                self.queue.put_back(entries);
                Err(e.into())
            }
        }
    }

    /// Removes the audit entries `retention` lets go, through the log
    /// like any write. Only while unsealed: the checkpoint carries a MAC.
    pub fn prune_audit(
        &self,
        retention: &crate::audit::Retention,
        now_ms: i64,
    ) -> Result<crate::audit::Pruned, KeyStoreError> {
        let mut total = crate::audit::Pruned::default();
        // Bounded: each round removes a chunk; a log needs few rounds.
        for _ in 0..64 {
            let Some(key) = self.store.audit_key() else {
                break;
            };
            let Some((c, pruned)) = crate::audit::plan_prune(&self.store, retention, now_ms, &key)?
            else {
                break;
            };
            self.submit(c)?;
            total.removed += pruned.removed;
            total.by_size += pruned.by_size;
            total.newest_by_size_ms = total.newest_by_size_ms.max(pruned.newest_by_size_ms);
        }
        if total.by_size > 0 {
            self.store.audit_pruned_by_size.inc_by(total.by_size);
        }
        Ok(total)
    }

    /// Has the audit log vouched for as it stands now (see
    /// `audit::anchor_command`): writes the queued entries of reads,
    /// catches up with every write committed before the call, and writes
    /// an anchor of the head, through the log like any write. Only while
    /// unsealed: the anchor carries a MAC.
    pub fn anchor_audit(&self) -> Result<(), KeyStoreError> {
        self.flush_audit()?;
        self.catch_up()?;
        let Some(key) = self.store.audit_key() else {
            return Err(KeyStoreError::Sealed(self.status()));
        };
        if let Some(c) = crate::audit::anchor_command(&key, &self.store, crate::audit::now_ms())? {
            self.submit(c)?;
        }
        Ok(())
    }

    /// Woken when entries start waiting in the queue.
    pub fn audit_pending(&self) -> &tokio::sync::Notify {
        &self.queue.pending
    }

    /// The writes of one KMIP batch item or admin action, each recorded in
    /// the audit log in the same batch as the change.
    pub fn audited<'a>(&'a self, scope: &'a Scope) -> Audited<'a> {
        Audited {
            keystore: self,
            scope,
        }
    }

    /// Stores several new objects (a key pair) in one durable batch.
    fn insert_all_as(
        &self,
        objects: &[ManagedObject],
        audit: Option<&Scope>,
    ) -> Result<(), KeyStoreError> {
        let _writer = self.writer();
        let keyring = self.keyring()?;
        let mut c = Command::default();
        for o in objects {
            if self.store.get(Cf::Objects, o.uid.as_bytes())?.is_some() {
                return Err(KeyStoreError::Exists(o.uid.clone()));
            }
            c.mutations.extend(
                self.put_command(&keyring, o, 1, &BTreeSet::new(), None)?
                    .mutations,
            );
        }
        let uids: Vec<(&str, u64)> = objects.iter().map(|o| (o.uid.as_str(), 1)).collect();
        let expects = objects.iter().map(|o| expect(&o.uid, 0)).collect();
        self.commit(c, audit, &uids, expects)
    }

    /// Stores many new objects with one sync at the end (bulk loads, tests).
    pub fn insert_bulk(&self, objects: &[ManagedObject]) -> Result<(), KeyStoreError> {
        let _writer = self.writer();
        let keyring = self.keyring()?;
        let mut c = Command::default();
        for o in objects {
            c.mutations.extend(
                self.put_command(&keyring, o, 1, &BTreeSet::new(), None)?
                    .mutations,
            );
        }
        self.submit(c)?;
        Ok(())
    }

    fn load_versioned(
        &self,
        keyring: &Keyring,
        uid: &str,
    ) -> Result<Option<(u64, ManagedObject)>, KeyStoreError> {
        let Some(sealed) = self.store.get(Cf::Objects, uid.as_bytes())? else {
            return Ok(None);
        };
        self.records_opened.fetch_add(1, Ordering::Relaxed);
        let (h, plain) =
            record::open(keyring, uid, &sealed).map_err(|e| Self::record_error(uid, e))?;
        let o = ManagedObject::decode(&plain).map_err(|e| KeyStoreError::Record {
            uid: uid.to_owned(),
            reason: e.to_string(),
        })?;
        if o.uid != uid {
            return Err(KeyStoreError::Record {
                uid: uid.to_owned(),
                reason: "holds another object".into(),
            });
        }
        Ok(Some((h.record_version, o)))
    }

    /// An object with its record version (what a batch Undo compares).
    pub fn load_with_version(
        &self,
        uid: &str,
    ) -> Result<Option<(u64, ManagedObject)>, KeyStoreError> {
        let keyring = self.keyring()?;
        self.load_versioned(&keyring, uid)
    }

    pub fn load(&self, uid: &str) -> Result<Option<ManagedObject>, KeyStoreError> {
        let keyring = self.keyring()?;
        Ok(self.load_versioned(&keyring, uid)?.map(|(_, o)| o))
    }

    /// Reads, changes and writes back one object under its lock. `change`
    /// may refuse with any error `E`; nothing is written then.
    pub fn update<E: From<KeyStoreError>>(
        &self,
        uid: &str,
        change: impl FnOnce(&mut ManagedObject) -> Result<(), E>,
    ) -> Result<Option<ManagedObject>, E> {
        Ok(self
            .update_and_insert_as(uid, |o| change(o).map(|()| None), None)?
            .map(|(o, _)| o))
    }

    /// Like [`KeyStore::update`], where the change may also make a new
    /// object (Re-key): both are written in one atomic batch.
    fn update_and_insert_as<E: From<KeyStoreError>>(
        &self,
        uid: &str,
        change: impl FnOnce(&mut ManagedObject) -> Result<Option<ManagedObject>, E>,
        audit: Option<&Scope>,
    ) -> Result<Option<(ManagedObject, Option<ManagedObject>)>, E> {
        let _writer = self.writer();
        let keyring = self.keyring()?;
        let _guard = self.stripe(uid);
        let Some((version, mut o)) = self.load_versioned(&keyring, uid)? else {
            return Ok(None);
        };
        let old_entries = index::entries(&keyring, &o);
        let was = kind(&o);
        let created = change(&mut o)?;
        let mut c = self.put_command(&keyring, &o, version + 1, &old_entries, Some(was))?;
        if let Some(n) = &created {
            if n.uid == o.uid
                || self
                    .store
                    .get(Cf::Objects, n.uid.as_bytes())
                    .map_err(KeyStoreError::from)?
                    .is_some()
            {
                return Err(KeyStoreError::Exists(n.uid.clone()).into());
            }
            c.mutations.extend(
                self.put_command(&keyring, n, 1, &BTreeSet::new(), None)?
                    .mutations,
            );
        }
        let mut uids = vec![(o.uid.as_str(), version + 1)];
        uids.extend(created.as_ref().map(|n| (n.uid.as_str(), 1)));
        let mut expects = vec![expect(uid, version)];
        expects.extend(created.as_ref().map(|n| expect(&n.uid, 0)));
        self.commit(c, audit, &uids, expects)?;
        Ok(Some((o, created)))
    }

    /// Puts back an earlier copy of an object, or removes an object that did
    /// not exist before (`earlier` = None): how a batch is undone. Only if
    /// the record is still at `expected` (the version the batch's last
    /// write made); a change made since by anyone else is never reverted.
    fn restore_as(
        &self,
        uid: &str,
        earlier: Option<&ManagedObject>,
        expected: u64,
        audit: Option<&Scope>,
    ) -> Result<(), KeyStoreError> {
        let _writer = self.writer();
        let keyring = self.keyring()?;
        let _guard = self.stripe(uid);
        let current = self.load_versioned(&keyring, uid)?;
        let found = current.as_ref().map_or(0, |(v, _)| *v);
        if found != expected {
            return Err(KeyStoreError::Changed {
                uid: uid.to_owned(),
                expected,
                found,
            });
        }
        let old_entries = current
            .as_ref()
            .map(|(_, o)| index::entries(&keyring, o))
            .unwrap_or_default();
        let was = current.as_ref().map(|(_, o)| kind(o));
        let (c, version) = match earlier {
            Some(o) => (
                self.put_command(&keyring, o, found + 1, &old_entries, was)?,
                found + 1,
            ),
            None => {
                let mut c = Command::default();
                if let Some(w) = was {
                    count(&mut c, w, -1);
                }
                c.delete(Cf::Objects, uid.as_bytes());
                for e in &old_entries {
                    delete_entry(&mut c, e);
                }
                (c, 0)
            }
        };
        self.commit(c, audit, &[(uid, version)], vec![expect(uid, found)])
    }

    /// Every object's uid, in uid order (for admins listing everything).
    pub fn all_uids(&self, limit: usize) -> Result<Vec<String>, KeyStoreError> {
        self.keyring()?;
        Ok(self
            .store
            .scan(Cf::Objects, b"", b"", limit)?
            .iter()
            .filter_map(|(k, _)| std::str::from_utf8(k).ok().map(str::to_owned))
            .collect())
    }

    /// Uids of `owners`' objects whose index entry of `kind` matches
    /// `value` exactly (every object of theirs for [`IndexKind::Owner`],
    /// whatever `value`), in uid order, at most `limit`. Only those owners'
    /// entries are read.
    pub fn lookup(
        &self,
        owners: Owners<'_>,
        kind: IndexKind,
        value: &[u8],
        limit: usize,
    ) -> Result<Vec<String>, KeyStoreError> {
        let keyring = self.keyring()?;
        let tags: BTreeSet<index::OwnerTag> = match owners {
            Owners::Of(list) => list.iter().map(|o| index::owner_tag(&keyring, o)).collect(),
            Owners::All => self.owner_tags()?,
        };
        let mut found = BTreeSet::new();
        for t in &tags {
            let prefix = index::lookup_prefix(&keyring, kind, t, value);
            for (k, _) in self.store.scan(Cf::Index, &prefix, &prefix, limit)? {
                if let Some(uid) = index::uid_of(&k, prefix.len()) {
                    found.insert(uid.to_owned());
                }
            }
        }
        Ok(found.into_iter().take(limit).collect())
    }

    /// Uids of one owner's objects after `after` (`""`: from the first),
    /// in uid order, at most `limit`: for walking an owner's objects.
    pub fn owned_uids(
        &self,
        owner: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, KeyStoreError> {
        let keyring = self.keyring()?;
        let prefix = index::lookup_prefix(
            &keyring,
            IndexKind::Owner,
            &index::owner_tag(&keyring, owner),
            b"",
        );
        let mut start = prefix.clone();
        if !after.is_empty() {
            start.extend_from_slice(after.as_bytes());
            start.push(0);
        }
        Ok(self
            .store
            .scan(Cf::Index, &prefix, &start, limit)?
            .iter()
            .filter_map(|(k, _)| index::uid_of(k, prefix.len()).map(str::to_owned))
            .collect())
    }

    /// The owner tags that own at least one object.
    fn owner_tags(&self) -> Result<BTreeSet<index::OwnerTag>, KeyStoreError> {
        let prefix = index::META_OWNERS.as_bytes();
        Ok(self
            .store
            .scan(Cf::Meta, prefix, prefix, usize::MAX)?
            .iter()
            .filter(|(_, v)| crate::store::counter_value(v) > 0)
            .filter_map(|(k, _)| index::owner_of_counter(k))
            .collect())
    }

    /// Adds a KEK version; new records use it at once, old ones move over
    /// through [`KeyStore::rewrap_step`].
    pub fn rotate_kek(&self) -> Result<u32, KeyStoreError> {
        let ring = self.replace_keyring(|k| Ok(k.rotated()?), "RotateKek")?;
        info!(kek_version = ring.current_version(), "KEK rotated");
        Ok(ring.current_version())
    }

    /// Swaps in a ring made from the current one: sealed under the root
    /// key and written, with the re-wrap cursor reset, in one batch.
    fn replace_keyring(
        &self,
        make: impl FnOnce(&Keyring) -> Result<Keyring, KeyStoreError>,
        action: &str,
    ) -> Result<Arc<Keyring>, KeyStoreError> {
        let mut state = self.write_state();
        let SealState::Unsealed {
            record,
            keyring,
            root,
        } = &mut *state
        else {
            return Err(KeyStoreError::Sealed(status_of(&state)));
        };
        let next = make(keyring)?;
        let mut c = Command::default();
        c.put(
            Cf::Meta,
            META_KEYRING,
            envelope::seal(root, &keyring_aad(&record.split), &next.to_bytes())
                .map_err(|e| KeyStoreError::Meta(e.to_string()))?,
        );
        c.delete(Cf::Meta, rewrap::META_CURSOR);
        let draft =
            Draft::new("local", action).detail(format!("KEK versions now {:?}", next.versions()));
        c.audit.push(stamp(draft));
        self.submit(c)?;
        *keyring = Arc::new(next);
        Ok(keyring.clone())
    }

    /// Objects by type and state, as (type, state, count).
    pub fn object_counts(&self) -> Result<Vec<(String, String, i64)>, KeyStoreError> {
        let prefix = META_COUNTS.as_bytes();
        Ok(self
            .store
            .scan(Cf::Meta, prefix, prefix, 1024)?
            .into_iter()
            .filter_map(|(k, v)| {
                let name = std::str::from_utf8(k.get(prefix.len()..)?).ok()?;
                let (t, s) = name.split_once('/')?;
                Some((t.to_owned(), s.to_owned(), crate::store::counter_value(&v)))
            })
            .collect())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The async form of [`KeyStore::catch_up`], awaited by a connection
    /// before it serves a request.
    pub fn fence(&self) -> crate::store::Fence {
        self.applier.fence()
    }

    /// Returns once this node has applied every write committed before
    /// the call: what a linearizable read waits for.
    pub fn catch_up(&self) -> Result<(), KeyStoreError> {
        Ok(self.applier.catch_up()?)
    }
}

/// Whose index entries a lookup reads.
#[derive(Clone, Copy, Debug)]
pub enum Owners<'a> {
    /// Every owner's (an admin's view): one scan per owner with objects.
    All,
    /// These owner keys' only (a client's view: `Identity::owners`).
    Of(&'a [&'a str]),
}

/// A draft stamped with the time now, before it is proposed.
fn stamp(draft: Draft) -> Stamped {
    Stamped {
        time_ms: crate::audit::now_ms(),
        draft,
    }
}

fn expect(uid: &str, version: u64) -> Expect {
    Expect {
        uid: uid.to_owned(),
        version,
    }
}

/// Writes an index entry; an Owner entry also counts for its owner.
fn put_entry(c: &mut Command, entry: &[u8]) {
    c.put(Cf::Index, entry.to_vec(), Vec::new());
    if let Some(owner) = index::owner_of_entry(entry) {
        c.add(Cf::Meta, index::owner_counter(&owner), 1);
    }
}

fn delete_entry(c: &mut Command, entry: &[u8]) {
    c.delete(Cf::Index, entry.to_vec());
    if let Some(owner) = index::owner_of_entry(entry) {
        c.add(Cf::Meta, index::owner_counter(&owner), -1);
    }
}

/// What the object counts are kept by.
type Kind = (crate::kmip::ObjectType, crate::objects::State);

fn kind(o: &ManagedObject) -> Kind {
    (o.object_type, o.state)
}

/// Counts live in `meta` under `objects/TYPE/STATE`, changed in the same
/// batch as the objects, so the metrics never scan the store.
const META_COUNTS: &str = "objects/";

fn count(c: &mut Command, (t, s): Kind, delta: i64) {
    c.add(
        Cf::Meta,
        format!("{META_COUNTS}{}/{}", t.name(), s.name()).into_bytes(),
        delta,
    );
}

/// [`KeyStore`] writes recorded in the audit log under one scope.
pub struct Audited<'a> {
    keystore: &'a KeyStore,
    scope: &'a Scope,
}

impl Audited<'_> {
    pub fn insert(&self, o: &ManagedObject) -> Result<(), KeyStoreError> {
        self.keystore.insert_as(o, Some(self.scope))
    }

    pub fn insert_all(&self, objects: &[ManagedObject]) -> Result<(), KeyStoreError> {
        self.keystore.insert_all_as(objects, Some(self.scope))
    }

    pub fn update<E: From<KeyStoreError>>(
        &self,
        uid: &str,
        change: impl FnOnce(&mut ManagedObject) -> Result<(), E>,
    ) -> Result<Option<ManagedObject>, E> {
        Ok(self
            .keystore
            .update_and_insert_as(uid, |o| change(o).map(|()| None), Some(self.scope))?
            .map(|(o, _)| o))
    }

    pub fn update_and_insert<E: From<KeyStoreError>>(
        &self,
        uid: &str,
        change: impl FnOnce(&mut ManagedObject) -> Result<Option<ManagedObject>, E>,
    ) -> Result<Option<(ManagedObject, Option<ManagedObject>)>, E> {
        self.keystore
            .update_and_insert_as(uid, change, Some(self.scope))
    }

    /// See [`KeyStore::restore_as`]: [`KeyStoreError::Changed`] when the
    /// record is no longer at version `expected`.
    pub fn restore_if(
        &self,
        uid: &str,
        earlier: Option<&ManagedObject>,
        expected: u64,
    ) -> Result<(), KeyStoreError> {
        self.keystore
            .restore_as(uid, earlier, expected, Some(self.scope))
    }
}

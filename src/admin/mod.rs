//! The local admin channel: a Unix socket in the data directory (folder
//! mode 0700, socket mode 0600), so only the server's own user (or root)
//! can unseal it, ask its status or move objects between owners. One JSON
//! request per line, one JSON answer per line. `lkm unseal`, `lkm status`,
//! `lkm objects transfer` and `lkm cluster add-node|remove|status` speak it.

mod cluster;
mod transfer;

pub(crate) use cluster::ClusterAdmin;

use crate::audit::{self, Draft, HeadToken, Report};
use crate::keystore::{KeyStore, SealStatus};
use crate::seal::shares::ShareFile;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use zeroize::Zeroizing;

/// Longest request line: a share file is well under 1 KiB.
const MAX_REQUEST: u64 = 64 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AdminRequest {
    Status,
    /// `share` is the share file's JSON text.
    Unseal {
        share: String,
    },
    Seal,
    /// Adds a KEK version; records move to it in the background.
    RotateKek,
    /// Gives objects to another owner: every object of `from`, or the one
    /// `uid` (which must be `from`'s when both are given).
    TransferOwner {
        from: Option<String>,
        uid: Option<String>,
        to: String,
    },
    /// Checks the audit log with the audit key (links, MACs, and a head
    /// exported earlier, if given) and answers with a new head token.
    AuditVerify {
        #[serde(default)]
        expect_head: Option<HeadToken>,
    },
    /// Where the cluster stands, as this node sees it.
    ClusterStatus,
    /// Reserves a node id for `name` and answers with its join bundle.
    ClusterAddNode {
        name: String,
        addr: String,
    },
    /// Takes a node out of the cluster.
    ClusterRemove {
        id: u64,
    },
}

impl Drop for AdminRequest {
    fn drop(&mut self) {
        if let AdminRequest::Unseal { share } = self {
            zeroize::Zeroize::zeroize(share);
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusView {
    pub initialized: bool,
    pub sealed: bool,
    pub shares_given: usize,
    pub threshold: u8,
    pub shares: u8,
    pub cluster_id: Option<String>,
    pub kek_versions: Vec<u32>,
    pub summary: String,
}

impl From<SealStatus> for StatusView {
    fn from(s: SealStatus) -> Self {
        StatusView {
            summary: s.to_string(),
            initialized: s.initialized,
            sealed: s.sealed,
            shares_given: s.have,
            threshold: s.need,
            shares: s.shares,
            cluster_id: s.cluster_id,
            kek_versions: s.kek_versions,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AdminResponse {
    pub ok: bool,
    pub message: String,
    pub status: StatusView,
    /// The answer to [`AdminRequest::AuditVerify`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditVerdict>,
    /// The answer to [`AdminRequest::ClusterStatus`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<crate::cluster::node::Status>,
    /// The join bundle (JSON) made by [`AdminRequest::ClusterAddNode`]: it
    /// holds the new node's private key and token, wiped on drop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<SecretText>,
}

/// Text that holds a secret (a join bundle): wiped when dropped.
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretText(String);

impl SecretText {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Drop for SecretText {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// What the server found in its audit log, and the head it vouches for
/// (only when the chain holds and the store is unsealed).
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditVerdict {
    pub report: Report,
    pub head: Option<HeadToken>,
}

/// Runs the server-side verify; the error is the broken link, with the
/// verdict still given back.
fn audit_verify(
    keystore: &KeyStore,
    expect: Option<&HeadToken>,
    verdict: &mut Option<AuditVerdict>,
) -> Result<String, String> {
    // A healthy log verifies whole: the log as it stands is anchored
    // first (through the cluster, like any write), then walked.
    let (report, head) = audit::verify_live(keystore.store(), expect, || {
        keystore.anchor_audit().map_err(|e| e.to_string())
    })
    .map_err(|e| e.to_string())?;
    let summary = match &report.broken {
        Some(b) => Err(format!(
            "audit log broken at entry {}: {}",
            b.seq, b.problem
        )),
        None if !report.macs_checked => Ok(format!(
            "audit log links hold ({} entries); MACs not checked: the store is sealed",
            report.entries
        )),
        None => Ok(format!(
            "audit log intact: {} entries, {} authenticated by MACs, {} not",
            report.entries,
            report.authenticated,
            report.unauthenticated_count()
        )),
    };
    *verdict = Some(AuditVerdict { report, head });
    summary
}

fn answer(
    keystore: &KeyStore,
    cluster: Option<&ClusterAdmin>,
    req: &AdminRequest,
) -> AdminResponse {
    let mut verdict = None;
    let mut status_of_cluster = None;
    let mut bundle = None;
    let result = match req {
        AdminRequest::Status => Ok("status".to_owned()),
        AdminRequest::Seal => {
            keystore.seal();
            Ok("sealed".to_owned())
        }
        AdminRequest::RotateKek => keystore
            .rotate_kek()
            .map(|v| format!("KEK version {v} is now used for new records"))
            .map_err(|e| e.to_string()),
        AdminRequest::TransferOwner { from, uid, to } => {
            transfer::run(keystore, from.as_deref(), uid.as_deref(), to)
        }
        AdminRequest::AuditVerify { expect_head } => {
            audit_verify(keystore, expect_head.as_ref(), &mut verdict)
        }
        AdminRequest::ClusterStatus => cluster::status(cluster).map(|s| {
            status_of_cluster = Some(s);
            "cluster status".to_owned()
        }),
        AdminRequest::ClusterAddNode { name, addr } => {
            cluster::add_node(cluster, name, addr).map(|(message, json)| {
                bundle = Some(SecretText(json));
                message
            })
        }
        AdminRequest::ClusterRemove { id } => cluster::remove(cluster, *id),
        // Parse errors never quote the input (it holds the share); they
        // name what is wrong, and the share's index when it has one.
        AdminRequest::Unseal { share } => ShareFile::parse(share)
            .map_err(|e| format!("share refused: {e}"))
            .and_then(|f| {
                let index = f.index;
                keystore
                    .unseal(f)
                    .map(|s| format!("share {index} accepted; {s}"))
                    .map_err(|e| e.to_string())
            }),
    };
    // Rotation records itself with the keyring it writes; a transfer
    // records each object it moves, and here what it did in all.
    let action = match req {
        AdminRequest::Unseal { .. } => Some("Unseal"),
        AdminRequest::Seal => Some("Seal"),
        AdminRequest::TransferOwner { .. } => Some("TransferOwner"),
        AdminRequest::AuditVerify { .. } => Some("AuditVerify"),
        AdminRequest::ClusterAddNode { .. } => Some("ClusterAddNode"),
        AdminRequest::ClusterRemove { .. } => Some("ClusterRemove"),
        AdminRequest::Status | AdminRequest::RotateKek | AdminRequest::ClusterStatus => None,
    };
    if let Some(action) = action {
        let draft = Draft::new("admin-socket", action);
        let draft = match &result {
            Ok(m) => draft.detail(m.clone()),
            Err(m) => draft.failed(m.clone()),
        };
        if let Err(e) = keystore.record(&draft) {
            warn!(error = %e, "the audit log cannot be written");
        }
    }
    let (ok, message) = match result {
        Ok(m) => (true, m),
        Err(m) => (false, m),
    };
    AdminResponse {
        ok,
        message,
        status: keystore.status().into(),
        audit: verdict,
        cluster: status_of_cluster,
        bundle,
    }
}

/// Makes the socket's folder if it is missing, readable by the server's
/// user only. A folder that exists is the operator's (it may be /run or
/// anything shared): it is left as it is, with a warning if others may
/// write in it, since they could then replace the socket.
fn prepare_folder(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if let Some(up) = dir.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(up)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        // Made here, so ours to tighten past the umask.
        Ok(()) => std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mode = std::fs::metadata(dir)?.permissions().mode();
            if mode & 0o022 != 0 {
                warn!(
                    folder = %dir.display(),
                    mode = format!("{:o}", mode & 0o7777),
                    "others may write in the admin socket's folder and could replace the socket"
                );
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Removes what is at the socket's path only if it is a socket no server
/// answers on (left by one that stopped); anything else is refused.
fn remove_stale_socket(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "something other than a socket is at this path; lkm will not delete it \
             (remove it, or set admin_socket to another path)",
        ));
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "a running server already answers on this socket",
        ));
    }
    std::fs::remove_file(path)
}

/// Binds the socket (replacing a stale one) and serves it until shutdown.
pub(crate) fn serve(
    path: &Path,
    keystore: Arc<KeyStore>,
    cluster: Option<Arc<ClusterAdmin>>,
    shutdown: CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use std::os::unix::fs::PermissionsExt;
    prepare_folder(path)?;
    remove_stale_socket(path)?;
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    info!(socket = %path.display(), "admin socket ready");
    Ok(tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                _ = shutdown.cancelled() => break,
                r = listener.accept() => match r {
                    Ok(s) => s,
                    Err(e) => { warn!(error = %e, "admin accept failed"); continue; }
                },
            };
            let keystore = keystore.clone();
            let cluster = cluster.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut line = Zeroizing::new(String::new());
                let mut reader = tokio::io::BufReader::new(read.take(MAX_REQUEST));
                let reply = match reader.read_line(&mut line).await {
                    Ok(_) => match serde_json::from_str::<AdminRequest>(&line) {
                        Ok(req) => {
                            let ks = keystore.clone();
                            tokio::task::spawn_blocking(move || {
                                answer(&ks, cluster.as_deref(), &req)
                            })
                            .await
                            .ok()
                        }
                        Err(e) => Some(AdminResponse {
                            ok: false,
                            message: format!("bad admin request: {e}"),
                            status: keystore.status().into(),
                            audit: None,
                            cluster: None,
                            bundle: None,
                        }),
                    },
                    Err(_) => None,
                };
                if let Some(r) = reply
                    && let Ok(mut text) = serde_json::to_string(&r)
                {
                    text.push('\n');
                    let _ = write.write_all(text.as_bytes()).await;
                }
            });
        }
    }))
}

/// Sends one request to a running server (blocking; for the CLI).
pub fn request(path: &Path, req: &AdminRequest) -> Result<AdminResponse, String> {
    let mut stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        format!("cannot reach the server's admin socket {}: {e} (is `lkm serve` running with this data directory?)", path.display())
    })?;
    let mut text = Zeroizing::new(serde_json::to_string(req).map_err(|e| e.to_string())?);
    text.push('\n');
    stream
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&line).map_err(|e| format!("bad answer from the server: {e}"))
}

/// Where the admin socket of a data directory lives by default.
pub fn default_socket(data_dir: &Path) -> PathBuf {
    data_dir.join("admin").join("lkm.sock")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn keystore(dir: &Path) -> Arc<KeyStore> {
        Arc::new(KeyStore::open(&dir.join("store")).unwrap())
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn only_a_folder_made_here_is_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let ks = keystore(dir.path());
        // A folder of the operator's (think /run/lkm, shared with others).
        let theirs = dir.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o755)).unwrap();
        let stop = CancellationToken::new();
        serve(&theirs.join("lkm.sock"), ks.clone(), None, stop.clone()).unwrap();
        assert_eq!(mode(&theirs), 0o755);
        assert_eq!(mode(&theirs.join("lkm.sock")), 0o600);
        // A folder it makes is the server user's only.
        let ours = dir.path().join("new").join("admin");
        serve(&ours.join("lkm.sock"), ks, None, stop.clone()).unwrap();
        assert_eq!(mode(&ours), 0o700);
        stop.cancel();
    }

    #[tokio::test]
    async fn only_a_stale_socket_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let ks = keystore(dir.path());
        let stop = CancellationToken::new();
        // A file that is not a socket is refused and left alone.
        let file = dir.path().join("precious");
        std::fs::write(&file, b"keep me").unwrap();
        let err = serve(&file, ks.clone(), None, stop.clone()).unwrap_err();
        assert!(err.to_string().contains("other than a socket"), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
        // A socket a live server answers on is refused.
        let live = dir.path().join("live.sock");
        serve(&live, ks.clone(), None, stop.clone()).unwrap();
        let err = serve(&live, ks.clone(), None, stop.clone()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
        // A socket nobody answers on (a stopped server's) is replaced.
        let stale = dir.path().join("stale.sock");
        drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
        serve(&stale, ks, None, stop.clone()).unwrap();
        let answer = tokio::task::spawn_blocking(move || request(&stale, &AdminRequest::Status))
            .await
            .unwrap()
            .unwrap();
        assert!(!answer.status.initialized);
        stop.cancel();
    }
}

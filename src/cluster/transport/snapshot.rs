//! A snapshot on the wire: the regular files of a [`SnapshotDir`], sorted
//! by name, cut in chunks of [`CHUNK`] bytes, each with the SHA-256 of its
//! data. The receiver writes them into a fresh directory under its staging
//! directory and checks every chunk (hash, transfer, file order, offset,
//! the same vote and meta throughout); anything wrong discards the whole
//! transfer, so a broken or interrupted one is never installed.

use crate::cluster::types::{SnapshotChunk, SnapshotDir, SnapshotMeta, Vote};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Bytes of file data in a chunk (well under the frame limit).
pub(crate) const CHUNK: usize = 1 << 20;
/// A store checkpoint has tens to thousands of files; refuse far more.
pub(crate) const MAX_FILES: usize = 100_000;

/// A file name a snapshot may carry: no path, nothing hidden.
pub(crate) fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The files of a snapshot directory, sorted by name, with their lengths.
/// Anything but regular files with plain names is an error: the sender
/// never silently leaves part of a snapshot behind.
pub(crate) async fn list(dir: &Path) -> Result<Vec<(String, u64)>, String> {
    let mut rd = tokio::fs::read_dir(dir)
        .await
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files = Vec::new();
    while let Some(entry) = rd
        .next_entry()
        .await
        .map_err(|e| format!("{}: {e}", dir.display()))?
    {
        let name = entry.file_name();
        let name = name
            .to_str()
            .filter(|n| valid_file_name(n))
            .ok_or_else(|| format!("{}: unexpected entry {name:?}", dir.display()))?
            .to_owned();
        let meta = tokio::fs::symlink_metadata(entry.path())
            .await
            .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        if !meta.is_file() {
            return Err(format!("{}: not a regular file", entry.path().display()));
        }
        files.push((name, meta.len()));
        if files.len() > MAX_FILES {
            return Err(format!("{}: more than {MAX_FILES} files", dir.display()));
        }
    }
    if files.is_empty() {
        return Err(format!("{}: an empty snapshot", dir.display()));
    }
    files.sort();
    Ok(files)
}

/// Reads the next `n` bytes of `f`.
pub(crate) async fn read_chunk(f: &mut tokio::fs::File, n: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    f.read_exact(&mut buf).await?;
    Ok(buf)
}

/// One transfer being received.
struct Transfer {
    id: u64,
    dir: PathBuf,
    vote: Vote,
    meta: SnapshotMeta,
    /// The file being written, and how much of it is.
    open: Option<(String, tokio::fs::File, u64)>,
    /// The last file finished: the next must sort after it.
    last: Option<String>,
    files: usize,
}

/// A snapshot ready to install.
#[derive(Debug)]
pub(crate) struct Received {
    pub vote: Vote,
    pub meta: SnapshotMeta,
    pub snapshot: SnapshotDir,
}

/// The receiving end of one connection: at most one transfer at a time.
pub(crate) struct Receiver {
    staging: PathBuf,
    from: u64,
    cur: Option<Transfer>,
}

impl Receiver {
    pub(crate) fn new(staging: PathBuf, from: u64) -> Self {
        Self {
            staging,
            from,
            cur: None,
        }
    }

    /// Takes one chunk. `Ok(Some(..))` when it completed the snapshot
    /// (whose directory is then the caller's); on `Err` the transfer is
    /// discarded.
    pub(crate) async fn chunk(&mut self, c: SnapshotChunk) -> Result<Option<Received>, String> {
        let r = self.take(c).await;
        if r.is_err() {
            self.discard().await;
        }
        r
    }

    async fn take(&mut self, c: SnapshotChunk) -> Result<Option<Received>, String> {
        if sha256(&c.data) != c.sha256 {
            return Err(format!(
                "chunk of {} at {}: sha256 mismatch",
                c.file, c.offset
            ));
        }
        if !valid_file_name(&c.file) {
            return Err(format!("chunk names an invalid file {:?}", c.file));
        }
        if self.cur.as_ref().is_some_and(|t| t.id != c.transfer) {
            // A new transfer replaces an unfinished one.
            self.discard().await;
        }
        let t = match self.cur.as_mut() {
            Some(t) => {
                if t.vote != c.vote || t.meta != c.meta {
                    return Err("vote or meta changed within a transfer".into());
                }
                t
            }
            None => {
                let dir = self.staging.join(transfer_dir_name(self.from, c.transfer));
                remove_dir(&dir).await;
                crate::private_files::create_dir(&dir)
                    .map_err(|e| format!("{}: {e}", dir.display()))?;
                self.cur.insert(Transfer {
                    id: c.transfer,
                    dir,
                    vote: c.vote,
                    meta: c.meta.clone(),
                    open: None,
                    last: None,
                    files: 0,
                })
            }
        };
        match t.open.as_ref() {
            Some((name, _, at)) if *name == c.file => {
                if *at != c.offset {
                    return Err(format!("{}: chunk at {} instead of {at}", c.file, c.offset));
                }
            }
            Some((name, _, _)) => {
                return Err(format!("{}: begun before {name} was done", c.file));
            }
            None => {
                if c.offset != 0 {
                    return Err(format!("{}: first chunk at {}", c.file, c.offset));
                }
                if t.last.as_ref().is_some_and(|last| c.file <= *last) {
                    return Err(format!("{}: out of order", c.file));
                }
                t.files += 1;
                if t.files > MAX_FILES {
                    return Err(format!("more than {MAX_FILES} files"));
                }
                let path = t.dir.join(&c.file);
                let f = tokio::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                t.open = Some((c.file.clone(), f, 0));
            }
        }
        let Some((name, f, at)) = t.open.as_mut() else {
            return Err("no open file".into());
        };
        f.write_all(&c.data)
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        *at += c.data.len() as u64;
        if c.file_done {
            f.sync_all().await.map_err(|e| format!("{name}: {e}"))?;
            t.last = Some(name.clone());
            t.open = None;
        }
        if !c.done {
            return Ok(None);
        }
        if !c.file_done {
            return Err(format!("{}: snapshot done inside the file", c.file));
        }
        let Some(t) = self.cur.take() else {
            return Err("no transfer".into());
        };
        let dir = t.dir.clone();
        let synced = async { tokio::fs::File::open(&dir).await?.sync_all().await }.await;
        if let Err(e) = synced {
            self.cur = Some(t);
            return Err(format!("{}: {e}", dir.display()));
        }
        Ok(Some(Received {
            vote: t.vote,
            meta: t.meta,
            snapshot: SnapshotDir::at(t.dir),
        }))
    }

    /// Drops the transfer under way, if any, and its files.
    pub(crate) async fn discard(&mut self) {
        if let Some(t) = self.cur.take() {
            drop(t.open);
            remove_dir(&t.dir).await;
        }
    }
}

impl Drop for Receiver {
    /// A connection that ends mid-transfer leaves nothing behind.
    fn drop(&mut self) {
        if let Some(t) = self.cur.take() {
            drop(t.open);
            let _ = std::fs::remove_dir_all(&t.dir);
        }
    }
}

/// The staging subdirectory of one transfer.
fn transfer_dir_name(from: u64, transfer: u64) -> String {
    format!("{from}-{transfer:016x}")
}

/// True for the names [`transfer_dir_name`] makes.
fn is_transfer_dir_name(name: &str) -> bool {
    name.split_once('-').is_some_and(|(from, t)| {
        !from.is_empty()
            && from.bytes().all(|b| b.is_ascii_digit())
            && t.len() == 16
            && t.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Removes the transfers an earlier run left in `staging` (a crash
/// mid-transfer), and nothing else.
pub(crate) async fn remove_leftovers(staging: &Path) -> std::io::Result<()> {
    let mut rd = tokio::fs::read_dir(staging).await?;
    while let Some(entry) = rd.next_entry().await? {
        if entry.file_name().to_str().is_some_and(is_transfer_dir_name) {
            remove_dir(&entry.path()).await;
        }
    }
    Ok(())
}

/// Removes a directory and its contents, if it exists.
pub(crate) async fn remove_dir(dir: &Path) {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot remove a snapshot staging directory")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_transfer_leftovers_are_removed_from_staging() {
        let tmp = tempfile::tempdir().unwrap();
        let left = tmp.path().join(transfer_dir_name(2, 0xabc));
        std::fs::create_dir(&left).unwrap();
        std::fs::write(left.join("000001.sst"), b"x").unwrap();
        std::fs::create_dir(tmp.path().join("keep")).unwrap();
        std::fs::write(tmp.path().join("2-notatransfer"), b"x").unwrap();
        remove_leftovers(tmp.path()).await.unwrap();
        assert!(!left.exists());
        assert!(tmp.path().join("keep").is_dir());
        assert!(tmp.path().join("2-notatransfer").is_file());
    }

    #[test]
    fn file_names_carry_no_path() {
        for ok in ["CURRENT", "000012.sst", "MANIFEST-000005", "OPTIONS-000007"] {
            assert!(valid_file_name(ok), "{ok}");
        }
        for bad in ["", ".", "..", "../x", "a/b", ".hidden", "a\\0", "a b"] {
            assert!(!valid_file_name(bad), "{bad:?}");
        }
    }
}

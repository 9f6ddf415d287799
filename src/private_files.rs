//! Directories and files only their owner may read: the data directory
//! (sealed records, the audit log, the dev unseal share) and private keys.
//! Modes are set when a thing is created, never left to the umask, and a
//! private file is written whole under a fresh name and renamed into
//! place, so it has mode 0600 even where an older file had a looser one
//! (and a crash never leaves half a key).

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of the directories lkm creates.
pub(crate) const DIR_MODE: u32 = 0o700;
/// Mode of the files that hold a private key.
pub(crate) const KEY_MODE: u32 = 0o600;

/// Creates `dir` and any missing parent with mode 0700. A directory that
/// already exists is left as it is: its owner may have opened it on
/// purpose (see [`open_to_others`] to warn about it).
pub(crate) fn create_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

/// The permission bits of `dir` when its group or others have any access.
pub(crate) fn open_to_others(dir: &Path) -> Option<u32> {
    let mode = fs::metadata(dir).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

/// Replaces `path` with `contents`, durably, as a file of mode `mode`
/// (whatever mode a file already there had).
pub(crate) fn write(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let tmp = dir.join(tmp_name);
    let written = (|| {
        // create_new: never through a file or link planted at that name.
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // The umask may have taken bits away; set exactly `mode`.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_file_takes_the_mode_given_even_over_a_looser_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.key");
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        write(&p, b"new", KEY_MODE).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Nothing else is left in the directory.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn created_directories_are_private_and_existing_ones_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b");
        create_dir(&deep).unwrap();
        for d in [dir.path().join("a"), deep.clone()] {
            assert_eq!(
                fs::metadata(&d).unwrap().permissions().mode() & 0o777,
                0o700
            );
            assert_eq!(open_to_others(&d), None);
        }
        let open = dir.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
        create_dir(&open).unwrap();
        assert_eq!(open_to_others(&open), Some(0o755));
    }
}

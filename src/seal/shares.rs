//! Shamir shares of the master key (crate blahaj) and the files that carry
//! them. A share file says which cluster and which split it belongs to, its
//! index and the threshold, and carries a checksum, so a corrupted share, a
//! share of another cluster or one from an older split is named as such
//! instead of silently producing a wrong key.

use super::envelope::{KEY_LEN, SecretKey};
use aws_lc_rs::digest;
use blahaj::{Share, Sharks};
use serde::{Deserialize, Serialize};
use std::path::Path;
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

const FORMAT: &str = "lkm-share-v1";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ShareError {
    #[error("not an lkm share file: {0}")]
    NotAShare(String),
    #[error("share file is corrupted (checksum mismatch)")]
    Corrupted,
    #[error("share belongs to cluster {found}, this store is cluster {expected}")]
    OtherCluster { found: String, expected: String },
    #[error("share is from split {found}, replaced since by split {expected}")]
    OtherSplit { found: String, expected: String },
    #[error("share {0} was already given")]
    Duplicate(u8),
    #[error("the shares do not rebuild the master key")]
    WrongKey,
    #[error("threshold {threshold} of {shares} is not possible (1 <= threshold <= shares <= 255)")]
    BadThreshold { threshold: u8, shares: u8 },
    #[error(
        "threshold 1 of {0} shares would make every share the master key on its own: \
         use a threshold of at least 2 (threshold 1 only with a single share)"
    )]
    ThresholdOne(u8),
}

/// The threshold `lkm init` uses when none is given: a majority of the
/// shares, ceil(n / 2), but at least 2 once there are several shares (with
/// 2 shares, ceil(2 / 2) = 1 would make each share the whole key).
pub fn default_threshold(shares: u8) -> u8 {
    if shares >= 2 {
        shares.div_ceil(2).max(2)
    } else {
        shares
    }
}

/// Refuses a split that cannot be rebuilt, and one where a single share of
/// several rebuilds the key (each share file would be the master key). A
/// single share with threshold 1 stays possible: that is the dev mode.
pub fn check_threshold(threshold: u8, shares: u8) -> Result<(), ShareError> {
    if threshold == 0 || threshold > shares {
        return Err(ShareError::BadThreshold { threshold, shares });
    }
    if threshold == 1 && shares > 1 {
        return Err(ShareError::ThresholdOne(shares));
    }
    Ok(())
}

/// Which split of which cluster a share belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitInfo {
    pub cluster_id: String,
    pub split_id: String,
    pub threshold: u8,
    pub shares: u8,
}

/// One share as written to disk (JSON, mode 0600).
#[derive(Serialize, Deserialize)]
pub struct ShareFile {
    pub format: String,
    #[serde(flatten)]
    pub split: SplitInfo,
    pub index: u8,
    /// Hex of the share bytes (x coordinate, then y values).
    share: String,
    /// SHA-256 over every field above, hex.
    checksum: String,
    /// Free text for the humans holding the file.
    #[serde(default)]
    pub note: String,
}

impl Drop for ShareFile {
    fn drop(&mut self) {
        self.share.zeroize();
    }
}

impl ShareFile {
    fn checksum_of(split: &SplitInfo, index: u8, share_hex: &str) -> String {
        let text = format!(
            "{FORMAT}|{}|{}|{}|{}|{index}|{share_hex}",
            split.cluster_id, split.split_id, split.threshold, split.shares
        );
        hex::encode(digest::digest(&digest::SHA256, text.as_bytes()))
    }

    pub fn parse(text: &str) -> Result<ShareFile, ShareError> {
        let f: ShareFile =
            // serde's message may quote the input, which holds the share.
            serde_json::from_str(text).map_err(|e| {
                ShareError::NotAShare(format!(
                    "unreadable JSON near line {} column {}",
                    e.line(),
                    e.column()
                ))
            })?;
        if f.format != FORMAT {
            return Err(ShareError::NotAShare(format!("format {:?}", f.format)));
        }
        if f.checksum != Self::checksum_of(&f.split, f.index, &f.share) {
            return Err(ShareError::Corrupted);
        }
        Ok(f)
    }

    pub fn read(path: &Path) -> Result<ShareFile, String> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
        );
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn to_json(&self) -> Zeroizing<String> {
        Zeroizing::new(serde_json::to_string_pretty(self).unwrap_or_default())
    }

    /// Writes the share readable by its owner only; refuses to overwrite.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(self.to_json().as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()
    }

    /// Checks that this share can join the others given for `expected`.
    pub fn check(&self, expected: &SplitInfo) -> Result<(), ShareError> {
        if self.split.cluster_id != expected.cluster_id {
            return Err(ShareError::OtherCluster {
                found: self.split.cluster_id.clone(),
                expected: expected.cluster_id.clone(),
            });
        }
        if self.split != *expected {
            return Err(ShareError::OtherSplit {
                found: self.split.split_id.clone(),
                expected: expected.split_id.clone(),
            });
        }
        Ok(())
    }

    fn share(&self) -> Result<Share, ShareError> {
        let bytes = Zeroizing::new(hex::decode(&self.share).map_err(|_| ShareError::Corrupted)?);
        Share::try_from(bytes.as_slice()).map_err(|_| ShareError::Corrupted)
    }
}

/// Splits `secret` into `split.shares` share files, any `split.threshold`
/// of which rebuild it.
pub fn split(
    secret: &SecretKey,
    split: &SplitInfo,
    note: &str,
) -> Result<Vec<ShareFile>, ShareError> {
    check_threshold(split.threshold, split.shares)?;
    Ok(Sharks(split.threshold)
        .dealer(secret.as_ref())
        .take(split.shares as usize)
        .map(|s| {
            let bytes = Zeroizing::new(Vec::<u8>::from(&s));
            let hex_share = hex::encode(bytes.as_slice());
            ShareFile {
                format: FORMAT.to_owned(),
                split: split.clone(),
                index: s.x.0,
                checksum: ShareFile::checksum_of(split, s.x.0, &hex_share),
                share: hex_share,
                note: note.to_owned(),
            }
        })
        .collect())
}

/// Rebuilds the secret from at least `threshold` checked share files.
pub fn combine(files: &[ShareFile], threshold: u8) -> Result<SecretKey, ShareError> {
    let shares = files
        .iter()
        .map(ShareFile::share)
        .collect::<Result<Vec<_>, _>>()?;
    let secret = Zeroizing::new(
        Sharks(threshold)
            .recover(shares.iter())
            .map_err(|_| ShareError::WrongKey)?,
    );
    let key: [u8; KEY_LEN] = secret
        .as_slice()
        .try_into()
        .map_err(|_| ShareError::WrongKey)?;
    Ok(Zeroizing::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::envelope::generate_key;

    fn info(t: u8, n: u8) -> SplitInfo {
        SplitInfo {
            cluster_id: "c1".into(),
            split_id: "s1".into(),
            threshold: t,
            shares: n,
        }
    }

    /// Every K-element subset of 0..n, in order.
    fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
        (0u32..1 << n)
            .filter(|m| m.count_ones() as usize == k)
            .map(|m| (0..n).filter(|i| m & (1 << i) != 0).collect())
            .collect()
    }

    #[test]
    fn any_k_of_n_rebuild_and_fewer_do_not() {
        for (n, k) in [(1u8, 1u8), (2, 2), (3, 2), (5, 3), (7, 4)] {
            let secret = generate_key().unwrap();
            let files = split(&secret, &info(k, n), "").unwrap();
            assert_eq!(files.len(), n as usize);
            let parsed: Vec<ShareFile> = files
                .iter()
                .map(|f| ShareFile::parse(&f.to_json()).unwrap())
                .collect();
            let pick = |set: &[usize]| -> Vec<ShareFile> {
                set.iter()
                    .map(|&i| ShareFile::parse(&parsed[i].to_json()).unwrap())
                    .collect()
            };
            for set in subsets(n as usize, k as usize) {
                assert_eq!(
                    *combine(&pick(&set), k).unwrap(),
                    *secret,
                    "{k} of {n}: {set:?}"
                );
            }
            if k > 1 {
                for set in subsets(n as usize, k as usize - 1) {
                    let fewer = pick(&set);
                    assert!(combine(&fewer, k).is_err(), "{k} of {n}: {set:?}");
                    // Forced through with too few points, the interpolation
                    // gives some other key, not the secret.
                    assert_ne!(*combine(&fewer, k - 1).unwrap(), *secret);
                }
            }
        }
    }

    /// RUSTSEC-2024-0398: sharks 0.5 drew the polynomial coefficients from
    /// [1, 255], so with K = 2 share 1 (y = a1 + s) never equalled the
    /// secret byte, which tells a holder of one share what the secret is
    /// not. With coefficients from [0, 255] it does, 1 time in 256.
    #[test]
    fn coefficients_can_be_zero() {
        let mut equal = 0;
        for _ in 0..128 {
            let secret = generate_key().unwrap();
            let files = split(&secret, &info(2, 2), "").unwrap();
            let share = Vec::<u8>::from(&files[0].share().unwrap());
            let y = &share[1..];
            equal += y.iter().zip(secret.iter()).filter(|(a, b)| a == b).count();
        }
        // 4,096 bytes: about 16 expected; none has probability e^-16.
        assert!(equal > 0, "no zero coefficient in 4,096 bytes");
    }

    #[test]
    fn thresholds_of_one_with_several_shares_are_refused() {
        let secret = generate_key().unwrap();
        for n in [2u8, 3, 5, 255] {
            assert_eq!(check_threshold(1, n), Err(ShareError::ThresholdOne(n)));
            assert!(matches!(
                split(&secret, &info(1, n), ""),
                Err(ShareError::ThresholdOne(_))
            ));
            assert!(check_threshold(default_threshold(n), n).is_ok());
        }
        assert!(check_threshold(1, 1).is_ok());
        assert!(check_threshold(0, 3).is_err());
        assert!(check_threshold(4, 3).is_err());
        let defaults: Vec<u8> = (1..=7).map(default_threshold).collect();
        assert_eq!(defaults, [1, 2, 2, 2, 3, 3, 4]);
    }

    #[test]
    fn corruption_and_strangers_are_named() {
        let secret = generate_key().unwrap();
        let files = split(&secret, &info(2, 3), "").unwrap();
        let json = files[0]
            .to_json()
            .replacen("\"index\": 1", "\"index\": 2", 1);
        assert!(matches!(
            ShareFile::parse(&json),
            Err(ShareError::Corrupted)
        ));
        assert!(matches!(
            ShareFile::parse("{}"),
            Err(ShareError::NotAShare(_))
        ));
        let mut other = info(2, 3);
        other.cluster_id = "c2".into();
        assert!(matches!(
            files[0].check(&other),
            Err(ShareError::OtherCluster { .. })
        ));
        other.cluster_id = "c1".into();
        other.split_id = "s0".into();
        assert!(matches!(
            files[0].check(&other),
            Err(ShareError::OtherSplit { .. })
        ));
        assert!(files[0].check(&info(2, 3)).is_ok());
    }

    /// Share files written by lkm with sharks 0.5.0 (before the move to
    /// blahaj), for test keys: they still parse and combine.
    #[test]
    fn share_files_from_sharks_0_5_still_combine() {
        let sets = [
            (
                2u8,
                3u8,
                include_str!("../../tests/fixtures/sharks-0.5.0/secret-2-of-3.hex"),
                vec![
                    include_str!("../../tests/fixtures/sharks-0.5.0/2-of-3-share-1.json"),
                    include_str!("../../tests/fixtures/sharks-0.5.0/2-of-3-share-2.json"),
                    include_str!("../../tests/fixtures/sharks-0.5.0/2-of-3-share-3.json"),
                ],
            ),
            (
                3,
                5,
                include_str!("../../tests/fixtures/sharks-0.5.0/secret-3-of-5.hex"),
                vec![
                    include_str!("../../tests/fixtures/sharks-0.5.0/3-of-5-share-1.json"),
                    include_str!("../../tests/fixtures/sharks-0.5.0/3-of-5-share-2.json"),
                    include_str!("../../tests/fixtures/sharks-0.5.0/3-of-5-share-3.json"),
                    include_str!("../../tests/fixtures/sharks-0.5.0/3-of-5-share-4.json"),
                    include_str!("../../tests/fixtures/sharks-0.5.0/3-of-5-share-5.json"),
                ],
            ),
        ];
        for (k, n, secret, texts) in sets {
            let secret = hex::decode(secret.trim()).unwrap();
            for set in subsets(n as usize, k as usize) {
                let files: Vec<ShareFile> = set
                    .iter()
                    .map(|&i| ShareFile::parse(texts[i]).unwrap())
                    .collect();
                assert_eq!(combine(&files, k).unwrap().as_slice(), secret.as_slice());
            }
        }
    }
}

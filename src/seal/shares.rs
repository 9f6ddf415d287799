//! Shamir shares of the master key (crate blahaj) and the files that carry
//! them. A share file says which cluster and which split it belongs to, its
//! index and the threshold, and carries a checksum, so a corrupted share, a
//! share of another cluster or one from an older split is named as such
//! instead of silently producing a wrong key. The checksum is unkeyed (it
//! catches accidents only): what proves a share genuine is the commitment
//! to it that `lkm init` records in the store ([`SplitRecord`]).

use super::envelope::{KEY_LEN, SecretKey};
use aws_lc_rs::digest;
use blahaj::{Share, Sharks};
use serde::{Deserialize, Serialize};
use std::path::Path;
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

const FORMAT: &str = "lkm-share-v1";
/// Domain label of the commitments: a commitment can never be mistaken for
/// any other hash lkm computes.
const COMMITMENT_LABEL: &str = "lkm-share-commitment-v1";
/// Bytes of one share: its x coordinate (= its index), then one y value
/// per byte of the master key.
const SHARE_LEN: usize = 1 + KEY_LEN;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ShareError {
    #[error("not an lkm share file: {0}")]
    NotAShare(String),
    #[error("share file is corrupted (checksum mismatch)")]
    Corrupted,
    #[error("share {index} is malformed: {reason}")]
    Malformed { index: u8, reason: String },
    #[error(
        "share {0} does not match the commitment recorded at init: altered, or not from this store"
    )]
    NotCommitted(u8),
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
        f.share_bytes()?;
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

    /// The share's bytes, once they are seen to be a share of a 256-bit
    /// key at x = index, with an index its split can have. x = 0 is refused:
    /// there the polynomial is the secret itself, so such a "share" would
    /// impose a key of the giver's choosing.
    fn share_bytes(&self) -> Result<Zeroizing<Vec<u8>>, ShareError> {
        let bad = |reason: String| ShareError::Malformed {
            index: self.index,
            reason,
        };
        if self.index == 0 {
            return Err(bad("index 0 is not a share (x = 0 is the secret)".into()));
        }
        if self.index > self.split.shares {
            return Err(bad(format!(
                "index {} beyond the {} shares of its split",
                self.index, self.split.shares
            )));
        }
        let bytes = Zeroizing::new(
            hex::decode(&self.share).map_err(|_| bad("the share is not hex".into()))?,
        );
        if bytes.len() != SHARE_LEN {
            return Err(bad(format!(
                "{} bytes where a share has {SHARE_LEN}",
                bytes.len()
            )));
        }
        if bytes[0] != self.index {
            return Err(bad(format!(
                "its x coordinate is {}, not its index {}",
                bytes[0], self.index
            )));
        }
        Ok(bytes)
    }

    fn share(&self) -> Result<Share, ShareError> {
        let bytes = self.share_bytes()?;
        Share::try_from(bytes.as_slice()).map_err(|_| ShareError::Corrupted)
    }

    /// The commitment to this share that `lkm init` records: a hash over
    /// the cluster, the split, the index and the share bytes, each field
    /// length-prefixed so no two inputs encode alike.
    fn commitment(&self) -> Result<String, ShareError> {
        let bytes = self.share_bytes()?;
        let mut h = digest::Context::new(&digest::SHA256);
        for field in [
            COMMITMENT_LABEL.as_bytes(),
            self.split.cluster_id.as_bytes(),
            self.split.split_id.as_bytes(),
            &[self.index],
            bytes.as_slice(),
        ] {
            h.update(&(field.len() as u64).to_be_bytes());
            h.update(field);
        }
        Ok(hex::encode(h.finish()))
    }
}

/// The cluster record kept in the store's metadata: the split, and the
/// commitment to each of its shares (index i at position i - 1), so that
/// unseal names a bad share by its index before keeping it, instead of
/// finding only, K shares later, that the key does not open. A store
/// initialized before commitments existed has none; its shares are then
/// checked for structure only (the combined key is still checked by
/// opening the sealed root key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitRecord {
    #[serde(flatten)]
    pub split: SplitInfo,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commitments: Vec<String>,
}

impl SplitRecord {
    /// The record of a new split: a commitment to each of its files.
    pub fn new(split: SplitInfo, files: &[ShareFile]) -> Result<SplitRecord, ShareError> {
        let commitments = (1..=split.shares)
            .map(|i| {
                files
                    .iter()
                    .find(|f| f.index == i)
                    .ok_or(ShareError::Malformed {
                        index: i,
                        reason: "missing from the split".into(),
                    })?
                    .commitment()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SplitRecord { split, commitments })
    }

    /// Whether this record predates commitments (structure checks only).
    pub fn is_legacy(&self) -> bool {
        self.commitments.is_empty()
    }

    /// A record read from the store: one well-formed commitment per share,
    /// or none (legacy); anything else is damage, not a lesser check.
    pub fn validate(&self) -> Result<(), String> {
        let well_formed = |c: &String| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit());
        if !self.is_legacy()
            && (self.commitments.len() != self.split.shares as usize
                || !self.commitments.iter().all(well_formed))
        {
            return Err(format!(
                "{} share commitments for {} shares, or not SHA-256 hex",
                self.commitments.len(),
                self.split.shares
            ));
        }
        Ok(())
    }

    /// Checks that `share` belongs to this split and is the very share
    /// recorded at init for its index.
    pub fn admit(&self, share: &ShareFile) -> Result<(), ShareError> {
        share.check(&self.split)?;
        share.share_bytes()?;
        if self.is_legacy() {
            return Ok(());
        }
        let recorded = self.commitments.get(usize::from(share.index) - 1);
        if recorded != Some(&share.commitment()?) {
            return Err(ShareError::NotCommitted(share.index));
        }
        Ok(())
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

    /// The file's text with its index and share bytes replaced and the
    /// checksum recomputed, as someone editing it by hand would do.
    fn forge(f: &ShareFile, index: u8, share: &[u8]) -> String {
        let share_hex = hex::encode(share);
        let forged = ShareFile {
            format: FORMAT.to_owned(),
            split: f.split.clone(),
            index,
            checksum: ShareFile::checksum_of(&f.split, index, &share_hex),
            share: share_hex,
            note: String::new(),
        };
        forged.to_json().to_string()
    }

    fn bytes_of(f: &ShareFile) -> Vec<u8> {
        f.share_bytes().unwrap().to_vec()
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
            let y = &bytes_of(&files[0])[1..];
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

    #[test]
    fn a_share_must_sit_at_its_index_and_be_one_key_long() {
        let secret = generate_key().unwrap();
        let files = split(&secret, &info(2, 3), "").unwrap();
        let share2 = bytes_of(&files[1]);
        let malformed = |text: &str| match ShareFile::parse(text) {
            Err(ShareError::Malformed { index, reason }) => (index, reason),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("accepted"),
        };
        // Share 2's bytes in a file that says index 3.
        let (index, reason) = malformed(&forge(&files[1], 3, &share2));
        assert_eq!(index, 3);
        assert!(reason.contains("x coordinate is 2"), "{reason}");
        // x = 0, index 0: the secret's own point.
        let mut zero = share2.clone();
        zero[0] = 0;
        assert_eq!(malformed(&forge(&files[1], 0, &zero)).0, 0);
        // x = 0 under a valid index.
        assert_eq!(malformed(&forge(&files[1], 2, &zero)).0, 2);
        // An index the split does not have.
        let mut far = share2.clone();
        far[0] = 4;
        assert!(malformed(&forge(&files[1], 4, &far)).1.contains("beyond"));
        // Too short and too long.
        assert!(
            malformed(&forge(&files[1], 2, &share2[..20]))
                .1
                .contains("20 bytes")
        );
        let mut long = share2.clone();
        long.push(7);
        assert!(
            malformed(&forge(&files[1], 2, &long))
                .1
                .contains("34 bytes")
        );
        // The share as written is fine.
        assert!(ShareFile::parse(&forge(&files[1], 2, &share2)).is_ok());
    }

    #[test]
    fn commitments_name_an_altered_or_foreign_share() {
        let secret = generate_key().unwrap();
        let files = split(&secret, &info(2, 3), "").unwrap();
        let record = SplitRecord::new(info(2, 3), &files).unwrap();
        assert_eq!(record.commitments.len(), 3);
        assert!(record.validate().is_ok());
        for f in &files {
            record
                .admit(&ShareFile::parse(&f.to_json()).unwrap())
                .unwrap();
        }
        // y bytes changed by hand, checksum recomputed: the file parses,
        // the commitment names it.
        let mut edited = bytes_of(&files[1]);
        edited[5] ^= 0x40;
        let forged = ShareFile::parse(&forge(&files[1], 2, &edited)).unwrap();
        let e = record.admit(&forged).unwrap_err();
        assert_eq!(e, ShareError::NotCommitted(2));
        assert!(e.to_string().starts_with("share 2 does not match"), "{e}");
        // A genuine share of another secret under the same names.
        let other = split(&generate_key().unwrap(), &info(2, 3), "").unwrap();
        assert_eq!(record.admit(&other[0]), Err(ShareError::NotCommitted(1)));
        // A store from before commitments checks the structure only.
        let legacy = SplitRecord {
            split: info(2, 3),
            commitments: vec![],
        };
        assert!(legacy.is_legacy() && legacy.validate().is_ok());
        legacy.admit(&forged).unwrap();
        // A damaged list is not taken for a legacy one.
        let mut short = record.clone();
        short.commitments.pop();
        assert!(short.validate().is_err());
        let mut garbled = record.clone();
        garbled.commitments[0] = "zz".repeat(32);
        assert!(garbled.validate().is_err());
    }

    #[test]
    fn the_cluster_record_reads_both_ways() {
        let files = split(&generate_key().unwrap(), &info(2, 3), "").unwrap();
        let record = SplitRecord::new(info(2, 3), &files).unwrap();
        let json = serde_json::to_string(&record).unwrap();
        // Code from before commitments reads the new record.
        assert_eq!(
            serde_json::from_str::<SplitInfo>(&json).unwrap(),
            info(2, 3)
        );
        assert_eq!(serde_json::from_str::<SplitRecord>(&json).unwrap(), record);
        // And this code reads theirs.
        let old = serde_json::to_string(&info(2, 3)).unwrap();
        let read: SplitRecord = serde_json::from_str(&old).unwrap();
        assert!(read.is_legacy());
        assert_eq!(read.split, info(2, 3));
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

//! The key that authenticates the audit log. SHA-256 links alone let
//! anyone who can write the store rewrite the whole chain consistently;
//! an HMAC under a key only the unsealed server holds cannot be redone.
//! The key is derived from the root key (HKDF-SHA256, per cluster), so it
//! needs no storage of its own, exists only while the store is unsealed,
//! and changes with nothing but the root key.

use aws_lc_rs::{hkdf, hmac};
use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroizing;

/// HKDF salt: names what the key is for, and the scheme's version.
const LABEL: &[u8] = b"lkm-audit-mac-v1";

/// What each MAC covers is prefixed by its kind, so a MAC made for one
/// kind of record can never pass as another's.
const DOMAIN_ENTRY: &[u8] = b"lkm-audit-entry\0";
const DOMAIN_CHECKPOINT: &[u8] = b"lkm-audit-checkpoint\0";
const DOMAIN_HEAD: &[u8] = b"lkm-audit-head\0";
const DOMAIN_SINCE: &[u8] = b"lkm-audit-since\0";
const DOMAIN_ANCHOR: &[u8] = b"lkm-audit-anchor\0";
const DOMAIN_ANCHOR_RECORD: &[u8] = b"lkm-audit-anchor-record\0";

#[derive(Debug, thiserror::Error)]
#[error("the audit MAC key could not be derived")]
pub struct DeriveError;

/// HMAC-SHA256 key of one cluster's audit log. aws-lc wipes the key's
/// context when it is dropped; the bytes derived on the way are wiped here.
pub struct MacKey {
    key: hmac::Key,
    cluster_id: String,
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacKey")
            .field("cluster_id", &self.cluster_id)
            .finish_non_exhaustive()
    }
}

impl MacKey {
    /// HKDF-SHA256(salt = label, secret = root key, info = cluster id).
    pub fn derive(root: &[u8], cluster_id: &str) -> Result<MacKey, DeriveError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, LABEL).extract(root);
        let info = [cluster_id.as_bytes()];
        let okm = prk
            .expand(&info, hkdf::HKDF_SHA256)
            .map_err(|_| DeriveError)?;
        let mut bytes = Zeroizing::new([0u8; 32]);
        okm.fill(&mut bytes[..]).map_err(|_| DeriveError)?;
        Ok(MacKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, &bytes[..]),
            cluster_id: cluster_id.to_owned(),
        })
    }

    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    fn raw(&self, domain: &[u8], parts: &[&[u8]]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(domain);
        for p in parts {
            // Length-prefixed, so no two different lists of parts give
            // the same input.
            ctx.update(&(p.len() as u64).to_be_bytes());
            ctx.update(p);
        }
        ctx.sign()
    }

    fn tag(&self, domain: &[u8], parts: &[&[u8]]) -> String {
        hex::encode(self.raw(domain, parts).as_ref())
    }

    fn check(&self, domain: &[u8], parts: &[&[u8]], mac: &str) -> bool {
        let Ok(given) = hex::decode(mac) else {
            return false;
        };
        let want = self.raw(domain, parts);
        aws_lc_rs::constant_time::verify_slices_are_equal(&given, want.as_ref()).is_ok()
    }

    /// The MAC of an entry, over its stored form without the MAC.
    pub(crate) fn entry(&self, unmaced: &[u8]) -> String {
        self.tag(DOMAIN_ENTRY, &[unmaced])
    }

    pub(crate) fn entry_ok(&self, unmaced: &[u8], mac: &str) -> bool {
        self.check(DOMAIN_ENTRY, &[unmaced], mac)
    }

    pub(crate) fn checkpoint(&self, c: &super::Checkpoint) -> String {
        let (through, pruned, at) = checkpoint_parts(c);
        self.tag(
            DOMAIN_CHECKPOINT,
            &[&through[..], c.hash.as_bytes(), &pruned[..], &at[..]],
        )
    }

    pub(crate) fn checkpoint_ok(&self, c: &super::Checkpoint, mac: &str) -> bool {
        let (through, pruned, at) = checkpoint_parts(c);
        self.check(
            DOMAIN_CHECKPOINT,
            &[&through[..], c.hash.as_bytes(), &pruned[..], &at[..]],
            mac,
        )
    }

    /// Only logs written before anchors have one; tests still make them.
    #[cfg(test)]
    pub(crate) fn since(&self, seq: u64) -> String {
        self.tag(DOMAIN_SINCE, &[&seq.to_be_bytes()[..]])
    }

    pub(crate) fn since_ok(&self, seq: u64, mac: &str) -> bool {
        self.check(DOMAIN_SINCE, &[&seq.to_be_bytes()[..]], mac)
    }

    /// The anchor vouching that entry `through_seq` has stored-bytes hash
    /// `hash` (and, through the links, for every entry before it).
    pub fn anchor(&self, through_seq: u64, hash: &str) -> super::Anchor {
        let seq = through_seq.to_be_bytes();
        super::Anchor {
            through_seq,
            hash: hash.to_owned(),
            mac: self.tag(
                DOMAIN_ANCHOR,
                &[self.cluster_id.as_bytes(), &seq[..], hash.as_bytes()],
            ),
        }
    }

    /// Whether `a` was made with this key (and this cluster's id).
    pub fn anchor_ok(&self, a: &super::Anchor) -> bool {
        let seq = a.through_seq.to_be_bytes();
        self.check(
            DOMAIN_ANCHOR,
            &[self.cluster_id.as_bytes(), &seq[..], a.hash.as_bytes()],
            &a.mac,
        )
    }

    /// The record of the newest anchor (`through_seq`, `hash`) and of the
    /// entry anchors began at (`began`).
    pub(crate) fn anchor_record(
        &self,
        through_seq: u64,
        hash: &str,
        began: u64,
    ) -> super::AnchorRecord {
        let mut r = super::AnchorRecord {
            through_seq,
            hash: hash.to_owned(),
            began,
            mac: String::new(),
        };
        let (t, b) = (through_seq.to_be_bytes(), began.to_be_bytes());
        r.mac = self.tag(
            DOMAIN_ANCHOR_RECORD,
            &[self.cluster_id.as_bytes(), &t[..], hash.as_bytes(), &b[..]],
        );
        r
    }

    pub(crate) fn anchor_record_ok(&self, r: &super::AnchorRecord) -> bool {
        let (t, b) = (r.through_seq.to_be_bytes(), r.began.to_be_bytes());
        self.check(
            DOMAIN_ANCHOR_RECORD,
            &[
                self.cluster_id.as_bytes(),
                &t[..],
                r.hash.as_bytes(),
                &b[..],
            ],
            &r.mac,
        )
    }

    /// A head token for entry `seq` with stored-bytes hash `hash`.
    pub(crate) fn head(&self, seq: u64, hash: &str, time_ms: i64) -> HeadToken {
        let mut t = HeadToken {
            cluster_id: self.cluster_id.clone(),
            seq,
            hash: hash.to_owned(),
            time_ms,
            mac: String::new(),
        };
        t.mac = self.tag(DOMAIN_HEAD, &head_parts(&t).each_ref().map(Vec::as_slice));
        t
    }

    pub(crate) fn head_ok(&self, t: &HeadToken) -> bool {
        t.cluster_id == self.cluster_id
            && self.check(
                DOMAIN_HEAD,
                &head_parts(t).each_ref().map(Vec::as_slice),
                &t.mac,
            )
    }
}

fn checkpoint_parts(c: &super::Checkpoint) -> ([u8; 8], [u8; 8], [u8; 8]) {
    (
        c.through_seq.to_be_bytes(),
        c.pruned.to_be_bytes(),
        c.at_ms.to_be_bytes(),
    )
}

fn head_parts(t: &HeadToken) -> [Vec<u8>; 4] {
    [
        t.cluster_id.as_bytes().to_vec(),
        t.seq.to_be_bytes().to_vec(),
        t.hash.as_bytes().to_vec(),
        t.time_ms.to_be_bytes().to_vec(),
    ]
}

/// Where the chain stood when a server that held the key looked: kept by
/// the operator (`lkm audit verify --export-head`) outside the store, and
/// given back later (`--expect-head`) to prove that the history up to it
/// was neither rewritten nor cut short. Only the key's holder can make one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadToken {
    pub cluster_id: String,
    /// The entry the token pins.
    pub seq: u64,
    /// The SHA-256 of that entry's stored bytes (what the next entry links to).
    pub hash: String,
    /// When the server made the token, Unix milliseconds.
    pub time_ms: i64,
    /// HMAC-SHA256 over the fields above, with the audit key.
    pub mac: String,
}

/// The record, in `meta`, of the first entry written with a MAC: every
/// entry from there on carries one, or is accounted for by the next one
/// that does. Written once, in the same batch as that entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Since {
    pub seq: u64,
    pub mac: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_depends_on_root_and_cluster_and_macs_do_not_cross_kinds() {
        let a = MacKey::derive(&[1u8; 32], "c1").unwrap();
        let b = MacKey::derive(&[2u8; 32], "c1").unwrap();
        let c = MacKey::derive(&[1u8; 32], "c2").unwrap();
        let m = a.entry(b"{}");
        assert!(a.entry_ok(b"{}", &m));
        assert!(!a.entry_ok(b"{ }", &m));
        assert!(!b.entry_ok(b"{}", &m));
        assert!(!c.entry_ok(b"{}", &m));
        assert!(!a.entry_ok(b"{}", "not hex"));
        // The same bytes under another kind do not pass.
        assert_ne!(a.since(7), a.tag(DOMAIN_ENTRY, &[&7u64.to_be_bytes()[..]]));
        let t = a.head(12, "ab", 5);
        assert!(a.head_ok(&t));
        assert!(!c.head_ok(&t), "another cluster's key");
        let mut forged = t.clone();
        forged.seq = 13;
        assert!(!a.head_ok(&forged));
        assert!(!format!("{a:?}").contains("key:"));
        // Anchors: bound to the seq, the hash, and the cluster.
        let an = a.anchor(12, "ab");
        assert!(a.anchor_ok(&an));
        assert!(!b.anchor_ok(&an), "another root key");
        assert!(!c.anchor_ok(&an), "another cluster");
        let mut moved = an.clone();
        moved.through_seq = 13;
        assert!(!a.anchor_ok(&moved));
        let mut rehashed = an.clone();
        rehashed.hash = "cd".into();
        assert!(!a.anchor_ok(&rehashed));
        // Not a head token's MAC under another name.
        assert_ne!(an.mac, a.head(12, "ab", 0).mac);
    }
}

//! The single-use join bundle `lkm cluster add-node NAME` writes: what a
//! new node needs to join (its identity, the cluster CA, where the members
//! are) and a random token the leader accepts once. The leader keeps only
//! the token's SHA-256, so a copy of its log or store never lets anyone
//! join. The file holds a private key: mode 0600, and the key and token
//! are wiped from memory when dropped.

use crate::cluster::pki::{NodeIdentity, pem_cert_der};
use crate::pki::{PkiError, io_err};
use crate::private_files;
use serde::{Deserialize, Serialize};
use std::path::Path;
use zeroize::Zeroizing;

/// Bytes of randomness in a join token.
const TOKEN_BYTES: usize = 32;
/// A bundle is a few kilobytes; refuse to read anything much larger.
const MAX_BUNDLE: u64 = 1 << 20;

#[derive(Serialize, Deserialize)]
pub(crate) struct Bundle {
    pub cluster_id: String,
    pub node_id: u64,
    pub name: String,
    pub ca_cert_pem: String,
    pub node_cert_pem: String,
    #[serde(with = "zeroizing_string")]
    pub node_key_pem: Zeroizing<String>,
    /// Cluster addresses of the members when the bundle was made.
    pub seeds: Vec<String>,
    #[serde(with = "zeroizing_string")]
    pub token: Zeroizing<String>,
}

impl std::fmt::Debug for Bundle {
    /// Never the key nor the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("cluster_id", &self.cluster_id)
            .field("node_id", &self.node_id)
            .field("name", &self.name)
            .field("seeds", &self.seeds)
            .finish_non_exhaustive()
    }
}

impl Bundle {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        cluster_id: String,
        node_id: u64,
        name: String,
        ca_cert_pem: String,
        node_cert_pem: String,
        node_key_pem: Zeroizing<String>,
        seeds: Vec<String>,
        token: String,
    ) -> Self {
        Self {
            cluster_id,
            node_id,
            name,
            ca_cert_pem,
            node_cert_pem,
            node_key_pem,
            seeds,
            token: Zeroizing::new(token),
        }
    }

    /// Writes the bundle as JSON, mode 0600.
    pub(crate) fn write(&self, path: &Path) -> Result<(), PkiError> {
        let json = Zeroizing::new(
            serde_json::to_vec_pretty(self)
                .map_err(|e| PkiError::Invalid(format!("{}: {e}", path.display())))?,
        );
        private_files::write(path, &json, private_files::KEY_MODE).map_err(io_err(path))
    }

    /// Reads a bundle [`write`](Self::write) made, and checks that its
    /// certificate names the node it says.
    pub(crate) fn read(path: &Path) -> Result<Self, PkiError> {
        use std::io::Read;
        let invalid = |e: String| PkiError::Invalid(format!("{}: {e}", path.display()));
        let file = std::fs::File::open(path).map_err(io_err(path))?;
        let mut bytes = Zeroizing::new(Vec::new());
        file.take(MAX_BUNDLE + 1)
            .read_to_end(&mut bytes)
            .map_err(io_err(path))?;
        if bytes.len() as u64 > MAX_BUNDLE {
            return Err(invalid("too large for a join bundle".into()));
        }
        Self::parse(&bytes).map_err(|e| invalid(e.to_string()))
    }

    /// Reads a bundle from its JSON and checks that its certificate names
    /// the node it says.
    pub(crate) fn parse(json: &[u8]) -> Result<Self, PkiError> {
        let b: Bundle =
            serde_json::from_slice(json).map_err(|e| PkiError::Invalid(e.to_string()))?;
        b.identity().check().map_err(PkiError::Invalid)?;
        pem_cert_der(&b.ca_cert_pem)
            .map_err(|e| PkiError::Invalid(format!("CA certificate: {e}")))?;
        Ok(b)
    }

    /// The bundle as JSON text (it holds the node's key: the caller wipes it).
    pub(crate) fn to_json(&self) -> Result<String, PkiError> {
        serde_json::to_string_pretty(self).map_err(|e| PkiError::Invalid(e.to_string()))
    }

    /// The new node's identity.
    pub(crate) fn identity(&self) -> NodeIdentity {
        NodeIdentity {
            cluster_id: self.cluster_id.clone(),
            node_id: self.node_id,
            name: self.name.clone(),
            ca_cert_pem: self.ca_cert_pem.clone(),
            cert_pem: self.node_cert_pem.clone(),
            key_pem: self.node_key_pem.clone(),
        }
    }

    /// Writes the node identity into the new node's cluster directory, as
    /// [`init_cluster`](crate::cluster::pki::init_cluster) does (without
    /// the CA key). Refuses when `dir` already holds an identity.
    pub(crate) fn unpack(&self, dir: &Path) -> Result<NodeIdentity, PkiError> {
        let id = self.identity();
        id.check().map_err(PkiError::Invalid)?;
        id.write(dir)?;
        Ok(id)
    }
}

/// A fresh join token: 32 random bytes, in hex.
pub(crate) fn new_token() -> Result<Zeroizing<String>, PkiError> {
    let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES]);
    aws_lc_rs::rand::fill(bytes.as_mut())
        .map_err(|_| PkiError::Invalid("no randomness for a join token".into()))?;
    Ok(Zeroizing::new(hex::encode(bytes.as_ref())))
}

/// What the leader stores of a token: its SHA-256, in hex.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref())
}

/// True when `token` is the one whose hash the leader stored (compared in
/// constant time).
pub(crate) fn token_matches(token: &str, stored_hash: &str) -> bool {
    let found = token_hash(token);
    found.len() == stored_hash.len()
        && found
            .bytes()
            .zip(stored_hash.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Serde for a `Zeroizing<String>` field (zeroize's own serde feature is
/// not enabled here).
mod zeroizing_string {
    use serde::{Deserialize, Deserializer, Serializer};
    use zeroize::Zeroizing;

    pub(super) fn serialize<S: Serializer>(v: &Zeroizing<String>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Zeroizing<String>, D::Error> {
        String::deserialize(d).map(Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::pki::{init_cluster, issue_node};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_bundle_round_trips_at_0600_and_unpacks_into_a_loadable_identity() {
        let tmp = tempfile::tempdir().unwrap();
        let first = init_cluster(&tmp.path().join("n1"), "c", "n1", "127.0.0.1:7001").unwrap();
        let (cert, key) =
            issue_node(&tmp.path().join("n1"), "c", 2, "n2", "127.0.0.2:7001").unwrap();
        let token = new_token().unwrap();
        let b = Bundle::new(
            "c".into(),
            2,
            "n2".into(),
            first.ca_cert_pem.clone(),
            cert,
            key,
            vec!["127.0.0.1:7001".into()],
            token.to_string(),
        );
        let path = tmp.path().join("n2.bundle");
        b.write(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let read = Bundle::read(&path).unwrap();
        assert_eq!(*read.token, *token);
        assert_eq!(read.seeds, vec!["127.0.0.1:7001".to_owned()]);
        let dir = tmp.path().join("n2");
        read.unpack(&dir).unwrap();
        let id = NodeIdentity::load(&dir).unwrap();
        assert_eq!((id.cluster_id.as_str(), id.node_id), ("c", 2));
        assert!(!dir.join("ca.key").exists());
        assert!(read.unpack(&dir).is_err(), "a second unpack must refuse");
        assert!(!format!("{read:?}").contains(token.as_str()));
    }

    #[test]
    fn a_bundle_whose_certificate_names_another_node_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let first = init_cluster(tmp.path(), "c", "n1", "127.0.0.1:7001").unwrap();
        let (cert, key) = issue_node(tmp.path(), "c", 3, "n3", "127.0.0.3:7001").unwrap();
        let b = Bundle::new(
            "c".into(),
            2,
            "n2".into(),
            first.ca_cert_pem,
            cert,
            key,
            vec![],
            "t".into(),
        );
        let path = tmp.path().join("b.json");
        b.write(&path).unwrap();
        let e = Bundle::read(&path).unwrap_err().to_string();
        assert!(e.contains("not node 2"), "{e}");
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_matches() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(*a, *b);
        assert_eq!(a.len(), 64);
        let h = token_hash(&a);
        assert_eq!(h.len(), 64);
        assert_ne!(h, *a);
        assert!(token_matches(&a, &h));
        assert!(!token_matches(&b, &h));
        assert!(!token_matches(&a, ""));
    }
}

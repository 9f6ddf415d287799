//! The cluster's own PKI: a CA that signs only node certificates, distinct
//! from the CA of KMIP clients, so that no client certificate ever opens
//! the node-to-node port and no node certificate is a KMIP identity.
//!
//! A node certificate names its cluster and node id in one SAN URI,
//! `urn:lkm:cluster:<cluster_id>:node:<id>`; the transport takes a peer's
//! node id from there and nowhere else. It also names the host of the
//! node's cluster address (IP or DNS) so ordinary TLS name checks work, and
//! serves as both TLS server and client identity.

use crate::pki::{PkiError, ca_params, create_dir, io_err, leaf_params, write_file};
use rcgen::{DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair, SanType};
use serde::{Deserialize, Serialize};
use std::fs;
use std::net::IpAddr;
use std::path::Path;
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// Files of a node identity in a node's cluster directory. The CA key is
/// only where the cluster was initialised (it issues the others' certs).
pub(crate) const CA_CERT: &str = "ca.crt";
pub(crate) const CA_KEY: &str = "ca.key";
pub(crate) const NODE_CERT: &str = "node.crt";
pub(crate) const NODE_KEY: &str = "node.key";
pub(crate) const NODE_JSON: &str = "node.json";

const URN_PREFIX: &str = "urn:lkm:cluster:";
const URN_NODE: &str = ":node:";
/// Bounds on the names that go into certificates and URNs.
const MAX_NAME: usize = 64;

/// What `node.json` holds: who this node is (also in its certificate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct NodeFile {
    cluster_id: String,
    node_id: u64,
    name: String,
}

/// A node's identity in its cluster: its certificate and key, and the
/// cluster CA it trusts (the only root of the cluster port).
pub(crate) struct NodeIdentity {
    pub cluster_id: String,
    pub node_id: u64,
    pub name: String,
    pub ca_cert_pem: String,
    pub cert_pem: String,
    pub key_pem: Zeroizing<String>,
}

impl std::fmt::Debug for NodeIdentity {
    /// Never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeIdentity")
            .field("cluster_id", &self.cluster_id)
            .field("node_id", &self.node_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl NodeIdentity {
    /// Reads `node.json`, `node.crt`, `node.key` and `ca.crt` from `dir`,
    /// and checks that the certificate names the node `node.json` says.
    pub(crate) fn load(dir: &Path) -> Result<Self, PkiError> {
        let read = |name: &str| {
            let p = dir.join(name);
            fs::read_to_string(&p).map_err(io_err(&p))
        };
        let json_path = dir.join(NODE_JSON);
        let file: NodeFile = serde_json::from_str(&read(NODE_JSON)?)
            .map_err(|e| PkiError::Invalid(format!("{}: {e}", json_path.display())))?;
        let cert_pem = read(NODE_CERT)?;
        let key_pem = Zeroizing::new(read(NODE_KEY)?);
        let ca_cert_pem = read(CA_CERT)?;
        let id = Self {
            cluster_id: file.cluster_id,
            node_id: file.node_id,
            name: file.name,
            ca_cert_pem,
            cert_pem,
            key_pem,
        };
        id.check()
            .map_err(|e| PkiError::Invalid(format!("{}: {e}", dir.join(NODE_CERT).display())))?;
        Ok(id)
    }

    /// The certificate names this node of this cluster, and the key is a
    /// private key.
    pub(crate) fn check(&self) -> Result<(), String> {
        let der = pem_cert_der(&self.cert_pem)?;
        match node_of(&der) {
            Some((c, n)) if c == self.cluster_id && n == self.node_id => {}
            Some((c, n)) => {
                return Err(format!(
                    "certificate is node {n} of cluster {c}, not node {} of cluster {}",
                    self.node_id, self.cluster_id
                ));
            }
            None => return Err("certificate names no lkm cluster node".into()),
        }
        pem_cert_der(&self.ca_cert_pem).map_err(|e| format!("CA certificate: {e}"))?;
        KeyPair::from_pem(&self.key_pem).map_err(|_| "no usable private key".to_owned())?;
        Ok(())
    }

    /// Writes the identity into `dir` (0700): `ca.crt`, `node.crt`,
    /// `node.key` (0600) and, last, `node.json`, so a crash leaves no
    /// identity that [`load`](Self::load) would take for whole. Refuses when
    /// `dir` already holds one.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), PkiError> {
        refuse_existing(dir)?;
        create_dir(dir)?;
        write_file(&dir.join(CA_CERT), &self.ca_cert_pem, false)?;
        write_file(&dir.join(NODE_CERT), &self.cert_pem, false)?;
        write_file(&dir.join(NODE_KEY), &self.key_pem, true)?;
        let file = NodeFile {
            cluster_id: self.cluster_id.clone(),
            node_id: self.node_id,
            name: self.name.clone(),
        };
        let json = serde_json::to_string_pretty(&file)
            .map_err(|e| PkiError::Invalid(format!("node.json: {e}")))?;
        write_file(&dir.join(NODE_JSON), &json, false)
    }
}

/// `dir` must not hold (part of) a node identity already.
fn refuse_existing(dir: &Path) -> Result<(), PkiError> {
    for f in [NODE_JSON, NODE_CERT, NODE_KEY] {
        let p = dir.join(f);
        if p.exists() {
            return Err(PkiError::Invalid(format!(
                "{} already holds a node identity ({} exists)",
                dir.display(),
                p.display()
            )));
        }
    }
    Ok(())
}

/// The DER of the first certificate of a PEM text.
pub(crate) fn pem_cert_der(pem: &str) -> Result<Vec<u8>, String> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| format!("not a PEM certificate: {e}"))?;
    if p.label != "CERTIFICATE" {
        return Err(format!("PEM block is {:?}, not a certificate", p.label));
    }
    Ok(p.contents)
}

/// A cluster id: letters, digits and '-' (it goes into a URN).
pub(crate) fn check_cluster_id(id: &str) -> Result<(), PkiError> {
    if id.is_empty()
        || id.len() > MAX_NAME
        || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(PkiError::Invalid(format!(
            "cluster id {id:?} must be 1 to {MAX_NAME} letters, digits or '-'"
        )));
    }
    Ok(())
}

/// A node name: letters, digits, '-', '_' or '.', not starting with '.'.
pub(crate) fn check_node_name(name: &str) -> Result<(), PkiError> {
    if name.is_empty()
        || name.len() > MAX_NAME
        || name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(PkiError::Invalid(format!(
            "node name {name:?} must be 1 to {MAX_NAME} letters, digits, '-', '_' or '.'"
        )));
    }
    Ok(())
}

/// The host of a cluster address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Host {
    Ip(IpAddr),
    Dns(String),
}

/// Splits `host:port` (IPv6 as `[::1]:port`) into its host and port.
pub(crate) fn split_addr(addr: &str) -> Result<(Host, u16), String> {
    if let Ok(sa) = addr.parse::<std::net::SocketAddr>() {
        return Ok((Host::Ip(sa.ip()), sa.port()));
    }
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("address {addr:?} is not host:port"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("address {addr:?} has no valid port"))?;
    let valid_dns = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['-', '.'])
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
    if !valid_dns {
        return Err(format!("address {addr:?} has no valid host name"));
    }
    Ok((Host::Dns(host.to_ascii_lowercase()), port))
}

/// The node certificate's SAN URI.
fn node_urn(cluster_id: &str, node_id: u64) -> String {
    format!("{URN_PREFIX}{cluster_id}{URN_NODE}{node_id}")
}

/// The cluster id and node id a node certificate (DER) names, from its one
/// `urn:lkm:cluster:<cluster_id>:node:<id>` SAN URI. `None` when there is
/// no such URI, more than one, or the certificate does not parse.
pub(crate) fn node_of(cert_der: &[u8]) -> Option<(String, u64)> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der).ok()?;
    let san = cert.subject_alternative_name().ok()??;
    let mut found = None;
    for name in &san.value.general_names {
        let GeneralName::URI(uri) = name else {
            continue;
        };
        let Some(rest) = uri.strip_prefix(URN_PREFIX) else {
            continue;
        };
        let (cluster, node) = rest.rsplit_once(URN_NODE)?;
        check_cluster_id(cluster).ok()?;
        // Digits only: no sign, no spaces.
        if node.is_empty() || !node.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let id: u64 = node.parse().ok()?;
        if found.is_some() {
            return None;
        }
        found = Some((cluster.to_owned(), id));
    }
    found
}

/// A node certificate signed by `issuer`; returns (cert PEM, key PEM).
fn sign_node(
    issuer: &Issuer<'_, KeyPair>,
    ca_not_after: OffsetDateTime,
    cluster_id: &str,
    node_id: u64,
    name: &str,
    addr: &str,
) -> Result<(String, Zeroizing<String>), PkiError> {
    check_cluster_id(cluster_id)?;
    check_node_name(name)?;
    let (host, _) = split_addr(addr).map_err(PkiError::Invalid)?;
    let host_san = match host {
        Host::Ip(ip) if ip.is_unspecified() => {
            return Err(PkiError::Invalid(format!(
                "address {addr:?}: peers cannot dial an unspecified address"
            )));
        }
        Host::Ip(ip) => SanType::IpAddress(ip),
        Host::Dns(d) => SanType::DnsName(d.try_into()?),
    };
    let urn = node_urn(cluster_id, node_id);
    let now = OffsetDateTime::now_utc();
    let mut p = leaf_params(name, false, now, ca_not_after)?;
    p.subject_alt_names = vec![SanType::URI(urn.try_into()?), host_san];
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = KeyPair::generate()?;
    let cert = p.signed_by(&key, issuer)?;
    Ok((cert.pem(), Zeroizing::new(key.serialize_pem())))
}

/// Creates a new cluster in `dir`: its CA (`ca.crt`, `ca.key` 0600) and
/// the identity of its first node, node 1. Refuses when `dir` already
/// holds a node identity.
pub(crate) fn init_cluster(
    dir: &Path,
    cluster_id: &str,
    node_name: &str,
    addr: &str,
) -> Result<NodeIdentity, PkiError> {
    check_cluster_id(cluster_id)?;
    check_node_name(node_name)?;
    refuse_existing(dir)?;
    let now = OffsetDateTime::now_utc();
    let mut ca = ca_params(now)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("lkm cluster {cluster_id} CA"));
    dn.push(DnType::OrganizationName, "lkm");
    ca.distinguished_name = dn;
    let ca_not_after = ca.not_after;
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let ca_key_pem = Zeroizing::new(ca_key.serialize_pem());
    let issuer = Issuer::new(ca, ca_key);
    let (cert_pem, key_pem) = sign_node(&issuer, ca_not_after, cluster_id, 1, node_name, addr)?;
    create_dir(dir)?;
    write_file(&dir.join(CA_KEY), &ca_key_pem, true)?;
    let id = NodeIdentity {
        cluster_id: cluster_id.to_owned(),
        node_id: 1,
        name: node_name.to_owned(),
        ca_cert_pem: ca_cert.pem(),
        cert_pem,
        key_pem,
    };
    id.write(dir)?;
    Ok(id)
}

/// Issues the certificate of node `node_id` with the cluster CA in
/// `ca_dir` (`ca.crt`, `ca.key`); returns (cert PEM, key PEM).
pub(crate) fn issue_node(
    ca_dir: &Path,
    cluster_id: &str,
    node_id: u64,
    name: &str,
    addr: &str,
) -> Result<(String, Zeroizing<String>), PkiError> {
    let (issuer, ca_not_after) =
        crate::pki::load_issuer(&ca_dir.join(CA_CERT), &ca_dir.join(CA_KEY))?;
    sign_node(&issuer, ca_not_after, cluster_id, node_id, name, addr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn init_writes_a_ca_and_node_one_and_refuses_a_second_time() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cluster");
        let id = init_cluster(&dir, "c-1", "alpha", "127.0.0.1:7001").unwrap();
        assert_eq!((id.node_id, id.name.as_str()), (1, "alpha"));
        for f in [CA_KEY, NODE_KEY] {
            assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
        }
        assert_eq!(mode(&dir), 0o700);
        let der = pem_cert_der(&id.cert_pem).unwrap();
        assert_eq!(node_of(&der), Some(("c-1".to_owned(), 1)));
        let loaded = NodeIdentity::load(&dir).unwrap();
        assert_eq!(loaded.cert_pem, id.cert_pem);
        assert_eq!(*loaded.key_pem, *id.key_pem);
        let again = init_cluster(&dir, "c-1", "alpha", "127.0.0.1:7001").unwrap_err();
        assert!(again.to_string().contains("already holds"), "{again}");
        // The first CA is still there.
        assert_eq!(
            NodeIdentity::load(&dir).unwrap().ca_cert_pem,
            id.ca_cert_pem
        );
    }

    #[test]
    fn an_issued_node_cert_names_its_node_both_usages_and_its_host() {
        let tmp = tempfile::tempdir().unwrap();
        init_cluster(tmp.path(), "prod", "n1", "10.0.0.1:7001").unwrap();
        let (pem, key) = issue_node(tmp.path(), "prod", 7, "n7", "kms-7.example:7001").unwrap();
        assert!(key.contains("PRIVATE KEY"));
        let der = pem_cert_der(&pem).unwrap();
        assert_eq!(node_of(&der), Some(("prod".to_owned(), 7)));
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);
        let san = cert.subject_alternative_name().unwrap().unwrap().value;
        let text = format!("{:?}", san.general_names);
        assert!(text.contains("kms-7.example"), "{text}");
        let v = cert.validity();
        let days = (v.not_after.to_datetime() - v.not_before.to_datetime()).whole_days();
        assert!((365..=366).contains(&days), "{days}");
        // An unspecified address or a bad name is refused.
        assert!(issue_node(tmp.path(), "prod", 8, "n8", "0.0.0.0:7001").is_err());
        assert!(issue_node(tmp.path(), "prod", 8, "../n8", "10.0.0.8:7001").is_err());
        assert!(issue_node(tmp.path(), "pr:od", 8, "n8", "10.0.0.8:7001").is_err());
    }

    #[test]
    fn a_client_certificate_names_no_node() {
        let tmp = tempfile::tempdir().unwrap();
        crate::pki::init(tmp.path(), false).unwrap();
        for f in ["client.crt", "server.crt", "ca.crt"] {
            let pem = fs::read_to_string(tmp.path().join(f)).unwrap();
            assert_eq!(node_of(&pem_cert_der(&pem).unwrap()), None, "{f}");
        }
        assert_eq!(node_of(b"not a certificate"), None);
    }

    #[test]
    fn load_names_the_missing_or_mismatched_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        init_cluster(dir, "c", "n1", "127.0.0.1:7001").unwrap();
        // node.json that claims another node than the certificate.
        let json = fs::read_to_string(dir.join(NODE_JSON)).unwrap();
        fs::write(
            dir.join(NODE_JSON),
            json.replace("\"node_id\": 1", "\"node_id\": 2"),
        )
        .unwrap();
        let e = NodeIdentity::load(dir).unwrap_err().to_string();
        assert!(e.contains("node.crt") && e.contains("not node 2"), "{e}");
        fs::remove_file(dir.join(NODE_KEY)).unwrap();
        let e = NodeIdentity::load(dir).unwrap_err().to_string();
        assert!(e.contains("node.key"), "{e}");
    }

    #[test]
    fn addresses_split_into_host_and_port() {
        assert_eq!(
            split_addr("127.0.0.2:7001").unwrap(),
            (Host::Ip([127, 0, 0, 2].into()), 7001)
        );
        assert_eq!(
            split_addr("[::1]:9").unwrap(),
            (Host::Ip(std::net::Ipv6Addr::LOCALHOST.into()), 9)
        );
        assert_eq!(
            split_addr("Node-A.example:80").unwrap(),
            (Host::Dns("node-a.example".into()), 80)
        );
        for bad in ["nohost", ":80", "a b:80", "host:99999", "-x:1"] {
            assert!(split_addr(bad).is_err(), "{bad}");
        }
    }
}

//! rustls for the cluster port: the cluster CA is the only trust root,
//! client certificates are required, and the node certificate is both the
//! server and the client identity. After a handshake each side reads the
//! node its peer's certificate names ([`crate::cluster::pki::node_of`]).

use super::TransportError;
use crate::cluster::pki::{Host, NodeIdentity, node_of, split_addr};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, CommonState, RootCertStore, ServerConfig};
use std::sync::Arc;

fn tls_err(what: &str) -> impl FnOnce(String) -> TransportError + '_ {
    move |e| TransportError::Tls(format!("{what}: {e}"))
}

fn certs(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err(what)(e.to_string()))?;
    if certs.is_empty() {
        return Err(tls_err(what)("no PEM certificate".into()));
    }
    Ok(certs)
}

fn key(id: &NodeIdentity) -> Result<PrivateKeyDer<'static>, TransportError> {
    // Never the error's detail: it could quote the key.
    PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes())
        .map_err(|_| TransportError::Tls("node key: no usable private key".into()))
}

/// The cluster CA alone.
fn roots(id: &NodeIdentity) -> Result<RootCertStore, TransportError> {
    let mut roots = RootCertStore::empty();
    for c in certs(&id.ca_cert_pem, "cluster CA")? {
        roots
            .add(c)
            .map_err(|e| tls_err("cluster CA")(e.to_string()))?;
    }
    Ok(roots)
}

/// The server side of the cluster port: client certificates required and
/// chained to the cluster CA.
pub(crate) fn server_config(id: &NodeIdentity) -> Result<Arc<ServerConfig>, TransportError> {
    let verifier = WebPkiClientVerifier::builder(Arc::new(roots(id)?))
        .build()
        .map_err(|e| tls_err("client verifier")(e.to_string()))?;
    let cfg = ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&id.cert_pem, "node certificate")?, key(id)?)
        .map_err(|e| tls_err("node certificate")(e.to_string()))?;
    Ok(Arc::new(cfg))
}

/// The client side: trusts the cluster CA only, presents the node
/// certificate.
pub(crate) fn client_config(id: &NodeIdentity) -> Result<Arc<ClientConfig>, TransportError> {
    let cfg = ClientConfig::builder()
        .with_root_certificates(roots(id)?)
        .with_client_auth_cert(certs(&id.cert_pem, "node certificate")?, key(id)?)
        .map_err(|e| tls_err("node certificate")(e.to_string()))?;
    Ok(Arc::new(cfg))
}

/// The TLS name a peer at `addr` must prove: its IP or DNS name.
pub(crate) fn server_name(addr: &str) -> Result<ServerName<'static>, TransportError> {
    let (host, _) = split_addr(addr).map_err(TransportError::Address)?;
    match host {
        Host::Ip(ip) => Ok(ServerName::IpAddress(ip.into())),
        Host::Dns(d) => {
            ServerName::try_from(d).map_err(|e| TransportError::Address(format!("{addr}: {e}")))
        }
    }
}

/// The (cluster id, node id) the peer's certificate names, after a
/// handshake that verified it.
pub(crate) fn peer_node(conn: &CommonState) -> Option<(String, u64)> {
    let leaf = conn.peer_certificates()?.first()?;
    node_of(leaf.as_ref())
}

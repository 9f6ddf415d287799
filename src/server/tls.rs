//! rustls configuration for both ends. The server always requires a client
//! certificate that chains to the configured CA; there is no other way in.

use crate::config::TlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TlsSetupError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("TLS configuration: {0}")]
    Rustls(String),
}

pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let file_err = |message: String| TlsSetupError::File {
        path: path.to_owned(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_err(e.to_string()))?;
    if certs.is_empty() {
        return Err(file_err("no PEM certificate found".into()));
    }
    Ok(certs)
}

pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsSetupError::File {
        path: path.to_owned(),
        message: format!("no usable private key: {e}"),
    })
}

fn roots(ca: &Path) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for c in load_certs(ca)? {
        roots.add(c).map_err(|e| TlsSetupError::File {
            path: ca.to_owned(),
            message: format!("not a usable CA certificate: {e}"),
        })?;
    }
    Ok(roots)
}

/// rustls defaults (TLS 1.3 and TLS 1.2 ECDHE with AES-GCM/ChaCha20) with
/// client certificates required.
pub fn server_config(tls: &TlsConfig) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let verifier = WebPkiClientVerifier::builder(Arc::new(roots(&tls.ca_cert)?))
        .build()
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
    let cfg = ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(load_certs(&tls.server_cert)?, load_key(&tls.server_key)?)
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
    Ok(Arc::new(cfg))
}

/// A client configuration for `lkm client`, `lkm bench` and the tests.
pub fn client_config(
    ca: &Path,
    cert: &Path,
    key: &Path,
) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let cfg = ClientConfig::builder()
        .with_root_certificates(roots(ca)?)
        .with_client_auth_cert(load_certs(cert)?, load_key(key)?)
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
    Ok(Arc::new(cfg))
}

/// A small fixed label for a failed handshake (never the peer's words).
pub(crate) fn failure_cause(e: &std::io::Error) -> &'static str {
    use rustls::Error as E;
    match e.get_ref().and_then(|i| i.downcast_ref::<E>()) {
        Some(E::NoCertificatesPresented) => "no_certificate",
        Some(E::InvalidCertificate(_)) => "bad_certificate",
        Some(E::PeerIncompatible(_)) => "incompatible",
        Some(E::AlertReceived(_)) => "alert_received",
        Some(E::InvalidMessage(_) | E::PeerMisbehaved(_)) => "protocol",
        Some(_) => "tls_other",
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => "eof",
        None => "io",
    }
}

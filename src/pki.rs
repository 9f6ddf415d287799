//! A small PKI for development and tests: a CA, a server certificate for
//! loopback and client certificates, made with rcgen. Production sites use
//! their own CA; these files only make `lkm serve --dev` work out of the box.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PkiError {
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} already exists; pass --force to replace it")]
    Exists(PathBuf),
    #[error("{0}")]
    Invalid(String),
}

/// The file names `lkm certs init` writes.
pub const FILES: [&str; 6] = [
    "ca.crt",
    "ca.key",
    "server.crt",
    "server.key",
    "client.crt",
    "client.key",
];

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes a file readable by its owner only when it holds a private key.
fn write_file(path: &Path, contents: &str, private: bool) -> Result<(), PkiError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    if private {
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io_err(path))?;
    f.write_all(contents.as_bytes()).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

fn ca_params() -> Result<CertificateParams, PkiError> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, "lkm CA");
    p.distinguished_name.push(DnType::OrganizationName, "lkm");
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(p)
}

fn leaf_params(cn: &str, server: bool) -> Result<CertificateParams, PkiError> {
    let mut p = if server {
        let mut p = CertificateParams::new(vec!["localhost".to_owned()])?;
        p.subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        p.subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p
    } else {
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p
    };
    p.distinguished_name.push(DnType::CommonName, cn);
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.use_authority_key_identifier_extension = true;
    Ok(p)
}

/// Creates `dir` with a CA, a server certificate (localhost, 127.0.0.1, ::1)
/// and a client certificate named "client".
pub fn init(dir: &Path, force: bool) -> Result<(), PkiError> {
    if !force {
        for f in FILES {
            let p = dir.join(f);
            if p.exists() {
                return Err(PkiError::Exists(p));
            }
        }
    }
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params()?.self_signed(&ca_key)?;
    write_file(&dir.join("ca.crt"), &ca_cert.pem(), false)?;
    write_file(&dir.join("ca.key"), &ca_key.serialize_pem(), true)?;
    let issuer = Issuer::new(ca_params()?, ca_key);
    for (name, cn, server) in [("server", "localhost", true), ("client", "client", false)] {
        let key = KeyPair::generate()?;
        let cert = leaf_params(cn, server)?.signed_by(&key, &issuer)?;
        write_file(&dir.join(format!("{name}.crt")), &cert.pem(), false)?;
        write_file(&dir.join(format!("{name}.key")), &key.serialize_pem(), true)?;
    }
    Ok(())
}

/// Issues another client certificate, with common name `name`, from the CA
/// in `ca_dir`; writes `out/NAME.crt` and `out/NAME.key`.
pub fn issue(ca_dir: &Path, name: &str, out: &Path) -> Result<(PathBuf, PathBuf), PkiError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        || name.starts_with('.')
    {
        return Err(PkiError::Invalid(format!(
            "client name {name:?} must be letters, digits, '-', '_' or '.'"
        )));
    }
    let ca_crt = ca_dir.join("ca.crt");
    let ca_key = ca_dir.join("ca.key");
    let crt_pem = fs::read_to_string(&ca_crt).map_err(io_err(&ca_crt))?;
    let key_pem = fs::read_to_string(&ca_key).map_err(io_err(&ca_key))?;
    let key = KeyPair::from_pem(&key_pem)
        .map_err(|e| PkiError::Invalid(format!("{}: {e}", ca_key.display())))?;
    let issuer = Issuer::from_ca_cert_pem(&crt_pem, key)
        .map_err(|e| PkiError::Invalid(format!("{}: {e}", ca_crt.display())))?;
    fs::create_dir_all(out).map_err(io_err(out))?;
    let leaf_key = KeyPair::generate()?;
    let cert = leaf_params(name, false)?.signed_by(&leaf_key, &issuer)?;
    let crt_path = out.join(format!("{name}.crt"));
    let key_path = out.join(format!("{name}.key"));
    write_file(&crt_path, &cert.pem(), false)?;
    write_file(&key_path, &leaf_key.serialize_pem(), true)?;
    Ok((crt_path, key_path))
}

/// True when `dir` already holds every file [`init`] writes.
pub fn is_complete(dir: &Path) -> bool {
    FILES.iter().all(|f| dir.join(f).is_file())
}

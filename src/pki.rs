//! A small PKI for development and tests: a CA, a server certificate for
//! loopback and client certificates, made with rcgen. Production sites use
//! their own CA; these files only make `lkm serve --dev` work out of the box.

use crate::private_files;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::fs;
use std::path::{Path, PathBuf};
use thiserror::Error;
use time::{Duration, OffsetDateTime};

/// How long the dev CA is valid.
const CA_VALIDITY: Duration = Duration::days(3650);
/// How long a server or client certificate is valid (never past its CA).
const LEAF_VALIDITY: Duration = Duration::days(365);
/// Certificates start this much before they are made, for clocks behind.
const BACKDATE: Duration = Duration::hours(1);

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

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes a file, readable by its owner only when it holds a private key
/// (mode 0600 even over an existing file with a looser mode).
pub(crate) fn write_file(path: &Path, contents: &str, private: bool) -> Result<(), PkiError> {
    let mode = if private {
        private_files::KEY_MODE
    } else {
        0o644
    };
    private_files::write(path, contents.as_bytes(), mode).map_err(io_err(path))
}

/// Creates a folder for keys (mode 0700 where it is made).
pub(crate) fn create_dir(dir: &Path) -> Result<(), PkiError> {
    private_files::create_dir(dir).map_err(io_err(dir))
}

pub(crate) fn ca_params(now: OffsetDateTime) -> Result<CertificateParams, PkiError> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.not_before = now - BACKDATE;
    p.not_after = now + CA_VALIDITY;
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

/// A leaf made `now` under a CA valid until `ca_not_after`.
pub(crate) fn leaf_params(
    cn: &str,
    server: bool,
    now: OffsetDateTime,
    ca_not_after: OffsetDateTime,
) -> Result<CertificateParams, PkiError> {
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
    p.not_before = now - BACKDATE;
    p.not_after = (now + LEAF_VALIDITY).min(ca_not_after);
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
    create_dir(dir)?;
    let now = OffsetDateTime::now_utc();
    let ca = ca_params(now)?;
    let ca_not_after = ca.not_after;
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    write_file(&dir.join("ca.crt"), &ca_cert.pem(), false)?;
    write_file(&dir.join("ca.key"), &ca_key.serialize_pem(), true)?;
    let issuer = Issuer::new(ca, ca_key);
    for (name, cn, server) in [("server", "localhost", true), ("client", "client", false)] {
        let key = KeyPair::generate()?;
        let cert = leaf_params(cn, server, now, ca_not_after)?.signed_by(&key, &issuer)?;
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
    let (issuer, ca_not_after) = load_issuer(&ca_dir.join("ca.crt"), &ca_dir.join("ca.key"))?;
    create_dir(out)?;
    let leaf_key = KeyPair::generate()?;
    let now = OffsetDateTime::now_utc();
    let cert = leaf_params(name, false, now, ca_not_after)?.signed_by(&leaf_key, &issuer)?;
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

/// A CA to sign with, from its certificate and key files (the key read
/// into memory that is wiped), and when the CA itself expires.
pub(crate) fn load_issuer(
    ca_crt: &Path,
    ca_key: &Path,
) -> Result<(Issuer<'static, KeyPair>, OffsetDateTime), PkiError> {
    let crt_pem = fs::read_to_string(ca_crt).map_err(io_err(ca_crt))?;
    let key_pem = zeroize::Zeroizing::new(fs::read_to_string(ca_key).map_err(io_err(ca_key))?);
    let key = KeyPair::from_pem(&key_pem)
        .map_err(|e| PkiError::Invalid(format!("{}: {e}", ca_key.display())))?;
    let issuer = Issuer::from_ca_cert_pem(&crt_pem, key)
        .map_err(|e| PkiError::Invalid(format!("{}: {e}", ca_crt.display())))?;
    let ca_not_after =
        not_after(&crt_pem).map_err(|e| PkiError::Invalid(format!("{}: {e}", ca_crt.display())))?;
    Ok((issuer, ca_not_after))
}

/// The end of a PEM certificate's validity.
pub(crate) fn not_after(pem: &str) -> Result<OffsetDateTime, String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| format!("not a PEM certificate: {e}"))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| format!("not a certificate: {e}"))?;
    Ok(cert.validity().not_after.to_datetime())
}

/// The end of the server certificate's validity in `dir`, when it is
/// less than 30 days after `now` (or past): dev certificates last a year,
/// and `lkm serve --dev` warns before its clients start failing.
pub(crate) fn server_cert_ending(dir: &Path, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let pem = fs::read_to_string(dir.join("server.crt")).ok()?;
    let end = not_after(&pem).ok()?;
    (end < now + Duration::days(30)).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    /// (not_before, not_after) of a PEM certificate file.
    fn validity(p: &Path) -> (OffsetDateTime, OffsetDateTime) {
        let pem = fs::read_to_string(p).unwrap();
        let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        let cert = pem.parse_x509().unwrap();
        (
            cert.validity().not_before.to_datetime(),
            cert.validity().not_after.to_datetime(),
        )
    }

    fn assert_about(found: OffsetDateTime, expected: OffsetDateTime, what: &str) {
        assert!(
            (found - expected).abs() < Duration::minutes(5),
            "{what}: {found} instead of about {expected}"
        );
    }

    #[test]
    fn dev_ca_lasts_ten_years_and_leaves_one() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("certs");
        init(&certs, false).unwrap();
        let now = OffsetDateTime::now_utc();
        let (from, to) = validity(&certs.join("ca.crt"));
        assert_about(from, now - BACKDATE, "CA not before");
        assert_about(to, now + Duration::days(3650), "CA not after");
        for leaf in ["server.crt", "client.crt"] {
            let (from, to) = validity(&certs.join(leaf));
            assert_about(from, now - BACKDATE, leaf);
            assert_about(to, now + Duration::days(365), leaf);
        }
        issue(&certs, "array-a", &certs).unwrap();
        let (_, to) = validity(&certs.join("array-a.crt"));
        assert_about(to, now + Duration::days(365), "issued");
        // The dev server warns in the last month, not before.
        assert_eq!(server_cert_ending(&certs, now), None);
        let (_, server_end) = validity(&certs.join("server.crt"));
        assert_eq!(
            server_cert_ending(&certs, now + Duration::days(340)),
            Some(server_end)
        );
        // A leaf never outlives its CA.
        let soon = now + Duration::days(30);
        assert_eq!(leaf_params("x", false, now, soon).unwrap().not_after, soon);
    }

    #[test]
    fn private_keys_are_0600_even_over_looser_files_and_the_folder_0700() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("new/certs");
        init(&certs, false).unwrap();
        assert_eq!(mode(&certs), 0o700);
        assert_eq!(mode(&dir.path().join("new")), 0o700);
        // Files an operator (or an older lkm) left readable by everyone.
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        for f in ["ca.key", "server.key", "client.key"] {
            fs::set_permissions(certs.join(f), fs::Permissions::from_mode(0o644)).unwrap();
        }
        fs::write(out.join("bob.key"), "old").unwrap();
        fs::set_permissions(out.join("bob.key"), fs::Permissions::from_mode(0o644)).unwrap();
        init(&certs, true).unwrap();
        issue(&certs, "bob", &out).unwrap();
        for f in ["ca.key", "server.key", "client.key"] {
            assert_eq!(mode(&certs.join(f)), 0o600, "{f}");
        }
        assert_eq!(mode(&out.join("bob.key")), 0o600);
        assert!(
            fs::read_to_string(out.join("bob.key"))
                .unwrap()
                .contains("PRIVATE KEY")
        );
        for f in ["ca.crt", "server.crt", "client.crt"] {
            assert_eq!(mode(&certs.join(f)), 0o644, "{f}");
        }
    }
}

//! Who is asking. Every KMIP operation receives the caller's identity, taken
//! from the client certificate that mutual TLS verified, and the owner key
//! its objects are kept under.
//!
//! The owner key must outlive the certificate: a storage array that renews
//! its certificate must still reach its keys. So by default it is the
//! certificate's subject (`auth.identity = "subject"`), or one of its
//! subject alternative names; the whole-certificate fingerprint, which
//! changes at every renewal, is an option. Objects made before owner keys
//! existed are owned by the bare fingerprint: an identity owns those too.

mod dn;

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// What of a client certificate names the owner of the objects it makes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentitySource {
    /// The whole subject DN: a renewed certificate with the same subject
    /// keeps its keys. The CA must never give two clients one subject.
    #[default]
    Subject,
    /// The first DNS subject alternative name.
    SanDns,
    /// The first URI subject alternative name.
    SanUri,
    /// The first e-mail (RFC 822) subject alternative name.
    SanEmail,
    /// SHA-256 of the whole certificate: a renewed certificate is a new
    /// owner, which sees none of the old one's objects.
    Fingerprint,
}

impl IdentitySource {
    fn name(self) -> &'static str {
        match self {
            IdentitySource::Subject => "subject",
            IdentitySource::SanDns => "san-dns",
            IdentitySource::SanUri => "san-uri",
            IdentitySource::SanEmail => "san-email",
            IdentitySource::Fingerprint => "fingerprint",
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum IdentityError {
    #[error("the client certificate cannot be parsed")]
    Unparsable,
    #[error(
        "the client certificate has no {0} subject alternative name, which auth.identity = \"{0}\" needs"
    )]
    NoSan(&'static str),
}

const SUBJECT: &str = "subject:";
const CN: &str = "cn:";

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The certificate subject's common name, if it has one.
    pub common_name: Option<String>,
    /// The subject DN in canonical form (see `dn`); empty if it has none.
    pub subject: String,
    /// SHA-256 of the whole DER certificate, lowercase hex: exactly this
    /// certificate (admin pins, the audit log, objects of earlier builds).
    pub fingerprint: String,
    /// The key the objects this identity makes are owned under, as
    /// `auth.identity` says: `subject:DN`, `san-dns:NAME`, `san-uri:URI`,
    /// `san-email:ADDRESS`, or the bare fingerprint.
    pub owner: String,
}

impl Identity {
    /// The identity of a verified client certificate. A certificate that
    /// lacks what `source` reads is refused, never given a shared owner.
    pub fn from_certificate(der: &[u8], source: IdentitySource) -> Result<Self, IdentityError> {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
        let fingerprint = hex::encode(digest.as_ref());
        let parsed = x509_parser::parse_x509_certificate(der)
            .ok()
            .map(|(_, c)| c);
        let common_name = parsed.as_ref().and_then(|cert| {
            cert.subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .map(str::to_owned)
        });
        let subject = parsed
            .as_ref()
            .map(|c| dn::of_name(c.subject()))
            .unwrap_or_default();
        let owner = match source {
            IdentitySource::Fingerprint => fingerprint.clone(),
            IdentitySource::Subject => {
                if parsed.is_none() {
                    return Err(IdentityError::Unparsable);
                }
                // A certificate with no subject (SAN-only) names nobody
                // stable: it owns by fingerprint, as before owner keys.
                if subject.is_empty() {
                    fingerprint.clone()
                } else {
                    format!("{SUBJECT}{subject}")
                }
            }
            san => {
                let cert = parsed.as_ref().ok_or(IdentityError::Unparsable)?;
                let name = first_san(cert, san).ok_or(IdentityError::NoSan(san.name()))?;
                format!("{}:{name}", san.name())
            }
        };
        Ok(Self {
            common_name,
            subject,
            fingerprint,
            owner,
        })
    }

    /// Every owner key whose objects are this identity's: its owner key,
    /// and its fingerprint (objects made before owner keys existed).
    pub fn owners(&self) -> Vec<&str> {
        let mut out = vec![self.owner.as_str()];
        if self.fingerprint != self.owner {
            out.push(self.fingerprint.as_str());
        }
        out
    }

    /// Whether an object owned by `owner` is this identity's.
    pub fn owns(&self, owner: &str) -> bool {
        owner == self.owner || owner == self.fingerprint
    }

    /// Whether an `auth.admins` entry names this identity: a fingerprint
    /// (this certificate only), `subject:DN` (this whole subject) or
    /// `cn:NAME` (a subject that is exactly `CN=NAME`, nothing more).
    pub fn matches(&self, pattern: &str) -> bool {
        if let Some(name) = pattern.strip_prefix(CN) {
            !self.subject.is_empty() && self.subject == format!("CN={}", dn::escape_value(name))
        } else if let Some(text) = pattern.strip_prefix(SUBJECT) {
            !self.subject.is_empty() && dn::canonical(text).is_ok_and(|d| d == self.subject)
        } else {
            fingerprint_hex(pattern).is_some_and(|f| f == self.fingerprint)
        }
    }
}

/// The first subject alternative name of the kind `source` reads; DNS
/// names in lower case (they compare case-insensitively).
fn first_san(
    cert: &x509_parser::certificate::X509Certificate<'_>,
    source: IdentitySource,
) -> Option<String> {
    use x509_parser::extensions::GeneralName;
    let san = cert.subject_alternative_name().ok().flatten()?;
    san.value
        .general_names
        .iter()
        .find_map(|g| match (source, g) {
            (IdentitySource::SanDns, GeneralName::DNSName(n)) => Some(n.to_ascii_lowercase()),
            (IdentitySource::SanUri, GeneralName::URI(u)) => Some((*u).to_owned()),
            (IdentitySource::SanEmail, GeneralName::RFC822Name(e)) => Some((*e).to_owned()),
            _ => None,
        })
        .filter(|n| !n.is_empty())
}

/// A SHA-256 fingerprint as lowercase hex, from hex with or without the
/// colons `openssl x509 -fingerprint` prints.
fn fingerprint_hex(text: &str) -> Option<String> {
    let hex: String = text.trim().chars().filter(|c| *c != ':').collect();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// Checks one `auth.admins` entry; the error says what is wrong with it.
pub fn check_admin_entry(entry: &str) -> Result<(), String> {
    if let Some(name) = entry.strip_prefix(CN) {
        if name.is_empty() {
            return Err("auth.admins: \"cn:\" needs a name".into());
        }
        Ok(())
    } else if let Some(text) = entry.strip_prefix(SUBJECT) {
        dn::canonical(text)
            .map(|_| ())
            .map_err(|e| format!("auth.admins: {entry:?}: {e}"))
    } else if fingerprint_hex(entry).is_some() {
        Ok(())
    } else {
        Err(format!(
            "auth.admins: {entry:?} is neither a SHA-256 certificate fingerprint (64 hex digits), \
             \"subject:DN\" nor \"cn:NAME\""
        ))
    }
}

/// An owner key as an operator writes it, in the form objects are stored
/// under: `subject:DN` (any spacing), `cn:NAME` (the subject `CN=NAME`),
/// `san-dns:`, `san-uri:`, `san-email:`, or a fingerprint (hex, colons
/// allowed).
pub fn parse_owner(text: &str) -> Result<String, String> {
    let text = text.trim();
    if let Some(name) = text.strip_prefix(CN) {
        if name.is_empty() {
            return Err("\"cn:\" needs a name".into());
        }
        return Ok(format!("{SUBJECT}CN={}", dn::escape_value(name)));
    }
    if let Some(d) = text.strip_prefix(SUBJECT) {
        return Ok(format!("{SUBJECT}{}", dn::canonical(d)?));
    }
    for source in [
        IdentitySource::SanDns,
        IdentitySource::SanUri,
        IdentitySource::SanEmail,
    ] {
        if let Some(v) = text
            .strip_prefix(source.name())
            .and_then(|r| r.strip_prefix(':'))
        {
            if v.is_empty() {
                return Err(format!("\"{}:\" needs a value", source.name()));
            }
            let v = if source == IdentitySource::SanDns {
                v.to_ascii_lowercase()
            } else {
                v.to_owned()
            };
            return Ok(format!("{}:{v}", source.name()));
        }
    }
    fingerprint_hex(text).ok_or_else(|| {
        format!(
            "{text:?} is not an owner: use subject:DN, cn:NAME, san-dns:NAME, san-uri:URI, \
             san-email:ADDRESS or a certificate fingerprint"
        )
    })
}

impl fmt::Display for Identity {
    /// For logs: the common name (or subject) with its control characters
    /// escaped, so a certificate cannot forge log lines, and the start of
    /// the fingerprint.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fp = self.fingerprint.get(..16).unwrap_or(&self.fingerprint);
        let label = self.common_name.as_deref().unwrap_or(&self.subject);
        if label.is_empty() {
            write!(f, "({fp})")
        } else {
            write!(f, "{} ({fp})", crate::audit::escape_controls(label))
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};

    fn cert(cn: &str, sans: Vec<SanType>) -> Vec<u8> {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::OrganizationName, "lkm");
        p.distinguished_name.push(DnType::CommonName, cn);
        p.subject_alt_names = sans;
        let key = KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn a_renewed_certificate_keeps_its_owner_by_subject_not_by_fingerprint() {
        let old = cert("array-7", vec![]);
        let renewed = cert("array-7", vec![]);
        let by_subject = |d: &[u8]| Identity::from_certificate(d, IdentitySource::Subject).unwrap();
        let (a, b) = (by_subject(&old), by_subject(&renewed));
        assert_ne!(a.fingerprint, b.fingerprint);
        assert_eq!(a.owner, "subject:CN=array-7,O=lkm");
        assert_eq!(a.owner, b.owner);
        // Objects of earlier builds are owned by the fingerprint.
        assert!(a.owns(&a.fingerprint) && !b.owns(&a.fingerprint));
        assert_eq!(a.owners(), vec![a.owner.as_str(), a.fingerprint.as_str()]);
        let by_fp = |d: &[u8]| Identity::from_certificate(d, IdentitySource::Fingerprint).unwrap();
        assert_ne!(by_fp(&old).owner, by_fp(&renewed).owner);
        assert_eq!(by_fp(&old).owners(), vec![by_fp(&old).fingerprint.as_str()]);
    }

    #[test]
    fn san_owners_and_certificates_without_one() {
        let with = cert(
            "x",
            vec![
                SanType::DnsName("Array-7.Example.NET".try_into().unwrap()),
                SanType::URI("spiffe://example/array-7".try_into().unwrap()),
            ],
        );
        let id = |s| Identity::from_certificate(&with, s);
        assert_eq!(
            id(IdentitySource::SanDns).unwrap().owner,
            "san-dns:array-7.example.net"
        );
        assert_eq!(
            id(IdentitySource::SanUri).unwrap().owner,
            "san-uri:spiffe://example/array-7"
        );
        assert_eq!(
            id(IdentitySource::SanEmail),
            Err(IdentityError::NoSan("san-email"))
        );
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        let key = KeyPair::generate().unwrap();
        let empty = p.self_signed(&key).unwrap().der().to_vec();
        // No subject: owned by fingerprint, as before owner keys existed.
        let by_fp = Identity::from_certificate(&empty, IdentitySource::Subject).unwrap();
        assert_eq!(by_fp.owner, by_fp.fingerprint);
    }

    #[test]
    fn admin_entries_match_whole_subjects_and_are_checked() {
        let only_cn = {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name = rcgen::DistinguishedName::new();
            p.distinguished_name.push(DnType::CommonName, "auditor");
            let key = KeyPair::generate().unwrap();
            p.self_signed(&key).unwrap().der().to_vec()
        };
        let plain = Identity::from_certificate(&only_cn, IdentitySource::Subject).unwrap();
        // Same common name, more in the subject: not the admin "cn:auditor".
        let other_org =
            Identity::from_certificate(&cert("auditor", vec![]), IdentitySource::Subject).unwrap();
        assert!(plain.matches("cn:auditor"));
        assert!(!other_org.matches("cn:auditor"));
        assert!(other_org.matches("subject:CN=auditor, O=lkm"));
        assert!(!plain.matches("subject:CN=auditor, O=lkm"));
        let colons: String = other_org
            .fingerprint
            .to_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(":");
        assert!(other_org.matches(&colons));
        assert!(!plain.matches(&colons));
        for good in ["cn:auditor", "subject:CN=a,O=b", colons.as_str()] {
            assert!(check_admin_entry(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "cn:",
            "subject:",
            "subject:CN",
            "abc",
            "dn:CN=a",
            &"a".repeat(63),
        ] {
            assert!(check_admin_entry(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn owners_typed_by_operators_take_the_stored_form() {
        assert_eq!(
            parse_owner("subject:CN=array-7, O=lkm").unwrap(),
            "subject:CN=array-7,O=lkm"
        );
        assert_eq!(parse_owner("cn:array-7").unwrap(), "subject:CN=array-7");
        assert_eq!(
            parse_owner("san-dns:Array.Example").unwrap(),
            "san-dns:array.example"
        );
        let fp = "AB".repeat(32);
        assert_eq!(parse_owner(&fp).unwrap(), "ab".repeat(32));
        for bad in ["", "cn:", "san-dns:", "owner", "subject:CN"] {
            assert!(parse_owner(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn log_lines_never_carry_a_raw_control_character() {
        let evil = cert("x\n2030-01-01 INFO forged\u{1b}[2J", vec![]);
        let id = Identity::from_certificate(&evil, IdentitySource::Subject).unwrap();
        let shown = id.to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(!id.owner.chars().any(char::is_control), "{:?}", id.owner);
    }
}

//! Who is asking. Every KMIP operation receives the caller's identity, taken
//! from the client certificate that mutual TLS verified.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The certificate subject's common name, if it has one.
    pub common_name: Option<String>,
    /// SHA-256 of the whole DER certificate, lowercase hex: the stable key
    /// that ownership and grants are recorded under.
    pub fingerprint: String,
}

impl Identity {
    pub fn from_certificate(der: &[u8]) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
        let common_name = x509_parser::parse_x509_certificate(der)
            .ok()
            .and_then(|(_, cert)| {
                cert.subject()
                    .iter_common_name()
                    .next()
                    .and_then(|cn| cn.as_str().ok())
                    .map(str::to_owned)
            });
        Self {
            common_name,
            fingerprint: hex::encode(digest.as_ref()),
        }
    }
}

impl Identity {
    /// Whether `pattern` (a fingerprint, or `cn:NAME`) names this identity.
    pub fn matches(&self, pattern: &str) -> bool {
        match pattern.strip_prefix("cn:") {
            Some(cn) => self.common_name.as_deref() == Some(cn),
            None => self.fingerprint.eq_ignore_ascii_case(pattern.trim()),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fp = self.fingerprint.get(..16).unwrap_or(&self.fingerprint);
        match &self.common_name {
            Some(cn) => write!(f, "{cn} ({fp})"),
            None => write!(f, "({fp})"),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

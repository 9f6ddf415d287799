//! Distinguished names as one canonical string, so that a certificate's
//! subject and a DN an operator typed compare equal exactly when they name
//! the same thing. The form is RFC 4514's (last RDN first, `,` between
//! RDNs, `+` inside one) with attribute types in upper case, the values of
//! a multi-valued RDN sorted, and every special character escaped: a `,`
//! inside a value can never pass for a second RDN.

use std::fmt::Write;
use x509_parser::asn1_rs::Tag;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// Other spellings of the attribute types certificates use, as upper-case
/// canonical types (`openssl -nameopt RFC2253` says `emailAddress`).
const ALIASES: &[(&str, &str)] = &[
    ("COMMONNAME", "CN"),
    ("EMAILADDRESS", "EMAIL"),
    ("E", "EMAIL"),
    ("COUNTRYNAME", "C"),
    ("ORGANIZATIONNAME", "O"),
    ("ORGANIZATIONALUNITNAME", "OU"),
    ("LOCALITYNAME", "L"),
    ("STATEORPROVINCENAME", "ST"),
    ("DOMAINCOMPONENT", "DC"),
];

fn canonical_type(t: &str) -> String {
    let upper = t.trim().to_ascii_uppercase();
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == upper)
        .map_or(upper, |(_, canonical)| (*canonical).to_owned())
}

/// A value escaped as RFC 4514 asks, and control characters as `\XX`.
pub(crate) fn escape_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        match c {
            '\\' | ',' | '+' | '"' | ';' | '<' | '>' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{b:02x}");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The canonical string of a certificate name (subject or issuer).
pub(crate) fn of_name(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            let mut attrs: Vec<String> = rdn.iter().map(attribute).collect();
            attrs.sort();
            attrs.join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn attribute(a: &AttributeTypeAndValue<'_>) -> String {
    let registry = x509_parser::objects::oid_registry();
    let t = x509_parser::objects::oid2abbrev(a.attr_type(), registry)
        .map_or_else(|_| a.attr_type().to_id_string(), str::to_owned);
    format!("{}={}", canonical_type(&t), value(a))
}

/// A value as text when it is a string type; otherwise `#` and the hex of
/// its content octets.
fn value(a: &AttributeTypeAndValue<'_>) -> String {
    let any = a.attr_value();
    let text = match any.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString
        | Tag::T61String
        | Tag::GeneralString => std::str::from_utf8(any.data).ok().map(str::to_owned),
        Tag::BmpString if any.data.len().is_multiple_of(2) => char::decode_utf16(
            any.data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]])),
        )
        .collect::<Result<String, _>>()
        .ok(),
        _ => None,
    };
    match text {
        Some(t) => escape_value(&t),
        None => format!("#{}", hex::encode(any.data)),
    }
}

/// Parses a DN as people write it (`CN=array-7, O=Example`) into the
/// canonical string; names what is wrong with a malformed one.
pub(crate) fn canonical(dn: &str) -> Result<String, String> {
    let mut rdns: Vec<String> = Vec::new();
    for rdn in split_unescaped(dn, ',') {
        let mut attrs: Vec<String> = Vec::new();
        for atv in split_unescaped(&rdn, '+') {
            let Some(at) = find_unescaped(&atv, '=') else {
                return Err(format!("{atv:?} is not TYPE=value"));
            };
            let (t, v) = (&atv[..at], &atv[at + 1..]);
            let t = t.trim();
            if t.is_empty()
                || !t
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
            {
                return Err(format!("{t:?} is not an attribute type"));
            }
            attrs.push(format!("{}={}", canonical_type(t), parse_value(v)?));
        }
        attrs.sort();
        rdns.push(attrs.join("+"));
    }
    if rdns.is_empty() {
        return Err("the DN is empty".into());
    }
    Ok(rdns.join(","))
}

/// Splits on `sep` where it is not escaped by a backslash.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            cur.push(c);
            escaped = true;
        } else if c == sep {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    if !cur.trim().is_empty() || !parts.is_empty() {
        parts.push(cur);
    }
    parts
}

fn find_unescaped(s: &str, wanted: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == wanted {
            return Some(i);
        }
    }
    None
}

/// Unescapes one value (`\,`, `\2c`...) and escapes it again canonically.
fn parse_value(v: &str) -> Result<String, String> {
    let trimmed = v.trim_start_matches(' ');
    // Trailing spaces go unless the last one is escaped.
    let mut end = trimmed.len();
    while end > 0 && trimmed[..end].ends_with(' ') && !trimmed[..end - 1].ends_with('\\') {
        end -= 1;
    }
    let v = &trimmed[..end];
    if let Some(hex_text) = v.strip_prefix('#') {
        let bytes =
            hex::decode(hex_text).map_err(|_| format!("{v:?}: a value after # must be hex"))?;
        return Ok(format!("#{}", hex::encode(bytes)));
    }
    let mut bytes: Vec<u8> = Vec::with_capacity(v.len());
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some(n) = chars.next() else {
            return Err(format!("{v:?} ends with a lone backslash"));
        };
        match (n.to_digit(16), chars.peek().and_then(|m| m.to_digit(16))) {
            (Some(hi), Some(lo)) => {
                chars.next();
                bytes.push((hi * 16 + lo) as u8);
            }
            _ => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(n.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{v:?} is not UTF-8"))?;
    Ok(escape_value(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_dns_become_one_canonical_string() {
        assert_eq!(
            canonical("CN=array-7, O=Example").unwrap(),
            "CN=array-7,O=Example"
        );
        assert_eq!(
            canonical("cn = array-7 ,o=Example").unwrap(),
            "CN=array-7,O=Example"
        );
        assert_eq!(
            canonical("emailAddress=a@b.c+CN=x").unwrap(),
            canonical("CN=x+E=a@b.c").unwrap()
        );
        // An escaped comma stays inside its value, and stays escaped.
        assert_eq!(canonical("CN=a\\, O=b").unwrap(), "CN=a\\, O\\=b");
        assert_eq!(canonical("CN=a\\2c b").unwrap(), "CN=a\\, b");
        assert_ne!(
            canonical("CN=a\\,O=b").unwrap(),
            canonical("CN=a,O=b").unwrap()
        );
        for bad in ["", "CN", "=x", "C N=x", "CN=x\\", "CN=#zz"] {
            assert!(canonical(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn control_characters_never_survive_escaping() {
        let e = escape_value("a\nb\u{1b}[31m");
        assert!(!e.chars().any(char::is_control), "{e}");
        assert_eq!(e, "a\\0ab\\1b[31m");
    }

    #[test]
    fn a_certificate_subject_reads_as_its_typed_form() {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(rcgen::DnType::OrganizationName, "Example, Inc");
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "array-7");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.der()).unwrap();
        let subject = of_name(parsed.subject());
        assert_eq!(subject, "CN=array-7,O=Example\\, Inc");
        assert_eq!(canonical("CN=array-7, O=Example\\, Inc").unwrap(), subject);
    }
}

//! What a certificate says, for people: subject, issuer, names, validity, key, signature, serial
//! and fingerprints, read with x509-parser. Also the names libpq's host-name check looks at.

use serde::Serialize;
use sha2::Digest;
use x509_parser::prelude::*;

/// A certificate as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CertificateInfo {
    /// The subject, RFC 4514 style.
    pub subject: String,
    /// The issuer, RFC 4514 style.
    pub issuer: String,
    /// Subject alternative names: DNS names and IP addresses.
    pub sans: Vec<String>,
    /// Start of validity, as `YYYY-MM-DDTHH:MM:SSZ`.
    pub not_before: String,
    /// End of validity, as `YYYY-MM-DDTHH:MM:SSZ`.
    pub not_after: String,
    /// Whole days until `not_after` (negative once expired).
    pub days_left: i64,
    /// `not_after` as Unix seconds.
    pub not_after_unix: i64,
    /// `RSA`, `EC`, `Ed25519`, ...
    pub key_type: String,
    /// Key size in bits, when meaningful.
    pub key_bits: Option<usize>,
    /// The named curve of an EC key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
    /// The signature algorithm, as OpenSSL names it.
    pub signature_algorithm: String,
    /// The serial number, colon-separated upper-case hex.
    pub serial: String,
    /// SHA-256 fingerprint, colon-separated upper-case hex (as `openssl x509 -fingerprint`).
    pub sha256: String,
    /// SHA-1 fingerprint, same format.
    pub sha1: String,
    /// Whether basic constraints say CA:TRUE.
    pub is_ca: bool,
    /// Whether issuer and subject are the same.
    pub self_signed: bool,
}

/// The day of a `YYYY-MM-DDTHH:MM:SSZ` time, as the reports write dates.
pub fn day(time: &str) -> &str {
    time.get(..10).unwrap_or(time)
}

/// A number of days as people write it: `1 day`, `2 days`.
pub fn days(n: i64) -> String {
    if n.abs() == 1 {
        format!("{n} day")
    } else {
        format!("{n} days")
    }
}

/// Bytes as `AB:CD:...`.
pub fn colon_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The SHA-256 fingerprint of DER bytes.
pub fn sha256(der: &[u8]) -> String {
    colon_hex(&sha2::Sha256::digest(der))
}

fn time(t: ASN1Time) -> String {
    let dt = t.to_datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        dt.year(),
        dt.month() as u8,
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

fn curve_name(oid: &str) -> &'static str {
    match oid {
        "1.2.840.10045.3.1.7" => "P-256",
        "1.3.132.0.34" => "P-384",
        "1.3.132.0.35" => "P-521",
        _ => "unknown curve",
    }
}

/// A name a certificate holds, in the order the certificate lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertName {
    /// A dNSName SAN, as raw bytes (it may hold anything, NUL included).
    Dns(Vec<u8>),
    /// An iPAddress SAN: 4 or 16 bytes.
    Ip(Vec<u8>),
}

/// The common name of a subject or issuer as `describe` writes it (`CN=..., O=...`), or the
/// whole text when it has none.
pub fn common_name(name: &str) -> &str {
    name.split(", ")
        .find_map(|part| part.strip_prefix("CN="))
        .unwrap_or(name)
}

/// What a root file's entry must be: a self-signed CA. Its subject as `describe` writes it, and
/// whether it is a CA and self-issued; `None` when it cannot be parsed. Cheaper than `describe`.
pub fn anchor_facts(der: &[u8]) -> Option<(String, bool, bool)> {
    let (_, cert) = parse_x509_certificate(der).ok()?;
    let is_ca = cert
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|bc| bc.value.ca);
    Some((
        crate::sanitize::server_text(&cert.subject().to_string()),
        is_ca,
        cert.subject().as_raw() == cert.issuer().as_raw(),
    ))
}

/// Describes a DER certificate; `None` when it cannot be parsed.
pub fn describe(der: &[u8], now_unix: i64) -> Option<CertificateInfo> {
    let (_, cert) = parse_x509_certificate(der).ok()?;
    let validity = cert.validity();
    let days_left = (validity.not_after.timestamp() - now_unix).div_euclid(86_400);
    let sans = names(&cert)
        .into_iter()
        .map(|n| match n {
            CertName::Dns(bytes) => crate::sanitize::server_text(&String::from_utf8_lossy(&bytes)),
            CertName::Ip(bytes) => ip_text(&bytes),
        })
        .collect();
    let spki = cert.public_key();
    let (key_type, key_bits, curve) = match spki.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
            ("RSA".to_string(), Some(rsa.key_size()), None)
        }
        Ok(x509_parser::public_key::PublicKey::EC(ec)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| curve_name(&oid.to_id_string()).to_string());
            ("EC".to_string(), Some(ec.key_size()), curve)
        }
        _ => match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.3.101.112" => ("Ed25519".to_string(), Some(256), None),
            "1.3.101.113" => ("Ed448".to_string(), Some(456), None),
            other => (other.to_string(), None, None),
        },
    };
    let registry = x509_parser::objects::oid_registry();
    let signature_algorithm =
        x509_parser::objects::oid2sn(&cert.signature_algorithm.algorithm, registry)
            .map(str::to_string)
            .unwrap_or_else(|_| cert.signature_algorithm.algorithm.to_id_string());
    let is_ca = cert
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|bc| bc.value.ca);
    Some(CertificateInfo {
        subject: crate::sanitize::server_text(&cert.subject().to_string()),
        issuer: crate::sanitize::server_text(&cert.issuer().to_string()),
        sans,
        not_before: time(validity.not_before),
        not_after: time(validity.not_after),
        days_left,
        not_after_unix: validity.not_after.timestamp(),
        key_type,
        key_bits,
        curve,
        signature_algorithm,
        serial: colon_hex(cert.raw_serial()),
        sha256: sha256(der),
        sha1: colon_hex(&sha1_digest(der)),
        is_ca,
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
    })
}

fn sha1_digest(der: &[u8]) -> Vec<u8> {
    use sha1::Digest as _;
    sha1::Sha1::digest(der).to_vec()
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => <[u8; 16]>::try_from(bytes).map_or_else(
            |_| colon_hex(bytes),
            |o| std::net::Ipv6Addr::from(o).to_string(),
        ),
        _ => colon_hex(bytes),
    }
}

fn names(cert: &X509Certificate<'_>) -> Vec<CertName> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(name) => Some(CertName::Dns(name.as_bytes().to_vec())),
            GeneralName::IPAddress(bytes) => Some(CertName::Ip(bytes.to_vec())),
            _ => None,
        })
        .collect()
}

/// The names libpq's host-name check examines: SANs in order, and the first CN's raw bytes.
pub fn check_names(der: &[u8]) -> Option<(Vec<CertName>, Option<Vec<u8>>)> {
    let (_, cert) = parse_x509_certificate(der).ok()?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .map(|cn| cn.attr_value().data.to_vec());
    Some((names(&cert), cn))
}

#[cfg(test)]
mod tests {
    use super::{colon_hex, days};

    #[test]
    fn fingerprints_are_upper_case_hex_pairs_joined_by_colons() {
        let cases: [(&[u8], &str); 4] = [
            (&[], ""),
            (&[0x0a], "0A"),
            (&[0x00, 0xff, 0x5c], "00:FF:5C"),
            (&[0xde, 0xad, 0xbe, 0xef], "DE:AD:BE:EF"),
        ];
        for (bytes, hex) in cases {
            assert_eq!(colon_hex(bytes), hex, "{bytes:?}");
        }
    }

    #[test]
    fn one_day_is_singular_and_others_plural() {
        assert_eq!(days(1), "1 day");
        assert_eq!(days(-1), "-1 day");
        assert_eq!(days(0), "0 days");
        assert_eq!(days(364), "364 days");
    }
}

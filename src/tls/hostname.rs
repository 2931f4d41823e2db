//! libpq's own host-name check for `sslmode=verify-full` (fe-secure-common.c and
//! fe-secure-openssl.c), which differs from webpki's: the CN is used when the certificate has no
//! SAN of the host's type, DNS SANs are compared as text even for an IP host, and wildcards follow
//! libpq's three rules.

use serde::Serialize;

use crate::certinfo::CertName;
use crate::net;

/// The outcome of the name check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum NameCheck {
    /// A name matched.
    Matched {
        /// The name from the certificate that matched.
        name: String,
        /// Where it was: `san` or `cn`.
        field: &'static str,
    },
    /// No name matched; `message` is libpq's.
    Mismatch {
        /// libpq's error message.
        message: String,
        /// Every name examined.
        names: Vec<String>,
    },
    /// The check could not be made; `message` is libpq's.
    Error {
        /// libpq's error message.
        message: String,
    },
}

/// libpq's `is_ip_address`: `inet_aton` or `inet_pton(AF_INET6)` accepts it.
pub fn is_ip_address(host: &str) -> bool {
    net::inet_aton(host).is_some() || host.parse::<std::net::Ipv6Addr>().is_ok()
}

/// libpq's `wildcard_certificate_match`.
fn wildcard_match(pattern: &str, host: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), host.as_bytes());
    if p.len() < 3 || p[0] != b'*' || p[1] != b'.' || p.len() > s.len() {
        return false;
    }
    let start = s.len() - p.len() + 1;
    if !p[1..].eq_ignore_ascii_case(&s[start..]) {
        return false;
    }
    // No dot may precede the part the wildcard stands for.
    s.iter()
        .position(|&b| b == b'.')
        .is_none_or(|dot| dot >= start - 1)
}

/// Compares one textual name; `Err` for an embedded NUL, as libpq refuses those.
fn name_matches(name: &[u8], host: &str) -> Result<(bool, String), String> {
    if name.contains(&0) {
        return Err("SSL certificate's name contains embedded null".into());
    }
    let text = String::from_utf8_lossy(name).into_owned();
    let matched = text.eq_ignore_ascii_case(host) || wildcard_match(&text, host);
    Ok((matched, crate::sanitize::server_text(&text)))
}

/// Compares one iPAddress SAN with the host parsed as an address.
fn ip_matches(bytes: &[u8], host: &str) -> Result<(bool, String), String> {
    match bytes.len() {
        4 => {
            let addr = std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]);
            Ok((net::inet_aton(host) == Some(addr), addr.to_string()))
        }
        16 => {
            let octets: [u8; 16] = bytes.try_into().unwrap_or_default();
            let addr = std::net::Ipv6Addr::from(octets);
            Ok((
                host.parse::<std::net::Ipv6Addr>().ok() == Some(addr),
                addr.to_string(),
            ))
        }
        _ => Err("SSL certificate's address entry has unexpected length".into()),
    }
}

impl NameCheck {
    /// libpq's message when the name does not match (or cannot be checked).
    pub fn refusal(&self) -> Option<&str> {
        match self {
            NameCheck::Matched { .. } => None,
            NameCheck::Mismatch { message, .. } | NameCheck::Error { message } => Some(message),
        }
    }
}

/// Checks `host` against a certificate (DER) as libpq does, its names read first.
pub fn check_leaf(host: &str, leaf: &[u8]) -> NameCheck {
    match crate::certinfo::check_names(leaf) {
        Some((sans, cn)) => check(host, &sans, cn.as_deref()),
        None => NameCheck::Error {
            message: "could not get server's host name from server certificate".into(),
        },
    }
}

/// Checks `host` against a certificate's SANs and first CN, exactly as libpq does.
pub fn check(host: &str, sans: &[CertName], first_cn: Option<&[u8]>) -> NameCheck {
    if host.is_empty() {
        return NameCheck::Error {
            message: "host name must be specified for a verified SSL connection".into(),
        };
    }
    let host_is_ip = is_ip_address(host);
    let mut check_cn = true;
    let mut names = Vec::new();
    for san in sans {
        let (same_type, result) = match san {
            CertName::Dns(name) => (!host_is_ip, name_matches(name, host)),
            CertName::Ip(bytes) => (host_is_ip, ip_matches(bytes, host)),
        };
        if same_type {
            check_cn = false;
        }
        match result {
            Err(message) => return NameCheck::Error { message },
            Ok((true, name)) => return NameCheck::Matched { name, field: "san" },
            Ok((false, name)) => names.push(name),
        }
    }
    if check_cn && let Some(cn) = first_cn {
        match name_matches(cn, host) {
            Err(message) => return NameCheck::Error { message },
            Ok((true, name)) => return NameCheck::Matched { name, field: "cn" },
            Ok((false, name)) => names.push(name),
        }
    }
    let message = match names.len() {
        0 => "could not get server's host name from server certificate".to_string(),
        1 => format!(
            "server certificate for \"{}\" does not match host name \"{host}\"",
            names[0]
        ),
        2 => format!(
            "server certificate for \"{}\" (and 1 other name) does not match host name \"{host}\"",
            names[0]
        ),
        n => format!(
            "server certificate for \"{}\" (and {} other names) does not match host name \"{host}\"",
            names[0],
            n - 1
        ),
    };
    NameCheck::Mismatch { message, names }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(name: &str) -> CertName {
        CertName::Dns(name.as_bytes().to_vec())
    }

    fn matched(host: &str, sans: &[CertName], cn: Option<&str>) -> Option<(String, &'static str)> {
        match check(host, sans, cn.map(str::as_bytes)) {
            NameCheck::Matched { name, field } => Some((name, field)),
            _ => None,
        }
    }

    #[test]
    fn wildcards_follow_libpqs_rules() {
        let cases = [
            ("*.example.com", "db.example.com", true),
            ("*.example.com", "DB.Example.COM", true),
            ("*.example.com", "a.b.example.com", false),
            ("*.example.com", "example.com", false),
            ("*.example.com", ".example.com", false),
            ("db*.example.com", "db1.example.com", false),
            ("*", "localhost", false),
            ("*.", "a.", false),
            ("*.com", "example.com", true),
        ];
        for (pattern, host, want) in cases {
            assert_eq!(wildcard_match(pattern, host), want, "{pattern} vs {host}");
        }
    }

    #[test]
    fn a_dns_san_stops_the_cn_fallback_for_a_name() {
        assert_eq!(matched("db", &[dns("other")], Some("db")), None);
        assert_eq!(matched("db", &[], Some("db")), Some(("db".into(), "cn")));
        // An IP SAN is not of a name's type, so the CN still counts.
        assert_eq!(
            matched("db", &[CertName::Ip(vec![10, 0, 0, 1])], Some("db")),
            Some(("db".into(), "cn"))
        );
    }

    #[test]
    fn an_ip_host_matches_ip_sans_and_falls_back_to_the_cn_without_one() {
        let ip = CertName::Ip(vec![127, 0, 0, 1]);
        assert_eq!(
            matched("127.0.0.1", std::slice::from_ref(&ip), None),
            Some(("127.0.0.1".into(), "san"))
        );
        assert_eq!(
            matched("127.1", std::slice::from_ref(&ip), None),
            Some(("127.0.0.1".into(), "san"))
        );
        assert_eq!(
            matched("127.0.0.1", &[dns("db")], Some("127.0.0.1")),
            Some(("127.0.0.1".into(), "cn"))
        );
        assert_eq!(
            matched("127.0.0.1", &[dns("127.0.0.1")], None),
            Some(("127.0.0.1".into(), "san"))
        );
        assert_eq!(matched("127.0.0.2", &[ip], Some("127.0.0.2")), None);
        let v6 = CertName::Ip(std::net::Ipv6Addr::LOCALHOST.octets().to_vec());
        assert_eq!(matched("::1", &[v6], None), Some(("::1".into(), "san")));
    }

    #[test]
    fn only_the_first_cn_counts() {
        assert_eq!(matched("b", &[], Some("a")), None);
    }

    #[test]
    fn mismatches_use_libpqs_messages() {
        let message = |host, sans: &[CertName], cn: Option<&str>| match check(
            host,
            sans,
            cn.map(str::as_bytes),
        ) {
            NameCheck::Mismatch { message, .. } | NameCheck::Error { message } => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            message("x", &[dns("a")], None),
            "server certificate for \"a\" does not match host name \"x\""
        );
        assert_eq!(
            message("x", &[dns("a"), dns("b")], None),
            "server certificate for \"a\" (and 1 other name) does not match host name \"x\""
        );
        assert_eq!(
            message("x", &[dns("a"), dns("b"), dns("c")], Some("cn")),
            "server certificate for \"a\" (and 2 other names) does not match host name \"x\""
        );
        assert_eq!(
            message("x", &[], None),
            "could not get server's host name from server certificate"
        );
        assert_eq!(
            message("", &[dns("a")], None),
            "host name must be specified for a verified SSL connection"
        );
        assert_eq!(
            message("x", &[dns("a\0.x")], None),
            "SSL certificate's name contains embedded null"
        );
    }
}

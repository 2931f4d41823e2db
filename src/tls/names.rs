//! Host-name checks as the other clients make them, each with that client's message on failure:
//! pgjdbc's `PGjdbcHostnameVerifier`, Node.js's `tls.checkServerIdentity` (node-postgres), and
//! OpenSSL's `X509_check_host` / `X509_check_ip` with Python's flags (asyncpg; .NET on Linux, for
//! Npgsql; tokio-postgres's OpenSSL connector), Go's `crypto/x509` (pgx, lib/pq) and webpki's
//! (sqlx on rustls). libpq's own check is `hostname.rs`.

use std::net::IpAddr;

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::parse_x509_certificate;

pub use crate::clients::NameRules;

/// The names of a certificate the checks look at.
#[derive(Debug, Default)]
struct Names {
    dns: Vec<String>,
    ips: Vec<IpAddr>,
    cns: Vec<String>,
}

fn names(leaf: &[u8]) -> Option<Names> {
    let (_, cert) = parse_x509_certificate(leaf).ok()?;
    let mut found = Names::default();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => found.dns.push((*dns).to_string()),
                GeneralName::IPAddress(bytes) => {
                    if let Ok(octets) = <[u8; 4]>::try_from(*bytes) {
                        found.ips.push(IpAddr::from(octets));
                    } else if let Ok(octets) = <[u8; 16]>::try_from(*bytes) {
                        found.ips.push(IpAddr::from(octets));
                    }
                }
                _ => {}
            }
        }
    }
    found.cns = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_string))
        .collect();
    Some(found)
}

/// Checks `host` against the server certificate `leaf` with `rules`; the client's message when
/// the name does not match.
pub fn check(rules: NameRules, host: &str, leaf: &[u8]) -> Result<(), String> {
    let Some(names) = names(leaf) else {
        return Err("the server certificate could not be parsed".into());
    };
    match rules {
        NameRules::Pgjdbc => pgjdbc(host, &names),
        NameRules::Node => node(host, &names),
        NameRules::OpenSsl => openssl(host, &names),
        NameRules::Go | NameRules::GoSni => go(host, &names),
        NameRules::Webpki => webpki(host, &names),
    }
}

/// Java's text form of an iPAddress SAN: IPv6 in full, uncompressed, lower-case hex groups.
fn java_ip(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6
            .segments()
            .iter()
            .map(|s| format!("{s:x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

/// `PGjdbcHostnameVerifier.verifyHostName`: one leading `*.` label, case-insensitive.
fn pgjdbc_pattern(host: &str, pattern: &str) -> bool {
    let Some(last_star) = pattern.rfind('*') else {
        return host.eq_ignore_ascii_case(pattern);
    };
    if last_star > 0 || !pattern.contains('.') || host.len() < pattern.len() - 1 {
        return false;
    }
    let offset = host.len() - (pattern.len() - 1);
    if host[..offset].contains('.') {
        return false;
    }
    host.get(offset..)
        .is_some_and(|tail| tail.eq_ignore_ascii_case(&pattern[1..]))
}

fn pgjdbc(host: &str, names: &Names) -> Result<(), String> {
    let canonical = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let failed = || {
        Err(format!(
            "The hostname {host} could not be verified by hostnameverifier PgjdbcHostnameVerifier."
        ))
    };
    let sans = names
        .dns
        .iter()
        .cloned()
        .chain(names.ips.iter().map(java_ip));
    for san in sans {
        if pgjdbc_pattern(canonical, &san) {
            return Ok(());
        }
    }
    if !names.dns.is_empty() {
        return failed();
    }
    // The most specific CN: most dots, fewest stars, longest; the last after sorting.
    let Some(cn) = names.cns.iter().max_by(|a, b| {
        let count = |s: &str, c: char| s.matches(c).count();
        count(a, '.')
            .cmp(&count(b, '.'))
            .then(count(b, '*').cmp(&count(a, '*')))
            .then(a.len().cmp(&b.len()))
    }) else {
        return failed();
    };
    if pgjdbc_pattern(canonical, cn) {
        Ok(())
    } else {
        failed()
    }
}

/// Node's `check(hostParts, pattern, wildcards)`.
fn node_pattern(host: &str, pattern: &str) -> bool {
    let split = |s: &str| -> Vec<String> {
        s.to_ascii_lowercase()
            .trim_end_matches('.')
            .split('.')
            .map(str::to_string)
            .collect()
    };
    let host_parts = split(host);
    let pattern_parts = split(pattern);
    if pattern.is_empty()
        || host_parts.len() != pattern_parts.len()
        || pattern_parts.iter().any(String::is_empty)
        || pattern_parts
            .iter()
            .any(|p| p.chars().any(|c| !('\u{21}'..='\u{7f}').contains(&c)))
    {
        return false;
    }
    if (1..host_parts.len()).any(|i| host_parts[i] != pattern_parts[i]) {
        return false;
    }
    let (host_sub, pattern_sub) = (&host_parts[0], &pattern_parts[0]);
    let pieces: Vec<&str> = pattern_sub.splitn(3, '*').collect();
    if pieces.len() == 1 || pattern_sub.contains("xn--") {
        return host_sub == pattern_sub;
    }
    if pieces.len() > 2 || pattern_parts.len() <= 2 {
        return false;
    }
    let (prefix, suffix) = (pieces[0], pieces[1]);
    prefix.len() + suffix.len() <= host_sub.len()
        && host_sub.starts_with(prefix)
        && host_sub.ends_with(suffix)
}

fn node(host: &str, names: &Names) -> Result<(), String> {
    let host = host.strip_suffix('.').unwrap_or(host);
    let altnames = names
        .dns
        .iter()
        .map(|d| format!("DNS:{d}"))
        .chain(names.ips.iter().map(|ip| format!("IP Address:{ip}")))
        .collect::<Vec<_>>()
        .join(", ");
    let reason = if let Ok(ip) = host.parse::<IpAddr>() {
        if names.ips.contains(&ip) {
            return Ok(());
        }
        let list: Vec<String> = names.ips.iter().map(IpAddr::to_string).collect();
        format!("IP: {host} is not in the cert's list: {}", list.join(", "))
    } else if !names.dns.is_empty() {
        if names.dns.iter().any(|d| node_pattern(host, d)) {
            return Ok(());
        }
        format!("Host: {host}. is not in the cert's altnames: {altnames}")
    } else if !names.cns.is_empty() {
        if names.cns.iter().any(|cn| node_pattern(host, cn)) {
            return Ok(());
        }
        format!("Host: {host}. is not cert's CN: {}", names.cns.join(","))
    } else {
        "Cert does not contain a DNS name".to_string()
    };
    Err(format!(
        "Hostname/IP does not match certificate's altnames: {reason}"
    ))
}

/// OpenSSL's `equal_wildcard` without partial wildcards: a `*` that is the whole leftmost label
/// of a pattern with at least two more labels, standing for one non-empty label.
fn openssl_pattern(host: &str, pattern: &str) -> bool {
    if host.eq_ignore_ascii_case(pattern) {
        return true;
    }
    let Some(rest) = pattern.strip_prefix("*.") else {
        return false;
    };
    if rest.matches('.').count() < 1 || rest.contains('*') {
        return false;
    }
    match host.split_once('.') {
        Some((label, tail)) => {
            !label.is_empty() && !label.starts_with("xn--") && tail.eq_ignore_ascii_case(rest)
        }
        None => false,
    }
}

fn openssl(host: &str, names: &Names) -> Result<(), String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        if names.ips.contains(&ip) {
            return Ok(());
        }
        return Err(format!(
            "certificate verify failed: IP address mismatch, certificate is not valid for '{host}'."
        ));
    }
    let matched = if names.dns.is_empty() {
        names.cns.iter().any(|cn| openssl_pattern(host, cn))
    } else {
        names.dns.iter().any(|d| openssl_pattern(host, d))
    };
    if matched {
        Ok(())
    } else {
        Err(format!(
            "certificate verify failed: Hostname mismatch, certificate is not valid for '{host}'."
        ))
    }
}

/// A DNS SAN against a host name as Go and webpki match them: case-insensitive, a trailing dot
/// ignored, and a wildcard only as the whole leftmost label, standing for one label.
fn san_pattern(host: &str, pattern: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let pattern = pattern
        .strip_suffix('.')
        .unwrap_or(pattern)
        .to_ascii_lowercase();
    if host == pattern {
        return true;
    }
    match (pattern.strip_prefix("*."), host.split_once('.')) {
        (Some(rest), Some((label, tail))) => !label.is_empty() && tail == rest,
        _ => false,
    }
}

/// Go's `Certificate.VerifyHostname`: an address against the IP SANs, a name against the DNS
/// SANs; the subject's CN is never used (Go 1.17 and later).
fn go(host: &str, names: &Names) -> Result<(), String> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        if names.ips.contains(&ip) {
            return Ok(());
        }
        if names.ips.is_empty() {
            return Err(format!(
                "x509: cannot validate certificate for {bare} because it doesn't contain any IP SANs"
            ));
        }
        let list: Vec<String> = names.ips.iter().map(IpAddr::to_string).collect();
        return Err(format!(
            "x509: certificate is valid for {}, not {bare}",
            list.join(", ")
        ));
    }
    if names.dns.iter().any(|d| san_pattern(bare, d)) {
        return Ok(());
    }
    if names.dns.is_empty() && !names.cns.is_empty() && names.ips.is_empty() {
        return Err(
            "x509: certificate relies on legacy Common Name field, use SANs instead".to_string(),
        );
    }
    let valid: Vec<String> = names
        .dns
        .iter()
        .cloned()
        .chain(names.ips.iter().map(IpAddr::to_string))
        .collect();
    Err(format!(
        "x509: certificate is valid for {}, not {bare}",
        valid.join(", ")
    ))
}

/// webpki's `verify_is_valid_for_subject_name` (rustls): an address against the IP SANs, a name
/// against the DNS SANs; no CN.
fn webpki(host: &str, names: &Names) -> Result<(), String> {
    let matched = match host.parse::<IpAddr>() {
        Ok(ip) => names.ips.contains(&ip),
        Err(_) => names.dns.iter().any(|d| san_pattern(host, d)),
    };
    if matched {
        return Ok(());
    }
    let valid: Vec<String> = names
        .dns
        .iter()
        .map(|d| format!("DnsName(\"{d}\")"))
        .chain(names.ips.iter().map(|ip| format!("IpAddress({ip})")))
        .collect();
    Err(format!(
        "invalid peer certificate: certificate not valid for name \"{host}\"; certificate is only valid for [{}]",
        valid.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dns: &[&str], ips: &[&str], cns: &[&str]) -> Names {
        Names {
            dns: dns.iter().map(|s| (*s).to_string()).collect(),
            ips: ips.iter().map(|s| s.parse().unwrap()).collect(),
            cns: cns.iter().map(|s| (*s).to_string()).collect(),
        }
    }

    #[test]
    fn each_clients_rules_decide_as_that_client_does() {
        // (host, dns SANs, ip SANs, CNs, pgjdbc, node, openssl)
        type Row<'a> = (
            &'a str,
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
            bool,
            bool,
            bool,
        );
        let table: [Row; 16] = [
            ("localhost", &["localhost"], &[], &[], true, true, true),
            ("LOCALHOST", &["localhost"], &[], &[], true, true, true),
            ("localhost", &[], &[], &["localhost"], true, true, true),
            // A CN is used when no DNS SAN is present, even beside an IP SAN.
            (
                "localhost",
                &[],
                &["127.0.0.1"],
                &["localhost"],
                true,
                true,
                true,
            ),
            // With a DNS SAN, the CN is ignored.
            (
                "localhost",
                &["other"],
                &[],
                &["localhost"],
                false,
                false,
                false,
            ),
            // An IP host: Node and OpenSSL look at IP SANs only; pgjdbc compares text.
            ("127.0.0.1", &[], &["127.0.0.1"], &[], true, true, true),
            ("127.0.0.1", &[], &[], &["127.0.0.1"], true, false, false),
            ("127.0.0.1", &["127.0.0.1"], &[], &[], true, false, false),
            (
                "127.0.0.1",
                &["localhost"],
                &["127.0.0.1"],
                &[],
                true,
                true,
                true,
            ),
            ("127.0.0.1", &[], &[], &["localhost"], false, false, false),
            // Wildcards: one leftmost label.
            (
                "db.example.com",
                &["*.example.com"],
                &[],
                &[],
                true,
                true,
                true,
            ),
            (
                "a.db.example.com",
                &["*.example.com"],
                &[],
                &[],
                false,
                false,
                false,
            ),
            ("example.com", &["*.com"], &[], &[], true, false, false),
            // Partial wildcards: Node takes them; pgjdbc and OpenSSL with Python's flags do not.
            (
                "db1.example.com",
                &["db*.example.com"],
                &[],
                &[],
                false,
                true,
                false,
            ),
            ("::1", &[], &["::1"], &[], false, true, true),
            ("[::1]", &[], &["::1"], &[], false, false, false),
        ];
        for (host, dns, ips, cns, want_jdbc, want_node, want_openssl) in table {
            let n = super::tests::names(dns, ips, cns);
            assert_eq!(
                pgjdbc(host, &n).is_ok(),
                want_jdbc,
                "pgjdbc {host} {dns:?} {ips:?} {cns:?}"
            );
            assert_eq!(
                node(host, &n).is_ok(),
                want_node,
                "node {host} {dns:?} {ips:?} {cns:?}"
            );
            assert_eq!(
                openssl(host, &n).is_ok(),
                want_openssl,
                "openssl {host} {dns:?} {ips:?} {cns:?}"
            );
        }
    }

    #[test]
    fn go_and_webpki_look_at_sans_only() {
        // (host, dns SANs, ip SANs, CNs, go and webpki)
        type Row<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a [&'a str], bool);
        let table: [Row; 9] = [
            ("localhost", &["localhost"], &[], &[], true),
            ("LocalHost.", &["localhost"], &[], &[], true),
            ("localhost", &[], &[], &["localhost"], false),
            ("localhost", &[], &["127.0.0.1"], &["localhost"], false),
            ("127.0.0.1", &[], &["127.0.0.1"], &[], true),
            ("127.0.0.1", &["127.0.0.1"], &[], &["127.0.0.1"], false),
            ("db.example.com", &["*.example.com"], &[], &[], true),
            ("a.db.example.com", &["*.example.com"], &[], &[], false),
            ("db1.example.com", &["db*.example.com"], &[], &[], false),
        ];
        for (host, dns, ips, cns, want) in table {
            let n = names(dns, ips, cns);
            assert_eq!(
                go(host, &n).is_ok(),
                want,
                "go {host} {dns:?} {ips:?} {cns:?}"
            );
            assert_eq!(webpki(host, &n).is_ok(), want, "webpki {host} {dns:?}");
        }
        let cn_only = go("localhost", &names(&[], &[], &["localhost"])).unwrap_err();
        assert!(cn_only.contains("legacy Common Name"), "{cn_only}");
    }

    #[test]
    fn failures_carry_the_clients_own_message() {
        let n = names(&["wrong.example"], &[], &[]);
        assert_eq!(
            node("localhost", &n).unwrap_err(),
            "Hostname/IP does not match certificate's altnames: Host: localhost. is not in the cert's altnames: DNS:wrong.example"
        );
        assert_eq!(
            pgjdbc("localhost", &n).unwrap_err(),
            "The hostname localhost could not be verified by hostnameverifier PgjdbcHostnameVerifier."
        );
        assert_eq!(
            openssl("localhost", &n).unwrap_err(),
            "certificate verify failed: Hostname mismatch, certificate is not valid for 'localhost'."
        );
    }
}

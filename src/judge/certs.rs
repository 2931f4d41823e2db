//! Certificate findings for an audit: expiry, weak keys and signatures, names, chain order,
//! missing or superfluous intermediates, validity periods beyond CA/Browser Forum limits, and
//! signatures that leave libpq unable to do channel binding.

use super::expiry::{self, Expiry};
use super::findings::finding;
use crate::certinfo::CertificateInfo;
use crate::report::FindingCode;
use crate::report::{Finding, Severity, TargetReport};

/// The longest validity the CA/Browser Forum allows for a server certificate issued at `issued`
/// (Unix seconds): 398 days from September 2020, 200 days from 15 March 2026.
fn max_validity_days(issued: i64) -> Option<i64> {
    const SEPT_2020: i64 = 1_598_918_400;
    const MARCH_2026: i64 = 1_773_532_800;
    if issued >= MARCH_2026 {
        Some(200)
    } else if issued >= SEPT_2020 {
        Some(398)
    } else {
        None
    }
}

fn unix(rfc3339: &str) -> Option<i64> {
    // "YYYY-MM-DDTHH:MM:SSZ" as the report writes it.
    let date = time::Date::parse(
        &rfc3339[..10],
        &time::format_description::well_known::Iso8601::DATE,
    )
    .ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// Findings about the presented chain.
pub(crate) fn certificate_findings(report: &TargetReport, warn_days: i64) -> Vec<Finding> {
    let certs = &report.certificates;
    let mut out = Vec::new();
    for (i, c) in certs.iter().enumerate() {
        let who = format!("\"{}\"", c.subject);
        match expiry::expiry(c, warn_days) {
            Some(Expiry::Soon) => {
                out.push(expiry::expires_soon(&who, c, "renew it before it expires"));
            }
            Some(Expiry::Expired) => out.push(expiry::expired(&who, c, "renew it")),
            None => {}
        }
        if c.key_type == "RSA" && c.key_bits.is_some_and(|b| b < 2048) {
            out.push(finding(
                Severity::Error,
                FindingCode::WeakKey,
                format!("{who} has a {}-bit RSA key", c.key_bits.unwrap_or(0)),
                "use RSA 2048 bits or more, or ECDSA P-256",
            ));
        }
        let signature = c.signature_algorithm.to_lowercase();
        if !c.self_signed && (signature.contains("sha1") || signature.contains("md5")) {
            out.push(finding(
                Severity::Error,
                FindingCode::WeakSignature,
                format!("{who} is signed with {}", c.signature_algorithm),
                "reissue it with a SHA-256 signature",
            ));
        }
        if i == 0 {
            leaf(c, &mut out);
        }
        if let Some(next) = certs.get(i + 1)
            && c.issuer != next.subject
        {
            out.push(finding(
                Severity::Warning,
                FindingCode::ChainOrder,
                format!(
                    "certificate {} (\"{}\") is not issued by the next one (\"{}\")",
                    i, c.subject, next.subject
                ),
                "serve the chain leaf first, each certificate followed by its issuer",
            ));
        }
    }
    if certs.len() > 1 && certs.last().is_some_and(|c| c.self_signed) {
        out.push(finding(
            Severity::Info,
            FindingCode::SuperfluousRoot,
            format!(
                "the server sends its root \"{}\"; clients must have it anyway",
                certs.last().map_or("", |c| c.subject.as_str())
            ),
            "leave the root out of ssl_cert_file",
        ));
    }
    let presented: Vec<&str> = certs.iter().map(|c| c.subject.as_str()).collect();
    for missing in report
        .trust
        .path
        .iter()
        .filter(|p| !presented.contains(&p.as_str()))
    {
        out.push(finding(
            Severity::Warning,
            FindingCode::MissingIntermediate,
            format!("the server does not send the intermediate \"{missing}\"; it verified only because the root file holds it"),
            "append the intermediate to the server's ssl_cert_file, after the server certificate",
        ));
    }
    out
}

fn leaf(c: &CertificateInfo, out: &mut Vec<Finding>) {
    if c.sans.is_empty() {
        out.push(finding(
            Severity::Warning,
            FindingCode::NoSan,
            format!("the server certificate \"{}\" has no subject alternative name", c.subject),
            "reissue it with DNS (and IP) SANs; libpq falls back to the CN, most other clients do not",
        ));
    }
    if let (Some(from), Some(until)) = (unix(&c.not_before), unix(&c.not_after)) {
        let days = (until - from) / 86_400;
        if let Some(max) = max_validity_days(from).filter(|max| days > *max) {
            out.push(finding(
                Severity::Info,
                FindingCode::LongValidity,
                format!("the server certificate is valid for {days} days, beyond the CA/Browser Forum's {max} for public certificates"),
                "fine for a private CA; a public CA would not issue it",
            ));
        }
    }
    let sig = c.signature_algorithm.to_lowercase();
    if sig.contains("ed25519") || sig.contains("ed448") {
        out.push(super::findings::channel_binding_impossible(
            Severity::Warning,
            format!("the server certificate is signed with {}, for which libpq cannot compute tls-server-end-point", c.signature_algorithm),
            "libpq clients fail SCRAM-SHA-256-PLUS (offered by default over TLS) unless channel_binding=disable; sign with ECDSA or RSA",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Trust;

    fn cert(subject: &str, issuer: &str) -> CertificateInfo {
        CertificateInfo {
            subject: subject.into(),
            issuer: issuer.into(),
            sans: vec!["db".into()],
            not_before: "2026-11-01T00:00:00Z".into(),
            not_after: "2027-01-01T00:00:00Z".into(),
            days_left: 60,
            not_after_unix: 0,
            key_type: "EC".into(),
            key_bits: Some(256),
            curve: Some("P-256".into()),
            signature_algorithm: "ecdsa-with-SHA256".into(),
            serial: "01".into(),
            sha256: String::new(),
            sha1: String::new(),
            is_ca: false,
            self_signed: subject == issuer,
        }
    }

    fn report(certificates: Vec<CertificateInfo>) -> TargetReport {
        let mut report = crate::judge::invalid(0, "test", "unused", None);
        report.certificates = certificates;
        report.trust = Trust {
            path: Vec::new(),
            ..report.trust
        };
        report
    }

    fn codes(certificates: Vec<CertificateInfo>) -> Vec<&'static str> {
        certificate_findings(&report(certificates), 30)
            .iter()
            .map(|f| f.code.as_str())
            .collect()
    }

    #[test]
    fn weak_keys_and_signatures_are_errors() {
        let mut small = cert("CN=db", "CN=ca");
        small.key_type = "RSA".into();
        small.key_bits = Some(1024);
        small.signature_algorithm = "sha1WithRSAEncryption".into();
        assert_eq!(codes(vec![small]), ["weak_key", "weak_signature"]);
    }

    #[test]
    fn signatures_without_an_end_point_hash_break_channel_binding() {
        let mut ed = cert("CN=db", "CN=ca");
        ed.signature_algorithm = "ED25519".into();
        assert_eq!(codes(vec![ed]), ["channel_binding_impossible"]);
    }

    #[test]
    fn validity_limits_follow_the_issue_date() {
        assert_eq!(max_validity_days(1_600_000_000), Some(398));
        assert_eq!(max_validity_days(1_780_000_000), Some(200));
        assert_eq!(max_validity_days(1_500_000_000), None);
        let mut long = cert("CN=db", "CN=ca");
        long.not_after = "2027-11-01T00:00:00Z".into();
        assert_eq!(codes(vec![long]), ["long_validity"]);
    }
}

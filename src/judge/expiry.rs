//! The one expiry rule, shared by `check`, `--audit` and `inspect --lint`: a certificate past its
//! `notAfter` has expired; one that expires within the warning period expires soon. And the one
//! constructor for each of the two findings.

use crate::certinfo::{self, CertificateInfo};
use crate::report::FindingCode;
use crate::report::{Finding, Severity};

/// Where a certificate stands against its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// Past its `notAfter`.
    Expired,
    /// Expires within the warning period.
    Soon,
}

/// The rule: `days_left` as `certinfo` counts it (negative once expired).
pub(crate) fn expiry(cert: &CertificateInfo, warn_days: i64) -> Option<Expiry> {
    if cert.days_left < 0 {
        Some(Expiry::Expired)
    } else if cert.days_left < warn_days {
        Some(Expiry::Soon)
    } else {
        None
    }
}

/// `expires_soon`: `who` names the certificate as the context does (`certificate "CN=db"`,
/// `"CN=root" in roots.pem`), `hint` says what to do there.
pub(crate) fn expires_soon(who: &str, cert: &CertificateInfo, hint: &str) -> Finding {
    Finding {
        severity: Severity::Warning,
        code: FindingCode::ExpiresSoon,
        message: format!(
            "{who} expires on {} (in {})",
            date(cert),
            certinfo::days(cert.days_left)
        ),
        hint: Some(hint.to_string()),
    }
}

/// `expiry_threshold`: a certificate expires within `--crit-days`, which fails the target.
pub(crate) fn expiry_threshold(who: &str, cert: &CertificateInfo, crit_days: i64) -> Finding {
    Finding {
        severity: Severity::Error,
        code: FindingCode::ExpiryThreshold,
        message: format!(
            "{who} expires on {} (in {}), within --crit-days {crit_days}",
            date(cert),
            certinfo::days(cert.days_left)
        ),
        hint: Some("renew it now".to_string()),
    }
}

/// `expired`, likewise.
pub(crate) fn expired(who: &str, cert: &CertificateInfo, hint: &str) -> Finding {
    Finding {
        severity: Severity::Error,
        code: FindingCode::Expired,
        message: format!(
            "{who} expired on {} ({} ago)",
            date(cert),
            certinfo::days(-cert.days_left)
        ),
        hint: Some(hint.to_string()),
    }
}

fn date(cert: &CertificateInfo) -> &str {
    certinfo::day(&cert.not_after)
}

/// The presented certificate that expires first (the leaf among equals).
pub(crate) fn earliest(certs: &[CertificateInfo]) -> Option<crate::report::EarliestExpiry> {
    let (position, c) = certs
        .iter()
        .enumerate()
        .min_by_key(|(position, c)| (c.not_after_unix, *position))?;
    Some(crate::report::EarliestExpiry {
        position,
        subject: c.subject.clone(),
        not_after: c.not_after.clone(),
        days_left: c.days_left,
    })
}

/// The chain's lifetimes against each other: a CA of the presented chain that expires before the
/// server certificate (from that day the chain no longer verifies, whatever the leaf says, and a
/// rotation that renews only leaves deadlocks), and a root that anchors the chain and expires
/// before every certificate the server presents (`anchor`, `source` naming the root file).
pub(crate) fn lifetimes(
    certs: &[CertificateInfo],
    anchor: Option<&CertificateInfo>,
    source: &str,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(leaf) = certs.first() else {
        return out;
    };
    for ca in certs.iter().skip(1).filter(|c| c.is_ca) {
        if ca.not_after_unix < leaf.not_after_unix && ca.days_left >= 0 {
            out.push(Finding {
                severity: Severity::Warning,
                code: FindingCode::CaExpiresBeforeLeaf,
                message: format!(
                    "the CA \"{}\" in the chain expires on {}, before the server certificate (on {}): from then the chain no longer verifies",
                    ca.subject,
                    date(ca),
                    date(leaf)
                ),
                hint: Some("renew the CA (or move to its successor) and reissue the server certificate under it before that day; a CA should outlive every certificate it signs".into()),
            });
        }
    }
    let served_until = certs
        .iter()
        .map(|c| c.not_after_unix)
        .min()
        .unwrap_or(i64::MAX);
    if let Some(root) = anchor.filter(|r| r.not_after_unix < served_until && r.days_left >= 0) {
        out.push(Finding {
            severity: Severity::Warning,
            code: FindingCode::RootExpiresBeforeChain,
            message: format!(
                "the root \"{}\" in {source} that anchors the chain expires on {}, before every certificate the server presents: from then clients with this root file refuse the server",
                root.subject,
                date(root)
            ),
            hint: Some(format!("add the root's successor to {source} before that day (and have the server's chain issued under it)")),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(days_left: i64) -> CertificateInfo {
        CertificateInfo {
            subject: "CN=db".into(),
            issuer: "CN=ca".into(),
            sans: Vec::new(),
            not_before: "2030-01-01T00:00:00Z".into(),
            not_after: "2030-06-01T00:00:00Z".into(),
            days_left,
            not_after_unix: 0,
            key_type: "EC".into(),
            key_bits: Some(256),
            curve: None,
            signature_algorithm: "ecdsa-with-SHA256".into(),
            serial: "01".into(),
            sha256: String::new(),
            sha1: String::new(),
            is_ca: false,
            self_signed: false,
        }
    }

    #[test]
    fn one_rule_for_expired_soon_and_fine() {
        // (days left, warning period, verdict)
        let cases = [
            (-1, 30, Some(Expiry::Expired)),
            (0, 30, Some(Expiry::Soon)),
            (29, 30, Some(Expiry::Soon)),
            (30, 30, None),
            (10, 7, None),
            (0, 0, None),
        ];
        for (days, warn, verdict) in cases {
            assert_eq!(
                expiry(&cert(days), warn),
                verdict,
                "{days} days, warn {warn}"
            );
        }
    }

    #[test]
    fn findings_say_the_date_and_how_long() {
        let soon = expires_soon("certificate \"CN=db\"", &cert(1), "renew it");
        assert_eq!(
            soon.message,
            "certificate \"CN=db\" expires on 2030-06-01 (in 1 day)"
        );
        let gone = expired("\"CN=db\"", &cert(-30), "renew it");
        assert_eq!(
            gone.message,
            "\"CN=db\" expired on 2030-06-01 (30 days ago)"
        );
    }
}

//! Findings about key exchange groups: a server whose choice costs libpq a HelloRetryRequest on
//! every connection.

use super::findings::finding;
use crate::report::{Finding, FindingCode, Severity, TargetReport};
use crate::tls::groups::LIBPQ;

/// `hello_retry` when libpq connected with TLS 1.3 and the server chose a group libpq's first
/// flight held no key share for.
pub(crate) fn hello_retry(report: &TargetReport) -> Option<Finding> {
    let tls = report.tls.as_ref().filter(|t| t.hello_retry)?;
    let group = tls.key_exchange_group.as_deref()?;
    let shares: Vec<String> = LIBPQ
        .shares
        .iter()
        .map(|&c| crate::tls::groups::name(c))
        .collect();
    let major = report
        .login
        .as_ref()
        .and_then(|l| l.server_version.as_deref())
        .and_then(|v| v.split(['.', ' ']).next()?.parse::<u32>().ok());
    let pg18 = "set ssl_groups so that a group clients send a key share for comes first, e.g. ssl_groups = 'X25519MLKEM768:X25519:prime256v1' (PostgreSQL 18)";
    let older = "PostgreSQL 17 and older take one curve (ssl_ecdh_curve, default prime256v1) and cannot choose X25519: PostgreSQL 18's ssl_groups (default X25519:prime256v1) avoids the extra round trip";
    let hint = match major {
        Some(m) if m >= 18 => pg18.to_string(),
        Some(_) => older.to_string(),
        None => format!("{pg18}; {older}"),
    };
    Some(finding(
        Severity::Info,
        FindingCode::HelloRetry,
        format!(
            "the server chose key exchange group {group}, for which libpq's first flight holds no key share (it sends {}): a HelloRetryRequest costs one more round trip on every connection",
            shares.join(" and ")
        ),
        &hint,
    ))
}

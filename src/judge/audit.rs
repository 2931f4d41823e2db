//! Findings about what an audit found the server accepts: old protocols, legacy suites, missing
//! TLS 1.3, post-quantum groups and direct TLS, plaintext, and an audit the deadline cut short.

use crate::report::{Audit, Finding, Severity};

pub(crate) fn finding(
    severity: Severity,
    code: &'static str,
    message: String,
    hint: &str,
) -> Finding {
    debug_assert!(super::codes::known(code), "unlisted finding code {code}");
    Finding {
        severity,
        code,
        message,
        hint: Some(hint.to_string()),
    }
}

/// Findings about what the server accepts.
pub(crate) fn findings(audit: &Audit) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(why) = &audit.unfinished {
        out.push(finding(
            Severity::Warning,
            "audit_incomplete",
            format!("the audit is incomplete: {why}"),
            "what was not probed is shown as not tested; raise --timeout (or connect_timeout) for a slow server",
        ));
    }
    let hint_versions = "set ssl_min_protocol_version = 'TLSv1.2' (or TLSv1.3) in postgresql.conf";
    for (name, accepted) in [
        ("TLS 1.1", audit.protocols.tls11),
        ("TLS 1.0", audit.protocols.tls10),
        ("SSL 3.0", audit.protocols.ssl3),
    ] {
        if accepted == Some(true) {
            out.push(finding(
                Severity::Error,
                "old_protocol",
                format!("the server accepts {name}"),
                hint_versions,
            ));
        }
    }
    if audit.protocols.tls13 == Some(false) && audit.protocols.tls12 == Some(true) {
        out.push(finding(
            Severity::Info,
            "no_tls13",
            "the server does not accept TLS 1.3".into(),
            "allow TLS 1.3 (ssl_max_protocol_version unset)",
        ));
    }
    for legacy in &audit.legacy_suites {
        if !legacy.accepted {
            continue;
        }
        let (severity, what) = match legacy.family {
            "static_rsa" => (
                Severity::Warning,
                "static RSA key exchange (no forward secrecy)",
            ),
            "cbc" => (Severity::Warning, "CBC-mode cipher suites"),
            "3des" => (Severity::Error, "3DES cipher suites"),
            "rc4" => (Severity::Error, "RC4 cipher suites"),
            "export" => (Severity::Error, "export-grade cipher suites"),
            _ => (Severity::Error, "NULL (unencrypted) cipher suites"),
        };
        out.push(finding(
            severity,
            "legacy_suite",
            format!(
                "the server accepts {what} (it chose {})",
                match (&legacy.chosen_name, &legacy.chosen) {
                    (Some(name), Some(code)) => format!("{name}, {code}"),
                    (_, code) => code.clone().unwrap_or_default(),
                }
            ),
            "restrict ssl_ciphers, e.g. 'HIGH:!aNULL:!kRSA:!CBC:!3DES:!RC4:!EXPORT:!NULL'",
        ));
    }
    if audit
        .groups
        .iter()
        .any(|g| g.name == "X25519MLKEM768" && g.accepted == Some(false))
    {
        out.push(finding(
            Severity::Info,
            "no_post_quantum",
            "the server does not accept the post-quantum hybrid group X25519MLKEM768".into(),
            "PostgreSQL built with OpenSSL 3.5 or later accepts it when ssl_groups (ssl_ecdh_curve) allows it",
        ));
    }
    if audit.negotiation.direct == Some(false) {
        out.push(finding(
            Severity::Info,
            "no_direct_tls",
            "the server does not accept direct TLS (sslnegotiation=direct)".into(),
            "PostgreSQL 17 or later accepts it",
        ));
    }
    if audit.plaintext == Some(true) {
        out.push(finding(
            Severity::Warning,
            "plaintext_accepted",
            format!("the server proceeds with a startup message sent without TLS ({})", audit.plaintext_answer.clone().unwrap_or_default()),
            "use hostssl instead of host lines in pg_hba.conf so that unencrypted connections are refused",
        ));
    }
    out
}

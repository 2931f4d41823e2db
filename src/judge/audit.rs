//! Findings about what an audit found the server accepts: old protocols, legacy suites, missing
//! TLS 1.3, post-quantum groups and direct TLS, plaintext, and an audit the deadline cut short.

use super::findings::finding;
use crate::profiles::Profile;
use crate::report::{Audit, Finding, FindingCode, Severity};

/// Findings about what the server accepts, for a target of `provider` if a profile recognised it.
pub(crate) fn findings(audit: &Audit, provider: Option<&Profile>) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(why) = &audit.unfinished {
        out.push(finding(
            Severity::Warning,
            FindingCode::AuditIncomplete,
            format!("the audit is incomplete: {why}"),
            "what was not probed is shown as not tested; raise --timeout (or connect_timeout) for a slow server",
        ));
    }
    out.extend(protocol_findings(audit));
    let legacy = audit.legacy_suites.iter().filter(|l| l.accepted);
    out.extend(legacy.map(legacy_suite));
    let post_quantum = audit.groups.iter().filter(|g| g.name.contains("MLKEM"));
    let tried: Vec<_> = post_quantum.map(|g| g.accepted).collect();
    if !tried.is_empty() && tried.iter().all(|a| *a == Some(false)) {
        out.push(finding(
            Severity::Info,
            FindingCode::NoPostQuantum,
            "the server accepts no post-quantum key exchange group (X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024, MLKEM768, MLKEM1024 tried)".into(),
            "PostgreSQL 18 built with OpenSSL 3.5 or later accepts X25519MLKEM768 when ssl_groups lists it, e.g. ssl_groups = 'X25519MLKEM768:X25519:prime256v1'",
        ));
    }
    if audit.negotiation.direct == Some(false) {
        out.push(finding(
            Severity::Info,
            FindingCode::NoDirectTls,
            "the server does not accept direct TLS (sslnegotiation=direct)".into(),
            "PostgreSQL 17 or later accepts it",
        ));
    }
    if audit.plaintext == Some(true) {
        out.push(finding(
            Severity::Warning,
            FindingCode::PlaintextAccepted,
            format!("the server proceeds with a startup message sent without TLS ({})", audit.plaintext_answer.clone().unwrap_or_default()),
            "use hostssl instead of host lines in pg_hba.conf so that unencrypted connections are refused",
        ));
    }
    out.extend(session_findings(audit, provider));
    out
}

/// `old_protocol` for each protocol older than TLS 1.2 accepted, and `no_tls13`.
fn protocol_findings(audit: &Audit) -> Vec<Finding> {
    let mut out = Vec::new();
    let hint_versions = "set ssl_min_protocol_version = 'TLSv1.2' (or TLSv1.3) in postgresql.conf";
    for (name, accepted) in [
        ("TLS 1.1", audit.protocols.tls11),
        ("TLS 1.0", audit.protocols.tls10),
        ("SSL 3.0", audit.protocols.ssl3),
    ] {
        if accepted == Some(true) {
            out.push(finding(
                Severity::Error,
                FindingCode::OldProtocol,
                format!("the server accepts {name}"),
                hint_versions,
            ));
        }
    }
    if audit.protocols.tls13 == Some(false) && audit.protocols.tls12 == Some(true) {
        out.push(finding(
            Severity::Info,
            FindingCode::NoTls13,
            "the server does not accept TLS 1.3".into(),
            "allow TLS 1.3 (ssl_max_protocol_version unset)",
        ));
    }
    out
}

/// `legacy_suite` for a legacy family the server accepts.
fn legacy_suite(legacy: &crate::report::Legacy) -> Finding {
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
    let chose = match (&legacy.chosen_name, &legacy.chosen) {
        (Some(name), Some(code)) => format!("{name}, {code}"),
        (_, code) => code.clone().unwrap_or_default(),
    };
    finding(
        severity,
        FindingCode::LegacySuite,
        format!("the server accepts {what} (it chose {chose})"),
        "restrict ssl_ciphers, e.g. 'HIGH:!aNULL:!kRSA:!CBC:!3DES:!RC4:!EXPORT:!NULL'",
    )
}

/// Findings about what the server does after the handshake: protocol versions, cancel requests
/// over TLS, SNI.
fn session_findings(audit: &Audit, provider: Option<&Profile>) -> Vec<Finding> {
    use crate::report::VersionAnswer;
    let mut out = Vec::new();
    for probe in &audit.startup_versions {
        let grease = probe.asked.contains("_pq_.");
        match (&probe.found, grease) {
            (Some(VersionAnswer::Refused { message }), false) if probe.asked == "3.2" => {
                out.push(super::pooler::protocol_version_refused(
                    Severity::Warning,
                    format!("the server refuses a startup message for protocol 3.2 instead of negotiating ({message})"),
                ));
            }
            (Some(VersionAnswer::Accepted), true) => out.push(super::findings::protocol_negotiation_broken(
                format!("the server goes on with a startup message for protocol {} without NegotiateProtocolVersion, as if it spoke it", probe.asked),
                "a server or pooler must answer an unknown minor version or `_pq_.` option with NegotiateProtocolVersion; upgrade it",
            )),
            (Some(VersionAnswer::Refused { message }), true) => out.push(super::findings::protocol_negotiation_broken(
                format!("the server refuses an unknown protocol version and option instead of negotiating ({message})"),
                "clients that ask for newer versions or send GREASE fail here; upgrade the server or pooler to one that negotiates",
            )),
            (Some(VersionAnswer::Negotiated { options, .. }), true) if options.is_empty() => {
                out.push(super::findings::protocol_negotiation_broken(
                    "the server negotiates the version but does not name the unknown `_pq_.` option".into(),
                    "a client cannot tell the option was ignored; upgrade the server or pooler",
                ));
            }
            _ => {}
        }
    }
    if audit.cancel_over_tls == Some(false) {
        out.push(finding(
            Severity::Warning,
            FindingCode::CancelOverTlsRefused,
            format!(
                "a cancel request over TLS is not taken: {}",
                audit.cancel_answer.clone().unwrap_or_default()
            ),
            "libpq 17 and later send cancel requests over TLS when the connection uses it: a cancelled query (Ctrl-C, a client-side timeout) keeps running; let the server or pooler take them",
        ));
    }
    out.extend(sni_findings(audit, provider));
    out
}

/// `sni_required` where the server answers otherwise without SNI, and
/// `sni_certificate_differs` where it presents another certificate.
fn sni_findings(audit: &Audit, provider: Option<&Profile>) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(sni) = &audit.sni
        && let (Some(with), Some(without)) = (&sni.with_sni, &sni.without_sni)
    {
        if with.went_on && !without.went_on {
            out.push(super::pooler::sni_required(
                Severity::Warning,
                format!(
                    "without SNI the server answers otherwise: {}",
                    without.answer
                ),
                provider,
            ));
        }
        if let (Some(a), Some(b)) = (&with.certificate_sha256, &without.certificate_sha256)
            && a != b
        {
            out.push(finding(
                Severity::Info,
                FindingCode::SniCertificateDiffers,
                format!("the server presents another certificate without SNI than with \"{}\"", sni.name),
                "clients that send no SNI (an IP address, sslsni=0, some drivers) see the other certificate: check it verifies for them too",
            ));
        }
    }
    out
}
/// `--sni-names`: whether the certificate the server presents for each name covers it by
/// libpq's verify-full rules (set on the audit), and the findings: a name it does not cover, and
/// the certificate without SNI when a client connecting by address (which sends no SNI) reaches
/// another one than the named ones.
pub(crate) fn sni_names(audit: &mut Audit, host: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in &mut audit.sni_names {
        if let (Some(name), Some(der)) = (&c.name, &c.der) {
            let check = crate::tls::hostname::check_leaf(name, der);
            let refused = check.refusal();
            c.covers = Some(refused.is_none());
            if let Some(message) = refused {
                out.push(finding(
                    Severity::Error,
                    FindingCode::SniNameNotCovered,
                    format!(
                        "for the name {name} the server presents \"{}\" (SHA-256 {}), which does not cover it: libpq with sslmode=verify-full to {name} fails ({message})",
                        c.subject.as_deref().unwrap_or_default(),
                        c.sha256.as_deref().unwrap_or_default()
                    ),
                    "give that name a certificate that holds it as a DNS SAN (pg_hosts.conf in PostgreSQL 19: one line per name), or add it to the certificate it gets",
                ));
            }
        }
    }
    let named: Vec<&str> = audit
        .sni_names
        .iter()
        .filter(|c| c.name.is_some())
        .filter_map(|c| c.sha256.as_deref())
        .collect();
    let unnamed = audit.sni_names.iter().find(|c| c.name.is_none());
    if let Some(default) = unnamed.and_then(|c| c.sha256.as_deref().map(|s| (c, s)))
        && !named.is_empty()
        && !named.contains(&default.1)
    {
        let by_address = crate::net::numeric_host(host).is_some() || host.is_empty();
        out.push(finding(
            if by_address { Severity::Warning } else { Severity::Info },
            FindingCode::SniCertificateDiffers,
            format!(
                "without SNI the server presents \"{}\" (SHA-256 {}), none of the certificates it presents for the names asked: libpq sends no SNI to an IP address or with sslsni=0, and gets this one (pg_hosts.conf's no_sni or * entry){}",
                default.0.subject.as_deref().unwrap_or_default(),
                default.1,
                if by_address { ", as this target does" } else { "" }
            ),
            "connect by a name the server has a certificate for, or make the no_sni certificate one that clients connecting by address can verify",
        ));
    }
    out
}

//! Key exchange groups: a server whose choice costs libpq a HelloRetryRequest on every
//! connection; which client stacks need a connection with their own groups; and, from the
//! audit, the older versions of a stack that cannot connect where the current ones do.

use super::clients::{Asked, refused_groups};
use super::findings::finding;
use crate::clients::Client;
use crate::probe::{AttemptResult, Wire};
use crate::report::{Audit, Finding, FindingCode, Severity, TargetReport};
use crate::tls::groups::{LIBPQ, Offer, name, stack};

/// `hello_retry` when libpq connected with TLS 1.3 and the server chose a group libpq's first
/// flight held no key share for.
pub(crate) fn hello_retry(report: &TargetReport) -> Option<Finding> {
    let tls = report.tls.as_ref().filter(|t| t.hello_retry)?;
    let group = tls.key_exchange_group.as_deref()?;
    let shares: Vec<String> = LIBPQ.shares.iter().map(|&c| name(c)).collect();
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

/// The client stacks whose key exchange groups decide whether they connect here and that need
/// a TLS connection of their own: where the server chose a group on libpq's connection that the
/// stack does not offer, or where that handshake failed before a certificate (for a stack that
/// offers other groups than libpq). Older versions are judged from `--audit`'s group list
/// instead: a connection per check for them would double every server's handshakes (and
/// backends).
pub(crate) fn offers_to_try(
    asked: Option<&Asked>,
    attempts: &[AttemptResult],
    wire: &Wire,
) -> Vec<Offer> {
    let shared = attempts.iter().chain(wire.tls.as_ref());
    let group = shared
        .clone()
        .find_map(|a| a.session.as_ref())
        .and_then(|s| s.key_exchange_group.clone());
    let failed_early = group.is_none() && shared.filter(|a| a.tls).any(refused_groups);
    let mut out: Vec<Offer> = Vec::new();
    let clients = asked.map(Asked::tls_clients).unwrap_or_default();
    for offer in clients.into_iter().map(|c| stack(c).current) {
        let lacks = group.as_deref().is_some_and(|g| !offer.offers(g));
        let needed = lacks || failed_early;
        if needed && !offer.same_hello(&LIBPQ) && !out.iter().any(|o| o.same_hello(&offer)) {
            out.push(offer);
        }
    }
    out
}

/// `older_stack_fails` for the clients that connect here (libpq first) whose older versions,
/// offering other groups, cannot: every group of theirs pgtls speaks was tried by `--audit` and
/// refused. One finding per such offer, naming every stack that makes it.
pub(crate) fn older_stacks(report: &TargetReport, audit: Option<&Audit>) -> Vec<Finding> {
    let (Some(audit), Some(group)) = (
        audit,
        report
            .tls
            .as_ref()
            .and_then(|t| t.key_exchange_group.clone()),
    ) else {
        return Vec::new();
    };
    let clients: Vec<Client> = match report.clients.is_empty() {
        false => report
            .clients
            .iter()
            .filter(|v| v.connects && v.encrypted)
            .map(|v| v.name)
            .collect(),
        true if report.libpq_connects => vec![Client::Libpq],
        true => Vec::new(),
    };
    let refused = |offer: &Offer| {
        let tried: Vec<Option<bool>> = offer
            .speakable()
            .iter()
            .map(|g| name(u16::from(g.name())))
            .map(|n| {
                audit
                    .groups
                    .iter()
                    .find(|a| a.name == n)
                    .and_then(|a| a.accepted)
            })
            .collect();
        !tried.is_empty() && tried.iter().all(|a| *a == Some(false))
    };
    let mut failing: Vec<(Offer, Vec<&'static str>)> = Vec::new();
    for older in clients.into_iter().filter_map(|c| stack(c).older) {
        if !refused(&older) {
            continue;
        }
        match failing.iter_mut().find(|(o, _)| o.same_hello(&older)) {
            Some((_, stacks)) => stacks.push(older.stack),
            None => failing.push((older, vec![older.stack])),
        }
    }
    failing
        .into_iter()
        .map(|(offer, stacks)| {
            finding(
                Severity::Warning,
                FindingCode::OlderStackFails,
                format!(
                    "{} cannot connect: the server accepts none of the key exchange groups {} ({}); it chose {group} here",
                    stacks.join("; "),
                    if stacks.len() == 1 { "it offers" } else { "they offer" },
                    offer.names().join(", ")
                ),
                "use OpenSSL 3.5 or later wherever this server is reached from (psycopg's binary wheel bundles it; Debian 13 and Ubuntu 26.04 ship it; Node.js 22.20 and 24.5 bundle it), or let the server accept a classic group too, e.g. ssl_groups = 'X25519MLKEM768:X25519:prime256v1'",
            )
        })
        .collect()
}

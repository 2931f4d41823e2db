//! Checks each target the way libpq connects to it: the attempt order of its sslmode, with
//! libpq's fallbacks, and turns what the attempts learned into report data.

mod attempt;
mod auth;
mod findings;
mod fleet;
mod login;
pub(crate) mod transport;
pub(crate) mod wire;

use std::time::Duration;

use attempt::{AttemptResult, Plan};

use crate::certinfo;
use crate::config::{HostKind, Options, Resolved, SslMode, Target};
use crate::report::{Attempt, Outcome, ServerAnswer, TargetReport, Trust};
use crate::tls::client_cert::{ClientCertError, ClientIdentity};
use crate::tls::{RootError, TrustStore};

pub use fleet::{Input, check_all};
use wire::Answer;

/// Whether a failed TLS attempt under `prefer` makes libpq try again without TLS.
fn prefer_retries(r: &AttemptResult) -> bool {
    if r.hard_failure || !r.tls || r.timed_out {
        return false;
    }
    match r.outcome {
        Some(
            Outcome::HandshakeFailed
            | Outcome::Untrusted
            | Outcome::Rejected
            | Outcome::ConfigError,
        ) => true,
        // The server closed the connection during negotiation or the handshake.
        Some(Outcome::Unreachable) => r.connected,
        _ => false,
    }
}

/// How `check` runs, beyond the connection strings.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// How long a host may take when `connect_timeout` is not set.
    pub default_timeout: Duration,
    /// Whether to diagnose trust even when the chain verified.
    pub diagnose_trust: bool,
    /// Whether to audit what each server accepts.
    pub audit: bool,
    /// Days before expiry that a certificate is reported (audit).
    pub warn_days: i64,
    /// The least severe finding that makes a target fail with exit code 9.
    pub fail_on: Option<crate::report::Severity>,
}

/// Checks one target: every attempt libpq would make, in order.
pub async fn check_target(
    resolved: &Resolved,
    target: &Target,
    store: Result<Option<&TrustStore>, &RootError>,
    identity: Result<Option<&ClientIdentity>, &ClientCertError>,
    run: CheckOptions,
) -> TargetReport {
    let options = &resolved.options;
    let startup = startup_params(resolved);
    let plan = Plan {
        options,
        target,
        store,
        startup: &startup,
        identity,
        password: target.password.as_ref().map(|p| &p.secret),
    };
    let timeout = options.connect_timeout.unwrap_or(run.default_timeout);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut attempts = Vec::new();
    let unix = target.kind == HostKind::UnixSocket;
    match options.sslmode {
        _ if unix => attempts.push(attempt::run(&plan, false, deadline).await),
        SslMode::Disable => attempts.push(attempt::run(&plan, false, deadline).await),
        SslMode::Allow => {
            let plain = attempt::run(&plan, false, deadline).await;
            let retry = plain.outcome == Some(Outcome::Rejected);
            attempts.push(plain);
            if retry {
                attempts.push(attempt::run(&plan, true, deadline).await);
            }
        }
        SslMode::Prefer => {
            let tls = attempt::run(&plan, true, deadline).await;
            let retry = prefer_retries(&tls);
            attempts.push(tls);
            if retry {
                attempts.push(attempt::run(&plan, false, deadline).await);
            }
        }
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            attempts.push(attempt::run(&plan, true, deadline).await);
        }
    }
    let mut report = build(
        options,
        target,
        store.ok().flatten(),
        attempts,
        run.diagnose_trust,
    );
    if run.audit {
        let found = crate::audit::audit(target, options, &startup, timeout).await;
        report.findings.retain(|f| f.code != "expires_soon");
        report.findings.extend(crate::audit::findings(&found));
        report
            .findings
            .extend(crate::audit::certificate_findings(&report, run.warn_days));
        report
            .findings
            .sort_by_key(|f| std::cmp::Reverse(f.severity));
        report.audit = Some(found);
    }
    if let Some(threshold) = run.fail_on
        && report.exit_code == 0
        && report.findings.iter().any(|f| f.severity >= threshold)
    {
        report.exit_code = crate::exit::Code::PolicyFailed as u8;
    }
    report
}

fn startup_params(resolved: &Resolved) -> Vec<(String, String)> {
    let settings = &resolved.settings;
    let mut params = vec![
        ("user".to_string(), resolved.options.user.clone()),
        ("database".to_string(), resolved.options.dbname.clone()),
    ];
    let app = settings
        .nonempty("application_name")
        .or(settings.nonempty("fallback_application_name"))
        .unwrap_or("pgtls");
    params.push(("application_name".into(), app.into()));
    for (keyword, name) in [
        ("options", "options"),
        ("client_encoding", "client_encoding"),
        ("replication", "replication"),
    ] {
        if let Some(value) = settings.nonempty(keyword) {
            params.push((name.into(), value.into()));
        }
    }
    params
}

/// The attempt whose failure decides the target's verdict: a TLS failure wins over a later
/// plaintext one, since it is the cause.
fn decisive(attempts: &[AttemptResult]) -> &AttemptResult {
    let last = attempts
        .last()
        .expect("every target makes at least one attempt");
    if last.outcome == Some(Outcome::Accepted) {
        return last;
    }
    attempts
        .iter()
        .find(|a| {
            matches!(
                a.outcome,
                Some(
                    Outcome::TlsNotOffered
                        | Outcome::HandshakeFailed
                        | Outcome::Untrusted
                        | Outcome::NameMismatch
                )
            )
        })
        .unwrap_or(last)
}

fn build(
    options: &Options,
    target: &Target,
    store: Option<&TrustStore>,
    attempts: Vec<AttemptResult>,
    diagnose_trust: bool,
) -> TargetReport {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let decisive_outcome = decisive(&attempts).outcome.unwrap_or(Outcome::Unreachable);
    let final_attempt = attempts.last().expect("at least one attempt");
    let libpq_connects = final_attempt.outcome == Some(Outcome::Accepted);
    let encrypted = libpq_connects && final_attempt.tls;
    let tls_attempt = attempts
        .iter()
        .find(|a| !a.seen.presented.is_empty() || a.session.is_some());
    let certificates = tls_attempt
        .map(|a| {
            a.seen
                .presented
                .iter()
                .filter_map(|c| certinfo::describe(c, now))
                .collect()
        })
        .unwrap_or_default();
    let mut trust = trust(tls_attempt, store, now);
    let presented = tls_attempt
        .map(|a| a.seen.presented.clone())
        .unwrap_or_default();
    if !presented.is_empty() && (diagnose_trust || (trust.checked && !trust.verified)) {
        let now = rustls::pki_types::UnixTime::now();
        trust.diagnosis = crate::tls::diagnose::diagnose(&presented, now);
        trust.cross_signed = crate::tls::diagnose::cross_signed(&presented, store);
    }
    let server = final_attempt.answer.as_ref().map(server_answer);
    let mut report = TargetReport {
        host: target.host.clone(),
        hostaddr: target.hostaddr.clone(),
        port: target.port,
        kind: target.kind,
        sslmode: options.sslmode,
        sslnegotiation: options.sslnegotiation,
        exit_code: if libpq_connects {
            0
        } else {
            crate::exit::outcome_code(decisive_outcome) as u8
        },
        summary: String::new(),
        conninfo: 0,
        libpq_connects,
        libpq_uses: false,
        encrypted,
        tls: tls_attempt.and_then(|a| a.session.clone()),
        certificates,
        trust,
        host_name: tls_attempt.and_then(|a| a.name_check.clone()),
        server,
        login: final_attempt.login.clone(),
        client_certificate: tls_attempt.and_then(|a| a.client_cert.clone()),
        findings: Vec::new(),
        audit: None,
        presented: presented.iter().map(|c| c.to_vec()).collect(),
        attempts: attempts
            .iter()
            .map(|a| Attempt {
                tls: a.tls,
                address: a.address.clone(),
                outcome: a.outcome.unwrap_or(Outcome::Unreachable),
                error: a.error.clone(),
                timings: a.timings,
            })
            .collect(),
    };
    findings::add(options, &attempts, &mut report);
    report.summary = findings::summary(&report);
    report
}

fn trust(attempt: Option<&AttemptResult>, store: Option<&TrustStore>, now: i64) -> Trust {
    let chain = attempt.and_then(|a| a.seen.chain.clone());
    let checked = attempt.is_some_and(|a| a.chain_checked) || chain.is_some();
    match chain {
        Some(Ok(verified)) => Trust {
            checked,
            verified: true,
            source: Some(verified.source.clone()),
            anchor: certinfo::describe(&verified.anchor, now),
            path: verified
                .intermediates
                .iter()
                .filter_map(|c| certinfo::describe(c, now).map(|i| i.subject))
                .collect(),
            error: None,
            diagnosis: Vec::new(),
            cross_signed: Vec::new(),
        },
        Some(Err(e)) => Trust {
            checked,
            verified: false,
            source: store.map(|s| s.source.clone()),
            anchor: None,
            path: Vec::new(),
            error: Some(e.to_string()),
            diagnosis: Vec::new(),
            cross_signed: Vec::new(),
        },
        None => Trust {
            checked,
            verified: false,
            source: store.map(|s| s.source.clone()),
            anchor: None,
            path: Vec::new(),
            error: None,
            diagnosis: Vec::new(),
            cross_signed: Vec::new(),
        },
    }
}

fn server_answer(answer: &Answer) -> ServerAnswer {
    match answer {
        Answer::AuthenticationOk => ServerAnswer {
            answer: "authentication_ok",
            method: Some("trust".into()),
            message: None,
            sqlstate: None,
        },
        Answer::Authentication(method) => ServerAnswer {
            answer: "authentication_request",
            method: Some(method.clone()),
            message: None,
            sqlstate: None,
        },
        Answer::Error(err) => ServerAnswer {
            answer: "error",
            method: None,
            message: Some(err.to_string()),
            sqlstate: Some(err.code.clone()),
        },
    }
}

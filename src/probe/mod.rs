//! Connects to each target the way libpq does (the attempt order of its sslmode, with libpq's
//! fallbacks), logs in as far as libpq would, and with `--audit` probes what the server accepts.
//! This layer gathers facts; it never judges them (see `judge`).

mod attempt;
pub(crate) mod audit;
mod auth;
mod login;
pub(crate) mod transport;
pub(crate) mod wire;

use std::time::Duration;

use attempt::Plan;

use crate::config::{HostKind, Resolved, SslMode, Target};
use crate::report::{Audit, Outcome};
use crate::tls::client_cert::{ClientCertError, ClientIdentity};
use crate::tls::{RootError, TrustStore};

pub(crate) use attempt::AttemptResult;
pub(crate) use wire::Answer;

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
    /// Days before expiry that make a passing target fail with exit code 9.
    pub crit_days: Option<i64>,
    /// The least severe finding that makes a target fail with exit code 9.
    pub fail_on: Option<crate::report::Severity>,
}

/// What the probe learned about one target: every attempt libpq would make, in order, and with
/// `--audit` what the server accepts. Facts only; `judge` turns them into a report.
#[derive(Debug)]
pub(crate) struct Facts {
    /// The attempts, in libpq's order.
    pub attempts: Vec<AttemptResult>,
    /// What the audit found, with `--audit`.
    pub audit: Option<Audit>,
}

/// Connects to one target as libpq would: the attempt order of its sslmode, with libpq's
/// fallbacks; then, with `--audit`, the audit's probes.
pub(crate) async fn gather(
    resolved: &Resolved,
    target: &Target,
    store: Result<Option<&TrustStore>, &RootError>,
    identity: Result<Option<&ClientIdentity>, &ClientCertError>,
    run: CheckOptions,
) -> Facts {
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
    let audit = match run.audit {
        true => Some(audit::audit(target, options, &startup, timeout).await),
        false => None,
    };
    Facts { attempts, audit }
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

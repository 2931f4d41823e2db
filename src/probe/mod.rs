//! Connects to each target the way libpq does (the attempt order of its sslmode, with libpq's
//! fallbacks), logs in as far as libpq would, and with `--audit` probes what the server accepts.
//! This layer gathers facts; it never judges them (see `judge`).

mod attempt;
pub(crate) mod audit;
mod auth;
mod login;
pub(crate) mod oauth;
mod oauth_issuer;
pub(crate) mod protocol;
pub(crate) mod transport;
pub(crate) mod wire;

use std::time::Duration;

use attempt::Plan;

use crate::config::{HostKind, Resolved, SslMode, Target, Transport};
use crate::report::{Audit, Outcome};
use crate::tls::client_cert::{ClientCertError, ClientIdentity};
use crate::tls::groups::Offer;
use crate::tls::{RootError, TrustStore};

pub(crate) use attempt::{AttemptResult, Gate};
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

impl CheckOptions {
    /// How long one host may take: its `connect_timeout`, else `--timeout`.
    pub(crate) fn timeout(&self, options: &crate::config::Options) -> Duration {
        options.connect_timeout.unwrap_or(self.default_timeout)
    }
}

/// What the probe learned about one target: every attempt libpq would make, in order, and with
/// `--audit` what the server accepts. Facts only; `judge` turns them into a report.
#[derive(Debug)]
pub(crate) struct Facts {
    /// The attempts, in libpq's order.
    pub attempts: Vec<AttemptResult>,
    /// What the audit found, with `--audit`.
    pub audit: Option<Audit>,
    /// The connections other clients' verdicts need, with `--client`.
    pub wire: Wire,
}

/// What the other clients need to know of the server beyond libpq's verdict, each from one
/// connection: how it answers a TLS connection that verifies nothing (its answer to SSLRequest,
/// the chain it presents, whether the handshake completes, its answer to the startup message),
/// and how it answers a plaintext one. Taken from libpq's own attempts where they hold the same
/// traffic; made only when they do not.
#[derive(Debug, Default)]
pub(crate) struct Wire {
    /// A TLS connection (SSLRequest, or direct TLS), certificate not verified.
    pub tls: Option<AttemptResult>,
    /// A plaintext connection.
    pub plain: Option<AttemptResult>,
    /// TLS connections made with another client stack's key exchange groups, where the groups
    /// decide whether that stack connects (see `judge::groups::offers_to_try`).
    pub by_offer: Vec<(Offer, AttemptResult)>,
}

impl Wire {
    /// The TLS connection that shows what a client offering `offer` gets: its own, if one was
    /// made, else the shared one.
    pub(crate) fn tls_for(&self, offer: &Offer) -> Option<&AttemptResult> {
        self.by_offer
            .iter()
            .find(|(o, _)| o.same_hello(offer))
            .map(|(_, a)| a)
            .or(self.tls.as_ref())
    }
}

/// Which connections the other clients need.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireNeeds {
    /// A TLS connection that verifies nothing.
    pub tls: bool,
    /// Whether that one starts with direct TLS.
    pub direct: bool,
    /// A plaintext connection.
    pub plain: bool,
}

/// Whether libpq's attempt `a` holds what an unverified TLS connection would show: the server's
/// answer to SSLRequest (or direct TLS), and past a completed handshake its answer to startup.
/// A handshake our verifier ended says nothing of what follows.
fn serves_as_tls(a: &AttemptResult, direct: bool, options: &crate::config::Options) -> bool {
    let same_start = (options.sslnegotiation == crate::config::SslNegotiation::Direct) == direct;
    if !same_start || !(a.tls || a.ssl_response.is_some()) {
        return false;
    }
    if !a.connected || a.ssl_response == Some(b'N') {
        return true;
    }
    match a.outcome {
        Some(Outcome::Accepted | Outcome::Rejected) => a.session.is_some(),
        Some(Outcome::HandshakeFailed) => {
            a.session.is_none() && !a.seen.chain.as_ref().is_some_and(Result::is_err)
        }
        _ => false,
    }
}

/// Whether libpq's attempt `a` holds the server's answer to a plaintext startup message.
fn serves_as_plain(a: &AttemptResult) -> bool {
    let plain = !a.tls && (a.ssl_response.is_none() || a.ssl_response == Some(b'N'));
    plain && (!a.connected || a.answer.is_some() || a.outcome == Some(Outcome::Accepted))
}

/// The connections `needs` asks for: libpq's attempts where they serve, new ones (made at the
/// same time) where they do not. They verify nothing themselves, so they send the password only
/// where `gate` says a client being judged would have sent it on that connection, after its own
/// checks of the chain the server presented.
pub(crate) async fn gather_wire(
    resolved: &Resolved,
    target: &Target,
    identity: Result<Option<&ClientIdentity>, &ClientCertError>,
    attempts: &[AttemptResult],
    (needs, gate): (WireNeeds, Gate<'_>),
    timeout: Duration,
) -> Wire {
    if !needs.tls && !needs.plain {
        return Wire::default();
    }
    let options = &resolved.options;
    let tls_index = attempts
        .iter()
        .position(|a| serves_as_tls(a, needs.direct, options));
    let plain_index = attempts.iter().position(serves_as_plain);
    let open = unverified_tls(options, needs.direct);
    let mut plaintext = options.clone();
    plaintext.sslmode = SslMode::Disable;
    let startup = startup_params(resolved);
    let plan = |options, password_gate| Plan {
        options,
        target,
        store: Ok(None),
        startup: &startup,
        identity,
        password: target.password.as_ref().map(|p| &p.secret),
        password_gate,
        offer: &crate::tls::groups::LIBPQ,
    };
    let (tls_plan, plain_plan) = (plan(&open, Some(gate)), plan(&plaintext, Some(gate)));
    let deadline = tokio::time::Instant::now() + timeout;
    let run_tls = needs.tls && tls_index.is_none();
    let run_plain = needs.plain && plain_index.is_none();
    let (tls, plain) = tokio::join!(
        async {
            match run_tls {
                true => Some(attempt::run(&tls_plan, true, deadline).await),
                false => None,
            }
        },
        async {
            match run_plain {
                true => Some(attempt::run(&plain_plan, false, deadline).await),
                false => None,
            }
        }
    );
    let reused =
        |needed: bool, index: Option<usize>| index.filter(|_| needed).map(|i| attempts[i].clone());
    Wire {
        tls: tls.or_else(|| reused(needs.tls, tls_index)),
        plain: plain.or_else(|| reused(needs.plain, plain_index)),
        by_offer: Vec::new(),
    }
}

/// The options of a TLS connection that verifies nothing, started with SSLRequest or directly.
fn unverified_tls(options: &crate::config::Options, direct: bool) -> crate::config::Options {
    let mut open = options.clone();
    // Only libpq's own connections are logged to sslkeylogfile, as libpq logs its own.
    open.sslkeylogfile = None;
    open.sslmode = SslMode::Require;
    open.sslnegotiation = if direct {
        crate::config::SslNegotiation::Direct
    } else {
        crate::config::SslNegotiation::Postgres
    };
    open
}

/// A TLS connection for each offer, one after another, with the same rules as the shared one
/// of [`gather_wire`] (nothing verified, the password only through `gate`).
pub(crate) async fn gather_offers(
    resolved: &Resolved,
    target: &Target,
    identity: Result<Option<&ClientIdentity>, &ClientCertError>,
    (offers, direct): (Vec<Offer>, bool),
    gate: Gate<'_>,
    timeout: Duration,
) -> Vec<(Offer, AttemptResult)> {
    let open = unverified_tls(&resolved.options, direct);
    let startup = startup_params(resolved);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut out = Vec::new();
    for offer in offers {
        let plan = Plan {
            options: &open,
            target,
            store: Ok(None),
            startup: &startup,
            identity,
            password: target.password.as_ref().map(|p| &p.secret),
            password_gate: Some(gate),
            offer: &offer,
        };
        let found = attempt::run(&plan, true, deadline).await;
        out.push((offer, found));
    }
    out
}

/// Who may be sent the password, on which connection.
#[derive(Clone, Copy)]
pub(crate) struct Credentials<'a> {
    /// Whether libpq's verdict is the one judged (a libpq string), so that its attempts log in
    /// as libpq would. For a driver's string, libpq's attempts (on the libpq string with the same
    /// settings) gather facts like the others, and pass `gate` too.
    pub libpq_judged: bool,
    /// Whether a client being judged would send the password on a connection (see [`Gate`]).
    pub gate: Gate<'a>,
}

/// Connects to one target as libpq would: the attempt order of its sslmode, with libpq's
/// fallbacks; then, with `--audit`, the audit's probes; and the connections `needs` asks for.
pub(crate) async fn gather(
    resolved: &Resolved,
    target: &Target,
    store: Result<Option<&TrustStore>, &RootError>,
    identity: Result<Option<&ClientIdentity>, &ClientCertError>,
    run: CheckOptions,
    (needs, credentials, sni_names): (WireNeeds, Credentials<'_>, &[String]),
) -> Facts {
    let gate = credentials.gate;
    // A root file that cannot be used ends libpq's TLS attempt before the chain is seen: an
    // unverified connection shows it, for the diagnosis and the fix.
    let mut needs = needs;
    needs.tls |= store.is_err() && resolved.options.sslmode >= SslMode::Require;
    let options = &resolved.options;
    let startup = startup_params(resolved);
    let plan = Plan {
        options,
        target,
        store,
        startup: &startup,
        identity,
        password: target.password.as_ref().map(|p| &p.secret),
        password_gate: (!credentials.libpq_judged).then_some(gate),
        offer: &crate::tls::groups::LIBPQ,
    };
    let timeout = run.timeout(options);
    let deadline = tokio::time::Instant::now() + timeout;
    let unix = target.kind == HostKind::UnixSocket;
    let libpq = async {
        let order = options.sslmode.attempts(unix);
        let first = attempt::run(&plan, order[0] == Transport::Tls, deadline).await;
        // libpq moves on after a plaintext attempt the server refused, or a TLS one that failed.
        let again = match order[0] {
            Transport::Plaintext => first.outcome == Some(Outcome::Rejected),
            Transport::Tls => prefer_retries(&first),
        };
        let second = order.get(1).filter(|_| again);
        let mut attempts = vec![first];
        if let Some(transport) = second {
            attempts.push(attempt::run(&plan, *transport == Transport::Tls, deadline).await);
        }
        attempts
    };
    // What libpq's own attempts cannot hold starts beside them: a plaintext connection where
    // libpq starts with TLS, a TLS one where it starts in plaintext (or starts TLS another way).
    let early = WireNeeds {
        plain: needs.plain && !unix && options.sslmode >= SslMode::Prefer,
        tls: needs.tls
            && !unix
            && (options.sslmode <= SslMode::Allow
                || (options.sslnegotiation == crate::config::SslNegotiation::Direct)
                    != needs.direct),
        direct: needs.direct,
    };
    let (attempts, early) = tokio::join!(
        libpq,
        gather_wire(resolved, target, identity, &[], (early, gate), timeout)
    );
    // The rest from libpq's attempts, or made now.
    let rest = WireNeeds {
        tls: needs.tls && early.tls.is_none(),
        plain: needs.plain && early.plain.is_none(),
        direct: needs.direct,
    };
    let later = gather_wire(resolved, target, identity, &attempts, (rest, gate), timeout).await;
    let wire = Wire {
        tls: early.tls.or(later.tls),
        plain: early.plain.or(later.plain),
        by_offer: Vec::new(),
    };
    let audit = match run.audit {
        true => Some(audit::audit(target, options, (&startup, sni_names), timeout).await),
        false => None,
    };
    Facts {
        attempts,
        audit,
        wire,
    }
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

//! The other clients' verdicts: each client's [`Policy`] applied to the same gathered facts (the
//! server's answer to an unverified TLS connection and to a plaintext one, and the chain it
//! presented), with that client's chain rules, host-name rules and fallbacks; then a finding
//! wherever a client's verdict differs from libpq's or it connects without verifying.

use rustls::pki_types::{CertificateDer, UnixTime};

use crate::clients::{
    Anchors, Client, ClientRequest, NameRules, Order, Policy, ReadWhen, Retry, Roots,
};
use crate::exit::Code;
use crate::probe::{AttemptResult, Wire, WireNeeds};
use crate::report::FindingCode;
use crate::report::{ClientVerdict, Finding, Outcome, Severity, TargetReport};
use crate::tls::chain::{self, ChainError};
use crate::tls::client_roots::{Loading, Trusted};
use crate::tls::names;

/// The clients asked for on one connection string, with the roots each trusts (shared by every
/// string with the same setting), in the order of the request's policies.
#[derive(Debug, Clone)]
pub(crate) struct Asked {
    /// The request: the choice, the other clients' policies, the libpq string.
    pub request: ClientRequest,
    /// What each policy's client trusts.
    pub trusted: Vec<std::sync::Arc<Loading>>,
}

impl Asked {
    /// The other clients that may start TLS (not refused before connecting).
    pub(crate) fn tls_clients(&self) -> Vec<Client> {
        self.clients()
            .filter(|(p, _)| p.refused.is_none() && p.order != Order::Plain)
            .map(|(p, _)| p.client)
            .collect()
    }

    /// Each other client's policy with what it trusts, loaded when first looked at.
    fn clients(&self) -> impl Iterator<Item = (&Policy, &Loading)> {
        self.request
            .policies
            .iter()
            .zip(self.trusted.iter().map(|t| &**t))
    }
}

/// libpq's findings about what its own sslmode verifies, left out when another client's verdict
/// is asked for.
const LIBPQ_MODE_FINDINGS: [FindingCode; 4] = [
    FindingCode::ChainNotVerified,
    FindingCode::HostNameNotVerified,
    FindingCode::Plaintext,
    FindingCode::TlsNotOffered,
];

/// libpq's findings about its own verdict, kept as remarks when another client's is asked for.
const LIBPQ_VERDICT_FINDINGS: [FindingCode; 6] = [
    FindingCode::UntrustedCertificate,
    FindingCode::HostNameMismatch,
    FindingCode::HandshakeFailed,
    FindingCode::Rejected,
    FindingCode::Unreachable,
    FindingCode::Configuration,
];

/// libpq's verdict in the same form as the other clients', for `--client all`.
pub(crate) fn libpq_verdict(report: &TargetReport, equivalent: Option<&str>) -> ClientVerdict {
    ClientVerdict {
        name: Client::Libpq,
        models: Client::Libpq.models(),
        reference: Client::Libpq.reference(),
        mode: report.sslmode.as_str().to_string(),
        libpq_equivalent: equivalent.map(str::to_string),
        connects: report.libpq_connects,
        encrypted: report.encrypted,
        chain_verified: report.libpq_connects && report.trust.verified,
        host_name_verified: report.libpq_connects
            && matches!(
                report.host_name,
                Some(crate::tls::hostname::NameCheck::Matched { .. })
            ),
        exit_code: report.exit_code,
        error: (!report.libpq_connects).then(|| super::findings::failure(report)),
        summary: report.summary.clone(),
        unmodelled: Vec::new(),
        ignored: Vec::new(),
        custom_verification: None,
        trust: None,
    }
}

/// Whether libpq's verdict is the one judged: a libpq string (a driver's string is read as libpq
/// only to compare).
pub(crate) fn libpq_judged(asked: Option<&Asked>) -> bool {
    asked.is_none_or(|a| a.request.libpq_equivalent.is_none())
}

/// The connections the asked clients need besides libpq's: TLS for a client that starts with
/// it (direct if it negotiates so), plaintext for one that starts in plaintext. A client that
/// starts with TLS needs plaintext only if TLS fails it: [`needs_plain`] asks that later.
pub(crate) fn wire_needs(asked: &Asked) -> WireNeeds {
    let mut needs = WireNeeds::default();
    for (policy, _) in asked.clients().filter(|(p, _)| p.refused.is_none()) {
        needs.tls |= policy.order != Order::Plain;
        needs.plain |= matches!(policy.order, Order::Plain | Order::PlainThenTls);
        needs.direct |= policy.direct;
    }
    needs
}

/// The gate of the connections that gather facts for the clients (see
/// [`some_client_sends_password`]); without other clients, no such connection sends one.
pub(crate) fn password_gate<'a>(
    asked: Option<&'a Asked>,
    host: &'a str,
    now: UnixTime,
) -> impl Fn(Option<&[CertificateDer<'static>]>) -> bool + Sync + 'a {
    move |presented| asked.is_some_and(|a| some_client_sends_password(a, host, presented, now))
}

/// Whether any asked client, given the TLS facts, goes on to plaintext: then a plaintext
/// connection must be gathered too (a client that starts in plaintext always needs one).
pub(crate) fn needs_plain(asked: &Asked, host: &str, wire: &Wire, now: UnixTime) -> bool {
    // Only a client that starts with TLS decides this late: the others asked for plaintext
    // from the start.
    asked.clients().any(|(policy, trusted)| {
        policy.refused.is_none()
            && policy.order == Order::TlsThenPlain
            && matches!(run(policy, trusted, host, wire, now), Step::NeedPlain)
    })
}

/// Gives the asked clients' verdicts on a judged libpq report: their findings, and the exit
/// code and summary of the chosen client (for `all`, the first failing client's).
pub(crate) fn apply(
    report: &mut TargetReport,
    asked: &Asked,
    host: &str,
    wire: &Wire,
    now: UnixTime,
) {
    use crate::clients::ClientChoice;
    let request = &asked.request;
    let mut verdicts: Vec<ClientVerdict> = asked
        .clients()
        .map(|(policy, trusted)| {
            let mut v = verdict(policy, trusted, host, wire, now);
            v.libpq_equivalent = request.libpq_equivalent.clone();
            v
        })
        .collect();
    if request.choice.client().is_some() {
        // libpq's reading of its own sslmode is not this client's: its own findings say it.
        report
            .findings
            .retain(|f| !LIBPQ_MODE_FINDINGS.contains(&f.code));
        // libpq's verdict on the same settings stays, as a remark: this client's verdict is
        // the one that counts.
        for f in &mut report.findings {
            if LIBPQ_VERDICT_FINDINGS.contains(&f.code) {
                f.message = format!("libpq with the same settings: {}", f.message);
                f.severity = Severity::Info;
            }
        }
    }
    add_findings(report, &verdicts);
    match request.choice {
        ClientChoice::All => {
            verdicts.insert(
                0,
                libpq_verdict(report, request.libpq_equivalent.as_deref()),
            );
            if let Some(first) = verdicts.iter().find(|v| v.exit_code != Code::Ok) {
                report.exit_code = first.exit_code;
                report.summary = format!("{}: {}", first.name.name(), first.summary);
            } else {
                report.summary = format!("every client connects; libpq: {}", report.summary);
            }
        }
        choice => {
            if let Some(v) = verdicts.iter().find(|v| Some(v.name) == choice.client()) {
                report.driver_sslmode = Some(v.mode.clone());
                report.exit_code = v.exit_code;
                report.summary = format!("{}: {}", v.name.name(), v.summary);
            }
        }
    }
    report.client = request.choice;
    report.clients = verdicts;
}

/// How one transport ended for a client.
#[derive(Debug)]
enum Step {
    Connected {
        tls: bool,
        chain: bool,
        name: bool,
    },
    /// The server answered 'N' to SSLRequest.
    NoTls,
    /// The client goes on in plaintext, and no plaintext connection was gathered.
    NeedPlain,
    Failed {
        code: Code,
        message: String,
        /// Where the server refused the login: its SQLSTATE.
        sqlstate: Option<String>,
    },
}

fn failed(code: Code, message: impl Into<String>) -> Step {
    Step::Failed {
        code,
        message: message.into(),
        sqlstate: None,
    }
}

fn outcome_code(outcome: Option<Outcome>) -> Code {
    match outcome {
        Some(Outcome::Accepted) => Code::Ok,
        Some(Outcome::TlsNotOffered) => Code::TlsNotOffered,
        Some(Outcome::HandshakeFailed) => Code::HandshakeFailed,
        Some(Outcome::Untrusted) => Code::Untrusted,
        Some(Outcome::NameMismatch) => Code::NameMismatch,
        Some(Outcome::Rejected) => Code::Rejected,
        Some(Outcome::ConfigError) => Code::Usage,
        Some(Outcome::Unreachable) | None => Code::Unreachable,
    }
}

/// The server's answer once a transport is up: accepted, or refused with its SQLSTATE.
fn answered(a: &AttemptResult, tls: bool, chain: bool, name: bool) -> Step {
    match a.outcome {
        Some(Outcome::Accepted) => Step::Connected { tls, chain, name },
        outcome => Step::Failed {
            code: outcome_code(outcome),
            message: a
                .error
                .clone()
                .unwrap_or_else(|| "connection failed".into()),
            sqlstate: a.server_error.as_ref().map(|e| e.code.clone()),
        },
    }
}

fn plain_step(a: Option<&AttemptResult>) -> Step {
    let Some(a) = a else {
        return Step::NeedPlain;
    };
    if !a.connected {
        return failed(Code::Unreachable, a.error.clone().unwrap_or_default());
    }
    answered(a, false, false, false)
}

/// The client's words for a chain it refuses.
fn chain_message(client: Client, e: &ChainError) -> String {
    match client {
        Client::Pgjdbc | Client::Pgjdbc42_5 => match e {
            ChainError::Expired | ChainError::NotYetValid => "SSL error: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed".into(),
            ChainError::UnknownIssuer | ChainError::SelfSigned => "SSL error: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target".into(),
            other => format!("SSL error: PKIX path validation failed: {other}"),
        },
        Client::Asyncpg => format!("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {e}"),
        Client::Npgsql | Client::Npgsql9 => format!(
            "The remote certificate was rejected by the provided RemoteCertificateValidationCallback ({e})."
        ),
        Client::Pgx | Client::LibPq | Client::LibPq1_10 => match e {
            ChainError::Expired | ChainError::NotYetValid => {
                "tls: failed to verify certificate: x509: certificate has expired or is not yet valid".into()
            }
            ChainError::UnknownIssuer | ChainError::SelfSigned => {
                "tls: failed to verify certificate: x509: certificate signed by unknown authority".into()
            }
            other => format!("tls: failed to verify certificate: x509: {other}"),
        },
        Client::Sqlx => format!("error occurred while attempting to establish a TLS connection: invalid peer certificate: {e}"),
        Client::TokioPostgres => format!("error performing TLS handshake: certificate verify failed: {e}"),
        Client::NodePostgres | Client::Libpq => e.to_string(),
    }
}

/// Verifies the presented chain with the client's anchors and roots.
fn verify_chain(
    policy: &Policy,
    trusted: &Trusted,
    presented: &[CertificateDer<'static>],
    now: UnixTime,
) -> Result<bool, String> {
    let Some(verify) = &policy.verify else {
        return Ok(false);
    };
    let Some((leaf, rest)) = presented.split_first() else {
        return Err("the server presented no certificate".into());
    };
    let algorithms = crate::tls::provider().signature_verification_algorithms.all;
    let result = match (trusted, verify.anchors) {
        (Trusted::Unused | Trusted::Absent, _) => return Ok(false),
        (Trusted::Unreadable(message), _) => return Err(message.clone()),
        (Trusted::Store(store), Anchors::Pkix) => {
            chain::verify_pkix(store, leaf, rest, now, algorithms).map(|_| ())
        }
        (Trusted::Store(store), Anchors::OpenSsl) => {
            chain::verify(store, leaf, rest, now, algorithms).map(|_| ())
        }
        (Trusted::Store(store), Anchors::Go) => {
            match chain::validity_error(leaf, now).filter(|_| store.holds(leaf)) {
                Some(error) => Err(error),
                None => chain::verify_pkix(store, leaf, rest, now, algorithms).map(|_| ()),
            }
        }
        (Trusted::Store(store), Anchors::Webpki) => {
            let anchors = webpki_anchors(store.certificates());
            chain::path_to(&anchors, leaf, rest, now, algorithms, None).map(|_| ())
        }
        (Trusted::Mozilla(extra), Anchors::Webpki) => {
            let mut anchors: Vec<_> = webpki_roots::TLS_SERVER_ROOTS.to_vec();
            anchors.extend(webpki_anchors(extra.iter().flat_map(|e| e.certificates())));
            chain::path_to(&anchors, leaf, rest, now, algorithms, None).map(|_| ())
        }
        (Trusted::Mozilla(extra), _) => {
            let mut anchors: Vec<_> = webpki_roots::TLS_SERVER_ROOTS.to_vec();
            if let Some(extra) = extra {
                anchors.extend(
                    extra
                        .anchors
                        .iter()
                        .filter_map(|a| webpki::anchor_from_trusted_cert(a).ok()),
                );
            }
            match extra {
                Some(store) if store.anchors.iter().any(|a| a.as_ref() == leaf.as_ref()) => Ok(()),
                _ => chain::path_to(&anchors, leaf, rest, now, algorithms, None).map(|_| ()),
            }
        }
    };
    result
        .map(|()| true)
        .map_err(|e| chain_message(policy.client, &e))
}

/// Certificates as webpki's trust anchors (one that does not parse is left out).
fn webpki_anchors<'a>(
    certs: impl Iterator<Item = &'a CertificateDer<'static>>,
) -> Vec<rustls::pki_types::TrustAnchor<'a>> {
    certs
        .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
        .collect()
}

/// Whether a TLS connection's handshake ended before the server presented a certificate: for a
/// connection made with a stack's own groups, the server refused them.
pub(super) fn refused_groups(a: &AttemptResult) -> bool {
    a.connected
        && a.session.is_none()
        && a.outcome == Some(Outcome::HandshakeFailed)
        && a.seen.presented.is_empty()
}

/// The TLS transport: the server's answer to SSLRequest, the handshake, the client's checks of
/// the certificate, then the server's answer to the startup message.
fn tls_step(
    policy: &Policy,
    trusted: &Trusted,
    host: &str,
    a: Option<&AttemptResult>,
    now: UnixTime,
) -> Step {
    let Some(a) = a else {
        return failed(Code::Internal, "no TLS connection was made");
    };
    if !a.connected {
        return failed(Code::Unreachable, a.error.clone().unwrap_or_default());
    }
    if a.ssl_response == Some(b'N') {
        return Step::NoTls;
    }
    if a.session.is_none() {
        return failed(
            match a.outcome {
                Some(Outcome::Unreachable) => Code::Unreachable,
                Some(Outcome::TlsNotOffered) => Code::TlsNotOffered,
                _ => Code::HandshakeFailed,
            },
            a.error.clone().unwrap_or_default(),
        );
    }
    match certificate_checks(policy, trusted, host, &a.seen.presented, now) {
        Ok((chain, name)) => answered(a, true, chain, name),
        Err(step) => step,
    }
}

/// The client's checks of the chain a server presented: its roots and anchors, then its
/// host-name rules. Returns whether each was checked, or the step that ends the client there.
fn certificate_checks(
    policy: &Policy,
    trusted: &Trusted,
    host: &str,
    presented: &[CertificateDer<'static>],
    now: UnixTime,
) -> Result<(bool, bool), Step> {
    // lib/pq 1.10 checks the name it sent as SNI, and it sends none for an address.
    let rules = policy
        .verify
        .as_ref()
        .and_then(|v| v.names)
        .filter(|rules| {
            *rules != NameRules::GoSni
                || host
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_err()
        });
    let leaf = presented.first();
    let name_check = |rules: NameRules| {
        let der = leaf.map(|c| c.as_ref()).unwrap_or_default();
        names::check(rules, host, der)
    };
    // Go's `Certificate.Verify` checks the server certificate's own dates, then the name, then
    // the chain; the others the chain, then the name.
    let go_first = matches!(rules, Some(NameRules::Go | NameRules::GoSni));
    if let (true, Some(rules), Some(leaf)) = (go_first, rules, leaf) {
        if let Some(e) = chain::validity_error(leaf, now) {
            return Err(failed(Code::Untrusted, chain_message(policy.client, &e)));
        }
        name_check(rules).map_err(|message| failed(Code::NameMismatch, go_tls(&message)))?;
    }
    let chain = match verify_chain(policy, trusted, presented, now) {
        Ok(verified) => verified,
        Err(message) => {
            let code = match trusted {
                Trusted::Unreadable(_) => Code::Usage,
                _ => Code::Untrusted,
            };
            return Err(failed(code, message));
        }
    };
    let Some(rules) = rules else {
        return Ok((chain, false));
    };
    if !go_first {
        name_check(rules).map_err(|message| failed(Code::NameMismatch, message))?;
    }
    Ok((chain, true))
}

/// A Go x509 error as crypto/tls reports it.
fn go_tls(message: &str) -> String {
    format!("tls: failed to verify certificate: {message}")
}

/// Whether a client asked for would send the password on a connection to this server: over TLS
/// (`presented`, the chain the server presented), one that reaches it over TLS and whose own
/// checks pass that chain; in plaintext (`None`), one that may go on in plaintext. Connections
/// that gather facts for the clients verify nothing themselves, and send the password only then.
pub(crate) fn some_client_sends_password(
    asked: &Asked,
    host: &str,
    presented: Option<&[CertificateDer<'static>]>,
    now: UnixTime,
) -> bool {
    // A root file the client cannot read fails its checks here as it stops the client earlier.
    asked.clients().any(|(policy, trusted)| {
        policy.refused.is_none()
            && match presented {
                Some(chain) => {
                    policy.order != Order::Plain
                        && certificate_checks(policy, trusted, host, chain, now).is_ok()
                }
                None => policy.order != Order::Tls,
            }
    })
}

fn retries(rule: Retry, sqlstate: Option<&str>) -> bool {
    match rule {
        Retry::Never => false,
        Retry::AnyServerError => sqlstate.is_some(),
        Retry::Sqlstate28000 => sqlstate == Some("28000"),
        Retry::NotLoginFailures => {
            sqlstate.is_some_and(|code| !matches!(code, "28P01" | "3D000" | "42501"))
        }
    }
}

/// The client's verdict for one target: its transports in its order, with its fallbacks.
pub(crate) fn verdict(
    policy: &Policy,
    trusted: &Trusted,
    host: &str,
    wire: &Wire,
    now: UnixTime,
) -> ClientVerdict {
    let step = match &policy.refused {
        Some(message) => failed(Code::Usage, message.clone()),
        None => run(policy, trusted, host, wire, now),
    };
    let client = policy.client;
    let mut v = ClientVerdict {
        name: client,
        models: client.models(),
        reference: client.reference(),
        mode: policy.mode.clone(),
        libpq_equivalent: None,
        connects: false,
        encrypted: false,
        chain_verified: false,
        host_name_verified: false,
        exit_code: Code::Ok,
        error: None,
        summary: String::new(),
        unmodelled: policy.unmodelled.clone(),
        ignored: policy.ignored.clone(),
        custom_verification: policy.custom_verification.clone(),
        trust: None,
    };
    match step {
        Step::Connected { tls, chain, name } => {
            v.connects = true;
            v.encrypted = tls;
            v.chain_verified = chain;
            v.host_name_verified = name;
            v.trust = policy
                .verify
                .as_ref()
                .filter(|_| chain)
                .map(|verify| verify.roots.describe());
            v.summary = match (tls, chain, name) {
                (false, _, _) => "connects without encryption".into(),
                (true, true, true) => "connects with TLS, chain and host name verified".into(),
                (true, true, false) => {
                    "connects with TLS, chain verified, host name not checked".into()
                }
                (true, false, _) => "connects with TLS, certificate not verified".into(),
            };
        }
        Step::NoTls => {
            v.exit_code = Code::TlsNotOffered;
            v.error = Some(policy.no_tls_message.to_string());
        }
        Step::NeedPlain => {
            v.exit_code = Code::Internal;
            v.error = Some("no plaintext connection was made".into());
        }
        Step::Failed { code, message, .. } => {
            v.exit_code = code;
            v.error = Some(crate::sanitize::one_line(&message));
        }
    }
    if let Some(error) = &v.error {
        v.summary = format!("fails: {error}");
    }
    v
}

fn run(policy: &Policy, trusted: &Trusted, host: &str, wire: &Wire, now: UnixTime) -> Step {
    // A root file read before connecting stops the client there.
    if let (Trusted::Unreadable(message), Some(verify)) = (trusted, &policy.verify)
        && matches!(
            verify.roots,
            Roots::File {
                read: ReadWhen::BeforeConnecting,
                ..
            }
        )
    {
        return failed(Code::Usage, message.clone());
    }
    let offer = crate::tls::groups::stack(policy.client).current;
    let tls = || match wire.tls_for(&offer) {
        Some(a) if refused_groups(a) && wire.tls.as_ref().is_some_and(|t| t.session.is_some()) => {
            failed(
                Code::HandshakeFailed,
                format!(
                    "TLS handshake failed: the server accepts none of the key exchange groups {} offers ({})",
                    offer.stack,
                    offer.names().join(", ")
                ),
            )
        }
        a => tls_step(policy, trusted, host, a, now),
    };
    let plain = || plain_step(wire.plain.as_ref());
    let fallback = policy.fallback;
    match policy.order {
        Order::Plain => plain(),
        Order::Tls => match tls() {
            Step::NoTls => Step::NoTls,
            other => other,
        },
        Order::TlsThenPlain => match tls() {
            Step::NoTls => plain(),
            Step::Failed {
                code,
                message,
                sqlstate,
            } => {
                let again = match code {
                    Code::HandshakeFailed => fallback.on_handshake_failure,
                    Code::Untrusted | Code::NameMismatch => fallback.on_certificate_failure,
                    _ => retries(fallback.on_server_error, sqlstate.as_deref()),
                };
                match again {
                    true => plain(),
                    false => Step::Failed {
                        code,
                        message,
                        sqlstate,
                    },
                }
            }
            connected => connected,
        },
        Order::PlainThenTls => match plain() {
            Step::Failed {
                code,
                message,
                sqlstate,
            } if !retries(fallback.on_server_error, sqlstate.as_deref()) => Step::Failed {
                code,
                message,
                sqlstate,
            },
            Step::Failed { .. } => match tls() {
                Step::NoTls => Step::NoTls,
                other => other,
            },
            other => other,
        },
    }
}

/// How a client's verdict reads beside libpq's.
fn libpq_said(report: &TargetReport) -> String {
    match (report.libpq_connects, report.encrypted) {
        (true, true) => "libpq (psql) connects with TLS".into(),
        (true, false) => "libpq (psql) connects without encryption".into(),
        (false, _) => format!("libpq (psql) {}", report.summary),
    }
}

/// What to change, in the driver's own terms, when it fails or connects unverified.
fn fix(v: &ClientVerdict) -> Option<String> {
    let hint = match (v.name.base(), v.exit_code, v.connects) {
        (Client::Pgjdbc, Code::Untrusted, _) => {
            "give pgjdbc the CA that issued the server's chain: sslrootcert=/path/root.crt in the URL (LibPQFactory), or import it into the JVM truststore (pgtls roots --format pkcs12) with sslfactory=org.postgresql.ssl.DefaultJavaSSLFactory"
        }
        (Client::Pgjdbc, Code::NameMismatch, _) => {
            "connect by a name the certificate lists (see certificates[].sans), or use sslmode=verify-ca if only the CA should be checked"
        }
        (Client::Pgjdbc, Code::Usage, _) => {
            "pgjdbc reads sslrootcert (default ~/.postgresql/root.crt in the JVM's user.home) for verify-ca and verify-full"
        }
        (Client::Pgjdbc, _, true)
            if !v.chain_verified && v.mode.contains("NonValidatingFactory") =>
        {
            "sslfactory=org.postgresql.ssl.NonValidatingFactory accepts any chain (pgjdbc still checks the name under verify-full): remove it, and pgjdbc's default LibPQFactory verifies the chain against sslrootcert"
        }
        (Client::Pgjdbc, _, true) if !v.chain_verified => {
            "use sslmode=verify-full with sslrootcert: pgjdbc's require, prefer and allow never verify the certificate, even with a root file"
        }
        (Client::NodePostgres, Code::Untrusted, _) => {
            "pass the CA with sslrootcert=/path/root.crt (or ssl.ca in code); without it node-postgres trusts only Node's bundled public roots"
        }
        (Client::NodePostgres, Code::NameMismatch, _) => {
            "node-postgres 8 verifies the host name for every sslmode but disable and no-verify: connect by a name the certificate lists, or use uselibpqcompat=true&sslmode=verify-ca"
        }
        (Client::NodePostgres, Code::TlsNotOffered, _) => {
            "node-postgres never falls back to plaintext: turn TLS on at the server, or drop sslmode from the string"
        }
        (Client::NodePostgres, _, true) if !v.encrypted => {
            "node-postgres does not use TLS unless asked: add sslmode=verify-full (with sslrootcert for a private CA)"
        }
        (Client::NodePostgres, _, true) if !v.chain_verified => {
            "sslmode=no-verify (or uselibpqcompat with prefer/require) does not verify the certificate: use sslmode=verify-full"
        }
        (Client::Asyncpg, Code::Untrusted, _) => {
            "give asyncpg the CA that issued the server's chain: sslrootcert=/path/root.crt"
        }
        (Client::Asyncpg, Code::NameMismatch, _) => {
            "connect by a name the certificate lists, or use sslmode=verify-ca"
        }
        (Client::Asyncpg, _, true) if !v.encrypted => {
            "asyncpg's default is prefer: use sslmode=verify-full with sslrootcert"
        }
        (Client::Asyncpg, _, true) if !v.chain_verified => {
            "asyncpg's prefer never verifies (it ignores sslrootcert): use sslmode=verify-full with sslrootcert"
        }
        (Client::Npgsql, Code::Untrusted, _) => {
            "set Root Certificate=/path/root.crt (or install the CA in the system store)"
        }
        (Client::Npgsql, _, true) if !v.chain_verified => {
            "Npgsql's Prefer and Require do not validate the certificate: use SSL Mode=VerifyFull;Root Certificate=/path/root.crt"
        }
        (Client::Pgx | Client::LibPq, Code::Untrusted, _) => {
            "give the Go driver the CA that issued the server's chain: sslrootcert=/path/root.crt (without it, verify-ca and verify-full use Go's system roots: SSL_CERT_FILE, SSL_CERT_DIR)"
        }
        (Client::Pgx | Client::LibPq, Code::NameMismatch, _) => {
            "Go checks the subject alternative names only, never the CN: connect by a name the certificate lists as a SAN (an address as an IP SAN), or reissue the certificate with one"
        }
        (Client::Pgx, _, true) if !v.encrypted => {
            "pgx's prefer and allow go on in plaintext after a failed TLS attempt: use sslmode=verify-full with sslrootcert"
        }
        (Client::LibPq, _, true) if !v.encrypted => {
            "lib/pq's prefer goes on in plaintext after any TLS failure, a refused certificate included: use sslmode=verify-full with sslrootcert"
        }
        (Client::Pgx | Client::LibPq, _, true) if !v.chain_verified => {
            "use sslmode=verify-full with sslrootcert: this mode does not verify the certificate"
        }
        (Client::Sqlx, Code::Untrusted, _) => {
            "give sqlx the CA that issued the server's chain: ?sslrootcert=/path/root.crt (added to Mozilla's roots, which sqlx always trusts)"
        }
        (Client::Sqlx, Code::NameMismatch, _) => {
            "rustls checks the subject alternative names only, never the CN: connect by a name the certificate lists as a SAN, or reissue it with one"
        }
        (Client::Sqlx, _, true) if !v.encrypted => {
            "sqlx's default is prefer and its allow is disable: use sslmode=verify-full"
        }
        (Client::Sqlx, _, true) if !v.chain_verified => {
            "sqlx's prefer and require never verify the certificate, even with sslrootcert: use sslmode=verify-full"
        }
        (Client::TokioPostgres, Code::Untrusted, _) => {
            "give the TLS connector the CA that issued the server's chain (SslConnectorBuilder::set_ca_file, or SSL_CERT_FILE for OpenSSL's default store)"
        }
        (Client::TokioPostgres, Code::NameMismatch, _) => {
            "the connector checks the host name in every TLS mode: connect by a name the certificate lists"
        }
        (Client::TokioPostgres, _, true) if !v.encrypted => {
            "tokio-postgres's default is prefer: use sslmode=require (the connector then verifies the chain and the name)"
        }
        _ => return None,
    };
    Some(hint.to_string())
}

/// Findings for the other clients: where one's verdict differs from libpq's, and where one
/// connects without verifying the server.
fn add_findings(report: &mut TargetReport, verdicts: &[ClientVerdict]) {
    for v in verdicts.iter().filter(|v| v.name != Client::Libpq) {
        let same = v.connects == report.libpq_connects
            && v.encrypted == report.encrypted
            && v.exit_code == report.exit_code;
        let found = if !same {
            Some(client_differs(report, v))
        } else if v.connects && (!v.encrypted || !v.chain_verified) {
            Some(client_unverified(v))
        } else {
            None
        };
        report.findings.extend(found);
        if !v.unmodelled.is_empty() {
            report.findings.push(client_not_modelled(v));
        }
        if !v.ignored.is_empty() {
            report.findings.push(ignored_parameters(v));
        }
        if let Some(setting) = &v.custom_verification {
            report.findings.push(verification_not_modelled(v, setting));
        }
    }
}

/// `client_differs`: the client's verdict is not libpq's on the same server.
fn client_differs(report: &TargetReport, v: &ClientVerdict) -> Finding {
    let theirs = match (&v.error, v.encrypted) {
        (Some(e), _) => format!("will not connect: {e}"),
        (None, true) if !v.chain_verified => {
            "connects with TLS without verifying the certificate".into()
        }
        (None, true) => "connects with TLS".into(),
        (None, false) => "connects without encryption".into(),
    };
    let severity = match v.connects {
        true => Severity::Warning,
        false => Severity::Error,
    };
    Finding {
        severity,
        code: FindingCode::ClientDiffers,
        message: format!(
            "{}; {} ({}) {theirs}",
            libpq_said(report),
            v.name.name(),
            v.mode
        ),
        hint: fix(v),
    }
}

/// `client_unverified`: the client connects, as libpq does, without verifying or encrypting.
fn client_unverified(v: &ClientVerdict) -> Finding {
    let how = match v.encrypted {
        true => "with TLS without verifying the certificate",
        false => "without encryption",
    };
    Finding {
        severity: Severity::Warning,
        code: FindingCode::ClientUnverified,
        message: format!("{} ({}) connects {how}", v.name.name(), v.mode),
        hint: fix(v),
    }
}

/// `client_not_modelled`: settings of the client's string the model does not cover.
fn client_not_modelled(v: &ClientVerdict) -> Finding {
    Finding {
        severity: Severity::Info,
        code: FindingCode::ClientNotModelled,
        message: format!(
            "{}: not part of the model: {}",
            v.name.name(),
            v.unmodelled.join("; ")
        ),
        hint: None,
    }
}

/// `verification_not_modelled`: the driver's certificate checks are code pgtls cannot see, so
/// no verdict of its says whether the server is verified.
fn verification_not_modelled(v: &ClientVerdict, setting: &str) -> Finding {
    Finding {
        severity: Severity::Warning,
        code: FindingCode::VerificationNotModelled,
        message: format!(
            "{}: {setting} replaces the driver's certificate checks with code pgtls cannot see: this verdict does not say whether the chain and the host name are verified",
            v.name.name()
        ),
        hint: Some(
            "check that code's trust decisions yourself; gate CI with --fail-on warning, which exits 9 on this finding".into(),
        ),
    }
}

/// `ignored_parameter`: the driver's string has parameters the driver does not know, which it
/// ignores without a word: a misspelt `sslmode` leaves the connection unverified.
fn ignored_parameters(v: &ClientVerdict) -> Finding {
    Finding {
        severity: Severity::Warning,
        code: FindingCode::IgnoredParameter,
        message: format!(
            "{} ignores parameters it does not know, without a word: {}",
            v.name.name(),
            v.ignored.join(", ")
        ),
        hint: Some(format!(
            "spell them as {} does; the verdict is for the string without them",
            v.name.name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::{Fallback, Verify};

    fn policy(order: Order, fallback: Fallback) -> Policy {
        Policy {
            client: Client::Asyncpg,
            mode: "test".into(),
            order,
            verify: None,
            fallback,
            direct: false,
            reads_first: Vec::new(),
            refused: None,
            no_tls_message: "no TLS",
            unmodelled: Vec::new(),
            ignored: Vec::new(),
            custom_verification: None,
        }
    }

    fn attempt(
        tls: bool,
        ssl: Option<u8>,
        outcome: Outcome,
        sqlstate: Option<&str>,
    ) -> AttemptResult {
        AttemptResult {
            tls,
            connected: true,
            ssl_response: ssl,
            outcome: Some(outcome),
            error: (outcome != Outcome::Accepted).then(|| "refused".to_string()),
            session: (tls && ssl == Some(b'S') && outcome != Outcome::HandshakeFailed).then(|| {
                crate::report::TlsSession {
                    negotiation: crate::config::SslNegotiation::Postgres,
                    protocol: "TLSv1.3".into(),
                    cipher: "TLS_AES_256_GCM_SHA384".into(),
                    cipher_iana: "TLS_AES_256_GCM_SHA384".into(),
                    key_exchange_group: None,
                    hello_retry: false,
                    alpn: None,
                    sni: None,
                }
            }),
            server_error: sqlstate.map(|code| crate::probe::wire::ServerError {
                code: code.into(),
                ..Default::default()
            }),
            ..AttemptResult::default()
        }
    }

    #[test]
    fn transports_and_fallbacks_follow_the_policy() {
        let none = Fallback::NONE;
        let asyncpg_prefer = Fallback {
            on_handshake_failure: true,
            on_certificate_failure: false,
            on_server_error: Retry::AnyServerError,
        };
        let jdbc = Fallback {
            on_server_error: Retry::Sqlstate28000,
            ..Fallback::NONE
        };
        let ok_tls = attempt(true, Some(b'S'), Outcome::Accepted, None);
        let no_tls = attempt(true, Some(b'N'), Outcome::Accepted, None);
        let broken = attempt(true, Some(b'S'), Outcome::HandshakeFailed, None);
        let hba_tls = attempt(true, Some(b'S'), Outcome::Rejected, Some("28000"));
        let auth_tls = attempt(true, Some(b'S'), Outcome::Rejected, Some("28P01"));
        let ok_plain = attempt(false, None, Outcome::Accepted, None);
        let hba_plain = attempt(false, None, Outcome::Rejected, Some("28000"));
        // (what, order, fallback, tls facts, plain facts, connects, encrypted, exit code)
        let table = [
            (
                "TLS only: accepted",
                Order::Tls,
                none,
                &ok_tls,
                &ok_plain,
                true,
                true,
                0,
            ),
            (
                "TLS only: 'N' is refused",
                Order::Tls,
                none,
                &no_tls,
                &ok_plain,
                false,
                false,
                4,
            ),
            (
                "prefer: 'N' goes on in plaintext",
                Order::TlsThenPlain,
                none,
                &no_tls,
                &ok_plain,
                true,
                false,
                0,
            ),
            (
                "prefer: a broken handshake retries in plaintext",
                Order::TlsThenPlain,
                asyncpg_prefer,
                &broken,
                &ok_plain,
                true,
                false,
                0,
            ),
            (
                "prefer without that rule: a broken handshake fails",
                Order::TlsThenPlain,
                jdbc,
                &broken,
                &ok_plain,
                false,
                false,
                5,
            ),
            (
                "pgjdbc prefer: 28000 over TLS retries in plaintext",
                Order::TlsThenPlain,
                jdbc,
                &hba_tls,
                &ok_plain,
                true,
                false,
                0,
            ),
            (
                "pgjdbc prefer: a wrong password does not",
                Order::TlsThenPlain,
                jdbc,
                &auth_tls,
                &ok_plain,
                false,
                false,
                8,
            ),
            (
                "allow: plaintext first",
                Order::PlainThenTls,
                jdbc,
                &ok_tls,
                &ok_plain,
                true,
                false,
                0,
            ),
            (
                "allow: 28000 in plaintext retries with TLS",
                Order::PlainThenTls,
                jdbc,
                &ok_tls,
                &hba_plain,
                true,
                true,
                0,
            ),
            (
                "allow without a retry rule: fails",
                Order::PlainThenTls,
                none,
                &ok_tls,
                &hba_plain,
                false,
                false,
                8,
            ),
            (
                "plaintext only",
                Order::Plain,
                none,
                &ok_tls,
                &hba_plain,
                false,
                false,
                8,
            ),
        ];
        for (what, order, fallback, tls, plain, connects, encrypted, code) in table {
            let wire = Wire {
                tls: Some(tls.clone()),
                plain: Some(plain.clone()),
                by_offer: Vec::new(),
            };
            let v = verdict(
                &policy(order, fallback),
                &Trusted::Unused,
                "localhost",
                &wire,
                UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_800_000_000)),
            );
            assert_eq!(
                (v.connects, v.encrypted, v.exit_code as u8),
                (connects, encrypted, code),
                "{what}"
            );
        }
    }

    #[test]
    fn a_root_file_read_before_connecting_stops_the_client_there() {
        let mut p = policy(Order::Tls, Fallback::NONE);
        p.verify = Some(Verify {
            roots: Roots::File {
                path: "/nope".into(),
                read: ReadWhen::BeforeConnecting,
                missing: Some("gone"),
            },
            anchors: Anchors::OpenSsl,
            names: None,
        });
        let v = verdict(
            &p,
            &Trusted::Unreadable("gone: /nope".into()),
            "h",
            &Wire::default(),
            UnixTime::now(),
        );
        assert_eq!(v.exit_code, Code::Usage);
        assert_eq!(v.error.as_deref(), Some("gone: /nope"));
    }
}

//! Findings with hints, and the one-line summary, derived from a target's attempts. Each finding
//! says what happened, why, and the next step.

use crate::config::{Options, RootCert, SslMode};
use crate::probe::AttemptResult;
use crate::profiles::Profiles;
use crate::report::FindingCode;
use crate::report::{Finding, Outcome, Severity, TargetReport};
use crate::tls::chain::ChainError;
use crate::tls::diagnose::DiagnosisSource;

pub(super) fn push(
    report: &mut TargetReport,
    severity: Severity,
    code: FindingCode,
    message: String,
    hint: Option<String>,
) {
    report.findings.push(Finding {
        severity,
        code,
        message,
        hint,
    });
}

/// A finding with a hint, for the constructors of one code each.
pub(super) fn finding(
    severity: Severity,
    code: FindingCode,
    message: String,
    hint: &str,
) -> Finding {
    Finding {
        severity,
        code,
        message,
        hint: Some(hint.to_string()),
    }
}

/// `configuration`: a local setting or file stopped the check.
pub(super) fn configuration(severity: Severity, message: String, hint: Option<String>) -> Finding {
    Finding {
        severity,
        code: FindingCode::Configuration,
        message,
        hint,
    }
}

/// `channel_binding_impossible`: `channel_binding=require` cannot succeed (`message` says why).
pub(super) fn channel_binding_impossible(
    severity: Severity,
    message: String,
    hint: &str,
) -> Finding {
    finding(
        severity,
        FindingCode::ChannelBindingImpossible,
        message,
        hint,
    )
}

/// `protocol_negotiation_broken`: the server does not negotiate what it does not speak.
pub(super) fn protocol_negotiation_broken(message: String, hint: &str) -> Finding {
    finding(
        Severity::Warning,
        FindingCode::ProtocolNegotiationBroken,
        message,
        hint,
    )
}

/// `internal_error`: a check that failed inside pgtls.
pub(super) fn internal_error(message: String) -> Finding {
    Finding {
        severity: Severity::Error,
        code: FindingCode::InternalError,
        message,
        hint: None,
    }
}

/// `server_view_differs`: the server sees another TLS session than the client negotiated.
fn server_view_differs(report: &mut TargetReport, message: String) {
    push(
        report,
        Severity::Warning,
        FindingCode::ServerViewDiffers,
        message,
        None,
    );
}

fn root_file(options: &Options) -> String {
    match &options.root_cert {
        RootCert::File { path, .. } => path.display().to_string(),
        RootCert::System => "the system trust store".into(),
        RootCert::NoHomeDirectory => "~/.postgresql/root.crt".into(),
    }
}

/// Adds every finding for one target that its attempts, chain and login call for; certificate
/// expiry and the audit's findings are added by the caller.
pub(crate) fn add(
    options: &Options,
    attempts: &[AttemptResult],
    report: &mut TargetReport,
    profiles: &Profiles,
) {
    // A failure that libpq recovers from (prefer's plaintext retry) is a warning, not an error.
    let failure = if report.libpq_connects {
        Severity::Warning
    } else {
        Severity::Error
    };
    for attempt in attempts {
        let Some(error) = attempt.error.clone() else {
            continue;
        };
        match attempt.outcome {
            Some(Outcome::Untrusted) => {
                let reason = attempt.seen.chain.as_ref().and_then(|c| c.as_ref().err());
                untrusted(options, report, failure, error, (reason, profiles));
            }
            Some(Outcome::NameMismatch) => {
                let hint = mismatch_hint(report, profiles);
                push(report, failure, FindingCode::HostNameMismatch, error, Some(hint));
            }
            Some(Outcome::TlsNotOffered) => push(
                report,
                failure,
                FindingCode::TlsNotOffered,
                error,
                Some("enable TLS on the server (ssl = on in postgresql.conf, with ssl_cert_file and ssl_key_file), or check for a proxy that does not pass SSLRequest through".into()),
            ),
            Some(Outcome::HandshakeFailed) => {
                let hint = if options.ssl_min_protocol_version < Some(crate::config::TlsVersion::Tls12) {
                    Some("pgtls speaks TLS 1.2 and 1.3 only; a libpq client allowed older versions by ssl_min_protocol_version might still connect".into())
                } else {
                    Some("compare the server's ssl_min_protocol_version, ssl_max_protocol_version, ssl_ciphers and ssl_groups (ssl_ecdh_curve before PostgreSQL 18) with what the client allows; pgtls offers libpq's key exchange groups on OpenSSL 3.5 (X25519MLKEM768, X25519, P-256, P-384, P-521), and --audit lists the ones the server accepts".into())
                };
                push(report, failure, FindingCode::HandshakeFailed, error, hint);
            }
            Some(Outcome::Rejected) => {
                let hint = rejected_hint(attempt);
                push(report, failure, FindingCode::Rejected, error, hint);
            }
            Some(Outcome::Unreachable) => {
                push(report, failure, FindingCode::Unreachable, error, None);
            }
            // A root file that cannot be used: `unusable_roots` reports it, with the fix.
            Some(Outcome::ConfigError) if attempt.root_error.is_some() => {}
            Some(Outcome::ConfigError) => report.findings.push(configuration(failure, error, None)),
            Some(Outcome::Accepted) | None => {}
        }
    }
    fallback(options, attempts, report);
    cross_signed(report);
    login(report);
    exposure(options, report);
}

/// What to do about a name the certificate does not hold: the provider's rule for certificates
/// named by CN only, or the names it holds and the ways to use one.
fn mismatch_hint(report: &TargetReport, profiles: &Profiles) -> String {
    let names = report
        .certificates
        .first()
        .map(|c| c.sans.join(", "))
        .unwrap_or_default();
    let cn_only = super::provider::profile_of(report, profiles).and_then(|p| p.cn_only.clone());
    if let Some(rule) = cn_only.filter(|_| names.is_empty()) {
        return rule;
    }
    if names.is_empty() {
        return format!(
            "the certificate has no subject alternative names; reissue it with a DNS SAN for \"{}\"",
            report.host
        );
    }
    let wildcard = if names.contains("*.") {
        " (a `*.` name covers one label)"
    } else {
        ""
    };
    format!(
        "the certificate is valid for: {names}; connect with one of these names{wildcard}, or keep host= one of them and put the address in hostaddr=, or reissue the certificate with a SAN for \"{}\"",
        report.host
    )
}

/// What to do about a refusal that names pg_hba.conf (the server's own words, not ours).
fn rejected_hint(attempt: &AttemptResult) -> Option<String> {
    // invalid_password: docs/troubleshooting.md's fix.
    if attempt
        .server_error
        .as_ref()
        .is_some_and(|e| e.code == "28P01")
    {
        return Some(
            "the server refused the password: fix password=, PGPASSWORD or ~/.pgpass (pgtls explain shows which one libpq sends, never its value)"
                .to_string(),
        );
    }
    let pg_hba = attempt
        .server_error
        .as_ref()
        .is_some_and(|e| e.message.contains("pg_hba.conf"));
    let hint = match attempt.tls {
        true => {
            "pg_hba.conf has no line for this connection over TLS: add a hostssl (or host) line for this user, database and address"
        }
        false => {
            "pg_hba.conf has no line for this connection without TLS: connect with TLS, or add a hostnossl (or host) line"
        }
    };
    pg_hba.then(|| hint.to_string())
}

/// How a hint names a profile's roots, and the `pgtls roots` arguments that write them.
fn profile_words(name: &str, profiles: &Profiles) -> (String, String) {
    match profiles.find(name) {
        Some(p) => (p.roots_phrase(), p.selector()),
        None => (
            format!("profile {name}'s roots"),
            format!("--profile {name}"),
        ),
    }
}

/// The trust sources of the diagnosis that verify the chain, each with the subject of the root it
/// ended at: the profile of the provider the host was recognised as first, then the diagnosis's
/// order.
fn verifying(report: &TargetReport) -> Vec<(DiagnosisSource, String)> {
    let mut found: Vec<(DiagnosisSource, String)> = report
        .trust
        .diagnosis
        .iter()
        .filter(|d| d.verified)
        .map(|d| (d.source.clone(), d.anchor.clone().unwrap_or_default()))
        .collect();
    if let Some(provider) = &report.provider {
        found.sort_by_key(|(source, _)| {
            !matches!(source, DiagnosisSource::Profile(name) if *name == provider.profile)
        });
    }
    found
}

/// `configuration` for a root file that cannot be used under a mode that needs it: libpq's
/// message, and the one command that makes the right file, from the trust diagnosis of the chain
/// the server presented. It fails the check (exit 2) once the server was reached; when it was
/// not, the attempt's own failure stands and this is said beside it.
pub(super) fn unusable_roots(
    options: &Options,
    attempts: &[AttemptResult],
    error: &crate::tls::RootError,
    report: &mut TargetReport,
    profiles: &Profiles,
) {
    if options.sslmode < SslMode::Require && attempts.iter().all(|a| a.root_error.is_none()) {
        return;
    }
    let hint = match tilde(options, error) {
        Some(tilde) => tilde,
        None => make_root_file(options, error, report, profiles),
    };
    let reached = attempts.iter().any(|a| a.root_error.is_some());
    let severity = if reached && !report.libpq_connects {
        Severity::Error
    } else {
        Severity::Warning
    };
    let message = if reached {
        error.to_string()
    } else {
        format!("{error} (found before the server could be reached)")
    };
    report
        .findings
        .push(configuration(severity, message, Some(hint)));
}

/// A missing root file named with `~`, which libpq does not expand (it looks for a folder named
/// `~` in the current directory): the path it meant.
fn tilde(options: &Options, error: &crate::tls::RootError) -> Option<String> {
    let crate::tls::RootError::Missing(path) = error else {
        return None;
    };
    let rest = path.to_str()?.strip_prefix("~/")?;
    let meant = match &options.home {
        Some(home) => format!(": write sslrootcert={}", home.join(rest).display()),
        None => ": write the full path".to_string(),
    };
    Some(format!(
        "libpq does not expand ~ in sslrootcert (it looks for a folder named \"~\" in the current directory){meant}"
    ))
}

/// How to make the root file that could not be used, from what verifies the chain.
fn make_root_file(
    options: &Options,
    error: &crate::tls::RootError,
    report: &TargetReport,
    profiles: &Profiles,
) -> String {
    use crate::tls::RootError;
    let path = root_file(options);
    let write = match error {
        RootError::Unreadable { .. } => format!("--force -o {path}"),
        _ => format!("-o {path}"),
    };
    let verifies = verifying(report);
    let from = |wanted: fn(&DiagnosisSource) -> bool| verifies.iter().find(|(s, _)| wanted(s));
    let top = report.certificates.last();
    if let Some((DiagnosisSource::Profile(name), anchor)) =
        from(|s| matches!(s, DiagnosisSource::Profile(_)))
    {
        let (phrase, selector) = profile_words(name, profiles);
        format!(
            "the chain verifies against {phrase} (at \"{anchor}\"): pgtls roots {selector} {write}"
        )
    } else if let Some((_, anchor)) = from(|s| *s == DiagnosisSource::System) {
        format!(
            "the chain verifies against the system trust store (at \"{anchor}\"): use sslrootcert=system"
        )
    } else if let Some((_, anchor)) = from(|s| *s == DiagnosisSource::Mozilla) {
        format!(
            "the chain is publicly trusted (Mozilla's root \"{anchor}\"): add that root to {path}, or use sslrootcert=system where this machine's store holds it"
        )
    } else if let Some(download) = super::provider::download_hint(report, profiles) {
        download
    } else if report.certificates.is_empty() {
        format!(
            "create {path} with the root CA that issued the server's certificate (pgtls roots --profile NAME {write} for a provider's roots; pgtls roots lists them)"
        )
    } else if report.certificates.len() == 1 && top.is_some_and(|c| c.self_signed) {
        format!(
            "the server's certificate is self-signed; if you trust it, save it as the root file: add --save-chain {path} to this command"
        )
    } else if let Some(root) = top.filter(|c| c.self_signed) {
        format!(
            "the server sends its root \"{}\"; if you trust it, put that certificate alone in {path} (--save-chain FILE saves the chain the server presented)",
            root.subject
        )
    } else {
        let issuer = top.map_or("the server's CA".to_string(), |c| {
            format!("\"{}\"", c.issuer)
        });
        format!(
            "no trust store pgtls knows verifies this chain: get the certificate of the root CA that issued {issuer} from the server's operator and save it as {path}"
        )
    }
}

fn untrusted(
    options: &Options,
    report: &mut TargetReport,
    severity: Severity,
    error: String,
    (reason, profiles): (Option<&ChainError>, &Profiles),
) {
    let top = report.certificates.last();
    let verifies = verifying(report);
    let fix = add_root(options, &verifies, profiles);
    let public = verifies
        .iter()
        .find(|(source, _)| *source == DiagnosisSource::Mozilla)
        .map(|(_, anchor)| anchor.clone());
    let hint = if let Some(fix) = fix {
        fix
    } else if let Some(download) = super::provider::download_hint(report, profiles) {
        download
    } else if matches!(reason, Some(ChainError::Expired | ChainError::NotYetValid)) {
        out_of_period(options, report)
    } else if reason == Some(&ChainError::SelfSigned) && report.certificates.len() == 1 {
        format!(
            "the server's certificate is self-signed; add it to {} if you trust it",
            root_file(options)
        )
    } else if reason == Some(&ChainError::NoCrl) {
        "every certificate of the chain needs a CRL from its issuer once sslcrl or sslcrldir is set; add the missing CRL or remove the setting".to_string()
    } else if let Some(anchor) = public {
        format!(
            "the chain is publicly trusted (Mozilla's root \"{anchor}\"): add that root to {}",
            root_file(options)
        )
    } else if let Some(root) = top.filter(|c| c.self_signed && report.certificates.len() > 1) {
        // The server sends its root: that root is the one missing, not its issuer.
        format!(
            "{0} does not hold the server's root \"{1}\" (the server sends it); add that root to {0} if you trust it",
            root_file(options),
            root.subject
        )
    } else {
        let issuer = top.map_or("the server's CA".to_string(), |c| {
            format!("\"{}\"", c.issuer)
        });
        format!(
            "{} does not lead to a root it trusts; add the root CA that issued {issuer} to it (only roots are anchors; an intermediate alone is not)",
            root_file(options)
        )
    };
    // require, prefer and allow verify nothing unless a root file exists; then libpq verifies
    // the chain as verify-ca does, which surprises whoever chose require.
    let hint = if options.sslmode < SslMode::VerifyCa {
        format!(
            "{} exists, so sslmode={} verifies the chain as verify-ca does (libpq's rule for a root file); {hint}",
            root_file(options),
            options.sslmode
        )
    } else {
        hint
    };
    push(
        report,
        severity,
        FindingCode::UntrustedCertificate,
        error,
        Some(hint),
    );
}

/// The fix where a source of the trust diagnosis verifies the chain: a profile's roots to add to
/// the root file, or the system store.
fn add_root(
    options: &Options,
    verifies: &[(DiagnosisSource, String)],
    profiles: &Profiles,
) -> Option<String> {
    verifies.iter().find_map(|(source, anchor)| match source {
        DiagnosisSource::Profile(profile) => {
            let (phrase, selector) = profile_words(profile, profiles);
            Some(format!(
                "the chain verifies against {phrase} (at \"{anchor}\"): pgtls roots {selector} --append -o {}",
                root_file(options)
            ))
        }
        DiagnosisSource::System => Some(format!(
            "the chain verifies against the system trust store (at \"{anchor}\"): use sslrootcert=system, or add that root to {}",
            root_file(options)
        )),
        _ => None,
    })
}

/// The hint for a chain refused for a validity period: which certificates expired, or, when
/// every one presented is in its period, that the root anchoring them is not.
fn out_of_period(options: &Options, report: &TargetReport) -> String {
    let which: Vec<String> = report
        .certificates
        .iter()
        .filter(|c| c.days_left < 0)
        .map(|c| {
            format!(
                "\"{}\" expired on {} ({} ago)",
                c.subject,
                &c.not_after[..10],
                crate::certinfo::days(-c.days_left)
            )
        })
        .collect();
    if !which.is_empty() {
        return format!("{}; renew it on the server", which.join("; "));
    }
    match &options.root_cert {
        RootCert::File { path, .. } => format!(
            "the certificates the server presented are within their validity periods, so the root in {0} that anchors them is not: replace it (pgtls inspect {0} shows each root's dates), or check this machine's clock",
            path.display()
        ),
        _ => "the certificates the server presented are within their validity periods, so the root that anchors them is not; check this machine's clock".to_string(),
    }
}

fn fallback(options: &Options, attempts: &[AttemptResult], report: &mut TargetReport) {
    let last = attempts.last();
    let fell_back = options.sslmode == SslMode::Prefer && attempts.len() > 1;
    if report.libpq_connects
        && !report.encrypted
        && report.kind != crate::config::HostKind::UnixSocket
    {
        let message = if fell_back {
            "TLS failed, so a libpq client with sslmode=prefer connects again without encryption"
                .to_string()
        } else if attempts
            .first()
            .is_some_and(|a| a.ssl_response == Some(b'N'))
        {
            "the server does not offer TLS: a libpq client with this sslmode connects without encryption".to_string()
        } else {
            format!(
                "with sslmode={} a libpq client connects without encryption",
                options.sslmode
            )
        };
        push(
            report,
            Severity::Warning,
            FindingCode::Plaintext,
            message,
            Some("use sslmode=verify-full (with sslrootcert) so that clients never fall back to plaintext".into()),
        );
    }
    if report.kind == crate::config::HostKind::UnixSocket && last.is_some() {
        push(
            report,
            Severity::Info,
            FindingCode::UnixSocket,
            "a Unix-domain socket: libpq never uses TLS there, whatever sslmode says".into(),
            None,
        );
    }
}

/// A target libpq chose by default (no host or hostaddr anywhere) that could not be reached:
/// the user probably meant a server, and the hint says that none was named.
pub(super) fn no_host(report: &mut TargetReport) {
    if report.libpq_connects {
        return;
    }
    let hint = format!(
        "no host was given (no host= in the string, no PGHOST in the environment), so libpq tried its default socket directory {}: to check a server over TCP and TLS, give host=NAME or set PGHOST",
        report.host
    );
    for finding in &mut report.findings {
        if finding.code == FindingCode::Unreachable && finding.hint.is_none() {
            finding.hint = Some(hint.clone());
        }
    }
}

/// The OAuth issuer's endpoint as libpq's flow would reach it: one that does not verify, or whose
/// document names another issuer, fails that flow after the database connection was fine.
fn oauth_issuer(report: &mut TargetReport, oauth: Option<&crate::report::OAuthLogin>) {
    let Some(endpoint) = oauth.and_then(|o| o.issuer.as_ref()) else {
        return;
    };
    if let Some(error) = &endpoint.error {
        let trust = endpoint
            .trust
            .as_deref()
            .unwrap_or("the system trust store");
        push(
            report,
            Severity::Error,
            FindingCode::OAuthIssuerUnverified,
            format!(
                "the OAuth issuer's endpoint {} cannot be used as libpq's OAuth flow would use it: {error}",
                endpoint.url
            ),
            Some(format!(
                "libpq's flow (libcurl) verifies the issuer's chain against {trust} and its host name; give the issuer a certificate that does, or fix the issuer URL the server advertises (oauth_issuer in pg_hba.conf)"
            )),
        );
        return;
    }
    if let (Some(named), Some(url)) = (
        &endpoint.document_issuer,
        oauth.and_then(|o| o.discovery_uri.as_deref()),
    ) {
        let expected =
            crate::probe::oauth::issuer_from_well_known_uri(url, true).unwrap_or_default();
        if *named != expected {
            push(
                report,
                Severity::Error,
                FindingCode::OAuthIssuerUnverified,
                format!(
                    "the discovery document at {url} names the issuer \"{named}\", not \"{expected}\": libpq's OAuth flow refuses it"
                ),
                Some("the document's issuer must equal the issuer identifier its URL stands for (RFC 8414)".into()),
            );
        }
    }
}

fn login(report: &mut TargetReport) {
    let Some(login) = report.login.clone() else {
        return;
    };
    if let Some(stopped) = &login.stopped
        && login.method.as_deref() == Some("OAUTHBEARER")
    {
        let hint = match &login.oauth {
            None => Some("set oauth_issuer and oauth_client_id (libpq 18) as the application does, and pgtls follows the discovery and checks the issuer's HTTPS endpoint".to_string()),
            Some(_) => None,
        };
        push(
            report,
            Severity::Info,
            FindingCode::NotLoggedIn,
            format!("{stopped}; the TLS verdict stands"),
            hint,
        );
        oauth_issuer(report, login.oauth.as_ref());
    } else if let Some(stopped) = &login.stopped {
        let method = login.method.clone().unwrap_or_default();
        push(
            report,
            Severity::Info,
            FindingCode::NotLoggedIn,
            format!(
                "the server asks for {method}; {stopped}, so pgtls stops there and the TLS verdict stands"
            ),
            Some(
                "give a password (password=, PGPASSWORD or ~/.pgpass) to check the login as well"
                    .into(),
            ),
        );
    }
    let (Some(server), true) = (&login.server_tls, login.authenticated) else {
        return;
    };
    match (&report.tls, report.encrypted) {
        (Some(tls), true) => {
            let differs = server.version.as_deref() != Some(tls.protocol.as_str())
                || server.cipher.as_deref() != Some(tls.cipher.as_str());
            if !server.ssl || differs {
                let seen = format!(
                    "{} {}",
                    server.version.as_deref().unwrap_or("no TLS"),
                    server.cipher.as_deref().unwrap_or("")
                );
                let message = format!(
                    "the server sees {} where the client negotiated {} {}: something between them (a proxy or load balancer) terminates TLS",
                    seen.trim(),
                    tls.protocol,
                    tls.cipher
                );
                server_view_differs(report, message);
            }
        }
        _ if server.ssl => server_view_differs(
            report,
            "the server sees TLS on a connection the client made without it: a proxy in between encrypts it".into(),
        ),
        _ => {}
    }
}

fn cross_signed(report: &mut TargetReport) {
    let paths: Vec<String> = report
        .trust
        .diagnosis
        .iter()
        .filter(|d| d.verified)
        .map(|d| {
            let mut hops = d.path.clone();
            hops.extend(d.anchor.clone());
            format!("{}: {}", d.source, hops.join(" -> "))
        })
        .collect();
    let found: Vec<(String, String)> = report
        .trust
        .cross_signed
        .iter()
        .map(|c| (c.subject.clone(), c.issuer.clone()))
        .collect();
    for (subject, issuer) in found {
        let message = format!(
            "the server presents \"{subject}\" cross-signed by \"{issuer}\": verification may end at either root, so clients that know different roots build different paths"
        );
        let hint = (!paths.is_empty()).then(|| format!("paths found: {}", paths.join("; ")));
        push(
            report,
            Severity::Info,
            FindingCode::CrossSigned,
            message,
            hint,
        );
    }
}

fn exposure(options: &Options, report: &mut TargetReport) {
    if !report.encrypted {
        return;
    }
    if !report.trust.checked {
        push(
            report,
            Severity::Warning,
            FindingCode::ChainNotVerified,
            format!("sslmode={} without a root file does not verify the server's certificate: anyone in the path can impersonate the server", options.sslmode),
            Some("use sslmode=verify-full with sslrootcert=FILE (or sslrootcert=system for publicly trusted servers)".into()),
        );
    } else if options.sslmode < SslMode::VerifyFull {
        let mode_note = if options.sslmode == SslMode::VerifyCa {
            "sslmode=verify-ca".to_string()
        } else {
            format!(
                "sslmode={} verifies the chain because {} exists (libpq then acts as verify-ca), but",
                options.sslmode,
                root_file(options)
            )
        };
        push(
            report,
            Severity::Info,
            FindingCode::HostNameNotVerified,
            format!(
                "{mode_note} does not check the host name: any certificate from a trusted CA is accepted"
            ),
            Some(to_verify_full(report)),
        );
    }
}

/// The advice to move to verify-full, once it is known whether verify-full would connect: the
/// certificate's names checked against the host as libpq would check them.
fn to_verify_full(report: &TargetReport) -> String {
    use crate::tls::hostname::{self, NameCheck};
    let check = report
        .presented
        .first()
        .map(|leaf| hostname::check_leaf(&report.host, leaf));
    match check {
        Some(NameCheck::Mismatch { message, names }) => format!(
            "sslmode=verify-full would fail here ({message}): connect with a name the certificate holds ({}), or have the certificate reissued with \"{}\" among its names; then use sslmode=verify-full",
            names.join(", "),
            report.host
        ),
        Some(NameCheck::Error { message }) => format!(
            "sslmode=verify-full would fail here ({message}): have the certificate reissued with \"{}\" among its names, then use sslmode=verify-full",
            report.host
        ),
        Some(NameCheck::Matched { name, .. }) => format!(
            "use sslmode=verify-full: the certificate names \"{name}\", so the host name check passes"
        ),
        None => "use sslmode=verify-full".into(),
    }
}

/// One line that says what a libpq client experiences.
pub(crate) fn summary(report: &TargetReport) -> String {
    if report.libpq_connects {
        return match (&report.tls, report.trust.verified, &report.host_name) {
            (Some(tls), true, Some(_)) => format!(
                "connects with {} ({}), chain and host name verified",
                tls.protocol, tls.cipher
            ),
            (Some(tls), true, None) => format!(
                "connects with {} ({}), chain verified, host name not checked",
                tls.protocol, tls.cipher
            ),
            (Some(tls), false, _) if report.encrypted => format!(
                "connects with {} ({}), certificate not verified",
                tls.protocol, tls.cipher
            ),
            _ => "connects without encryption".to_string(),
        };
    }
    // A login refused over TLS: what TLS established still holds, and the user should know
    // the problem is not there.
    let refused_over_tls = report
        .attempts
        .iter()
        .find(|a| a.outcome != Outcome::Accepted && a.error.is_some())
        .is_some_and(|a| a.outcome == Outcome::Rejected && a.tls);
    match (&report.tls, report.trust.verified, &report.host_name) {
        (Some(tls), verified, name) if refused_over_tls => {
            let trust = match (verified, name) {
                (true, Some(_)) => "chain and host name verified",
                (true, None) => "chain verified",
                (false, _) => "certificate not verified",
            };
            format!(
                "fails: {} (after {} ({}), {trust})",
                failure(report),
                tls.protocol,
                tls.cipher
            )
        }
        _ => format!("fails: {}", failure(report)),
    }
}

/// Why libpq does not connect, on one line: the first failed attempt's error.
pub(crate) fn failure(report: &TargetReport) -> String {
    let error = report
        .attempts
        .iter()
        .find(|a| a.outcome != Outcome::Accepted && a.error.is_some())
        .and_then(|a| a.error.clone())
        .unwrap_or_else(|| "connection failed".into());
    crate::sanitize::one_line(&error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Provider;
    use crate::tls::diagnose::Diagnosis;

    fn verified(source: DiagnosisSource) -> Diagnosis {
        Diagnosis {
            source,
            verified: true,
            anchor: Some("CN=DigiCert Global Root G2".into()),
            path: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn the_recognised_providers_profile_comes_first_among_the_sources_that_verify() {
        let cases = [
            (None, "system"),
            (Some("azure"), "profile:azure"),
            (Some("cosmos"), "profile:cosmos"),
            (Some("neon"), "system"),
        ];
        for (provider, first) in cases {
            let mut report = crate::judge::invalid(0, "test", "unused", None);
            report.trust.diagnosis = vec![
                verified(DiagnosisSource::System),
                verified(DiagnosisSource::Profile("azure".into())),
                verified(DiagnosisSource::Profile("cosmos".into())),
            ];
            report.provider = provider.map(|name: &str| Provider {
                profile: name.into(),
                description: String::new(),
                recognised_by: String::new(),
            });
            let order = verifying(&report);
            assert_eq!(order[0].0.to_string(), first, "{provider:?}");
            assert_eq!(order.len(), 3);
        }
    }
}

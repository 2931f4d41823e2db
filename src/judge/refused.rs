//! Reports for targets that were never connected to: a connection string libpq refuses, local
//! files that cannot be used where TLS is mandatory, a check that failed inside pgtls.

use super::findings;
use crate::config::{HostKind, SslMode, SslNegotiation};
use crate::exit::Code;
use crate::report::{Finding, TargetReport, Trust};

/// Why a target was not checked.
enum Refusal {
    /// The configuration: its finding is `configuration`, with advice for a common mistake.
    Configuration(Option<String>),
    /// A bug: its finding is `internal_error`.
    Internal,
}

fn refusal(why: Refusal, message: String) -> Finding {
    let severity = crate::report::Severity::Error;
    match why {
        Refusal::Configuration(hint) => findings::configuration(severity, message, hint),
        Refusal::Internal => findings::internal_error(message),
    }
}

fn without_connection(
    conninfo: usize,
    exit_code: Code,
    code: Refusal,
    summary: String,
) -> TargetReport {
    TargetReport {
        host: String::new(),
        hostaddr: None,
        port: None,
        kind: HostKind::Name,
        sslmode: SslMode::Prefer,
        driver_sslmode: None,
        sslnegotiation: SslNegotiation::Postgres,
        exit_code,
        // One line for people; the finding keeps the whole message.
        summary: crate::sanitize::one_line(&summary),
        conninfo,
        libpq_connects: false,
        libpq_uses: false,
        encrypted: false,
        attempts: Vec::new(),
        tls: None,
        certificates: Vec::new(),
        earliest_expiry: None,
        trust: Trust {
            checked: false,
            verified: false,
            source: None,
            anchor: None,
            path: Vec::new(),
            error: None,
            diagnosis: Vec::new(),
            cross_signed: Vec::new(),
            roots_unusable: None,
        },
        host_name: None,
        server: None,
        login: None,
        client_certificate: None,
        provider: None,
        findings: vec![refusal(code, summary)],
        audit: None,
        client: crate::report::ClientChoice::default(),
        clients: Vec::new(),
        presented: Vec::new(),
        expected_certificate: None,
        also_names: Vec::new(),
    }
}

/// A connection string libpq refuses, from a list of targets: exit code 2 for it alone.
pub(crate) fn invalid(
    conninfo: usize,
    origin: &str,
    message: &str,
    hint: Option<String>,
) -> TargetReport {
    without_connection(
        conninfo,
        Code::Usage,
        Refusal::Configuration(hint),
        format!("{origin}: {message}"),
    )
}

/// A target of a targets-file line whose local files (root file, CRLs, client certificate)
/// cannot be used where TLS is mandatory: exit code 2, with the target named.
pub(crate) fn local_files_refused(
    conninfo: usize,
    target: &crate::config::Target,
    options: &crate::config::Options,
    origin: &str,
    message: &str,
) -> TargetReport {
    TargetReport {
        host: target.host.clone(),
        hostaddr: target.hostaddr.clone(),
        port: Some(target.port),
        kind: target.kind,
        sslmode: options.sslmode,
        driver_sslmode: None,
        sslnegotiation: options.sslnegotiation,
        ..invalid(conninfo, origin, message, None)
    }
}

/// A check that failed inside pgtls (a bug): exit code 1.
pub(crate) fn internal(conninfo: usize, message: &str) -> TargetReport {
    without_connection(
        conninfo,
        Code::Internal,
        Refusal::Internal,
        format!("internal error: {message}"),
    )
}

//! Poolers and proxies in front of PostgreSQL: what shows that something other than the server
//! answered (`server.pooler`), and what that means for channel binding.
//!
//! What pgtls checks is always the client's leg; the leg from a pooler to PostgreSQL has its own
//! TLS settings (PgBouncer's `server_tls_sslmode`) and cannot be seen from the client.

use super::findings::finding;
use crate::config::{ChannelBinding, Options};
use crate::profiles::{Profile, Profiles};
use crate::report::FindingCode;
use crate::report::{AnswerKind, Finding, Pooler, Severity, TargetReport};

/// Error texts only PgBouncer sends (its `disconnect_client` reasons, src/client.c and
/// src/objects.c), one per line, by which its answers name it.
const PGBOUNCER_WORDS: &str = "no such database:
no such user
SASL authentication failed
no more connections allowed (max_client_conn)
client_login_timeout
query_wait_timeout
pgbouncer cannot connect to server
server login has been failing, try again later
unsupported startup parameter
bouncer config error
bouncer resources exhaustion
client selected an invalid SASL authentication mechanism
bad packet header";

const SCRAM: &str = "SCRAM-SHA-256";
const SCRAM_PLUS: &str = "SCRAM-SHA-256-PLUS";

/// The SASL mechanisms the first answer offered, if it asked for SASL.
fn mechanisms(report: &TargetReport) -> Option<Vec<&str>> {
    let server = report.server.as_ref()?;
    let method = server.method.as_deref()?;
    (server.answer == AnswerKind::AuthenticationRequest && method.contains(SCRAM))
        .then(|| method.split(", ").collect())
}

/// Over TLS, SCRAM offered without SCRAM-SHA-256-PLUS: PostgreSQL (11 and later) offers both
/// whenever the connection is encrypted, so this is something else answering.
fn scram_without_plus(report: &TargetReport) -> bool {
    // The answer is the last attempt's: was that one over TLS?
    report.attempts.last().is_some_and(|a| a.tls)
        && mechanisms(report).is_some_and(|m| m.contains(&SCRAM) && !m.contains(&SCRAM_PLUS))
}

/// The last attempt's error, in the server's words.
fn said_last(report: &TargetReport) -> Option<&str> {
    report.attempts.last().and_then(|a| a.error.as_deref())
}

/// What the facts show of a pooler or proxy in front of the server, if anything.
pub(crate) fn detect(report: &TargetReport) -> Option<Pooler> {
    let mut evidence = Vec::new();
    let mut name = None;
    // Its first answer, or what it said after the login (PgBouncer checks the database then).
    let said = [
        report.server.as_ref().and_then(|s| s.message.as_deref()),
        said_last(report),
    ];
    if let Some(words) = PGBOUNCER_WORDS
        .lines()
        .find(|w| said.iter().flatten().any(|m| m.contains(*w)))
    {
        name = Some("PgBouncer".to_string());
        evidence.push(format!(
            "its error \"{}\" is PgBouncer's",
            words.trim_end_matches(':')
        ));
    }
    if scram_without_plus(report) {
        evidence.push(format!(
            "it offers {SCRAM} without {SCRAM_PLUS} over TLS, which PostgreSQL always offers then"
        ));
    }
    if let Some(login) = &report.login
        && let (Some(key), Some(backend)) =
            (login.key_pid, login.server_tls.as_ref().and_then(|s| s.pid))
        && key != backend
    {
        evidence.push(format!(
            "its cancel key names process {key}, the session's backend is process {backend}"
        ));
    }
    (!evidence.is_empty()).then_some(Pooler { name, evidence })
}

/// `server.pooler` and its findings: `pooler_in_front` whenever one is seen, and
/// `channel_binding_impossible` when SCRAM comes without its channel-binding variant and the
/// string asks for `channel_binding=require` (or always, with `--audit`).
pub(crate) fn judge(
    options: &Options,
    report: &mut TargetReport,
    audit: bool,
    profiles: &Profiles,
) {
    let pooler = detect(report);
    if let Some(found) = &pooler {
        let who = found.name.as_deref().unwrap_or("a pooler or proxy");
        report.findings.push(finding(
            Severity::Info,
            FindingCode::PoolerInFront,
            format!(
                "{who} answers for the server ({}): what pgtls checked is the client's leg to it",
                found.evidence.join("; ")
            ),
            "its own leg to PostgreSQL is set on it (PgBouncer: server_tls_sslmode, server_tls_ca_file) and cannot be seen from here",
        ));
    }
    // PgBouncer before 1.23 does not negotiate: it refuses a protocol 3.2 startup outright.
    let refused_3_2 = options.protocol.max > 0
        && said_last(report).is_some_and(|e| e.contains("bad packet header"));
    if refused_3_2 {
        report.findings.push(protocol_version_refused(
            Severity::Error,
            "the pooler refuses a startup message for protocol 3.2 instead of negotiating 3.0 (\"bad packet header\": PgBouncer before 1.23)".into(),
        ));
    }
    // An SNI-routing proxy (Neon and kin) refuses a connection that came without SNI.
    let no_sni = report.tls.as_ref().is_some_and(|t| t.sni.is_none());
    // A refusal that names SNI, or the words of a provider whose profile says it routes by SNI.
    let wants_sni = said_last(report).is_some_and(|e| {
        e.contains("SNI")
            || profiles
                .by_error(e)
                .is_some_and(|(p, _)| p.needs_sni.is_some())
    });
    if no_sni && wants_sni {
        let found = sni_required(
            Severity::Error,
            "the server refuses a connection without SNI: it routes by the name the client sends"
                .into(),
            super::provider::profile_of(report, profiles),
        );
        report.findings.push(found);
    }
    let asks = options.channel_binding == ChannelBinding::Require;
    if scram_without_plus(report) && (asks || audit) {
        report.findings.push(super::findings::channel_binding_impossible(
            if asks { Severity::Error } else { Severity::Warning },
            format!(
                "the server offers {SCRAM} but not {SCRAM_PLUS} over TLS: channel_binding=require cannot succeed"
            ),
            "poolers such as PgBouncer do not support channel binding: use channel_binding=prefer through them, or connect to PostgreSQL directly",
        ));
    }
    if let Some(server) = &mut report.server {
        server.pooler = pooler;
    }
}

/// `protocol_version_refused`: a server or pooler that refuses protocol 3.2 instead of
/// negotiating (in `check` when the string asks for 3.2, and in `--audit`).
pub(super) fn protocol_version_refused(severity: Severity, message: String) -> Finding {
    finding(
        severity,
        FindingCode::ProtocolVersionRefused,
        message,
        "clients that ask for protocol 3.2 (libpq 18 with max_protocol_version=3.2 or latest) fail here: connect through it with max_protocol_version=3.0, or upgrade it to one that negotiates (PgBouncer 1.23 or later)",
    )
}

/// `sni_required`: a server that answers otherwise without SNI (in `check` when it refused a
/// connection that sent none, and in `--audit`), with the recognised provider's own advice when
/// its profile has some.
pub(super) fn sni_required(
    severity: Severity,
    message: String,
    provider: Option<&Profile>,
) -> Finding {
    let advice = provider.and_then(|p| p.needs_sni.as_deref());
    finding(
        severity,
        FindingCode::SniRequired,
        message,
        advice.unwrap_or("connect by host name, not an IP address, with sslsni=1 (libpq's default); where SNI cannot be sent, SNI-routing proxies (Neon and others) take the endpoint in options=endpoint%3D<id>"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Login, ServerAnswer, ServerTls};

    fn answered(method: Option<&str>, message: Option<&str>) -> ServerAnswer {
        ServerAnswer {
            answer: if message.is_some() {
                AnswerKind::Error
            } else {
                AnswerKind::AuthenticationRequest
            },
            method: method.map(Into::into),
            message: message.map(Into::into),
            sqlstate: None,
            pooler: None,
        }
    }

    fn logged_in(key_pid: i32, backend: i32) -> Login {
        Login {
            authenticated: true,
            method: Some(SCRAM.into()),
            stopped: None,
            protocol_version: Some("3.0".into()),
            server_version: Some("18.1".into()),
            key_pid: Some(key_pid),
            server_tls: Some(ServerTls {
                ssl: false,
                version: None,
                cipher: None,
                bits: None,
                client_dn: None,
                client_serial: None,
                issuer_dn: None,
                pid: Some(backend),
            }),
            oauth: None,
        }
    }

    #[test]
    fn a_pooler_is_seen_by_what_postgresql_itself_never_does() {
        type Case = (
            &'static str,
            bool,
            ServerAnswer,
            Option<Login>,
            Option<&'static str>,
            usize,
        );
        let cases: [Case; 7] = [
            (
                "PostgreSQL over TLS offers both SCRAM mechanisms",
                true,
                answered(Some("SCRAM-SHA-256-PLUS, SCRAM-SHA-256"), None),
                Some(logged_in(4242, 4242)),
                None,
                0,
            ),
            (
                "SCRAM alone over TLS",
                true,
                answered(Some("SCRAM-SHA-256"), None),
                None,
                None,
                1,
            ),
            (
                "SCRAM alone without TLS is what PostgreSQL offers too",
                false,
                answered(Some("SCRAM-SHA-256"), None),
                None,
                None,
                0,
            ),
            (
                "a cancel key that is not the backend's",
                true,
                answered(Some("MD5"), None),
                Some(logged_in(-1_734_002_117, 4242)),
                None,
                1,
            ),
            (
                "PgBouncer's own error",
                true,
                answered(None, Some("FATAL: no such database: nosuchdb")),
                None,
                Some("PgBouncer"),
                1,
            ),
            (
                "PostgreSQL's own error",
                true,
                answered(None, Some("FATAL: database \"nosuchdb\" does not exist")),
                None,
                None,
                0,
            ),
            (
                "an error and a cancel key",
                true,
                answered(None, Some("FATAL: no such user")),
                Some(logged_in(7, 8)),
                Some("PgBouncer"),
                2,
            ),
        ];
        for (why, encrypted, server, login, name, evidence) in cases {
            let mut report = crate::judge::invalid(0, "test", "unused", None);
            report.attempts = vec![crate::report::Attempt {
                tls: encrypted,
                address: None,
                outcome: crate::report::Outcome::Accepted,
                error: None,
                timings: crate::report::Timings::default(),
            }];
            report.server = Some(server);
            report.login = login;
            let found = detect(&report);
            assert_eq!(
                found.as_ref().map_or(0, |p| p.evidence.len()),
                evidence,
                "{why}: {found:?}"
            );
            assert_eq!(found.and_then(|p| p.name).as_deref(), name, "{why}");
        }
    }
}

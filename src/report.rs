//! The `check` report: plain serialisable data, built once by the probe and read by renderers and
//! by the exit-code table. No sockets, no rustls types.

use serde::Serialize;

use crate::certinfo::CertificateInfo;
use crate::config::{HostKind, SslMode, SslNegotiation};
use crate::tls::TrustSource;
use crate::tls::hostname::NameCheck;

/// The version of the JSON document's layout; raised on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything `check` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The layout version.
    pub schema_version: u32,
    /// One entry per host of every connection string, in input order.
    pub targets: Vec<TargetReport>,
}

/// One host's result.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    /// The host name (used for verification and SNI); may be empty with only `hostaddr`.
    pub host: String,
    /// The address given by `hostaddr`, if any.
    pub hostaddr: Option<String>,
    /// The port.
    pub port: u16,
    /// How the host is reached.
    pub kind: HostKind,
    /// The sslmode in force.
    pub sslmode: SslMode,
    /// The negotiation style configured.
    pub sslnegotiation: SslNegotiation,
    /// The exit code for this target (see the README's table).
    pub exit_code: u8,
    /// One line: what a libpq client experiences here.
    pub summary: String,
    /// Which connection string (0-based, in argument order) this host belongs to.
    pub conninfo: usize,
    /// Whether a libpq client with this string connects to this host.
    pub libpq_connects: bool,
    /// Whether this is the host a libpq client with this string ends up on: the first of its
    /// hosts that connects (hosts are tried in order unless load_balance_hosts=random).
    pub libpq_uses: bool,
    /// Whether that connection is encrypted.
    pub encrypted: bool,
    /// Each connection attempt, in libpq's order.
    pub attempts: Vec<Attempt>,
    /// The negotiated TLS session of the decisive TLS attempt, if a handshake completed.
    pub tls: Option<TlsSession>,
    /// The certificates the server presented, leaf first.
    pub certificates: Vec<CertificateInfo>,
    /// How the chain was judged.
    pub trust: Trust,
    /// The host-name decision, when verify-full asked for one.
    pub host_name: Option<NameCheck>,
    /// What the server answered to the startup message, if it got that far.
    pub server: Option<ServerAnswer>,
    /// The login, when the server got that far.
    pub login: Option<Login>,
    /// Whether the server asked for a client certificate and which was sent.
    pub client_certificate: Option<ClientCertificate>,
    /// Problems and remarks, worst first.
    pub findings: Vec<Finding>,
    /// What the server accepts, with `--audit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<crate::audit::Audit>,
    /// The presented certificates as DER, for `--save-chain`; not part of the JSON document.
    #[serde(skip)]
    pub presented: Vec<Vec<u8>>,
}

/// Text a server supplied (an error, a certificate name, a setting), as the report keeps it: line
/// breaks as visible `\n` and `\r`, so that no server string spans lines anywhere it is shown,
/// and the only line breaks in a message are pgtls's (or libpq's) own.
pub fn server_text(text: &str) -> String {
    if !text.contains(['\n', '\r']) {
        return text.to_string();
    }
    text.replace('\r', "\\r").replace('\n', "\\n")
}

/// A message on one line, nothing dropped: line breaks (libpq's second line of advice, or ones a
/// server put in its text) become spaces.
pub fn one_line(message: &str) -> String {
    message
        .split('\n')
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join(" ")
}

impl TargetReport {
    fn without_connection(
        conninfo: usize,
        exit_code: u8,
        code: &'static str,
        summary: String,
    ) -> Self {
        TargetReport {
            host: String::new(),
            hostaddr: None,
            port: 0,
            kind: HostKind::Name,
            sslmode: SslMode::Prefer,
            sslnegotiation: SslNegotiation::Postgres,
            exit_code,
            // One line for people; the finding keeps the whole message.
            summary: one_line(&summary),
            conninfo,
            libpq_connects: false,
            libpq_uses: false,
            encrypted: false,
            attempts: Vec::new(),
            tls: None,
            certificates: Vec::new(),
            trust: Trust {
                checked: false,
                verified: false,
                source: None,
                anchor: None,
                path: Vec::new(),
                error: None,
                diagnosis: Vec::new(),
                cross_signed: Vec::new(),
            },
            host_name: None,
            server: None,
            login: None,
            client_certificate: None,
            findings: vec![Finding {
                severity: Severity::Error,
                code,
                message: summary,
                hint: None,
            }],
            audit: None,
            presented: Vec::new(),
        }
    }

    /// A connection string libpq refuses, from a list of targets: exit code 2 for it alone.
    pub fn invalid(conninfo: usize, origin: &str, message: &str) -> Self {
        Self::without_connection(conninfo, 2, "configuration", format!("{origin}: {message}"))
    }

    /// A target of a targets-file line whose local files (root file, CRLs, client certificate)
    /// cannot be used where TLS is mandatory: exit code 2, with the target named.
    pub fn local_files_refused(
        conninfo: usize,
        target: &crate::config::Target,
        options: &crate::config::Options,
        origin: &str,
        message: &str,
    ) -> Self {
        TargetReport {
            host: target.host.clone(),
            hostaddr: target.hostaddr.clone(),
            port: target.port,
            kind: target.kind,
            sslmode: options.sslmode,
            sslnegotiation: options.sslnegotiation,
            ..Self::invalid(conninfo, origin, message)
        }
    }

    /// A check that failed inside pgtls (a bug): exit code 1.
    pub fn internal(conninfo: usize, message: &str) -> Self {
        Self::without_connection(
            conninfo,
            1,
            "internal_error",
            format!("internal error: {message}"),
        )
    }
}

/// One connection attempt.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// Whether this attempt used TLS.
    pub tls: bool,
    /// The address connected to.
    pub address: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// The error, in libpq's words where libpq has them.
    pub error: Option<String>,
    /// Milliseconds spent, by phase.
    pub timings: Timings,
}

/// How an attempt ended; each maps to one exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The server accepted the connection (for authentication, or outright).
    Accepted,
    /// The server could not be reached, or is not PostgreSQL.
    Unreachable,
    /// TLS was required and the server did not offer it.
    TlsNotOffered,
    /// The TLS handshake failed.
    HandshakeFailed,
    /// The certificate chain is not trusted.
    Untrusted,
    /// The certificate does not match the host name.
    NameMismatch,
    /// The server refused the connection after TLS (or in plaintext).
    Rejected,
    /// A local configuration problem stopped the attempt.
    ConfigError,
}

/// Time spent in one attempt, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    /// Name resolution and TCP (or socket) connect.
    pub connect_ms: f64,
    /// SSLRequest and TLS handshake.
    pub tls_ms: Option<f64>,
    /// Startup message to the server's first answer.
    pub startup_ms: Option<f64>,
    /// The whole attempt.
    pub total_ms: f64,
}

/// The negotiated TLS parameters.
#[derive(Debug, Clone, Serialize)]
pub struct TlsSession {
    /// How TLS started: `postgres` (SSLRequest) or `direct`.
    pub negotiation: SslNegotiation,
    /// `TLSv1.3` or `TLSv1.2`.
    pub protocol: String,
    /// The cipher suite as OpenSSL (and psql) name it.
    pub cipher: String,
    /// The cipher suite's IANA name.
    pub cipher_iana: String,
    /// The key exchange group.
    pub key_exchange_group: Option<String>,
    /// The ALPN protocol the server selected.
    pub alpn: Option<String>,
    /// The SNI name sent.
    pub sni: Option<String>,
}

/// How the chain was judged.
#[derive(Debug, Clone, Serialize)]
pub struct Trust {
    /// Whether this sslmode (and root file) verifies the chain.
    pub checked: bool,
    /// Whether it verified.
    pub verified: bool,
    /// The trust source used.
    pub source: Option<TrustSource>,
    /// The anchor the chain ended at.
    pub anchor: Option<CertificateInfo>,
    /// Intermediates of the verified path, leaf side first (subjects).
    pub path: Vec<String>,
    /// Why it did not verify.
    pub error: Option<String>,
    /// The chain tried against every other trust source pgtls knows (when it did not verify, or
    /// with `--diagnose-trust`).
    pub diagnosis: Vec<crate::tls::diagnose::Diagnosis>,
    /// Cross-signed copies of known roots in the presented chain.
    pub cross_signed: Vec<crate::tls::diagnose::CrossSigned>,
}

/// The login after TLS.
#[derive(Debug, Clone, Serialize)]
pub struct Login {
    /// Whether pgtls logged in.
    pub authenticated: bool,
    /// The method: `SCRAM-SHA-256-PLUS`, `SCRAM-SHA-256`, `md5`, `password`, `trust`, `cert`.
    pub method: Option<String>,
    /// Why the login stopped short, when it did without an error (no password configured).
    pub stopped: Option<String>,
    /// The server's `server_version`, once logged in.
    pub server_version: Option<String>,
    /// The server's own view of the connection, once logged in.
    pub server_tls: Option<ServerTls>,
}

/// The server's view of the connection, from `pg_stat_ssl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerTls {
    /// Whether the server sees TLS.
    pub ssl: bool,
    /// The protocol version it sees.
    pub version: Option<String>,
    /// The cipher it sees.
    pub cipher: Option<String>,
    /// The cipher's key bits.
    pub bits: Option<u32>,
    /// The client certificate's subject, if one was sent.
    pub client_dn: Option<String>,
    /// The client certificate's serial.
    pub client_serial: Option<String>,
    /// The client certificate's issuer.
    pub issuer_dn: Option<String>,
}

/// The client certificate side of the handshake.
#[derive(Debug, Clone, Serialize)]
pub struct ClientCertificate {
    /// Whether the server asked for a certificate.
    pub requested: bool,
    /// Whether one was sent.
    pub sent: bool,
    /// The certificate file libpq would send, if any.
    pub file: Option<String>,
    /// Its subject.
    pub subject: Option<String>,
}

/// The server's first answer to the startup message.
#[derive(Debug, Clone, Serialize)]
pub struct ServerAnswer {
    /// `authentication_ok`, `authentication_request` or `error`.
    pub answer: &'static str,
    /// The authentication method asked for, e.g. `SCRAM-SHA-256`.
    pub method: Option<String>,
    /// The server's message (sanitised) for an error.
    pub message: Option<String>,
    /// The SQLSTATE of an error.
    pub sqlstate: Option<String>,
}

/// Severity of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Works, but weaker than it looks or about to break.
    Warning,
    /// Fails.
    Error,
}

/// A problem or remark with a hint.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// A stable identifier.
    pub code: &'static str,
    /// What happened.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

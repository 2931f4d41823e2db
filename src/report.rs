//! The `check` report: plain serialisable data, built once by `judge` from what `probe` gathered,
//! and read by the renderers. No sockets, no rustls types; typed values (`Code`, `ChainError`,
//! `AnswerKind`) stay typed and are shown as text or numbers by serde.

use serde::Serialize;

pub use crate::finding_code::FindingCode;

pub use crate::clients::{Client, ClientChoice, Reference};

use crate::certinfo::CertificateInfo;
use crate::config::{HostKind, SslMode, SslNegotiation};
use crate::exit::Code;
use crate::tls::TrustSource;
use crate::tls::chain::ChainError;
use crate::tls::diagnose::{CrossSigned, Diagnosis};
use crate::tls::hostname::NameCheck;

/// The version of the JSON document's layout; raised on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything `check` found.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    /// One entry per host of every connection string, in input order.
    #[serde(serialize_with = "targets_json")]
    pub targets: Vec<TargetReport>,
}

impl Report {
    /// The exit code of the whole report: the largest of its targets'.
    pub fn exit_code(&self) -> Code {
        self.tally().all()
    }

    /// The exit code as a libpq client experiences each connection string (see
    /// [`Tally::libpq`]).
    pub fn exit_code_as_libpq(&self) -> Code {
        self.tally().libpq()
    }

    fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for t in &self.targets {
            tally.add(t);
        }
        tally
    }
}

/// A run's exit codes, added up target by target as they are passed on, so that a streamed run
/// need not keep its reports.
#[derive(Debug, Default)]
pub struct Tally {
    all: Code,
    /// Per connection string: the code of the host a libpq client uses, and the largest.
    strings: std::collections::BTreeMap<usize, (Option<Code>, Code)>,
}

impl Tally {
    /// Counts one target.
    pub fn add(&mut self, t: &TargetReport) {
        self.all = self.all.max(t.exit_code);
        let entry = self.strings.entry(t.conninfo).or_insert((None, Code::Ok));
        if t.libpq_uses {
            entry.0 = Some(t.exit_code);
        }
        entry.1 = entry.1.max(t.exit_code);
    }

    /// The largest of every target's code.
    pub fn all(&self) -> Code {
        self.all
    }

    /// The exit code as a libpq client experiences each connection string: the code of the
    /// host it ends up on (the first that connects), or, when none connects, the largest of the
    /// string's hosts'; the largest over the strings.
    pub fn libpq(&self) -> Code {
        self.strings
            .values()
            .map(|(used, largest)| used.unwrap_or(*largest))
            .max()
            .unwrap_or(Code::Ok)
    }
}

/// One host's result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TargetReport {
    /// The host name (used for verification and SNI); may be empty with only `hostaddr`;
    /// `null` when the connection string was refused before naming a host.
    #[schemars(with = "Option<String>")]
    pub host: String,
    /// The address given by `hostaddr`, if any.
    pub hostaddr: Option<String>,
    /// The port; `null` when the connection string was refused.
    pub port: Option<u16>,
    /// How the host is reached; `null` when the connection string was refused.
    #[schemars(with = "Option<HostKind>")]
    pub kind: HostKind,
    /// The sslmode in force; `null` when the connection string was refused.
    #[schemars(with = "Option<SslMode>")]
    pub sslmode: SslMode,
    /// The sslmode in the driver's own terms and spelling, and why (`SSL Mode=VerifyFull`,
    /// `verify-full (ssl=true)`), when the verdict is one driver's other than libpq; `sslmode`
    /// is then libpq's equivalent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_sslmode: Option<String>,
    /// The negotiation style configured; `null` when the connection string was refused.
    #[schemars(with = "Option<SslNegotiation>")]
    pub sslnegotiation: SslNegotiation,
    /// The exit code for this target (see the README's table), decided by `judge`.
    #[schemars(with = "u8")]
    pub exit_code: Code,
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
    /// The certificate of the presented chain that expires first; `null` without one.
    pub earliest_expiry: Option<EarliestExpiry>,
    /// How the chain was judged.
    pub trust: Trust,
    /// The host-name decision, when verify-full asked for one.
    pub host_name: Option<NameCheck>,
    /// The managed service this host belongs to, when a provider profile recognises it.
    pub provider: Option<Provider>,
    /// What the server answered to the startup message, if it got that far.
    pub server: Option<ServerAnswer>,
    /// The login, when the server got that far.
    pub login: Option<Login>,
    /// Whether the server asked for a client certificate and which was sent.
    pub client_certificate: Option<ClientCertificate>,
    /// Problems and remarks, worst first.
    pub findings: Vec<Finding>,
    /// What the server accepts, with `--audit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<Audit>,
    /// The client whose verdict sets `exit_code` and `summary` (`--client`): `libpq` unless
    /// another was asked for or the string's form names one; `all` for every client. In JSON,
    /// `{"name", "models"}`: the versions whose behaviour is modelled (`null` for `all`).
    #[serde(serialize_with = "client_object")]
    #[schemars(with = "ClientField")]
    pub client: ClientChoice,
    /// Each other client's verdict, with `--client` (one) or `--client all` (every one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientVerdict>,
    /// With `--expect-cert`: the certificate the server should serve, and whether it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_certificate: Option<ExpectedCertificate>,
    /// With `--also-names`: each other name clients use, and whether the certificate covers it
    /// by the rules of the client judged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_names: Vec<NameCoverage>,
    /// The presented certificates as DER, for `--save-chain`; not part of the JSON document.
    #[serde(skip)]
    pub presented: Vec<Vec<u8>>,
}

/// The presented certificate that expires first.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EarliestExpiry {
    /// Its position in the presented chain (0 is the leaf).
    pub position: usize,
    /// Its subject.
    pub subject: String,
    /// Its end of validity.
    pub not_after: String,
    /// Whole days until then (negative once expired).
    pub days_left: i64,
}

/// The certificate a server is expected to serve (`--expect-cert`), and whether it does.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ExpectedCertificate {
    /// The file it was read from.
    pub file: String,
    /// Whether the server serves it (and, when the file holds a chain, that chain).
    pub matches: bool,
    /// Its subject.
    pub subject: String,
    /// Its SHA-256 fingerprint.
    pub sha256: String,
    /// Its end of validity.
    pub not_after: String,
}

/// One name of `--also-names`, checked against the served certificate.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct NameCoverage {
    /// The name.
    pub name: String,
    /// Whether the client judged would accept the certificate for it under verify-full.
    pub covered: bool,
    /// The client's message when it would not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The provider a profile recognised.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Provider {
    /// The profile's name (`pgtls roots --profile NAME`).
    pub profile: String,
    /// The service.
    pub description: String,
    /// How it was recognised: `host name under .rds.amazonaws.com`, `certificate issuer Google
    /// Cloud SQL Server CA`, or `server error "..."`.
    pub recognised_by: String,
}

/// One client's verdict on a target.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ClientVerdict {
    /// The client.
    pub name: Client,
    /// The driver versions whose behaviour is modelled.
    pub models: &'static str,
    /// `verified` (compared with the real driver by the test suite) or `modelled`.
    pub reference: Reference,
    /// The mode in force, in the driver's terms.
    pub mode: String,
    /// The libpq string with the same settings, when one exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libpq_equivalent: Option<String>,
    /// Whether this client connects.
    pub connects: bool,
    /// Whether that connection is encrypted.
    pub encrypted: bool,
    /// Whether the certificate chain was verified.
    pub chain_verified: bool,
    /// Whether the host name was checked.
    pub host_name_verified: bool,
    /// The exit code for this client's verdict.
    #[schemars(with = "u8")]
    pub exit_code: Code,
    /// The client's error, in its words where it has them.
    pub error: Option<String>,
    /// One line: what this client experiences.
    pub summary: String,
    /// Settings given that the model does not cover.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<String>,
    /// Parameters of the driver's string that the driver ignores because it does not know them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
    /// What this client verified the chain against, when it did (`the JVM truststore
    /// /etc/app/truststore.p12`): its roots, not libpq's (`trust` above is libpq's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<String>,
    /// A setting that replaces the driver's certificate checks with code pgtls cannot see: the
    /// verdict's `chain_verified` and `host_name_verified` are then not modelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_verification: Option<String>,
}

/// One connection attempt.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Copy, Default, Serialize, schemars::JsonSchema)]
pub struct Timings {
    /// Name resolution and TCP (or socket) connect.
    pub connect_ms: f64,
    /// SSLRequest and TLS handshake.
    pub tls_ms: Option<f64>,
    /// Startup message to the server's first answer.
    pub startup_ms: Option<f64>,
    /// The whole attempt.
    pub total_ms: f64,
    /// Round trips to the server: the TCP handshake, then each answer the client waited for
    /// after writing (SSLRequest, TLS, startup, each login step, the server-view query).
    pub round_trips: u32,
}

/// The negotiated TLS parameters.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
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
    /// Whether the server had to ask for another key share (a HelloRetryRequest) because it
    /// chose a group the client's first flight held no share for: one more round trip on every
    /// connection.
    pub hello_retry: bool,
    /// The ALPN protocol the server selected.
    pub alpn: Option<String>,
    /// The SNI name sent.
    pub sni: Option<String>,
}

/// How the chain was judged.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
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
    /// Why it did not verify, in OpenSSL's words.
    #[serde(serialize_with = "crate::report::as_text")]
    #[schemars(with = "Option<String>")]
    pub error: Option<ChainError>,
    /// The chain tried against every other trust source pgtls knows (when it did not verify, or
    /// with `--diagnose-trust`).
    pub diagnosis: Vec<Diagnosis>,
    /// Cross-signed copies of known roots in the presented chain.
    pub cross_signed: Vec<CrossSigned>,
    /// Why the root file could not be used, when that stopped the verification (the chain
    /// shown then comes from a connection that verified nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roots_unusable: Option<String>,
}

/// The login after TLS.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Login {
    /// Whether pgtls logged in.
    pub authenticated: bool,
    /// The method: `SCRAM-SHA-256-PLUS`, `SCRAM-SHA-256`, `md5`, `password`, `trust`, `cert`.
    pub method: Option<String>,
    /// Why the login stopped short, when it did without an error (no password configured).
    pub stopped: Option<String>,
    /// The protocol version of the session (`3.0`, `3.2`): what the startup message asked for
    /// (`max_protocol_version`), or what the server negotiated it down to.
    pub protocol_version: Option<String>,
    /// The server's `server_version`, once logged in.
    pub server_version: Option<String>,
    /// The process ID in BackendKeyData (the cancel key), once logged in. PostgreSQL sends its
    /// backend's; a pooler sends one of its own, which `server_tls.pid` then does not match.
    pub key_pid: Option<i32>,
    /// The server's own view of the connection, once logged in.
    pub server_tls: Option<ServerTls>,
    /// When the server asked for OAUTHBEARER: what its discovery said and the issuer's HTTPS
    /// endpoint as libpq's OAuth flow would reach it (no token is requested).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthLogin>,
}

/// The OAUTHBEARER discovery, up to where libpq would start its flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct OAuthLogin {
    /// The discovery document's URL the server named (or `oauth_issuer`'s).
    pub discovery_uri: Option<String>,
    /// The scope the server asked for.
    pub scope: Option<String>,
    /// The issuer's endpoint, checked.
    pub issuer: Option<IssuerEndpoint>,
}

/// The OAuth issuer's HTTPS endpoint as libpq's flow reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct IssuerEndpoint {
    /// The URL.
    pub url: String,
    /// The roots used: the system trust store, or `PGOAUTHCAFILE` under `PGOAUTHDEBUG=UNSAFE`.
    pub trust: Option<String>,
    /// The TLS version negotiated.
    pub protocol: Option<String>,
    /// The certificate it presented.
    pub certificate: Option<crate::certinfo::CertificateInfo>,
    /// Whether the chain and the host name verified.
    pub verified: bool,
    /// Why not, or why the endpoint could not be read.
    pub error: Option<String>,
    /// The HTTP status of the document.
    pub http_status: Option<u16>,
    /// The `issuer` the document names.
    pub document_issuer: Option<String>,
}

/// The server's view of the connection, from `pg_stat_ssl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
    /// The backend's process ID (`pg_backend_pid()`).
    pub pid: Option<i32>,
}

/// The client certificate side of the handshake.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
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

/// What kind of answer the server gave to the startup message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// AuthenticationOk: no password asked.
    AuthenticationOk,
    /// An authentication request.
    AuthenticationRequest,
    /// An ErrorResponse.
    Error,
}

/// The server's first answer to the startup message.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ServerAnswer {
    /// `authentication_ok`, `authentication_request` or `error`.
    pub answer: AnswerKind,
    /// The authentication method asked for, e.g. `SCRAM-SHA-256`.
    pub method: Option<String>,
    /// The server's message (sanitised) for an error.
    pub message: Option<String>,
    /// The SQLSTATE of an error.
    pub sqlstate: Option<String>,
    /// A pooler or proxy that answered for the server, when its answers show one.
    pub pooler: Option<Pooler>,
}

/// A pooler or proxy in front of PostgreSQL (PgBouncer, pgcat, a cloud's proxy): what pgtls
/// checks is then the client's leg to it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Pooler {
    /// `PgBouncer` when its own error texts name it; `null` when only its behaviour shows it.
    pub name: Option<String>,
    /// What showed it, one sentence each.
    pub evidence: Vec<String>,
}

/// Severity of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// A stable identifier.
    // An open set (docs/json.md lists the codes; new ones may come): the schema says string.
    #[schemars(with = "String")]
    pub code: FindingCode,
    /// What happened.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

/// The targets as the JSON document shows them: a target whose connection string was refused
/// before it named a host (port 0) has `null` for what it never had.
fn targets_json<S: serde::Serializer>(
    targets: &[TargetReport],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::{Error, SerializeSeq};
    let mut seq = serializer.serialize_seq(Some(targets.len()))?;
    for t in targets {
        if t.port.is_some() {
            seq.serialize_element(t)?;
            continue;
        }
        seq.serialize_element(&target_json(t).map_err(S::Error::custom)?)?;
    }
    seq.end()
}

/// One target as `targets[]` of the JSON document holds it (and as `--format jsonl` writes it):
/// a string that was refused has `null` for what it never named.
///
/// # Errors
/// A report serde cannot write (none in practice).
pub fn target_json(t: &TargetReport) -> Result<serde_json::Value, serde_json::Error> {
    let mut value = serde_json::to_value(t)?;
    if t.port.is_none()
        && let Some(object) = value.as_object_mut()
    {
        for key in ["host", "port", "kind", "sslmode", "sslnegotiation"] {
            object.insert(key.to_string(), serde_json::Value::Null);
        }
    }
    Ok(value)
}

/// `client` as the JSON document shows it.
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
struct ClientField {
    /// `libpq`, `pgjdbc`, `node-postgres`, `asyncpg`, `npgsql` or `all`.
    name: String,
    /// The versions whose behaviour is modelled; `null` for `all`.
    models: Option<String>,
}

/// `client` as `{"name": ..., "models": ...}`.
fn client_object<S: serde::Serializer>(
    choice: &ClientChoice,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut object = serializer.serialize_struct("Client", 2)?;
    object.serialize_field("name", choice.name())?;
    object.serialize_field("models", &choice.client().map(Client::models))?;
    object.end()
}

/// A typed value that a JSON document shows as its text (`Display`), or `null`.
pub(crate) fn as_text<T: std::fmt::Display, S: serde::Serializer>(
    value: &Option<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => serializer.collect_str(v),
        None => serializer.serialize_none(),
    }
}

// What `--audit` found: facts gathered by `probe::audit`, judged by `judge::audit`.

/// Whether each protocol version is accepted: `true`, `false`, or `null` when not tested.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Protocols {
    /// TLS 1.3.
    #[serde(rename = "TLSv1.3")]
    pub tls13: Option<bool>,
    /// TLS 1.2.
    #[serde(rename = "TLSv1.2")]
    pub tls12: Option<bool>,
    /// TLS 1.1.
    #[serde(rename = "TLSv1.1")]
    pub tls11: Option<bool>,
    /// TLS 1.0.
    #[serde(rename = "TLSv1.0")]
    pub tls10: Option<bool>,
    /// SSL 3.0.
    #[serde(rename = "SSLv3")]
    pub ssl3: Option<bool>,
}

/// One cipher suite or group and whether the server accepts it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Accepted {
    /// The name (IANA for suites).
    pub name: String,
    /// OpenSSL's name, for suites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openssl: Option<String>,
    /// Whether the server accepts it; `null` when it could not be tested on its own (groups of a
    /// server without TLS 1.3, where the certificate's curve constrains the offer).
    pub accepted: Option<bool>,
}

/// A family of legacy suites and whether the server accepts any of them.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Legacy {
    /// The family: `static_rsa`, `cbc`, `3des`, `rc4`, `export`, `null`.
    pub family: &'static str,
    /// Whether the server chose one of them.
    pub accepted: bool,
    /// The suite it chose, as a hex code.
    pub chosen: Option<String>,
    /// That suite's IANA name, where rustls knows it.
    pub chosen_name: Option<String>,
}

/// How TLS can start.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Negotiation {
    /// SSLRequest, then the handshake.
    pub postgres: Option<bool>,
    /// Direct TLS with ALPN `postgresql` (PostgreSQL 17+).
    pub direct: Option<bool>,
}

/// What the audit found.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Audit {
    /// Protocol versions.
    pub protocols: Protocols,
    /// The cipher suites rustls speaks.
    pub suites: Vec<Accepted>,
    /// Legacy suite families.
    pub legacy_suites: Vec<Legacy>,
    /// Key exchange groups, X25519MLKEM768 included.
    pub groups: Vec<Accepted>,
    /// Negotiation styles.
    pub negotiation: Negotiation,
    /// Whether the server proceeds with a startup message sent without TLS; `null` if not tested.
    pub plaintext: Option<bool>,
    /// The server's answer to that plaintext startup.
    pub plaintext_answer: Option<String>,
    /// Startup messages for protocol 3.0, 3.2 and an unknown version with an unknown option
    /// (GREASE), over TLS, and how the server answered each.
    pub startup_versions: Vec<VersionProbe>,
    /// Whether the server takes a cancel request over TLS (libpq 17 and later send it so);
    /// `null` if not tested.
    pub cancel_over_tls: Option<bool>,
    /// What happened instead, when it did not.
    pub cancel_answer: Option<String>,
    /// The handshake and first answer with SNI and without, for a host name; `null` for an
    /// address or when not tested.
    pub sni: Option<SniProbe>,
    /// With `--sni-names`: the certificate the server presents for each name, and without SNI.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sni_names: Vec<SniCertificate>,
    /// Why some probes were not run or did not finish, when that happened.
    #[serde(skip)]
    pub unfinished: Option<String>,
}

/// One startup message of the audit and the server's answer.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct VersionProbe {
    /// The version asked for: `3.0`, `3.2`, or `3.9999` with the option `_pq_.pgtls_grease`.
    pub asked: String,
    /// The answer; `null` if not tested.
    pub found: Option<VersionAnswer>,
}

/// The first answer to a startup message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum VersionAnswer {
    /// The server went on to authentication without negotiating.
    Accepted,
    /// NegotiateProtocolVersion: the newest version it speaks, the options it did not know.
    Negotiated {
        /// The newest version, e.g. `3.0`.
        newest: String,
        /// The options named as unknown.
        options: Vec<String>,
    },
    /// An error or a close instead.
    Refused {
        /// The server's words, or what happened.
        message: String,
    },
}

impl std::fmt::Display for VersionAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Accepted => write!(f, "goes on to authentication"),
            Self::Negotiated { newest, options } if options.is_empty() => {
                write!(f, "negotiates {newest}")
            }
            Self::Negotiated { newest, options } => {
                write!(f, "negotiates {newest} without {}", options.join(", "))
            }
            Self::Refused { message } => write!(f, "refuses: {message}"),
        }
    }
}

/// Handshakes with SNI and without.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SniProbe {
    /// The name sent.
    pub name: String,
    /// With SNI; `null` if not tested.
    pub with_sni: Option<SniAnswer>,
    /// Without SNI; `null` if not tested.
    pub without_sni: Option<SniAnswer>,
}

/// The certificate presented for one name of `--sni-names` (or without SNI).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SniCertificate {
    /// The name sent by SNI; `null` for the handshake without SNI.
    pub name: Option<String>,
    /// The certificate's subject; `null` when the handshake failed.
    pub subject: Option<String>,
    /// Its SHA-256.
    pub sha256: Option<String>,
    /// Whether it covers the name (libpq's verify-full rules); `null` without SNI or a
    /// certificate.
    pub covers: Option<bool>,
    /// Why there is no certificate: the handshake's error, or a deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The certificate, for the judge.
    #[serde(skip)]
    #[schemars(skip)]
    pub der: Option<Vec<u8>>,
}

impl SniCertificate {
    /// What one handshake found (`None`: the deadline ended it).
    pub(crate) fn new(name: Option<String>, found: Option<Result<Vec<u8>, String>>) -> Self {
        let (der, error) = match found {
            Some(Ok(der)) => (Some(der), None),
            Some(Err(e)) => (None, Some(e)),
            None => (
                None,
                Some("the audit's deadline ended the handshake".to_string()),
            ),
        };
        let info = der.as_deref().and_then(|d| crate::certinfo::describe(d, 0));
        SniCertificate {
            name,
            subject: info.as_ref().map(|i| i.subject.clone()),
            sha256: info.map(|i| i.sha256),
            covers: None,
            error,
            der,
        }
    }
}

/// One handshake of the SNI probe.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SniAnswer {
    /// The SHA-256 of the certificate presented; `null` when the handshake failed.
    pub certificate_sha256: Option<String>,
    /// The first answer to a startup message, or why there was none.
    pub answer: String,
    /// Whether the server went on (negotiated or asked to authenticate).
    pub went_on: bool,
}

/// What `inspect` reports.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Inspection {
    /// One entry per file.
    pub files: Vec<FileReport>,
    /// Root-file findings, when `--lint` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint: Option<Vec<Finding>>,
    /// With `--lint --profile`, how many of the profile's roots the files hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_coverage: Option<ProfileCoverage>,
}

/// How many of a profile's roots a root file or truststore holds: the answer to "are my
/// provider's roots there?", given before the findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ProfileCoverage {
    /// The profile.
    pub profile: String,
    /// Required roots held (a one-of set counts as one, held when any of it is).
    pub required_present: usize,
    /// Required roots (a one-of set counts as one).
    pub required: usize,
    /// Recommended (and announced rotation) roots held.
    pub recommended_present: usize,
    /// Recommended (and announced rotation) roots.
    pub recommended: usize,
}

/// One file's certificates.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FileReport {
    /// The file.
    pub path: String,
    /// `pem`, `der`, `jks` or `pkcs12`.
    pub format: &'static str,
    /// Its certificates.
    pub certificates: Vec<CertificateInfo>,
    /// For a keystore, each certificate's alias, parallel to `certificates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<String>>,
}

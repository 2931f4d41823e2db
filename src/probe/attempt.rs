//! One connection attempt, plaintext or TLS, as libpq makes it: connect, SSLRequest (or direct
//! TLS), handshake, host-name check, startup message, the server's first answer, Terminate.

use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use super::auth::Rules;
use super::transport::{self, ConnectError, Stream, os_message};
use super::wire::{self, Answer, WireError};
use crate::config::{Options, Secret, SslMode, SslNegotiation, Target};
use crate::report::{Outcome, Timings, TlsSession};
use crate::tls::client_cert::{ClientCertError, ClientIdentity};
use crate::tls::groups::Offer;
use crate::tls::hostname::{self, NameCheck};
use crate::tls::{self, Record, RootError, Seen, TrustStore, suites};

/// What one attempt needs.
pub struct Plan<'a> {
    /// Resolved options.
    pub options: &'a Options,
    /// The host.
    pub target: &'a Target,
    /// The trust store, when the chain is verified, or why it could not be loaded.
    pub store: Result<Option<&'a TrustStore>, &'a RootError>,
    /// Startup parameters (user, database, application_name).
    pub startup: &'a [(String, String)],
    /// The client certificate to offer, or why it could not be loaded.
    pub identity: Result<Option<&'a ClientIdentity>, &'a ClientCertError>,
    /// The password to log in with, if any.
    pub password: Option<&'a Secret>,
    /// For a connection that gathers facts for a client other than libpq: whether that client
    /// would send the password on it. `None` where libpq is the client judged, whose own checks
    /// have passed by the time it logs in.
    pub password_gate: Option<Gate<'a>>,
    /// The key exchange groups the client offers: libpq's, or another client's.
    pub offer: &'a Offer,
}

/// Whether a client being judged would send the password on a connection: given the chain the
/// server presented over TLS (the client's own checks of it passed), or `None` in plaintext.
pub(crate) type Gate<'a> =
    &'a (dyn Fn(Option<&[rustls::pki_types::CertificateDer<'static>]>) -> bool + Sync);

/// The step an attempt is at: what it waits for, should the deadline end it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Waiting {
    /// The system resolver.
    #[default]
    Resolving,
    /// The TCP (or socket) connection.
    Connecting,
    /// The server's one-byte answer to SSLRequest.
    SslAnswer,
    /// The TLS handshake.
    Handshake,
    /// The server's answer to the startup message, or the rest of the login.
    Login,
}

impl Waiting {
    /// libpq's "timeout expired", and what was waited for.
    fn timeout_message(self, host: &str) -> String {
        match self {
            Waiting::Resolving => format!("timeout expired while resolving host name \"{host}\""),
            Waiting::Connecting => "timeout expired (waiting for the TCP connection: nothing answered, perhaps a firewall drops the packets)".to_string(),
            Waiting::SslAnswer => "timeout expired (the TCP connection was made, but nothing answered the SSLRequest: is this PostgreSQL's port?)".to_string(),
            Waiting::Handshake => "timeout expired (during the TLS handshake: the server stopped answering)".to_string(),
            Waiting::Login => "timeout expired (waiting for the server's answer to the startup message or the login)".to_string(),
        }
    }
}

/// Everything one attempt learned.
#[derive(Debug, Clone, Default)]
pub struct AttemptResult {
    /// Whether the attempt ended up using TLS.
    pub tls: bool,
    /// The address reached.
    pub address: Option<String>,
    /// How it ended (`None` while running).
    pub outcome: Option<Outcome>,
    /// The error, if any.
    pub error: Option<String>,
    /// Whether a TCP (or socket) connection was made.
    pub connected: bool,
    /// Whether the deadline ended it.
    pub timed_out: bool,
    /// What the attempt was waiting for, which a timeout names.
    pub waiting: Waiting,
    /// Whether libpq gives up at once here, with no fallback to plaintext.
    pub hard_failure: bool,
    /// The server's one-byte answer to SSLRequest.
    pub ssl_response: Option<u8>,
    /// The negotiated session, once the handshake completed.
    pub session: Option<TlsSession>,
    /// What the certificate verifier saw.
    pub seen: Seen,
    /// Whether the chain was verified.
    pub chain_checked: bool,
    /// The host-name decision under verify-full.
    pub name_check: Option<NameCheck>,
    /// The root file that could not be used, when that ended the attempt.
    pub root_error: Option<RootError>,
    /// The server's answer to the startup message.
    pub answer: Option<Answer>,
    /// The login that followed.
    pub login: Option<crate::report::Login>,
    /// The server's refusal, as it sent it (ErrorResponse fields), when it refused.
    pub server_error: Option<wire::ServerError>,
    /// Whether the server asked for a client certificate, and whether one was sent.
    pub client_cert: Option<crate::report::ClientCertificate>,
    /// Time by phase.
    pub timings: Timings,
}

impl AttemptResult {
    fn fail(&mut self, outcome: Outcome, error: impl Into<String>) {
        self.outcome = Some(outcome);
        self.error = Some(error.into());
    }
}

/// libpq's message for a connection the server ended.
const CLOSED: &str = "server closed the connection unexpectedly";

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

/// Runs one attempt until `deadline`.
pub async fn run(plan: &Plan<'_>, tls: bool, deadline: tokio::time::Instant) -> AttemptResult {
    let start = Instant::now();
    let mut result = AttemptResult {
        tls,
        ..AttemptResult::default()
    };
    let record = Record::default();
    let trips = std::sync::Arc::<std::sync::atomic::AtomicU32>::default();
    let finished =
        tokio::time::timeout_at(deadline, steps(plan, &mut result, &record, trips.clone())).await;
    if finished.is_err() {
        result.timed_out = true;
        let message = result.waiting.timeout_message(&plan.target.host);
        result.fail(Outcome::Unreachable, message);
    }
    if let Ok(seen) = record.lock() {
        result.seen = seen.clone();
    }
    result.timings.total_ms = ms(start);
    result.timings.round_trips = trips.load(std::sync::atomic::Ordering::Relaxed);
    result
}

async fn steps(
    plan: &Plan<'_>,
    r: &mut AttemptResult,
    record: &Record,
    trips: std::sync::Arc<std::sync::atomic::AtomicU32>,
) {
    let start = Instant::now();
    r.waiting = Waiting::Resolving;
    let place = transport::resolve(plan.target).await;
    r.waiting = Waiting::Connecting;
    let connection = match place {
        Ok(place) => transport::connect_counted(plan.target, &place, trips).await,
        Err(e) => Err(ConnectError::Server(e)),
    };
    let connection = match connection {
        Ok(c) => c,
        Err(ConnectError::Server(e)) => return r.fail(Outcome::Unreachable, e),
        Err(ConnectError::Local(e)) => return r.fail(Outcome::ConfigError, e),
    };
    r.connected = true;
    r.address = Some(connection.address);
    r.timings.connect_ms = ms(start);
    let mut stream = connection.stream;
    if !r.tls {
        r.waiting = Waiting::Login;
        return startup(plan, r, &mut stream).await;
    }
    let tls_start = Instant::now();
    if plan.options.sslnegotiation == SslNegotiation::Postgres {
        r.waiting = Waiting::SslAnswer;
        match ssl_request(plan, r, &mut stream).await {
            Some(true) => {}
            Some(false) => {
                // 'N' under allow or prefer: libpq goes on in plaintext on this connection.
                r.tls = false;
                r.waiting = Waiting::Login;
                return startup(plan, r, &mut stream).await;
            }
            None => return,
        }
    }
    let store = match plan.store {
        Ok(store) => store,
        Err(e) => {
            r.root_error = Some(e.clone());
            return r.fail(Outcome::ConfigError, e.to_string());
        }
    };
    let identity = match plan.identity {
        Ok(identity) => identity,
        Err(e) => return r.fail(Outcome::ConfigError, e.to_string()),
    };
    let (config, name, requested) = match tls::client_config(
        plan.options,
        &plan.target.host,
        store,
        identity,
        record.clone(),
        plan.offer,
    ) {
        Ok(c) => c,
        Err(e) => return r.fail(Outcome::ConfigError, e.to_string()),
    };
    r.chain_checked = store.is_some();
    r.waiting = Waiting::Handshake;
    let handshake = TlsConnector::from(config).connect(name, stream).await;
    r.waiting = Waiting::Login;
    r.timings.tls_ms = Some(ms(tls_start));
    let mut stream = match handshake {
        Ok(s) => s,
        Err(e) => return handshake_failed(r, record, &e),
    };
    let (_, conn) = stream.get_ref();
    r.session = session(plan, conn);
    let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.clone().into_owned());
    if plan.options.sslnegotiation == SslNegotiation::Direct && alpn.as_deref() != Some(tls::ALPN) {
        wire::terminate(&mut stream).await;
        return r.fail(
            Outcome::HandshakeFailed,
            "direct SSL connection was established without ALPN protocol negotiation extension",
        );
    }
    if plan.options.sslmode == SslMode::VerifyFull {
        let check = hostname::check_leaf(&plan.target.host, leaf.as_deref().unwrap_or_default());
        let failed = check.refusal().map(str::to_string);
        r.name_check = Some(check);
        if let Some(message) = failed {
            let _ = stream.shutdown().await;
            return r.fail(Outcome::NameMismatch, message);
        }
    }
    let requested = requested.lock().map(|r| *r).unwrap_or(false);
    let subject = identity
        .and_then(|i| i.chain.first())
        .and_then(|c| crate::certinfo::describe(c, 0))
        .map(|i| i.subject);
    r.client_cert = Some(crate::report::ClientCertificate {
        requested,
        sent: requested && identity.is_some(),
        file: identity.map(|i| i.cert_file.display().to_string()),
        subject,
    });
    let server_cert = leaf.as_ref().map(|c| c.to_vec());
    let sent = requested && identity.is_some();
    let cert = ClientCertState { requested, sent };
    let presented = record
        .lock()
        .map(|seen| seen.presented.clone())
        .unwrap_or_default();
    let credentials = Credentials::passed(plan, Some(&presented));
    login(
        plan,
        r,
        &mut stream,
        server_cert.as_deref(),
        cert,
        credentials,
    )
    .await;
}

/// Sends SSLRequest and reads the answer: `Some(true)` for 'S', `Some(false)` for 'N' where
/// plaintext is allowed, `None` when the attempt is over.
async fn ssl_request(
    plan: &Plan<'_>,
    r: &mut AttemptResult,
    stream: &mut Box<dyn Stream>,
) -> Option<bool> {
    if let Err(e) = stream.write_all(&wire::ssl_request()).await {
        r.fail(
            Outcome::Unreachable,
            format!("could not send SSL negotiation packet: {}", os_message(&e)),
        );
        return None;
    }
    let mut buf = [0u8; 64];
    let n = match stream.read(&mut buf).await {
        Ok(0) => {
            r.fail(Outcome::Unreachable, CLOSED);
            return None;
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
            r.fail(Outcome::Unreachable, CLOSED);
            return None;
        }
        Ok(n) => n,
        Err(e) => {
            r.fail(
                Outcome::Unreachable,
                format!("could not receive data from server: {}", os_message(&e)),
            );
            return None;
        }
    };
    r.ssl_response = Some(buf[0]);
    match buf[0] {
        // Bytes that came with the answer were sent before any handshake: an attack
        // (CVE-2021-23222), never to be read as TLS or as the protocol.
        b'S' | b'N' if n > 1 => {
            r.hard_failure = true;
            r.fail(
                Outcome::HandshakeFailed,
                "received unencrypted data after SSL response",
            );
            None
        }
        b'S' => Some(true),
        b'N' if plan.options.sslmode.allows_plaintext() => Some(false),
        b'N' => {
            r.fail(
                Outcome::TlsNotOffered,
                "server does not support SSL, but SSL was required",
            );
            None
        }
        b'E' => {
            r.hard_failure = true;
            r.fail(
                Outcome::TlsNotOffered,
                "server sent an error response during SSL exchange",
            );
            None
        }
        other => {
            r.hard_failure = true;
            // libpq's words, then what the byte says of the peer.
            let peer = match other {
                b'H' => " (the answer starts like HTTP's: this port is probably not PostgreSQL's)",
                0x15 | 0x16 => {
                    " (the answer is TLS: a TLS server or proxy that expects the handshake at once, as with sslnegotiation=direct, or not PostgreSQL at all)"
                }
                _ => "",
            };
            r.fail(
                Outcome::Unreachable,
                format!(
                    "received invalid response to SSL negotiation: {}{peer}",
                    wire::printable(other)
                ),
            );
            None
        }
    }
}

fn handshake_failed(r: &mut AttemptResult, record: &Record, err: &std::io::Error) {
    let chain_error = record.lock().ok().and_then(|seen| match &seen.chain {
        Some(Err(e)) => Some(e.clone()),
        _ => None,
    });
    if let Some(e) = chain_error {
        return r.fail(
            Outcome::Untrusted,
            format!("certificate verify failed: {e}"),
        );
    }
    let message = match err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::AlertReceived(alert)) => {
            format!("TLS handshake failed: the server sent alert {alert:?}")
        }
        Some(rustls::Error::PeerIncompatible(why)) => {
            format!("TLS handshake failed: the server is incompatible: {why:?}")
        }
        Some(other) => format!("TLS handshake failed: {other}"),
        None if err.kind() == std::io::ErrorKind::UnexpectedEof => {
            "TLS handshake failed: the server closed the connection".to_string()
        }
        None => format!("TLS handshake failed: {}", os_message(err)),
    };
    r.fail(Outcome::HandshakeFailed, message);
}

fn session(plan: &Plan<'_>, conn: &rustls::ClientConnection) -> Option<TlsSession> {
    let suite = conn.negotiated_cipher_suite()?;
    let (cipher, cipher_iana) = suites::suite_names(suite.suite());
    let group = conn
        .negotiated_key_exchange_group()
        .map(|g| suites::group_name(g.name()));
    let tls13 = conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
    Some(TlsSession {
        negotiation: plan.options.sslnegotiation,
        protocol: conn
            .protocol_version()
            .map(suites::version_name)
            .unwrap_or_default(),
        cipher,
        cipher_iana,
        key_exchange_group: group.clone(),
        hello_retry: tls13 && group.is_some_and(|g| plan.offer.retries_for(&g)),
        alpn: conn
            .alpn_protocol()
            .map(|a| crate::sanitize::server_text(&String::from_utf8_lossy(a))),
        sni: tls::sni_name(plan.options, &plan.target.host),
    })
}

async fn startup<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    plan: &Plan<'_>,
    r: &mut AttemptResult,
    stream: &mut S,
) {
    let credentials = Credentials::passed(plan, None);
    login(
        plan,
        r,
        stream,
        None,
        ClientCertState::default(),
        credentials,
    )
    .await;
}

/// The password a login may use, and whether one was configured but held back.
#[derive(Clone, Copy)]
struct Credentials<'a> {
    password: Option<&'a Secret>,
    withheld: bool,
}

impl<'a> Credentials<'a> {
    /// The plan's password, where its gate lets it through for this connection (`presented`:
    /// the server's chain over TLS, `None` in plaintext).
    fn passed(
        plan: &Plan<'a>,
        presented: Option<&[rustls::pki_types::CertificateDer<'static>]>,
    ) -> Self {
        let password = match plan.password_gate {
            Some(gate) => plan.password.filter(|_| gate(presented)),
            None => plan.password,
        };
        Credentials {
            password,
            withheld: plan.password.is_some() && password.is_none(),
        }
    }
}

/// Whether the server asked for a client certificate in the handshake, and whether one was sent.
#[derive(Debug, Clone, Copy, Default)]
struct ClientCertState {
    requested: bool,
    sent: bool,
}

/// Sends the startup message, logs in as far as the configuration allows, and ends the session.
async fn login<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    plan: &Plan<'_>,
    r: &mut AttemptResult,
    stream: &mut S,
    server_cert: Option<&[u8]>,
    cert: ClientCertState,
    credentials: Credentials<'_>,
) {
    use super::login::{self, LoginResult};
    let start = Instant::now();
    if let Err(e) = stream
        .write_all(&wire::startup(plan.options.protocol.max, plan.startup))
        .await
    {
        return r.fail(
            Outcome::Unreachable,
            format!("could not send startup packet: {}", os_message(&e)),
        );
    }
    let ctx = login::Context {
        user: &plan.options.user,
        password: credentials.password,
        rules: Rules {
            require_auth: plan.options.require_auth.as_ref(),
            channel_binding: plan.options.channel_binding,
            sslcertmode: plan.options.sslcertmode,
            tls: server_cert.is_some(),
            cert_requested: cert.requested,
            cert_sent: cert.sent,
        },
        server_cert,
        protocol: plan.options.protocol,
        oauth: (&plan.options.oauth, plan.options.oauth_debug),
    };
    let result = login::authenticate(stream, &ctx).await;
    r.timings.startup_ms = Some(ms(start));
    wire::terminate(stream).await;
    let (answer, result, version) = match result {
        Ok(done) => done,
        Err(WireError::Closed(_)) => return r.fail(Outcome::Unreachable, CLOSED),
        Err(WireError::Protocol(message)) => return r.fail(Outcome::Unreachable, message),
        Err(WireError::Refused(message)) => return r.fail(Outcome::Rejected, message),
    };
    r.answer = Some(answer);
    let report =
        |authenticated, method: Option<String>, stopped: Option<String>| crate::report::Login {
            authenticated,
            method,
            stopped,
            protocol_version: Some(super::protocol::name(version)),
            server_version: None,
            key_pid: None,
            server_tls: None,
            oauth: None,
        };
    match result {
        LoginResult::Authenticated {
            method,
            server_version,
            key_pid,
            server_tls,
        } => {
            r.login = Some(crate::report::Login {
                server_version,
                key_pid,
                server_tls,
                ..report(true, Some(method), None)
            });
            r.outcome = Some(Outcome::Accepted);
        }
        LoginResult::NeedsPassword(method) => {
            let why = if credentials.withheld {
                "the password was withheld: no client being judged would send it on this connection"
                    .to_string()
            } else {
                "no password is configured (password, PGPASSWORD or the password file)".to_string()
            };
            r.login = Some(report(false, Some(method), Some(why)));
            r.outcome = Some(Outcome::Accepted);
        }
        // OAUTHBEARER: libpq stops here when its settings or the server's discovery do not
        // pass its rules; otherwise it would run its flow, and pgtls checks the issuer instead.
        LoginResult::OAuth(Err(super::oauth::Stop::Unconfigured(message))) => {
            r.login = Some(report(false, Some("OAUTHBEARER".into()), Some(message)));
            r.outcome = Some(Outcome::Accepted);
        }
        LoginResult::OAuth(Err(super::oauth::Stop::Refused(message))) => {
            r.login = Some(report(false, Some("OAUTHBEARER".into()), None));
            r.fail(Outcome::Rejected, message);
        }
        LoginResult::OAuth(Ok(params)) => {
            // Within the attempt's own deadline, which still has the login to finish.
            let left = std::time::Duration::from_secs(5);
            let issuer = match &params.discovery_uri {
                Some(uri) => Some(super::oauth_issuer::check(uri, plan.options, left).await),
                None => None,
            };
            let stopped = "the server asks for OAUTHBEARER: libpq would now run its OAuth flow (a device authorization at the issuer); pgtls requests no token and checks the issuer's endpoint instead".to_string();
            r.login = Some(crate::report::Login {
                oauth: Some(crate::report::OAuthLogin {
                    discovery_uri: params.discovery_uri,
                    scope: params.scope,
                    issuer,
                }),
                ..report(false, Some("OAUTHBEARER".into()), Some(stopped))
            });
            r.outcome = Some(Outcome::Accepted);
        }
        LoginResult::Unsupported(method) => {
            let why = format!("pgtls does not authenticate with {method}");
            r.login = Some(report(false, Some(method), Some(why)));
            r.outcome = Some(Outcome::Accepted);
        }
        LoginResult::ClientRefused(message) => {
            r.login = Some(report(false, None, None));
            r.fail(Outcome::Rejected, message);
        }
        LoginResult::Rejected(err) => {
            r.login = Some(report(false, None, None));
            r.fail(Outcome::Rejected, err.to_string());
            r.server_error = Some(err);
        }
    }
}

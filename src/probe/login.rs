//! Logging in after TLS, as libpq does: cleartext, MD5 and SCRAM-SHA-256 (with channel binding,
//! `tls-server-end-point`) passwords under libpq's `channel_binding` rules; then the server's own
//! view of the connection from `pg_stat_ssl`. SCRAM and the message encodings come from
//! postgres-protocol; the secret is only ever written to the server.

use bytes::BytesMut;
use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::frontend;
use sha2::Digest;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::auth::{self, Mechanism, Progress, Rules};
use super::wire::{self, Answer, Auth, Incoming, ServerError, WireError};
use crate::config::{AuthRequest, ChannelBinding, Secret};
use crate::report::ServerTls;

/// How a login ended.
#[derive(Debug, Clone)]
pub enum LoginResult {
    /// Logged in, with this method.
    Authenticated {
        /// The method, e.g. `SCRAM-SHA-256-PLUS`.
        method: String,
        /// The server's `server_version`.
        server_version: Option<String>,
        /// The process ID of BackendKeyData.
        key_pid: Option<i32>,
        /// The server's view, when it could be read.
        server_tls: Option<ServerTls>,
    },
    /// The server asked for a password and none is configured: the check stops there.
    NeedsPassword(String),
    /// The server asked for a method pgtls does not speak (GSSAPI, SSPI).
    Unsupported(String),
    /// The server asked for OAUTHBEARER: what its discovery said, up to where libpq would start
    /// its OAuth flow; or libpq's message where libpq stops before that.
    OAuth(Result<super::oauth::ServerParams, super::oauth::Stop>),
    /// libpq itself would refuse to go on (channel binding rules), with libpq's message.
    ClientRefused(String),
    /// The server refused.
    Rejected(ServerError),
}

/// What the login needs.
pub(crate) struct Context<'a> {
    /// The user name (MD5 hashes it with the password).
    pub user: &'a str,
    /// The password, if any.
    pub password: Option<&'a Secret>,
    /// libpq's rules for which requests are answered.
    pub rules: Rules<'a>,
    /// The server's certificate, when the connection is TLS.
    pub server_cert: Option<&'a [u8]>,
    /// The protocol versions allowed; the startup message asked for the maximum.
    pub protocol: crate::config::ProtocolRange,
    /// The `oauth_*` settings and `PGOAUTHDEBUG=UNSAFE`, for OAUTHBEARER.
    pub oauth: (&'a crate::config::OAuthSettings, bool),
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, buf: &BytesMut) -> Result<(), WireError> {
    stream.write_all(buf).await.map_err(WireError::Closed)?;
    stream.flush().await.map_err(WireError::Closed)
}

/// RFC 5929's tls-server-end-point: the certificate hashed with its signature's hash, MD5 and
/// SHA-1 raised to SHA-256, as libpq computes it (RSA-PSS by its parameters' hash).
///
/// # Errors
/// libpq's message where no hash is defined (Ed25519, Ed448) or the certificate does not parse.
pub fn end_point_hash(cert: &[u8]) -> Result<Vec<u8>, String> {
    use x509_parser::signature_algorithm::SignatureAlgorithm;
    let unknown = || "could not determine server certificate signature algorithm".to_string();
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).map_err(|_| unknown())?;
    let algorithm = &parsed.signature_algorithm;
    let mut oid = algorithm.algorithm.to_id_string();
    if let Ok(SignatureAlgorithm::RSASSA_PSS(params)) = SignatureAlgorithm::try_from(algorithm) {
        oid = params.hash_algorithm_oid().to_id_string();
    }
    Ok(match oid.as_str() {
        // SHA-1 and SHA-256 (digest OIDs from RSA-PSS), MD5, SHA-1 and SHA-256 with RSA or ECDSA
        "1.3.14.3.2.26"
        | "2.16.840.1.101.3.4.2.1"
        | "1.2.840.113549.1.1.4"
        | "1.2.840.113549.1.1.5"
        | "1.2.840.113549.1.1.11"
        | "1.2.840.10045.4.1"
        | "1.2.840.10045.4.3.2" => sha2::Sha256::digest(cert).to_vec(),
        "2.16.840.1.101.3.4.2.4" | "1.2.840.113549.1.1.14" | "1.2.840.10045.4.3.1" => {
            sha2::Sha224::digest(cert).to_vec()
        }
        "2.16.840.1.101.3.4.2.2" | "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => {
            sha2::Sha384::digest(cert).to_vec()
        }
        "2.16.840.1.101.3.4.2.3" | "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => {
            sha2::Sha512::digest(cert).to_vec()
        }
        // Ed25519 and Ed448 sign without a separate digest.
        "1.3.101.112" | "1.3.101.113" => return Err("could not find digest for NID UNDEF".into()),
        _ => return Err(unknown()),
    })
}

/// The shortest secret that is looked for in a server's text: shorter ones would hide ordinary
/// words.
const MIN_HIDDEN: usize = 3;

/// A server's error with every secret this client sent it replaced by `(redacted)`, so that a
/// server that echoes a password back cannot put it into a report.
fn hide_secrets(mut err: ServerError, sent: &[String]) -> ServerError {
    for secret in sent.iter().filter(|s| s.len() >= MIN_HIDDEN) {
        err.message = err.message.replace(secret.as_str(), "(redacted)");
        if let Some(detail) = err.detail.as_mut() {
            *detail = detail.replace(secret.as_str(), "(redacted)");
        }
    }
    err
}

/// libpq's refusal of a request code it has no code for.
fn not_supported(code: u32) -> String {
    match code {
        1 => "Kerberos 4 authentication not supported".into(),
        2 => "Kerberos 5 authentication not supported".into(),
        4 => "Crypt authentication not supported".into(),
        code => format!("authentication method {code} not supported"),
    }
}

/// A SCRAM exchange under way.
struct Exchange {
    scram: sasl::ScramSha256,
    mechanism: Mechanism,
    /// libpq's error when the channel-binding hash cannot be computed: the first message is
    /// sent, and the exchange fails at the server's first answer.
    no_binding: Option<String>,
}

/// libpq's words for a SCRAM message postgres-protocol refuses.
fn scram_error(err: &std::io::Error) -> String {
    let text = err.to_string();
    if text == "invalid nonce" {
        "invalid SCRAM response (nonce mismatch)".into()
    } else if text == "SCRAM verification error" {
        "incorrect server signature".into()
    } else if let Some(server) = text.strip_prefix("SCRAM error: ") {
        format!("error received from server in SCRAM exchange: {server}")
    } else {
        format!("malformed SCRAM message ({text})")
    }
}

/// Runs the authentication exchange from the server's first answer on, answering only what
/// libpq answers under the same settings. Returns the first answer (for the report), the
/// outcome, and the protocol version of the session.
///
/// # Errors
/// A connection that closes or bytes that are not the protocol.
pub(crate) async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    ctx: &Context<'_>,
) -> Result<(Answer, LoginResult, i32), WireError> {
    let mut client = Client::new(ctx);
    let mut first: Option<Answer> = None;
    loop {
        let request = match wire::read_message(stream).await? {
            Incoming::Error(err) => {
                let err = hide_secrets(err, &client.sent);
                let answer = first.unwrap_or_else(|| Answer::Error(err.clone()));
                return Ok((answer, LoginResult::Rejected(err), client.version));
            }
            Incoming::Auth(request) => request,
            // NoticeResponse: libpq reads past it.
            Incoming::Other(b'N') => continue,
            Incoming::Negotiate(newest, count, unsupported) => {
                client.negotiate(newest, count, &unsupported)?;
                continue;
            }
            Incoming::Other(kind) | Incoming::Cut(kind) => {
                return Err(WireError::Protocol(format!(
                    "expected authentication request from server, but received {}",
                    wire::printable(kind)
                )));
            }
            Incoming::Parameter { .. } => return Err(unexpected(b'S')),
            Incoming::Row(_) => return Err(unexpected(b'D')),
            Incoming::Ready => return Err(unexpected(b'Z')),
            Incoming::BackendKey(..) => return Err(unexpected(b'K')),
        };
        let answer = first
            .get_or_insert_with(|| match request {
                Auth::Ok => Answer::AuthenticationOk,
                _ => Answer::Authentication(request.method()),
            })
            .clone();
        if let Err(message) = auth::check_request(&ctx.rules, request.request(), client.progress) {
            return Ok((answer, LoginResult::ClientRefused(message), client.version));
        }
        let step = match &request {
            Auth::Ok => Step::Done(client.finish(stream).await?),
            Auth::Cleartext | Auth::Md5(_) => client.password(stream, &request).await?,
            Auth::Sasl(mechanisms) => client.sasl_start(stream, &request, mechanisms).await?,
            Auth::SaslContinue(data) | Auth::SaslFinal(data) => {
                client.sasl_next(stream, request.request(), data).await?
            }
            Auth::Gss | Auth::GssContinue | Auth::Sspi => {
                Step::Done(LoginResult::Unsupported(request.method()))
            }
            Auth::Other(code) => Step::Done(LoginResult::ClientRefused(not_supported(*code))),
        };
        if let Step::Done(result) = step {
            return Ok((answer, result, client.version));
        }
    }
}

/// libpq's message for a message that has no place before the login is over.
fn unexpected(kind: u8) -> WireError {
    WireError::Protocol(format!(
        "expected authentication request from server, but received {}",
        wire::printable(kind)
    ))
}

/// After answering a request: wait for the next one, or the login is over.
enum Step {
    Next,
    Done(LoginResult),
}

/// The client's side of the exchange: what it has answered and completed so far.
struct Client<'c> {
    ctx: &'c Context<'c>,
    exchange: Option<Exchange>,
    progress: Progress,
    /// The method this client answered with, once it answered.
    used: Option<&'static str>,
    /// What was sent that a server must not get to show back: the password, its MD5 hash.
    sent: Vec<String>,
    /// The protocol version of the session: the one asked for, until the server negotiates.
    version: i32,
    /// Whether NegotiateProtocolVersion came (libpq takes it once).
    negotiated: bool,
    /// The OAUTHBEARER discovery under way.
    oauth: Option<super::oauth::Setup>,
}

impl<'c> Client<'c> {
    /// NegotiateProtocolVersion, as libpq 18 takes it: once, and only a real downgrade.
    fn negotiate(
        &mut self,
        newest: i32,
        count: i32,
        unsupported: &[String],
    ) -> Result<(), WireError> {
        use super::protocol::{Refusal, negotiate};
        if self.negotiated {
            return Err(WireError::Protocol(
                "received duplicate protocol negotiation message".into(),
            ));
        }
        self.negotiated = true;
        let range = self.ctx.protocol;
        self.version =
            negotiate(range.max, range.min, newest, count, unsupported).map_err(|refusal| {
                match refusal {
                    Refusal::Invalid(message) => WireError::Protocol(message),
                    Refusal::BelowMinimum(message) => WireError::Refused(message),
                }
            })?;
        Ok(())
    }

    fn new(ctx: &'c Context<'c>) -> Self {
        let sent = ctx.password.map(|p| p.expose().to_string());
        Client {
            ctx,
            exchange: None,
            progress: Progress::default(),
            used: None,
            sent: sent.into_iter().collect(),
            version: super::protocol::code(ctx.protocol.max),
            negotiated: false,
            oauth: None,
        }
    }

    /// AuthenticationOk: the method used, and the server's view of the connection.
    async fn finish<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
    ) -> Result<LoginResult, WireError> {
        let method = match self.used {
            Some(method) => method.to_string(),
            None if self.ctx.rules.cert_sent => "cert".into(),
            None => "trust".into(),
        };
        Ok(match server_view(stream, self.version).await? {
            Ok((server_version, key_pid, server_tls)) => LoginResult::Authenticated {
                method,
                server_version,
                key_pid,
                server_tls,
            },
            // Authenticated, then refused: no such database, too many connections, ...
            Err(err) => LoginResult::Rejected(hide_secrets(err, &self.sent)),
        })
    }

    /// A cleartext password or its MD5 hash.
    async fn password<S: AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        request: &Auth,
    ) -> Result<Step, WireError> {
        let Some(password) = self.ctx.password else {
            return Ok(Step::Done(LoginResult::NeedsPassword(request.method())));
        };
        let mut buf = BytesMut::new();
        if let Auth::Md5(salt) = request {
            self.used = Some("md5");
            let hash = md5_hash(
                self.ctx.user.as_bytes(),
                password.expose().as_bytes(),
                *salt,
            );
            self.sent.push(hash.clone());
            frontend::password_message(hash.as_bytes(), &mut buf).map_err(WireError::Closed)?;
        } else {
            frontend::password_message(password.expose().as_bytes(), &mut buf)
                .map_err(WireError::Closed)?;
            self.used = Some("password");
        }
        send(stream, &buf).await?;
        self.progress.finished = true;
        Ok(Step::Next)
    }

    /// AuthenticationSASL: the mechanism libpq would choose, and the first SCRAM message.
    async fn sasl_start<S: AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        request: &Auth,
        mechanisms: &[String],
    ) -> Result<Step, WireError> {
        let offered: Vec<&[u8]> = mechanisms.iter().map(String::as_bytes).collect();
        let mechanism = match auth::choose_mechanism(&self.ctx.rules, &offered) {
            Ok(mechanism) => mechanism,
            Err(message) => return Ok(Step::Done(LoginResult::ClientRefused(message))),
        };
        if mechanism == Mechanism::OAuth {
            let (settings, debug) = self.ctx.oauth;
            let setup = match super::oauth::setup(settings, debug) {
                Ok(setup) => setup,
                Err(stop) => return Ok(Step::Done(LoginResult::OAuth(Err(stop)))),
            };
            // The discovery request: no token, as libpq's first connection sends it.
            let mut buf = BytesMut::new();
            frontend::sasl_initial_response(mechanism.name(), super::oauth::DISCOVERY, &mut buf)
                .map_err(WireError::Closed)?;
            send(stream, &buf).await?;
            self.oauth = Some(setup);
            self.used = Some(mechanism.name());
            return Ok(Step::Next);
        }
        let Some(password) = self.ctx.password else {
            return Ok(Step::Done(LoginResult::NeedsPassword(request.method())));
        };
        let mut buf = BytesMut::new();
        self.exchange = Some(start_scram(stream, self.ctx, mechanism, password, &mut buf).await?);
        self.used = Some(mechanism.name());
        Ok(Step::Next)
    }

    /// AuthenticationSASLContinue (answered) or AuthenticationSASLFinal (verified).
    async fn sasl_next<S: AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        request: AuthRequest,
        data: &[u8],
    ) -> Result<Step, WireError> {
        let refused = |message: String| Ok(Step::Done(LoginResult::ClientRefused(message)));
        if let Some(setup) = &self.oauth {
            if request != AuthRequest::SaslContinue {
                return refused("server sent unexpected additional OAuth data".into());
            }
            // The dummy answer to the error result; libpq would now run its flow, pgtls stops.
            let mut buf = BytesMut::new();
            frontend::sasl_response(super::oauth::AFTER_ERROR, &mut buf)
                .map_err(WireError::Closed)?;
            send(stream, &buf).await?;
            let params = super::oauth::server_params(data, setup, self.ctx.oauth.1).and_then(
                |mut params| {
                    // A discovery URI given as oauth_issuer stands when the server sends none.
                    params.discovery_uri = params.discovery_uri.or(setup.discovery_uri.clone());
                    match params.discovery_uri {
                        Some(_) => Ok(params),
                        None => Err("server requires OAuth authentication, but no discovery metadata was provided".to_string()),
                    }
                },
            );
            let params = params.map_err(super::oauth::Stop::Refused);
            return Ok(Step::Done(LoginResult::OAuth(params)));
        }
        let Some(current) = self.exchange.as_mut() else {
            return refused(
                "fe_sendauth: invalid authentication request from server: AUTH_REQ_SASL_CONT without AUTH_REQ_SASL".into(),
            );
        };
        if let Some(message) = current.no_binding.take() {
            return refused(message);
        }
        if request == AuthRequest::SaslContinue {
            if let Err(err) = current.scram.update(data) {
                return refused(scram_error(&err));
            }
            let mut buf = BytesMut::new();
            frontend::sasl_response(current.scram.message(), &mut buf)
                .map_err(WireError::Closed)?;
            send(stream, &buf).await?;
        } else {
            if let Err(err) = current.scram.finish(data) {
                return refused(scram_error(&err));
            }
            self.progress.finished = true;
            self.progress.channel_bound = current.mechanism == Mechanism::ScramPlus;
        }
        Ok(Step::Next)
    }
}

/// Sends the SCRAM client-first message for the chosen mechanism.
async fn start_scram<S: AsyncWrite + Unpin>(
    stream: &mut S,
    ctx: &Context<'_>,
    mechanism: Mechanism,
    password: &Secret,
    buf: &mut BytesMut,
) -> Result<Exchange, WireError> {
    let (binding, no_binding) = match (mechanism, ctx.server_cert) {
        (Mechanism::ScramPlus, Some(cert)) => match end_point_hash(cert) {
            Ok(hash) => (sasl::ChannelBinding::tls_server_end_point(hash), None),
            Err(message) => (
                sasl::ChannelBinding::tls_server_end_point(Vec::new()),
                Some(message),
            ),
        },
        _ if ctx.rules.tls && ctx.rules.channel_binding != ChannelBinding::Disable => {
            (sasl::ChannelBinding::unrequested(), None)
        }
        _ => (sasl::ChannelBinding::unsupported(), None),
    };
    let scram = sasl::ScramSha256::new(password.expose().as_bytes(), binding);
    frontend::sasl_initial_response(mechanism.name(), scram.message(), buf)
        .map_err(WireError::Closed)?;
    send(stream, buf).await?;
    Ok(Exchange {
        scram,
        mechanism,
        no_binding,
    })
}

/// The query for the server's view of this connection.
const SERVER_TLS_QUERY: &str = "SELECT ssl::pg_catalog.text, version, cipher, bits::pg_catalog.text, client_dn, \
     client_serial::pg_catalog.text, issuer_dn, pid::pg_catalog.text FROM pg_catalog.pg_stat_ssl \
     WHERE pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()";

/// `server_version`, the process ID of BackendKeyData, and the server's view.
type View = (Option<String>, Option<i32>, Option<ServerTls>);

/// After AuthenticationOk: waits for ReadyForQuery (noting `server_version`), asks `pg_stat_ssl`
/// for the server's view, and reads the answer. An error before ReadyForQuery is the server's
/// refusal; a failed query only leaves the view unknown.
async fn server_view<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    protocol: i32,
) -> Result<Result<View, ServerError>, WireError> {
    let mut version = None;
    let mut key_pid = None;
    loop {
        match wire::read_long_message(stream).await? {
            Incoming::Parameter { name, value } if name == "server_version" => {
                version = Some(value);
            }
            Incoming::BackendKey(pid, length) => {
                super::protocol::check_cancel_key(protocol, length).map_err(WireError::Protocol)?;
                key_pid = Some(pid);
            }
            Incoming::Ready => break,
            Incoming::Error(err) => return Ok(Err(err)),
            _ => {}
        }
    }
    let mut buf = BytesMut::new();
    frontend::query(SERVER_TLS_QUERY, &mut buf).map_err(WireError::Closed)?;
    send(stream, &buf).await?;
    let mut row: Option<Vec<Option<String>>> = None;
    loop {
        match wire::read_long_message(stream).await? {
            Incoming::Row(columns) => row = Some(columns),
            // A row too wide to keep leaves the view unknown rather than half read.
            Incoming::Cut(b'D') => row = None,
            Incoming::Ready => break,
            _ => {}
        }
    }
    let view = row.map(|cols| {
        let col = |i: usize| cols.get(i).cloned().flatten();
        ServerTls {
            ssl: col(0).as_deref() == Some("true"),
            version: col(1),
            cipher: col(2),
            bits: col(3).and_then(|b| b.parse().ok()),
            client_dn: col(4),
            client_serial: col(5),
            issuer_dn: col(6),
            pid: col(7).and_then(|p| p.parse().ok()),
        }
    });
    Ok(Ok((version, key_pid, view)))
}

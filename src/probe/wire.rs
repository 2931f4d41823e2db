//! The few PostgreSQL protocol messages a check needs: SSLRequest, StartupMessage, Terminate, and
//! reading the server's messages. Lengths from the server are bounded here, before a byte of the
//! body is read; the bodies are decoded by postgres-protocol's backend parser.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::AuthRequest;

/// The SSLRequest code.
const SSL_REQUEST: u32 = 80_877_103;
/// The largest message accepted before the server is authenticated.
const MAX_MESSAGE: usize = 64 * 1024;

/// The 8 bytes of an SSLRequest.
pub fn ssl_request() -> [u8; 8] {
    let mut buf = [0u8; 8];
    buf[..4].copy_from_slice(&8u32.to_be_bytes());
    buf[4..].copy_from_slice(&SSL_REQUEST.to_be_bytes());
    buf
}

/// A StartupMessage for protocol 3.`minor` with the given parameters (postgres-protocol's
/// writer asks for 3.0 only).
pub fn startup<K: AsRef<str>, V: AsRef<str>>(minor: u16, params: &[(K, V)]) -> Vec<u8> {
    let mut body = super::protocol::code(minor).to_be_bytes().to_vec();
    for (k, v) in params {
        body.extend_from_slice(k.as_ref().as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_ref().as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    msg.extend(body);
    msg
}

/// Terminate.
pub const TERMINATE: [u8; 5] = [b'X', 0, 0, 0, 4];

/// The fields of an ErrorResponse that a report shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerError {
    /// `FATAL`, `ERROR`, ...
    pub severity: String,
    /// The SQLSTATE.
    pub code: String,
    /// The primary message.
    pub message: String,
    /// The detail, if any.
    pub detail: Option<String>,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:  {}", self.severity, self.message)?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

/// The server's first meaningful answer to a startup message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// AuthenticationOk: no password needed.
    AuthenticationOk,
    /// An authentication request, with the method's name.
    Authentication(String),
    /// An ErrorResponse.
    Error(ServerError),
}

/// Why the answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The connection failed or closed.
    #[error("server closed the connection unexpectedly")]
    Closed(#[source] std::io::Error),
    /// The bytes are not the PostgreSQL protocol.
    #[error("{0}")]
    Protocol(String),
    /// The server cannot give what the settings require (a protocol version below
    /// `min_protocol_version`): libpq ends the connection with these words.
    #[error("{0}")]
    Refused(String),
}

/// An authentication request, decoded, with what answering it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// AuthenticationOk.
    Ok,
    /// AuthenticationCleartextPassword.
    Cleartext,
    /// AuthenticationMD5Password, with its salt.
    Md5([u8; 4]),
    /// AuthenticationSASL, with the mechanisms offered, in order.
    Sasl(Vec<String>),
    /// AuthenticationSASLContinue, with its data.
    SaslContinue(Vec<u8>),
    /// AuthenticationSASLFinal, with its data.
    SaslFinal(Vec<u8>),
    /// AuthenticationGSS.
    Gss,
    /// AuthenticationGSSContinue.
    GssContinue,
    /// AuthenticationSSPI.
    Sspi,
    /// Any other code (Kerberos V5, SCM credentials, codes no server sends today).
    Other(u32),
}

impl Auth {
    /// The request, for libpq's rules on which are answered.
    pub fn request(&self) -> AuthRequest {
        match self {
            Self::Ok => AuthRequest::Ok,
            Self::Cleartext => AuthRequest::Password,
            Self::Md5(_) => AuthRequest::Md5,
            Self::Sasl(_) => AuthRequest::Sasl,
            Self::SaslContinue(_) => AuthRequest::SaslContinue,
            Self::SaslFinal(_) => AuthRequest::SaslFinal,
            Self::Gss => AuthRequest::Gss,
            Self::GssContinue => AuthRequest::GssContinue,
            Self::Sspi => AuthRequest::Sspi,
            Self::Other(code) => AuthRequest::Other(*code),
        }
    }

    /// The method's name, as a report shows it: SASL's mechanisms, made safe for a terminal.
    pub fn method(&self) -> String {
        match self {
            Self::Ok => "none".into(),
            Self::Cleartext => "password (cleartext)".into(),
            Self::Md5(_) => "MD5".into(),
            Self::Sasl(mechanisms) => mechanisms
                .iter()
                .map(|m| crate::sanitize::server_text(m))
                .collect::<Vec<_>>()
                .join(", "),
            Self::SaslContinue(_) | Self::SaslFinal(_) => "SASL".into(),
            Self::Gss | Self::GssContinue => "GSSAPI".into(),
            Self::Sspi => "SSPI".into(),
            Self::Other(2) => "Kerberos V5".into(),
            Self::Other(other) => format!("unknown method {other}"),
        }
    }
}

/// A message from the server, as a check uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// An authentication request.
    Auth(Auth),
    /// An ErrorResponse.
    Error(ServerError),
    /// A ParameterStatus.
    Parameter {
        /// The parameter's name.
        name: String,
        /// Its value, made safe for a terminal.
        value: String,
    },
    /// A DataRow's columns, NULL as `None`, made safe for a terminal.
    Row(Vec<Option<String>>),
    /// ReadyForQuery.
    Ready,
    /// BackendKeyData: the process ID (PostgreSQL's own `pg_backend_pid()`, or a number a
    /// pooler made up for its own cancel keys) and the cancel key's length.
    BackendKey(i32, usize),
    /// NegotiateProtocolVersion: the newest version the server speaks, the number of options
    /// it says it does not know, and their names.
    Negotiate(i32, i32, Vec<String>),
    /// A message this check reads past: NoticeResponse, RowDescription, CommandComplete, ...
    /// by its type byte.
    Other(u8),
    /// A message after login longer than what is kept: read through and dropped, by its type
    /// byte (an ErrorResponse is kept as `Error` with the fields that fit).
    Cut(u8),
}

/// The authentication codes postgres-protocol's parser decodes.
const DECODED_AUTH_CODES: [u32; 11] = [0, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12];
/// The message types postgres-protocol's parser decodes.
const DECODED_TYPES: [u8; 21] = {
    use postgres_protocol::message::backend as b;
    [
        b::PARSE_COMPLETE_TAG,
        b::BIND_COMPLETE_TAG,
        b::CLOSE_COMPLETE_TAG,
        b::NOTIFICATION_RESPONSE_TAG,
        b::COPY_DONE_TAG,
        b::COMMAND_COMPLETE_TAG,
        b::COPY_DATA_TAG,
        b::DATA_ROW_TAG,
        b::ERROR_RESPONSE_TAG,
        b::COPY_IN_RESPONSE_TAG,
        b::COPY_OUT_RESPONSE_TAG,
        b::EMPTY_QUERY_RESPONSE_TAG,
        b::BACKEND_KEY_DATA_TAG,
        b::NO_DATA_TAG,
        b::NOTICE_RESPONSE_TAG,
        b::AUTHENTICATION_TAG,
        b::PORTAL_SUSPENDED_TAG,
        b::PARAMETER_STATUS_TAG,
        b::PARAMETER_DESCRIPTION_TAG,
        b::ROW_DESCRIPTION_TAG,
        b::READY_FOR_QUERY_TAG,
    ]
};

/// libpq's words for a message whose body does not fit its type.
fn malformed(kind: u8) -> WireError {
    WireError::Protocol(format!(
        "message contents do not agree with length in message type \"{}\"",
        printable(kind)
    ))
}

/// NegotiateProtocolVersion's body: the newest version, the count, and that many names.
fn negotiate_message(body: &[u8]) -> Option<Incoming> {
    let newest = i32::from_be_bytes(body.get(..4)?.try_into().ok()?);
    let count = i32::from_be_bytes(body.get(4..8)?.try_into().ok()?);
    let mut names = Vec::new();
    let mut rest = &body[8..];
    for _ in 0..count.max(0) {
        let end = rest.iter().position(|b| *b == 0)?;
        names.push(crate::sanitize::server_text(&String::from_utf8_lossy(
            &rest[..end],
        )));
        rest = &rest[end + 1..];
    }
    rest.is_empty()
        .then_some(Incoming::Negotiate(newest, count, names))
}

/// Decodes one whole message (type byte and body) with postgres-protocol's parser.
///
/// # Errors
/// libpq's message for bytes that are not the protocol.
fn decode(kind: u8, body: &[u8]) -> Result<Incoming, WireError> {
    use fallible_iterator::FallibleIterator as _;
    use postgres_protocol::message::backend::Message;

    // NegotiateProtocolVersion, which postgres-protocol does not know, and BackendKeyData,
    // whose cancel key protocol 3.2 lets be longer than postgres-protocol's 4 bytes.
    if kind == b'v' {
        return negotiate_message(body).ok_or_else(|| malformed(kind));
    }
    if kind == b'K' {
        return match body {
            [a, b, c, d, key @ ..] => Ok(Incoming::BackendKey(
                i32::from_be_bytes([*a, *b, *c, *d]),
                key.len(),
            )),
            _ => Err(malformed(kind)),
        };
    }
    let mut buf = bytes::BytesMut::with_capacity(body.len() + 5);
    buf.extend_from_slice(&[kind]);
    buf.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    buf.extend_from_slice(body);
    let malformed = || malformed(kind);
    let message = match Message::parse(&mut buf) {
        Ok(Some(message)) => message,
        // A code postgres-protocol does not decode: libpq refuses it by its number.
        Err(_) if kind == b'R' && body.len() >= 4 => {
            let code = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
            if DECODED_AUTH_CODES.contains(&code) {
                return Err(malformed());
            }
            return Ok(Incoming::Auth(Auth::Other(code)));
        }
        // A type postgres-protocol does not decode: the caller decides what it means.
        Err(_) if !DECODED_TYPES.contains(&kind) => return Ok(Incoming::Other(kind)),
        Ok(None) | Err(_) => return Err(malformed()),
    };
    let text = |bytes: &[u8]| crate::sanitize::server_text(&String::from_utf8_lossy(bytes));
    Ok(match message {
        Message::AuthenticationOk => Incoming::Auth(Auth::Ok),
        Message::AuthenticationCleartextPassword => Incoming::Auth(Auth::Cleartext),
        Message::AuthenticationMd5Password(body) => Incoming::Auth(Auth::Md5(body.salt())),
        Message::AuthenticationSasl(body) => {
            // libpq: a list that does not end with an empty name is "invalid SASL
            // authentication request"; a name that is not UTF-8 cannot be one it speaks.
            let mechanisms = body
                .mechanisms()
                .map(|m| Ok(m.to_string()))
                .collect()
                .map_err(|_| WireError::Protocol("invalid SASL authentication request".into()))?;
            Incoming::Auth(Auth::Sasl(mechanisms))
        }
        Message::AuthenticationSaslContinue(body) => {
            Incoming::Auth(Auth::SaslContinue(body.data().to_vec()))
        }
        Message::AuthenticationSaslFinal(body) => {
            Incoming::Auth(Auth::SaslFinal(body.data().to_vec()))
        }
        Message::AuthenticationGss => Incoming::Auth(Auth::Gss),
        Message::AuthenticationGssContinue(_) => Incoming::Auth(Auth::GssContinue),
        Message::AuthenticationSspi => Incoming::Auth(Auth::Sspi),
        Message::AuthenticationKerberosV5 => Incoming::Auth(Auth::Other(2)),
        Message::AuthenticationScmCredential => Incoming::Auth(Auth::Other(6)),
        Message::ErrorResponse(body) => {
            let mut err = ServerError::default();
            let mut fields = body.fields();
            // A malformed field list keeps the fields before the fault, as libpq shows them.
            while let Ok(Some(field)) = fields.next() {
                let value = text(field.value_bytes());
                match field.type_() {
                    b'V' => err.severity = value,
                    b'S' if err.severity.is_empty() => err.severity = value,
                    b'C' => err.code = value,
                    b'M' => err.message = value,
                    b'D' => err.detail = Some(value),
                    _ => {}
                }
            }
            Incoming::Error(err)
        }
        Message::ParameterStatus(body) => match (body.name(), body.value()) {
            (Ok(name), Ok(value)) => Incoming::Parameter {
                name: name.to_string(),
                value: crate::sanitize::server_text(value),
            },
            _ => Incoming::Other(kind),
        },
        Message::DataRow(body) => {
            let buffer = body.buffer();
            let columns = body
                .ranges()
                .map(|range| Ok(range.map(|r| text(&buffer[r]))))
                .collect()
                .map_err(|_| malformed())?;
            Incoming::Row(columns)
        }
        Message::ReadyForQuery(_) => Incoming::Ready,
        _ => Incoming::Other(kind),
    })
}

/// Reads one message before login is over, bounded by the largest message expected then, and
/// decodes it.
///
/// # Errors
/// A closed connection or bytes that are not the protocol.
pub async fn read_message<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Incoming, WireError> {
    let (kind, len) = read_header(stream).await?;
    if !(4..=MAX_MESSAGE).contains(&len) {
        return Err(WireError::Protocol(format!(
            "expected authentication request from server, but received {}",
            printable(kind)
        )));
    }
    let mut body = vec![0u8; len - 4];
    stream
        .read_exact(&mut body)
        .await
        .map_err(WireError::Closed)?;
    decode(kind, &body)
}

/// A message's type byte and its length (which counts itself).
async fn read_header<S: AsyncRead + Unpin>(stream: &mut S) -> Result<(u8, usize), WireError> {
    let mut header = [0u8; 5];
    stream
        .read_exact(&mut header)
        .await
        .map_err(WireError::Closed)?;
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    Ok((header[0], len))
}

/// The longest message libpq accepts once logged in (its buffer grows to 1 GB).
const MAX_AFTER_LOGIN: usize = 1 << 30;
/// The most of one such message that is kept; the rest is read and dropped.
const KEEP_AFTER_LOGIN: usize = 1 << 20;

/// Reads one message after AuthenticationOk, where libpq accepts long ones (a NOTICE from a login
/// event trigger, a wide row): up to 1 GB, of which the first MiB is kept and the rest read and
/// dropped, and decodes it. A message longer than that is `Cut`, but for an ErrorResponse, which
/// keeps the fields that fit.
///
/// # Errors
/// A closed connection or bytes that are not the protocol.
pub async fn read_long_message<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Incoming, WireError> {
    let (kind, len) = read_header(stream).await?;
    if !(4..=MAX_AFTER_LOGIN).contains(&len) {
        return Err(WireError::Protocol(format!(
            "invalid message length {len} in message type {}",
            printable(kind)
        )));
    }
    let kept = (len - 4).min(KEEP_AFTER_LOGIN);
    let mut body = vec![0u8; kept];
    stream
        .read_exact(&mut body)
        .await
        .map_err(WireError::Closed)?;
    let rest = (len - 4 - kept) as u64;
    if rest == 0 {
        return decode(kind, &body);
    }
    let dropped = tokio::io::copy(&mut (&mut *stream).take(rest), &mut tokio::io::sink())
        .await
        .map_err(WireError::Closed)?;
    if dropped < rest {
        return Err(WireError::Closed(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(match kind {
        b'E' => decode(kind, &body).unwrap_or(Incoming::Cut(kind)),
        _ => Incoming::Cut(kind),
    })
}

/// A byte as libpq prints it in `%c`, made safe for a terminal.
pub fn printable(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        (byte as char).to_string()
    } else {
        format!("\\x{byte:02x}")
    }
}

/// Ends the session politely; errors are irrelevant at this point.
pub async fn terminate<S: AsyncWrite + Unpin>(stream: &mut S) {
    let _ = stream.write_all(&TERMINATE).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_request_is_the_documented_eight_bytes() {
        assert_eq!(ssl_request(), [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    }

    #[test]
    fn startup_carries_length_version_and_parameters() {
        let msg = startup(0, &[("user", "u")]);
        assert_eq!(msg, b"\0\0\0\x10\0\x03\0\0user\0u\0\0");
        assert_eq!(&startup::<&str, &str>(2, &[])[4..8], b"\0\x03\0\x02");
    }

    /// One message on the wire: type byte, length, body.
    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut bytes = vec![kind];
        bytes.extend(((body.len() + 4) as u32).to_be_bytes());
        bytes.extend(body);
        bytes
    }

    #[tokio::test]
    async fn the_servers_messages_are_decoded_as_the_check_uses_them() {
        let cases: [(Vec<u8>, Incoming); 11] = [
            (
                message(b'K', &[0, 0, 0x30, 0x39, 1, 2, 3, 4]),
                Incoming::BackendKey(12345, 4),
            ),
            (
                message(b'v', b"\0\x03\0\0\0\0\0\x01_pq_.x\0"),
                Incoming::Negotiate(0x30000, 1, vec!["_pq_.x".into()]),
            ),
            (message(b'R', &0u32.to_be_bytes()), Incoming::Auth(Auth::Ok)),
            (
                message(b'R', &[&5u32.to_be_bytes()[..], &[1, 2, 3, 4]].concat()),
                Incoming::Auth(Auth::Md5([1, 2, 3, 4])),
            ),
            (
                message(
                    b'R',
                    &[
                        &10u32.to_be_bytes()[..],
                        b"SCRAM-SHA-256\0SCRAM-SHA-256-PLUS\0\0",
                    ]
                    .concat(),
                ),
                Incoming::Auth(Auth::Sasl(vec![
                    "SCRAM-SHA-256".into(),
                    "SCRAM-SHA-256-PLUS".into(),
                ])),
            ),
            (
                message(b'R', &99u32.to_be_bytes()),
                Incoming::Auth(Auth::Other(99)),
            ),
            (
                message(b'E', b"SFATAL\0VFATAL\0C28000\0Mno pg_hba.conf entry\0\0"),
                Incoming::Error(ServerError {
                    severity: "FATAL".into(),
                    code: "28000".into(),
                    message: "no pg_hba.conf entry".into(),
                    detail: None,
                }),
            ),
            (
                message(b'S', b"server_version\x0017.2\0"),
                Incoming::Parameter {
                    name: "server_version".into(),
                    value: "17.2".into(),
                },
            ),
            (
                message(
                    b'D',
                    &[
                        0, 2, 0, 0, 0, 4, b't', b'r', b'u', b'e', 0xff, 0xff, 0xff, 0xff,
                    ],
                ),
                Incoming::Row(vec![Some("true".into()), None]),
            ),
            (message(b'Z', b"I"), Incoming::Ready),
            (message(b'N', b"SNOTICE\0Mhello\0\0"), Incoming::Other(b'N')),
        ];
        for (bytes, want) in cases {
            assert_eq!(read_message(&mut &bytes[..]).await.unwrap(), want);
        }
        assert_eq!(
            Auth::Sasl(vec!["SCRAM-SHA-256".into(), "SCRAM-SHA-256-PLUS".into()]).method(),
            "SCRAM-SHA-256, SCRAM-SHA-256-PLUS"
        );
    }

    #[tokio::test]
    async fn malformed_bodies_are_libpqs_protocol_errors() {
        let cases: [(Vec<u8>, &str); 3] = [
            // A SASL list without its closing empty name.
            (
                message(
                    b'R',
                    &[&10u32.to_be_bytes()[..], b"SCRAM-SHA-256\0"].concat(),
                ),
                "invalid SASL authentication request",
            ),
            // An MD5 request without its salt.
            (
                message(b'R', &5u32.to_be_bytes()),
                "message contents do not agree with length in message type \"R\"",
            ),
            // A DataRow that claims more than it holds.
            (
                message(b'D', &[0, 1, 0, 0, 0, 9, b'x']),
                "message contents do not agree with length in message type \"D\"",
            ),
        ];
        for (bytes, want) in cases {
            match read_message(&mut &bytes[..]).await {
                Err(WireError::Protocol(message)) => assert_eq!(message, want),
                other => panic!("{want}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn long_messages_after_login_are_read_through_and_cut() {
        let long = KEEP_AFTER_LOGIN + 100_000;
        let mut bytes = message(b'N', &vec![b'x'; long]);
        let error = [b"SERROR\0C42000\0M".as_slice(), &vec![b'y'; long], b"\0\0"].concat();
        bytes.extend(message(b'E', &error));
        bytes.extend(message(b'Z', b"I"));
        let mut input = &bytes[..];
        assert_eq!(
            read_long_message(&mut input).await.unwrap(),
            Incoming::Cut(b'N')
        );
        // An ErrorResponse keeps the fields that fit.
        match read_long_message(&mut input).await.unwrap() {
            Incoming::Error(err) => {
                assert_eq!(
                    (err.severity.as_str(), err.code.as_str()),
                    ("ERROR", "42000")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            read_long_message(&mut input).await.unwrap(),
            Incoming::Ready
        );
    }

    #[tokio::test]
    async fn oversized_or_foreign_messages_are_protocol_errors() {
        let huge = [b'E', 0x7f, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_message(&mut &huge[..]).await,
            Err(WireError::Protocol(_))
        ));
        let http = b"HTTP/1.1 400 Bad Request\r\n\r\n";
        assert!(matches!(
            read_message(&mut &http[..]).await,
            Err(WireError::Protocol(_))
        ));
    }
}

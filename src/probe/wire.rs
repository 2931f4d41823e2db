//! The few PostgreSQL protocol messages a check needs: SSLRequest, StartupMessage, Terminate, and
//! reading the server's first answer. Lengths from the server are bounded.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The SSLRequest code.
const SSL_REQUEST: u32 = 80_877_103;
/// Protocol 3.0.
const PROTOCOL_3_0: u32 = 196_608;
/// The largest message accepted before the server is authenticated.
const MAX_MESSAGE: usize = 64 * 1024;

/// The 8 bytes of an SSLRequest.
pub fn ssl_request() -> [u8; 8] {
    let mut buf = [0u8; 8];
    buf[..4].copy_from_slice(&8u32.to_be_bytes());
    buf[4..].copy_from_slice(&SSL_REQUEST.to_be_bytes());
    buf
}

/// A StartupMessage with the given parameters.
pub fn startup(params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = PROTOCOL_3_0.to_be_bytes().to_vec();
    for (k, v) in params {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
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
}

/// The name of an authentication method, from its code and body.
pub fn auth_method(code: u32, body: &[u8]) -> String {
    match code {
        2 => "Kerberos V5".into(),
        3 => "password (cleartext)".into(),
        5 => "MD5".into(),
        7 => "GSSAPI".into(),
        9 => "SSPI".into(),
        10 => {
            let mechanisms: Vec<String> = body
                .split(|&b| b == 0)
                .filter(|m| !m.is_empty())
                .map(|m| crate::sanitize::server_text(&String::from_utf8_lossy(m)))
                .collect();
            mechanisms.join(", ")
        }
        other => format!("unknown method {other}"),
    }
}

/// The fields of an ErrorResponse body.
pub fn error_fields(body: &[u8]) -> ServerError {
    let mut err = ServerError::default();
    for field in body.split(|&b| b == 0) {
        let Some((&kind, value)) = field.split_first() else {
            continue;
        };
        let value = crate::sanitize::server_text(&String::from_utf8_lossy(value));
        match kind {
            b'V' => err.severity = value,
            b'S' if err.severity.is_empty() => err.severity = value,
            b'C' => err.code = value,
            b'M' => err.message = value,
            b'D' => err.detail = Some(value),
            _ => {}
        }
    }
    err
}

/// Reads one message: its type byte and body. Lengths are bounded.
///
/// # Errors
/// A closed connection or a length that is not the protocol's.
pub async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<(u8, Vec<u8>), WireError> {
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
    Ok((kind, body))
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
/// dropped. Returns the type, the kept body and whether it was cut.
///
/// # Errors
/// A closed connection or a length that is not the protocol's.
pub async fn read_long_message<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<(u8, Vec<u8>, bool), WireError> {
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
    if rest > 0 {
        let dropped = tokio::io::copy(&mut (&mut *stream).take(rest), &mut tokio::io::sink())
            .await
            .map_err(WireError::Closed)?;
        if dropped < rest {
            return Err(WireError::Closed(std::io::ErrorKind::UnexpectedEof.into()));
        }
    }
    Ok((kind, body, rest > 0))
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
        let msg = startup(&[("user", "u")]);
        assert_eq!(msg, b"\0\0\0\x10\0\x03\0\0user\0u\0\0");
    }

    #[tokio::test]
    async fn messages_are_read_whole_and_sasl_mechanisms_named() {
        let mut bytes = vec![b'N', 0, 0, 0, 4];
        let body = [
            &10u32.to_be_bytes()[..],
            b"SCRAM-SHA-256\0SCRAM-SHA-256-PLUS\0\0",
        ]
        .concat();
        bytes.push(b'R');
        bytes.extend(((body.len() + 4) as u32).to_be_bytes());
        bytes.extend(&body);
        let mut input = &bytes[..];
        assert_eq!(read_message(&mut input).await.unwrap(), (b'N', vec![]));
        let (kind, read) = read_message(&mut input).await.unwrap();
        assert_eq!((kind, read.as_slice()), (b'R', body.as_slice()));
        assert_eq!(
            auth_method(10, &read[4..]),
            "SCRAM-SHA-256, SCRAM-SHA-256-PLUS"
        );
        assert_eq!(auth_method(5, &[1, 2, 3, 4]), "MD5");
    }

    #[tokio::test]
    async fn long_messages_after_login_are_read_through_and_cut() {
        let long = KEEP_AFTER_LOGIN + 100_000;
        let mut bytes = vec![b'N'];
        bytes.extend(((long + 4) as u32).to_be_bytes());
        bytes.extend(std::iter::repeat_n(b'x', long));
        bytes.extend([b'Z', 0, 0, 0, 5, b'I']);
        let mut input = &bytes[..];
        let (kind, body, cut) = read_long_message(&mut input).await.unwrap();
        assert_eq!((kind, body.len(), cut), (b'N', KEEP_AFTER_LOGIN, true));
        let (kind, body, cut) = read_long_message(&mut input).await.unwrap();
        assert_eq!((kind, body, cut), (b'Z', vec![b'I'], false));
    }

    #[test]
    fn errors_keep_severity_code_and_message() {
        let err = error_fields(b"SFATAL\0VFATAL\0C28000\0Mno pg_hba.conf entry\0\0");
        assert_eq!(
            (err.severity.as_str(), err.code.as_str()),
            ("FATAL", "28000")
        );
        assert_eq!(err.message, "no pg_hba.conf entry");
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

//! Logging in after TLS, as libpq does: cleartext, MD5 and SCRAM-SHA-256 (with channel binding,
//! `tls-server-end-point`) passwords under libpq's `channel_binding` rules; then the server's own
//! view of the connection from `pg_stat_ssl`. SCRAM and the message encodings come from
//! postgres-protocol; the secret is only ever written to the server.

use bytes::BytesMut;
use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::frontend;
use sha2::Digest;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::wire::{self, Answer, ServerError, WireError};
use crate::config::{ChannelBinding, Secret};
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
        /// The server's view, when it could be read.
        server_tls: Option<ServerTls>,
    },
    /// The server asked for a password and none is configured: the check stops there.
    NeedsPassword(String),
    /// The server asked for a method pgtls does not speak (GSSAPI, SSPI).
    Unsupported(String),
    /// libpq itself would refuse to go on (channel binding rules), with libpq's message.
    ClientRefused(String),
    /// The server refused.
    Rejected(ServerError),
}

/// What the login needs.
pub struct Context<'a> {
    /// The user name (MD5 hashes it with the password).
    pub user: &'a str,
    /// The password, if any.
    pub password: Option<&'a Secret>,
    /// `channel_binding`.
    pub channel_binding: ChannelBinding,
    /// The server's certificate, when the connection is TLS.
    pub server_cert: Option<&'a [u8]>,
    /// Whether a client certificate was sent because the server asked.
    pub client_cert_sent: bool,
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, buf: &BytesMut) -> Result<(), WireError> {
    stream.write_all(buf).await.map_err(WireError::Closed)?;
    stream.flush().await.map_err(WireError::Closed)
}

/// RFC 5929's tls-server-end-point: the certificate hashed with its signature's hash, MD5 and
/// SHA-1 raised to SHA-256. `None` where libpq cannot say (Ed25519, RSA-PSS).
pub fn end_point_hash(cert: &[u8]) -> Option<Vec<u8>> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).ok()?;
    let oid = parsed.signature_algorithm.algorithm.to_id_string();
    Some(match oid.as_str() {
        // md5, sha1, sha224, sha256 with RSA; ECDSA with sha1, sha224, sha256
        "1.2.840.113549.1.1.4"
        | "1.2.840.113549.1.1.5"
        | "1.2.840.113549.1.1.14"
        | "1.2.840.113549.1.1.11"
        | "1.2.840.10045.4.1"
        | "1.2.840.10045.4.3.1"
        | "1.2.840.10045.4.3.2" => sha2::Sha256::digest(cert).to_vec(),
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => sha2::Sha384::digest(cert).to_vec(),
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => sha2::Sha512::digest(cert).to_vec(),
        _ => return None,
    })
}

fn auth_name(code: u32) -> String {
    match code {
        2 => "Kerberos V5".into(),
        7 => "GSSAPI".into(),
        9 => "SSPI".into(),
        other => format!("authentication method {other}"),
    }
}

/// Runs the authentication exchange from the server's first answer on. Returns the first answer
/// (for the report) and the outcome.
///
/// # Errors
/// A connection that closes or bytes that are not the protocol.
pub async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    ctx: &Context<'_>,
) -> Result<(Answer, LoginResult), WireError> {
    let mut first: Option<Answer> = None;
    let mut scram: Option<sasl::ScramSha256> = None;
    // The method this client answered with, once it answered.
    let mut used: Option<&'static str> = None;
    let mut buf = BytesMut::new();
    loop {
        let (kind, body) = wire::read_message(stream).await?;
        match kind {
            b'E' => {
                let err = wire::error_fields(&body);
                let answer = first.unwrap_or_else(|| Answer::Error(err.clone()));
                return Ok((answer, LoginResult::Rejected(err)));
            }
            b'v' | b'N' => continue,
            b'R' if body.len() >= 4 => {}
            other => {
                return Err(WireError::Protocol(format!(
                    "expected authentication request from server, but received {}",
                    wire::printable(other)
                )));
            }
        }
        let code = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
        let data = &body[4..];
        if first.is_none() {
            first = Some(if code == 0 {
                Answer::AuthenticationOk
            } else {
                Answer::Authentication(wire::auth_method(code, data))
            });
        }
        let answer = || first.clone().unwrap_or(Answer::AuthenticationOk);
        let require = ctx.channel_binding == ChannelBinding::Require;
        buf.clear();
        match code {
            0 => {
                let plus = used == Some("SCRAM-SHA-256-PLUS");
                let method = match used {
                    Some(_) if require && !plus => {
                        return Ok((answer(), LoginResult::ClientRefused(
                            "channel binding required, but server authenticated client without channel binding".into(),
                        )));
                    }
                    Some(method) => method.to_string(),
                    None if require => {
                        return Ok((answer(), LoginResult::ClientRefused(
                            "channel binding required, but server authenticated client without channel binding".into(),
                        )));
                    }
                    None if ctx.client_cert_sent => "cert".into(),
                    None => "trust".into(),
                };
                return Ok(match server_view(stream).await? {
                    Ok((server_version, server_tls)) => (
                        answer(),
                        LoginResult::Authenticated {
                            method,
                            server_version,
                            server_tls,
                        },
                    ),
                    // Authenticated, then refused: no such database, too many connections, ...
                    Err(err) => (answer(), LoginResult::Rejected(err)),
                });
            }
            3 | 5 if require => {
                return Ok((answer(), LoginResult::ClientRefused(
                    "channel binding required but not supported by server's authentication request".into(),
                )));
            }
            3 | 5 => {
                let Some(password) = ctx.password else {
                    return Ok((
                        answer(),
                        LoginResult::NeedsPassword(wire::auth_method(code, data)),
                    ));
                };
                if code == 3 {
                    frontend::password_message(password.expose().as_bytes(), &mut buf)
                        .map_err(WireError::Closed)?;
                    used = Some("password");
                } else {
                    used = Some("md5");
                    let salt = [data.first(), data.get(1), data.get(2), data.get(3)]
                        .map(|b| b.copied().unwrap_or(0));
                    let hash = md5_hash(ctx.user.as_bytes(), password.expose().as_bytes(), salt);
                    frontend::password_message(hash.as_bytes(), &mut buf)
                        .map_err(WireError::Closed)?;
                }
                send(stream, &buf).await?;
            }
            10 => {
                let mechanisms: Vec<&[u8]> =
                    data.split(|&b| b == 0).filter(|m| !m.is_empty()).collect();
                let plus_offered = mechanisms.contains(&&b"SCRAM-SHA-256-PLUS"[..]);
                let hash = ctx.server_cert.and_then(end_point_hash);
                let (mechanism, binding) = match (ctx.channel_binding, plus_offered, &hash) {
                    (ChannelBinding::Disable, _, _) => {
                        ("SCRAM-SHA-256", sasl::ChannelBinding::unsupported())
                    }
                    (_, true, Some(hash)) => (
                        "SCRAM-SHA-256-PLUS",
                        sasl::ChannelBinding::tls_server_end_point(hash.clone()),
                    ),
                    (ChannelBinding::Require, _, _) => {
                        return Ok((answer(), LoginResult::ClientRefused(
                            "channel binding is required, but server did not offer an authentication method that supports channel binding".into(),
                        )));
                    }
                    (_, _, _) if ctx.server_cert.is_some() => {
                        ("SCRAM-SHA-256", sasl::ChannelBinding::unrequested())
                    }
                    _ => ("SCRAM-SHA-256", sasl::ChannelBinding::unsupported()),
                };
                let Some(password) = ctx.password else {
                    return Ok((
                        answer(),
                        LoginResult::NeedsPassword(wire::auth_method(code, data)),
                    ));
                };
                let exchange = sasl::ScramSha256::new(password.expose().as_bytes(), binding);
                frontend::sasl_initial_response(mechanism, exchange.message(), &mut buf)
                    .map_err(WireError::Closed)?;
                send(stream, &buf).await?;
                scram = Some(exchange);
                used = Some(mechanism);
            }
            11 => {
                let Some(exchange) = scram.as_mut() else {
                    return Err(WireError::Protocol("unexpected SASL continuation".into()));
                };
                exchange
                    .update(data)
                    .map_err(|e| WireError::Protocol(format!("SCRAM: {e}")))?;
                frontend::sasl_response(exchange.message(), &mut buf).map_err(WireError::Closed)?;
                send(stream, &buf).await?;
            }
            12 => {
                let Some(exchange) = scram.as_mut() else {
                    return Err(WireError::Protocol("unexpected SASL final message".into()));
                };
                exchange
                    .finish(data)
                    .map_err(|e| WireError::Protocol(format!("SCRAM: {e}")))?;
            }
            other => return Ok((answer(), LoginResult::Unsupported(auth_name(other)))),
        }
    }
}

/// The query for the server's view of this connection.
const SERVER_TLS_QUERY: &str = "SELECT ssl::text, version, cipher, bits::text, client_dn, client_serial::text, issuer_dn \
     FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

type View = (Option<String>, Option<ServerTls>);

/// After AuthenticationOk: waits for ReadyForQuery (noting `server_version`), asks `pg_stat_ssl`
/// for the server's view, and reads the answer. An error before ReadyForQuery is the server's
/// refusal; a failed query only leaves the view unknown.
async fn server_view<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> Result<Result<View, ServerError>, WireError> {
    let mut version = None;
    loop {
        let (kind, body) = wire::read_message(stream).await?;
        match kind {
            b'S' => {
                let mut parts = body.split(|&b| b == 0);
                if parts.next() == Some(b"server_version") {
                    version = parts
                        .next()
                        .map(|v| String::from_utf8_lossy(v).into_owned());
                }
            }
            b'Z' => break,
            b'E' => return Ok(Err(wire::error_fields(&body))),
            _ => {}
        }
    }
    let mut buf = BytesMut::new();
    frontend::query(SERVER_TLS_QUERY, &mut buf).map_err(WireError::Closed)?;
    send(stream, &buf).await?;
    let mut row: Option<Vec<Option<String>>> = None;
    loop {
        let (kind, body) = wire::read_message(stream).await?;
        match kind {
            b'D' => row = Some(data_row(&body)),
            b'Z' => break,
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
        }
    });
    Ok(Ok((version, view)))
}

/// The columns of a DataRow, NULL as `None`.
fn data_row(body: &[u8]) -> Vec<Option<String>> {
    let mut cols = Vec::new();
    let Some(count) = body.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]])) else {
        return cols;
    };
    let mut at = 2;
    for _ in 0..count {
        let Some(len) = body
            .get(at..at + 4)
            .map(|l| i32::from_be_bytes([l[0], l[1], l[2], l[3]]))
        else {
            break;
        };
        at += 4;
        if len < 0 {
            cols.push(None);
            continue;
        }
        let end = at + len as usize;
        cols.push(
            body.get(at..end)
                .map(|v| String::from_utf8_lossy(v).into_owned()),
        );
        at = end;
    }
    cols
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_rows_decode_values_and_nulls() {
        let body = [
            0, 2, 0, 0, 0, 4, b't', b'r', b'u', b'e', 0xff, 0xff, 0xff, 0xff,
        ];
        assert_eq!(data_row(&body), [Some("true".to_string()), None]);
        assert!(data_row(&[0, 3, 0, 0]).is_empty() || data_row(&[0, 3, 0, 0]).len() <= 3);
    }
}

//! What the audit asks after a TLS handshake, as poolers and proxies get it wrong: a startup
//! message for each protocol version (3.0, 3.2, and an unknown one with an unknown `_pq_.` option,
//! as GREASE), a cancel request over TLS (as libpq 17 and later send it), and the handshake and
//! first answer with SNI and without. Every probe verifies nothing: it is about the server's
//! behaviour, not its certificate.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::client::TlsStream;

use super::{Context, open};
use crate::config::SslNegotiation;
use crate::probe::protocol;
use crate::probe::transport::Stream;
use crate::probe::wire::{self, Incoming};
use crate::report::{SniAnswer, VersionAnswer};
use crate::tls;

/// The unknown minor version a GREASE probe asks for, with an option no server knows.
pub(crate) const GREASE_MINOR: u16 = 9999;
pub(crate) const GREASE_OPTION: &str = "_pq_.pgtls_grease";

/// How long a server may take to close after a cancel request before the probe stops waiting.
const CANCEL_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A TLS session (after SSLRequest, or direct), with `sni` or none, and the leaf certificate's
/// SHA-256.
async fn session(
    ctx: &Context,
    sni: Option<&str>,
    negotiation: SslNegotiation,
) -> Result<(TlsStream<Box<dyn Stream>>, Option<Vec<u8>>), String> {
    let (config, name) =
        tls::probe_config(tls::base_provider(), super::BOTH, sni).map_err(|e| e.to_string())?;
    let stream = open(ctx, negotiation)
        .await
        .ok_or("the server did not start TLS")?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| crate::sanitize::server_text(&e.to_string()))?;
    let leaf = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec());
    Ok((tls, leaf))
}

/// The first answer to a startup message: NegotiateProtocolVersion, an authentication
/// request or AuthenticationOk (the server went on), or an error or a close.
async fn first_answer<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> VersionAnswer {
    loop {
        break match wire::read_message(stream).await {
            Ok(Incoming::Negotiate(newest, _, options)) => VersionAnswer::Negotiated {
                newest: protocol::name(newest),
                options,
            },
            Ok(Incoming::Auth(_)) => VersionAnswer::Accepted,
            Ok(Incoming::Error(err)) => VersionAnswer::Refused {
                message: err.to_string(),
            },
            Ok(Incoming::Other(b'N')) => continue,
            Ok(_) => VersionAnswer::Refused {
                message: "an unexpected message".into(),
            },
            Err(e) => VersionAnswer::Refused {
                message: e.to_string(),
            },
        };
    }
}

/// A startup message for `minor` (with the GREASE option when `grease`), and the first answer.
pub(crate) async fn startup(ctx: &Context, minor: u16, grease: bool) -> Option<VersionAnswer> {
    let sni = tls::sni_name(&ctx.options, &ctx.target.host);
    let (mut tls, _) = session(ctx, sni.as_deref(), SslNegotiation::Postgres)
        .await
        .ok()?;
    let mut params = ctx.startup.clone();
    if grease {
        params.push((GREASE_OPTION.into(), "1".into()));
    }
    tls.write_all(&wire::startup(minor, &params)).await.ok()?;
    let answer = first_answer(&mut tls).await;
    wire::terminate(&mut tls).await;
    Some(answer)
}

/// A CancelRequest over TLS for a process and key that do not exist (nothing is cancelled),
/// negotiated as the string's `sslnegotiation` says, as libpq 17 and later send it: `Ok` when
/// the server read it and closed, as PostgreSQL does, else what happened instead.
pub(crate) async fn cancel(ctx: &Context) -> Option<Result<(), String>> {
    let sni = tls::sni_name(&ctx.options, &ctx.target.host);
    let (mut tls, _) = match session(ctx, sni.as_deref(), ctx.options.sslnegotiation).await {
        Ok(session) => session,
        Err(e) => return Some(Err(format!("the TLS handshake failed: {e}"))),
    };
    let mut random = [0u8; 8];
    tls::base_provider().secure_random.fill(&mut random).ok()?;
    let [pid, key] = [&random[..4], &random[4..]]
        .map(|half| i32::from_be_bytes(half.try_into().expect("four bytes")));
    let mut request = bytes::BytesMut::new();
    postgres_protocol::message::frontend::cancel_request(pid, key, &mut request);
    if tls.write_all(&request).await.is_err() || tls.flush().await.is_err() {
        return Some(Err(
            "the connection closed before the request was sent".into()
        ));
    }
    let mut buf = [0u8; 1024];
    Some(
        match tokio::time::timeout(CANCEL_WAIT, tls.read(&mut buf)).await {
            // A close, with or without close_notify, is PostgreSQL's answer.
            Ok(Ok(0)) | Ok(Err(_)) => Ok(()),
            Ok(Ok(n)) => match wire::read_message(&mut &buf[..n]).await {
                Ok(Incoming::Error(err)) => Err(err.to_string()),
                _ => Err("the server answered the cancel request".into()),
            },
            Err(_) => Err(format!(
                "the connection stayed open {} s after the request",
                CANCEL_WAIT.as_secs()
            )),
        },
    )
}

/// The certificate the server presents for `sni` (or without SNI): its DER, or why the handshake
/// failed.
pub(crate) async fn certificate(ctx: &Context, sni: Option<&str>) -> Result<Vec<u8>, String> {
    let (mut tls, leaf) = session(ctx, sni, SslNegotiation::Postgres).await?;
    wire::terminate(&mut tls).await;
    leaf.ok_or_else(|| "the server presented no certificate".to_string())
}

/// A handshake with `sni` (or none), the leaf certificate, and the first answer to a 3.0
/// startup message.
pub(crate) async fn sni(ctx: &Context, sni: Option<&str>) -> Option<SniAnswer> {
    let (mut tls, leaf) = match session(ctx, sni, SslNegotiation::Postgres).await {
        Ok(session) => session,
        Err(e) => {
            return Some(SniAnswer {
                certificate_sha256: None,
                answer: format!("the TLS handshake failed: {e}"),
                went_on: false,
            });
        }
    };
    tls.write_all(&wire::startup(0, &ctx.startup)).await.ok()?;
    let answer = first_answer(&mut tls).await;
    wire::terminate(&mut tls).await;
    let went_on = !matches!(answer, VersionAnswer::Refused { .. });
    Some(SniAnswer {
        certificate_sha256: leaf.map(|der| crate::certinfo::sha256(&der)),
        answer: answer.to_string(),
        went_on,
    })
}

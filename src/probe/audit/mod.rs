//! `check --audit` gathers what the server accepts, not only what one handshake negotiated:
//! protocol versions (SSL 3.0 to TLS 1.3), the cipher suites rustls speaks, the key-exchange
//! groups one by one with real key shares (the post-quantum ones included, see `tls::groups`),
//! legacy suites by hand-built ClientHello, both negotiation styles and plaintext. Facts only: `judge::audit` turns them into findings.

pub(crate) mod hello;
mod session;

use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::config::{HostKind, Options, SslNegotiation, Target};
use crate::probe::transport::{self, Place, Stream};
use crate::probe::wire;
use crate::report::{Accepted, Audit, Legacy};
use crate::tls::{self, suites};
use hello::{Hello, Reply};

const LEGACY: [(&str, &[u16]); 6] = [
    (
        "static_rsa",
        &[0x009c, 0x009d, 0x003c, 0x003d, 0x002f, 0x0035],
    ),
    (
        "cbc",
        &[
            0xc013, 0xc014, 0xc009, 0xc00a, 0xc027, 0xc028, 0xc023, 0xc024,
        ],
    ),
    ("3des", &[0x000a, 0xc012, 0xc008, 0x0016]),
    ("rc4", &[0x0005, 0x0004, 0xc011, 0xc007]),
    ("export", &[0x0003, 0x0006, 0x0008, 0x0014, 0x0011]),
    ("null", &[0x0001, 0x0002, 0x003b, 0xc010, 0xc006]),
];

/// Suites offered with the old protocol versions.
const OLD_SUITES: [u16; 9] = [
    0xc013, 0xc014, 0xc009, 0xc00a, 0x002f, 0x0035, 0x000a, 0x0005, 0x0004,
];

/// What every probe of one audit shares: the target, where it is reached, and the settings.
struct Context {
    target: Target,
    options: Options,
    startup: Vec<(String, String)>,
    place: Place,
}

/// Connects and, with SSLRequest, gets `S`; `None` when the server cannot start TLS.
async fn open(ctx: &Context, negotiation: SslNegotiation) -> Option<Box<dyn Stream>> {
    let mut stream = transport::connect(&ctx.target, &ctx.place)
        .await
        .ok()?
        .stream;
    if negotiation == SslNegotiation::Postgres {
        stream.write_all(&wire::ssl_request()).await.ok()?;
        let mut answer = [0u8; 1];
        stream.read_exact(&mut answer).await.ok()?;
        if answer[0] != b'S' {
            return None;
        }
    }
    Some(stream)
}

/// What a handshake negotiated: version, suite and group.
type Negotiated = (String, String, Option<String>);

/// A full handshake with rustls limited to `provider` and `versions`: the version, suite and
/// group negotiated, or `None`.
async fn handshake(
    ctx: &Context,
    negotiation: SslNegotiation,
    provider: CryptoProvider,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Option<Negotiated> {
    let sni = tls::sni_name(&ctx.options, &ctx.target.host);
    let (config, name) = tls::probe_config(provider, versions, sni.as_deref()).ok()?;
    let stream = open(ctx, negotiation).await?;
    let mut tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .ok()?;
    let (_, conn) = tls.get_ref();
    if negotiation == SslNegotiation::Direct && conn.alpn_protocol() != Some(tls::ALPN) {
        return None;
    }
    let found = (
        conn.protocol_version()
            .map(suites::version_name)
            .unwrap_or_default(),
        conn.negotiated_cipher_suite()
            .map(|s| suites::suite_names(s.suite()).1)
            .unwrap_or_default(),
        conn.negotiated_key_exchange_group()
            .map(|g| suites::group_name(g.name())),
    );
    let _ = tls.shutdown().await;
    Some(found)
}

async fn hello_probe(ctx: &Context, hello: &Hello<'_>) -> Option<Reply> {
    let mut stream = open(ctx, SslNegotiation::Postgres).await?;
    stream.write_all(&hello::client_hello(hello)).await.ok()?;
    Some(hello::read_reply(&mut stream).await)
}

async fn plaintext_probe(ctx: &Context) -> Option<(bool, String)> {
    let mut stream = transport::connect(&ctx.target, &ctx.place)
        .await
        .ok()?
        .stream;
    stream
        .write_all(&wire::startup(0, &ctx.startup))
        .await
        .ok()?;
    let answer = wire::read_message(&mut stream).await.ok()?;
    wire::terminate(&mut stream).await;
    Some(match answer {
        wire::Incoming::Auth(wire::Auth::Ok) => (true, "authentication ok".to_string()),
        wire::Incoming::Auth(request) => (true, format!("asks for {}", request.method())),
        wire::Incoming::Error(err) => (false, err.to_string()),
        _ => (false, "unexpected answer".into()),
    })
}

fn only(suite: rustls::SupportedCipherSuite) -> CryptoProvider {
    CryptoProvider {
        cipher_suites: vec![suite],
        ..tls::base_provider()
    }
}

fn group(group: &'static dyn rustls::crypto::SupportedKxGroup) -> CryptoProvider {
    CryptoProvider {
        kx_groups: vec![group],
        ..tls::base_provider()
    }
}

const TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
const TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// One probe, on a connection of its own.
enum Probe {
    /// A full rustls handshake.
    Handshake {
        negotiation: SslNegotiation,
        provider: CryptoProvider,
        versions: &'static [&'static rustls::SupportedProtocolVersion],
    },
    /// A hand-built ClientHello.
    Hello(Hello<'static>),
    /// A startup message without TLS.
    Plaintext,
    /// A startup message over TLS for a protocol minor version, with the GREASE option or not.
    Startup(u16, bool),
    /// A cancel request over TLS.
    Cancel,
    /// A handshake with this SNI (or none) and a startup message.
    Sni(Option<String>),
    /// A handshake with this SNI (or none), for the certificate alone (`--sni-names`).
    Certificate(Option<String>),
}

impl Probe {
    fn handshake(
        negotiation: SslNegotiation,
        provider: CryptoProvider,
        versions: &'static [&'static rustls::SupportedProtocolVersion],
    ) -> Self {
        Probe::Handshake {
            negotiation,
            provider,
            versions,
        }
    }
}

/// What a probe found; `None` inside when the server did not go along.
enum Found {
    Handshake(Option<Negotiated>),
    Hello(Option<Reply>),
    Plaintext(Option<(bool, String)>),
    Startup(Option<crate::report::VersionAnswer>),
    Cancel(Option<Result<(), String>>),
    Sni(Option<crate::report::SniAnswer>),
    Certificate(Result<Vec<u8>, String>),
}

async fn probe(ctx: &Context, probe: Probe) -> Found {
    match probe {
        Probe::Handshake {
            negotiation,
            provider,
            versions,
        } => Found::Handshake(handshake(ctx, negotiation, provider, versions).await),
        Probe::Hello(hello) => Found::Hello(hello_probe(ctx, &hello).await),
        Probe::Plaintext => Found::Plaintext(plaintext_probe(ctx).await),
        Probe::Startup(minor, grease) => Found::Startup(session::startup(ctx, minor, grease).await),
        Probe::Cancel => Found::Cancel(session::cancel(ctx).await),
        Probe::Sni(name) => Found::Sni(session::sni(ctx, name.as_deref()).await),
        Probe::Certificate(name) => {
            Found::Certificate(session::certificate(ctx, name.as_deref()).await)
        }
    }
}

/// How many probes of one audit run at once: each is a connection (and, on PostgreSQL, a
/// backend process), so a handful, not all of them.
pub(crate) const PARALLEL: usize = 4;

/// Runs probes at most [`PARALLEL`] at a time, each given up at `deadline`. Returns what each
/// found, in order; `None` for one the deadline ended.
async fn run_all(
    ctx: &Arc<Context>,
    probes: Vec<Probe>,
    deadline: tokio::time::Instant,
) -> Vec<Option<Found>> {
    let limit = Arc::new(Semaphore::new(PARALLEL));
    let mut set = JoinSet::new();
    let mut found: Vec<Option<Found>> = probes.iter().map(|_| None).collect();
    for (n, p) in probes.into_iter().enumerate() {
        let (ctx, limit) = (ctx.clone(), limit.clone());
        set.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (
                n,
                tokio::time::timeout_at(deadline, probe(&ctx, p)).await.ok(),
            )
        });
    }
    while let Some(joined) = set.join_next().await {
        if let Ok((n, result)) = joined {
            found[n] = result;
        }
    }
    found
}

fn negotiated(found: Option<Found>) -> Option<Option<Negotiated>> {
    match found {
        Some(Found::Handshake(n)) => Some(n),
        _ => None,
    }
}

fn reply(found: Option<Found>) -> Option<Option<Reply>> {
    match found {
        Some(Found::Hello(r)) => Some(r),
        _ => None,
    }
}

/// Resolves the target once and asks it one SSLRequest: a server that does not answer is not
/// probed further.
async fn reach(
    target: &Target,
    options: &Options,
    startup: &[(String, String)],
    deadline: tokio::time::Instant,
) -> Result<Arc<Context>, &'static str> {
    let place = match tokio::time::timeout_at(deadline, transport::resolve(target)).await {
        Ok(Ok(place)) => place,
        _ => return Err("the host name did not resolve"),
    };
    let ctx = Arc::new(Context {
        target: target.clone(),
        options: options.clone(),
        startup: startup.to_vec(),
        place,
    });
    let answers = tokio::time::timeout_at(deadline, async {
        let mut stream = transport::connect(&ctx.target, &ctx.place).await.ok()?;
        stream.stream.write_all(&wire::ssl_request()).await.ok()?;
        let mut answer = [0u8; 1];
        stream.stream.read_exact(&mut answer).await.ok()
    })
    .await;
    match answers {
        Ok(Some(_)) => Ok(ctx),
        _ => Err("the server did not answer an SSLRequest; nothing else was probed"),
    }
}

/// Audits one TCP target within `timeout` for the whole audit. A server that does not answer a
/// first SSLRequest is not probed further; probes run a few at a time on their own connections,
/// and what the deadline cuts short stays untested (`null`) and is counted.
pub async fn audit(
    target: &Target,
    options: &Options,
    (startup, sni_names): (&[(String, String)], &[String]),
    timeout: Duration,
) -> Audit {
    let mut audit = Audit::default();
    if target.kind == HostKind::UnixSocket {
        return audit;
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let ctx = match reach(target, options, startup, deadline).await {
        Ok(ctx) => ctx,
        Err(why) => {
            audit.unfinished = Some(why.into());
            return audit;
        }
    };
    // Every group the audit knows, so that a server that takes only groups libpq does not offer
    // still shows which protocol versions it speaks.
    let default = || tls::with_groups(tls::groups::audited());
    let pg = SslNegotiation::Postgres;
    let handshake_with = Probe::handshake;
    let first = run_all(
        &ctx,
        vec![
            handshake_with(pg, default(), TLS13),
            handshake_with(pg, default(), TLS12),
        ],
        deadline,
    )
    .await;
    let mut first = first.into_iter();
    let v13 = negotiated(first.next().flatten());
    let v12 = negotiated(first.next().flatten());
    audit.protocols.tls13 = v13.as_ref().map(Option::is_some);
    audit.protocols.tls12 = v12.as_ref().map(Option::is_some);
    let (v13, v12) = (v13.flatten(), v12.flatten());
    audit.negotiation.postgres = Some(v13.is_some() || v12.is_some());

    // Everything else depends only on those two answers.
    // SNI can be sent only for a host name (libpq's rule), whatever sslsni says.
    let sni_name = tls::sni_host(&target.host);
    let mut probes = later_probes(v13.is_some(), sni_name.clone());
    // --sni-names: each name's certificate, then the one without SNI, after the rest.
    let asked: Vec<Option<String>> = if sni_names.is_empty() {
        Vec::new()
    } else {
        sni_names
            .iter()
            .map(|n| Some(n.clone()))
            .chain([None])
            .collect()
    };
    probes.extend(asked.iter().cloned().map(Probe::Certificate));
    let total = probes.len() + 2;
    let mut found = run_all(&ctx, probes, deadline).await;
    let by_name = found.split_off(found.len() - asked.len());
    audit.sni_names = asked
        .into_iter()
        .zip(by_name)
        .map(|(name, found)| {
            let found = found.and_then(|f| match f {
                Found::Certificate(result) => Some(result),
                _ => None,
            });
            crate::report::SniCertificate::new(name, found)
        })
        .collect();
    let cut_short = found.iter().filter(|f| f.is_none()).count()
        + usize::from(audit.protocols.tls13.is_none())
        + usize::from(audit.protocols.tls12.is_none());
    let chosen_in_tls12 = v12.as_ref().and_then(|(_, _, group)| group.clone());
    record(&mut audit, found, v13.is_some(), chosen_in_tls12, sni_name);
    if cut_short > 0 {
        audit.unfinished = Some(format!(
            "{cut_short} of {total} probes did not finish within the {}s deadline",
            timeout.as_secs_f64()
        ));
    }
    audit
}

/// The startup messages of the audit: (what is asked, minor version, GREASE option).
const STARTUP_VERSIONS: [(&str, u16, bool); 3] = [
    ("3.0", 0, false),
    ("3.2", 2, false),
    ("3.9999 + _pq_.pgtls_grease", session::GREASE_MINOR, true),
];

/// The groups a hand-built (TLS 1.2 or older) hello offers: X25519, P-256, P-384 and P-521, so
/// that an ECDSA certificate's curve is among them.
const HELLO_GROUPS: [u16; 4] = [0x001d, 0x0017, 0x0018, 0x0019];

/// The probes after the first two handshakes: old protocols, direct TLS, each suite, each group
/// (with TLS 1.3 only), the post-quantum share, legacy suite families, plaintext, the startup
/// versions, a cancel over TLS and the SNI pair, in the order [`record`] reads their results.
fn later_probes(tls13: bool, sni_name: Option<String>) -> Vec<Probe> {
    let default = tls::base_provider;
    let pg = SslNegotiation::Postgres;
    let handshake_with = Probe::handshake;
    let old_versions = [0x0302u16, 0x0301, 0x0300];
    let mut probes: Vec<Probe> = old_versions
        .iter()
        .map(|&version| {
            Probe::Hello(Hello {
                version,
                suites: &OLD_SUITES,
                groups: &HELLO_GROUPS,
                sni: None,
            })
        })
        .collect();
    probes.push(handshake_with(SslNegotiation::Direct, default(), BOTH));
    let suite_list = default().cipher_suites;
    for suite in &suite_list {
        let versions = if suite.version() == &rustls::version::TLS13 {
            TLS13
        } else {
            TLS12
        };
        probes.push(handshake_with(pg, only(*suite), versions));
    }
    // Groups are tested one by one with TLS 1.3. With TLS 1.2 alone, an ECDSA certificate's curve
    // must be offered too, so only the group the server chose is known.
    let group_list = tls::groups::audited();
    if tls13 {
        for kx in &group_list {
            probes.push(handshake_with(pg, group(*kx), TLS13));
        }
    }
    for (_, codes) in LEGACY {
        probes.push(Probe::Hello(Hello {
            version: 0x0303,
            suites: codes,
            groups: &HELLO_GROUPS,
            sni: None,
        }));
    }
    probes.push(Probe::Plaintext);
    for (_, minor, grease) in STARTUP_VERSIONS {
        probes.push(Probe::Startup(minor, grease));
    }
    probes.push(Probe::Cancel);
    if sni_name.is_some() {
        probes.push(Probe::Sni(sni_name));
        probes.push(Probe::Sni(None));
    }
    probes
}

/// Reads what [`later_probes`] found into the audit, in the same order.
fn record(
    audit: &mut Audit,
    found: Vec<Option<Found>>,
    tls13: bool,
    chosen_in_tls12: Option<String>,
    sni_name: Option<String>,
) {
    let old_versions = [0x0302u16, 0x0301, 0x0300];
    let suite_list = tls::base_provider().cipher_suites;
    let group_list = tls::groups::audited();
    let mut found = found.into_iter();
    for (version, slot) in old_versions.into_iter().zip([
        &mut audit.protocols.tls11,
        &mut audit.protocols.tls10,
        &mut audit.protocols.ssl3,
    ]) {
        *slot = reply(found.next().flatten())
            .map(|r| matches!(r, Some(Reply::Accepted { version: v, .. }) if v == version));
    }
    audit.negotiation.direct = negotiated(found.next().flatten()).map(|n| n.is_some());
    for suite in &suite_list {
        let (openssl, iana) = suites::suite_names(suite.suite());
        audit.suites.push(Accepted {
            name: iana,
            openssl: Some(openssl),
            accepted: negotiated(found.next().flatten()).map(|n| n.is_some()),
        });
    }
    for kx in &group_list {
        let name = suites::group_name(kx.name());
        let accepted = if tls13 {
            negotiated(found.next().flatten()).map(|n| n.is_some())
        } else if !kx.usable_for_version(rustls::ProtocolVersion::TLSv1_2) {
            // Post-quantum groups exist only in TLS 1.3, which this server does not speak.
            Some(false)
        } else {
            (chosen_in_tls12.as_deref() == Some(name.as_str())).then_some(true)
        };
        audit.groups.push(Accepted {
            name,
            openssl: None,
            accepted,
        });
    }
    for (family, codes) in LEGACY {
        let code = match reply(found.next().flatten()) {
            Some(Some(Reply::Accepted { suite, .. })) if codes.contains(&suite) => Some(suite),
            _ => None,
        };
        let chosen = code.map(|suite| format!("0x{suite:04X}"));
        let chosen_name = code.and_then(crate::tls::suites::legacy_name);
        audit.legacy_suites.push(Legacy {
            family,
            accepted: chosen.is_some(),
            chosen,
            chosen_name,
        });
    }
    if let Some(Found::Plaintext(Some((accepted, answer)))) = found.next().flatten() {
        audit.plaintext = Some(accepted);
        audit.plaintext_answer = Some(answer);
    }
    for (asked, _, _) in STARTUP_VERSIONS {
        let answer = match found.next().flatten() {
            Some(Found::Startup(answer)) => answer,
            _ => None,
        };
        audit.startup_versions.push(crate::report::VersionProbe {
            asked: asked.into(),
            found: answer,
        });
    }
    if let Some(Found::Cancel(Some(result))) = found.next().flatten() {
        audit.cancel_over_tls = Some(result.is_ok());
        audit.cancel_answer = result.err();
    }
    if let Some(name) = sni_name {
        let mut answer = || match found.next().flatten() {
            Some(Found::Sni(answer)) => answer,
            _ => None,
        };
        audit.sni = Some(crate::report::SniProbe {
            name,
            with_sni: answer(),
            without_sni: answer(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::LEGACY;

    #[test]
    fn every_legacy_suite_offered_has_its_iana_name() {
        for code in LEGACY.iter().flat_map(|(_, codes)| codes.iter().copied()) {
            assert!(
                crate::tls::suites::legacy_name(code).is_some(),
                "0x{code:04X}"
            );
        }
    }
}

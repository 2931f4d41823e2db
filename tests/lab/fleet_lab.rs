//! The fleet lab, for benchmarks at a distance (scripts/bench.sh):
//!
//! - `fleet-lab proxy --to HOST:PORT --delay-ms N`: a loopback TCP proxy that holds every chunk
//!   N ms in each direction, so that a local server looks 2N ms of round trip away;
//! - `fleet-lab endpoint --cert FILE --key FILE`: a light stand-in for PostgreSQL that holds
//!   thousands of connections on two cores: it answers SSLRequest with `S`, completes the TLS
//!   handshake (rustls), accepts the startup message (AuthenticationOk, `server_version`,
//!   ReadyForQuery) and answers the server-view query with its own session. Real PostgreSQL
//!   stays the reference for verdicts; this only serves scale.
//!
//! Each prints `listening ADDRESS` on stdout once it accepts connections, and runs until killed.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn usage() -> ! {
    eprintln!(
        "usage: fleet-lab proxy --to HOST:PORT --delay-ms N\n       fleet-lab endpoint --cert FILE --key FILE"
    );
    std::process::exit(2)
}

fn flag(args: &[String], name: &str) -> String {
    args.windows(2)
        .find(|w| w[0] == name)
        .map(|w| w[1].clone())
        .unwrap_or_else(|| usage())
}

fn main() {
    // Thousands of connections (the proxy holds two descriptors for each).
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    match args.first().map(String::as_str) {
        Some("proxy") => {
            let to: SocketAddr = flag(&args, "--to").parse().unwrap_or_else(|_| usage());
            let delay = Duration::from_millis(
                flag(&args, "--delay-ms")
                    .parse()
                    .unwrap_or_else(|_| usage()),
            );
            runtime.block_on(proxy(to, delay));
        }
        Some("endpoint") => {
            let cert = std::fs::read(flag(&args, "--cert")).expect("the certificate file");
            let key = std::fs::read(flag(&args, "--key")).expect("the key file");
            runtime.block_on(endpoint(&cert, &key));
        }
        _ => usage(),
    }
}

async fn listen() -> TcpListener {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    println!("listening {}", listener.local_addr().unwrap());
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    listener
}

async fn proxy(to: SocketAddr, delay: Duration) {
    let listener = listen().await;
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            tokio::time::sleep(delay).await; // the SYN on its way
            let Ok(server) = TcpStream::connect(to).await else {
                return;
            };
            tokio::time::sleep(delay).await; // the SYN-ACK on its way back
            relay(client, server, delay).await;
        });
    }
}

/// One direction of a relayed connection: chunks read and not yet delivered, each with the
/// time it is due at the other end.
#[derive(Default)]
struct Lane {
    queue: VecDeque<(tokio::time::Instant, Vec<u8>)>,
    /// The sender closed its side: once the queue is empty, close the receiver's.
    closed: bool,
    shut: bool,
}

impl Lane {
    fn due(&self) -> Option<tokio::time::Instant> {
        self.queue.front().map(|(due, _)| *due)
    }
}

/// Relays both directions of one connection in one task, each chunk delivered `delay` after
/// it was read, in order; a side's end of stream is passed on once its chunks are delivered.
async fn relay(mut client: TcpStream, mut server: TcpStream, delay: Duration) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let (mut up, mut down) = (Lane::default(), Lane::default());
    let mut up_buf = [0u8; 8192];
    let mut down_buf = [0u8; 8192];
    let far = tokio::time::Instant::now() + Duration::from_secs(86_400);
    let timer = tokio::time::sleep_until(far);
    tokio::pin!(timer);
    loop {
        let next = [up.due(), down.due()].into_iter().flatten().min();
        if timer.deadline() != next.unwrap_or(far) {
            timer.as_mut().reset(next.unwrap_or(far));
        }
        tokio::select! {
            read = client_read.read(&mut up_buf), if !up.closed => match read {
                Ok(0) | Err(_) => up.closed = true,
                Ok(n) => up.queue.push_back((tokio::time::Instant::now() + delay, up_buf[..n].to_vec())),
            },
            read = server_read.read(&mut down_buf), if !down.closed => match read {
                Ok(0) | Err(_) => down.closed = true,
                Ok(n) => down.queue.push_back((tokio::time::Instant::now() + delay, down_buf[..n].to_vec())),
            },
            () = &mut timer, if next.is_some() => {
                let now = tokio::time::Instant::now();
                for (lane, to) in [(&mut up, &mut server_write as &mut (dyn AsyncWrite + Unpin + Send)), (&mut down, &mut client_write)] {
                    while lane.due().is_some_and(|due| due <= now) {
                        let (_, chunk) = lane.queue.pop_front().expect("a due chunk");
                        if to.write_all(&chunk).await.is_err() {
                            return;
                        }
                    }
                }
            },
        }
        for (lane, to) in [
            (
                &mut up,
                &mut server_write as &mut (dyn AsyncWrite + Unpin + Send),
            ),
            (&mut down, &mut client_write),
        ] {
            if lane.closed && lane.queue.is_empty() && !lane.shut {
                lane.shut = true;
                let _ = to.shutdown().await;
            }
        }
        if up.shut && down.shut {
            return;
        }
    }
}

async fn endpoint(cert: &[u8], key: &[u8]) {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<_, _>>()
        .expect("PEM certificates");
    let key = PrivateKeyDer::from_pem_slice(key).expect("a PEM key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("the certificate and key fit");
    // As PostgreSQL: no session tickets and no session cache (SSL_OP_NO_TICKET,
    // SSL_SESS_CACHE_OFF in be-secure-openssl.c).
    let mut config = config;
    config.send_tls13_tickets = 0;
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = listen().await;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let _ = session(stream, acceptor).await;
        });
    }
}

fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend(((body.len() + 4) as u32).to_be_bytes());
    out.extend(body);
    out
}

async fn session(
    mut stream: TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
) -> std::io::Result<()> {
    let mut request = [0u8; 8];
    stream.read_exact(&mut request).await?;
    if request[4..] != [0x04, 0xd2, 0x16, 0x2f] {
        return Ok(());
    }
    stream.write_all(b"S").await?;
    let mut tls = acceptor.accept(stream).await?;
    let (version, cipher) = {
        let (_, connection) = tls.get_ref();
        let version = match connection.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "TLSv1.3",
        };
        let cipher = connection
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str())
            .unwrap_or("")
            .replace("TLS13_", "TLS_");
        (version, cipher)
    };
    let mut length = [0u8; 4];
    tls.read_exact(&mut length).await?;
    let mut startup = vec![
        0u8;
        (u32::from_be_bytes(length) as usize)
            .saturating_sub(4)
            .min(10_000)
    ];
    tls.read_exact(&mut startup).await?;
    let mut answer = message(b'R', &0u32.to_be_bytes());
    answer.extend(message(b'S', b"server_version\x0018.0 (fleet-lab)\0"));
    answer.extend(message(b'K', &[0, 0, 0, 1, 0, 0, 0, 2]));
    answer.extend(message(b'Z', b"I"));
    tls.write_all(&answer).await?;
    loop {
        let mut header = [0u8; 5];
        if tls.read_exact(&mut header).await.is_err() {
            return Ok(());
        }
        let len = (u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize)
            .saturating_sub(4);
        let mut body = vec![0u8; len.min(1 << 20)];
        tls.read_exact(&mut body).await?;
        match header[0] {
            b'Q' => {
                let columns = [
                    "ssl",
                    "version",
                    "cipher",
                    "bits",
                    "client_dn",
                    "client_serial",
                    "issuer_dn",
                    "pid",
                ];
                let mut description = (columns.len() as u16).to_be_bytes().to_vec();
                for name in columns {
                    description.extend(name.as_bytes());
                    description.push(0);
                    description.extend([
                        0, 0, 0, 0, 0, 0, 0, 0, 0, 25, 255, 255, 255, 255, 255, 255, 0, 0,
                    ]);
                }
                // The pid is BackendKeyData's: no pooler in between.
                let values: [Option<&str>; 8] = [
                    Some("true"),
                    Some(version),
                    Some(&cipher),
                    Some("256"),
                    None,
                    None,
                    None,
                    Some("1"),
                ];
                let mut row = (values.len() as u16).to_be_bytes().to_vec();
                for value in values {
                    match value {
                        Some(v) => {
                            row.extend((v.len() as i32).to_be_bytes());
                            row.extend(v.as_bytes());
                        }
                        None => row.extend((-1i32).to_be_bytes()),
                    }
                }
                let mut out = message(b'T', &description);
                out.extend(message(b'D', &row));
                out.extend(message(b'C', b"SELECT 1\0"));
                out.extend(message(b'Z', b"I"));
                tls.write_all(&out).await?;
            }
            b'X' => return Ok(()),
            _ => {}
        }
    }
}

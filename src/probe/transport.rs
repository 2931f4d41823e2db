//! Reaching a target: `hostaddr`, a resolved host name (each address in turn, as libpq) or a
//! Unix-domain socket. Errors use libpq's wording.

use std::net::SocketAddr;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use crate::config::{HostKind, Target};
use crate::net;

/// A byte stream to a server, TCP or Unix.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// An open connection and the address it reached.
pub struct Connection {
    pub stream: Box<dyn Stream>,
    /// The address, for the report.
    pub address: String,
}

pub use crate::net::os_message;

fn shown(addr: &SocketAddr) -> String {
    addr.ip().to_string()
}

/// Where a target is reached: a Unix-domain socket, or TCP addresses to try in turn.
pub enum Place {
    /// A socket directory (or `@` abstract name) and port.
    Unix,
    /// Addresses, from `hostaddr` or the resolved host name.
    Tcp(Vec<SocketAddr>),
}

/// Finds where a target is reached; for a host name this is the (blocking, possibly slow)
/// system resolver.
///
/// # Errors
/// libpq's message for an address that does not parse or a name that does not resolve.
pub async fn resolve(target: &Target) -> Result<Place, String> {
    match target.kind {
        HostKind::UnixSocket => Ok(Place::Unix),
        HostKind::Address => {
            let addr = target.hostaddr.as_deref().unwrap_or_default();
            let ip = net::numeric_host(addr)
                .ok_or_else(|| format!("could not parse network address \"{addr}\""))?;
            Ok(Place::Tcp(vec![SocketAddr::new(ip, target.port)]))
        }
        HostKind::Name => Ok(Place::Tcp(
            tokio::net::lookup_host((target.host.as_str(), target.port))
                .await
                .map_err(|e| {
                    format!(
                        "could not translate host name \"{}\" to address: {}",
                        target.host,
                        os_message(&e)
                    )
                })?
                .collect(),
        )),
    }
}

/// Why a connection could not be made.
#[derive(Debug)]
pub enum ConnectError {
    /// The server's side: refused, unreachable (libpq's message).
    Server(String),
    /// This machine's side: no socket could be created (the open-files limit).
    Local(String),
}

/// Whether an error is this process or machine running out of file descriptors.
fn out_of_descriptors(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(code) if code == nix::errno::Errno::EMFILE as i32 || code == nix::errno::Errno::ENFILE as i32
    )
}

fn local(e: &std::io::Error) -> ConnectError {
    ConnectError::Local(format!(
        "could not create a socket: {} (a limit of this machine, not the server's fault: lower --concurrency or raise ulimit -n)",
        os_message(e)
    ))
}

/// Connects to a target at the place [`resolve`] found.
///
/// # Errors
/// libpq's message for addresses that refuse; running out of descriptors apart.
pub async fn connect(target: &Target, place: &Place) -> Result<Connection, ConnectError> {
    connect_counted(target, place, Arc::default()).await
}

/// As [`connect`], counting the connection's round trips in `trips`: one for the TCP handshake,
/// then one each time the client reads after it has written (a Unix socket's connect is local
/// and does not count).
///
/// # Errors
/// As [`connect`].
pub async fn connect_counted(
    target: &Target,
    place: &Place,
    trips: Arc<AtomicU32>,
) -> Result<Connection, ConnectError> {
    let mut connection = match place {
        Place::Unix => unix(&target.host, target.port).await?,
        Place::Tcp(addrs) => {
            let shown = match target.kind {
                HostKind::Address => target.hostaddr.as_deref().unwrap_or_default(),
                _ => target.host.as_str(),
            };
            let connection = tcp(addrs, shown, target.port).await?;
            trips.fetch_add(1, Ordering::Relaxed);
            connection
        }
    };
    connection.stream = Box::new(Counted {
        inner: connection.stream,
        wrote: false,
        trips,
    });
    Ok(connection)
}

/// A stream that counts round trips: the first read that returns data after the client wrote.
/// The rest of a flight, however the reads cut it, is the same round trip. (A client write that
/// asks nothing, followed by a read, would count too; the protocol's flows have none: what the
/// client writes unasked, Terminate, comes last.)
struct Counted {
    inner: Box<dyn Stream>,
    wrote: bool,
    trips: Arc<AtomicU32>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before && self.wrote {
            self.wrote = false;
            self.trips.fetch_add(1, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.wrote = true;
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn tcp(addrs: &[SocketAddr], host: &str, port: u16) -> Result<Connection, ConnectError> {
    let mut errors = Vec::new();
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Err(e) if out_of_descriptors(&e) => return Err(local(&e)),
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(Connection {
                    stream: Box::new(stream),
                    address: format!("{}:{}", shown(addr), addr.port()),
                });
            }
            Err(e) => {
                let place = if shown(addr) == host {
                    format!("\"{host}\"")
                } else {
                    format!("\"{host}\" ({})", shown(addr))
                };
                // libpq's second line for a refused connection.
                let hint = match e.kind() {
                    std::io::ErrorKind::ConnectionRefused => {
                        "\nIs the server running on that host and accepting TCP/IP connections?"
                    }
                    _ => "",
                };
                errors.push(format!(
                    "connection to server at {place}, port {port} failed: {}{hint}",
                    os_message(&e)
                ));
            }
        }
    }
    if errors.is_empty() {
        errors.push(format!(
            "could not translate host name \"{host}\" to address: no addresses"
        ));
    }
    Err(ConnectError::Server(errors.join("\n")))
}

async fn unix(dir: &str, port: u16) -> Result<Connection, ConnectError> {
    let path = format!("{dir}/.s.PGSQL.{port}");
    let failed = |e: std::io::Error| {
        if out_of_descriptors(&e) {
            return local(&e);
        }
        // libpq's second line where nothing listens on the socket.
        let hint = match e.kind() {
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound => {
                "\nIs the server running locally and accepting connections on that socket?"
            }
            _ => "",
        };
        ConnectError::Server(format!(
            "connection to server on socket \"{path}\" failed: {}{hint}",
            os_message(&e)
        ))
    };
    let stream = match dir.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let name = format!("{name}/.s.PGSQL.{port}");
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                .map_err(failed)?;
            let std_stream = std::os::unix::net::UnixStream::connect_addr(&addr).map_err(failed)?;
            std_stream.set_nonblocking(true).map_err(failed)?;
            UnixStream::from_std(std_stream).map_err(failed)?
        }
        None => UnixStream::connect(&path).await.map_err(failed)?,
    };
    Ok(Connection {
        stream: Box::new(stream),
        address: path.clone(),
    })
}

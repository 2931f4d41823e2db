//! Reaching a target: `hostaddr`, a resolved host name (each address in turn, as libpq) or a
//! Unix-domain socket. Errors use libpq's wording.

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use crate::config::{HostKind, Target};
use crate::net;

/// A byte stream to a server, TCP or Unix.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// An open connection and the address it reached.
pub struct Connection {
    /// The stream.
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
    match place {
        Place::Unix => unix(&target.host, target.port).await,
        Place::Tcp(addrs) => {
            let shown = match target.kind {
                HostKind::Address => target.hostaddr.as_deref().unwrap_or_default(),
                _ => target.host.as_str(),
            };
            tcp(addrs, shown, target.port).await
        }
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
                errors.push(format!(
                    "connection to server at {place}, port {port} failed: {}",
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
        ConnectError::Server(format!(
            "connection to server on socket \"{path}\" failed: {}",
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

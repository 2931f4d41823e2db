//! Accepting the exporter's HTTP connections: at most [`Limits::total`] at once (beyond that,
//! new ones wait in the kernel's accept queue, holding no descriptor of the exporter's), the last
//! quarter of those places kept for client addresses that hold fewer than [`PER_ADDRESS`] (a
//! connection from an address over it is closed there), TLS handshakes away from the accept
//! loop, and hyper's HTTP/1 with a deadline for a request's headers that also ends an idle
//! keep-alive connection. A client that sends nothing, or one byte a second, holds a place for
//! [`HEADER_TIMEOUT`] at most.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;

/// How long a client has to send a request's headers, counted from the end of the last answer
/// on a kept-alive connection.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections an address may hold and still be given one of the reserved places.
pub const PER_ADDRESS: usize = 16;
/// Connections at most, whatever the open-files limit.
const MAX_TOTAL: usize = 512;

/// How many connections the exporter holds at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// In all.
    pub total: usize,
}

impl Limits {
    /// A quarter of the open-files limit (the probes need the rest), within 16 and 512.
    pub fn for_descriptors(limit: Option<u64>) -> Self {
        let quarter = limit.map_or(MAX_TOTAL, |l| usize::try_from(l / 4).unwrap_or(MAX_TOTAL));
        Limits {
            total: quarter.clamp(16, MAX_TOTAL),
        }
    }

    /// Whether a connection from an address that holds `from_address` may have a place when
    /// `free` places (this one among them) are left: any place but the reserved last quarter,
    /// and those only for an address that holds few.
    fn admits(self, free: usize, from_address: usize) -> bool {
        free > self.total / 4 || from_address < PER_ADDRESS
    }
}

/// One connection's place, given back when it closes.
struct Slot {
    by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
    address: IpAddr,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.address);
            }
        }
    }
}

/// Gives a connection from `address` the place `permit` holds, if the reserve allows it.
fn take_slot(
    by_address: &Arc<Mutex<HashMap<IpAddr, usize>>>,
    address: IpAddr,
    (permit, free): (OwnedSemaphorePermit, usize),
    limits: Limits,
) -> Option<Slot> {
    let mut held = by_address.lock().unwrap_or_else(|p| p.into_inner());
    let from_address = held.get(&address).copied().unwrap_or(0);
    if !limits.admits(free, from_address) {
        return None;
    }
    *held.entry(address).or_default() += 1;
    Some(Slot {
        by_address: by_address.clone(),
        address,
        _permit: permit,
    })
}

/// Serves `app` on `listener` until `stop` turns true; then lets the requests under way finish
/// (the caller bounds how long).
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: axum::Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let places = Arc::new(Semaphore::new(limits.total));
    let by_address = Arc::new(Mutex::new(HashMap::new()));
    let (open_tx, open_rx) = watch::channel(());
    loop {
        // Past the limit, connections wait in the kernel's queue.
        let permit = tokio::select! {
            permit = places.clone().acquire_owned() => permit,
            _ = stop.wait_for(|s| *s) => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        let Ok((tcp, peer)) = accepted else {
            // Out of descriptors, most likely: wait for some to be given back.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let free = places.available_permits() + 1;
        // An address that holds many is closed at once in the reserved places.
        let Some(slot) = take_slot(&by_address, peer.ip(), (permit, free), limits) else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (app, tls, stop, open) = (app.clone(), tls.clone(), stop.clone(), open_rx.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let _open = open;
            match tls {
                None => connection(tcp, app, stop).await,
                Some(config) => {
                    let handshake = TlsAcceptor::from(config).accept(tcp);
                    if let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await
                    {
                        connection(stream, app, stop).await;
                    }
                }
            }
        });
    }
    drop(listener);
    drop(open_rx);
    // Every connection task holds a receiver: this ends when the last one has.
    open_tx.closed().await;
}

/// One connection: HTTP/1 with a deadline for each request's headers; on `stop`, the request
/// under way is answered and the connection closed.
async fn connection<S>(stream: S, app: axum::Router, mut stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(app);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stop.wait_for(|s| *s) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_quarter_of_places_is_kept_for_addresses_that_hold_few() {
        let limits = Limits { total: 64 };
        // (free places, this one among them; held by the address; admitted)
        let cases = [
            (64, 0, true),
            (17, 40, true),
            (16, 40, false),
            (16, PER_ADDRESS - 1, true),
            (1, PER_ADDRESS, false),
            (1, 0, true),
        ];
        for (free, held, admitted) in cases {
            assert_eq!(
                limits.admits(free, held),
                admitted,
                "{free} free, {held} held"
            );
        }
    }

    #[tokio::test]
    async fn places_are_given_back_when_connections_close() {
        let limits = Limits { total: 16 };
        let places = Arc::new(Semaphore::new(limits.total));
        let by_address = Arc::new(Mutex::new(HashMap::new()));
        let address: IpAddr = "192.0.2.1".parse().unwrap();
        let mut slots = Vec::new();
        for _ in 0..limits.total {
            let permit = places.clone().acquire_owned().await.unwrap();
            let free = places.available_permits() + 1;
            slots.extend(take_slot(&by_address, address, (permit, free), limits));
        }
        assert_eq!(slots.len(), limits.total, "few held: every place");
        assert_eq!(places.available_permits(), 0);
        drop(slots);
        assert_eq!(places.available_permits(), limits.total);
        assert!(by_address.lock().unwrap().is_empty());
    }

    #[test]
    fn the_total_is_a_quarter_of_the_open_files_limit_within_bounds() {
        let cases = [
            (None, 512),
            (Some(200), 50),
            (Some(40), 16),
            (Some(1_048_576), 512),
        ];
        for (limit, total) in cases {
            assert_eq!(Limits::for_descriptors(limit).total, total, "{limit:?}");
        }
    }
}

//! The exporter's own endpoint: TLS (a certificate chain and key, as the exporter toolkit's
//! `web.yml` names them) and HTTP basic authentication against bcrypt hashes, checked once per
//! distinct credential and then remembered.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::Digest;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS server configuration from a certificate chain file and a key file.
///
/// # Errors
/// A file that cannot be read, holds no certificate or key, or a key that does not fit.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    let read = |path: &Path| {
        crate::files::read(path, crate::files::CERTIFICATES)
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&read(cert)?)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key)?)
        .map_err(|e| format!("{}: no private key ({e})", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key do not fit: {e}"))?;
    Ok(Arc::new(config))
}

/// A listener that completes each client's TLS handshake away from the accept loop, so that a
/// slow or silent client never holds up the others.
pub struct TlsListener {
    incoming: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, std::net::SocketAddr)>,
    local: std::net::SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener` with `config`.
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (tx, incoming) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, peer)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                if tx.is_closed() {
                    break;
                }
                let acceptor = acceptor.clone();
                let sender = tx.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                    {
                        let _ = sender.send((tls, peer)).await;
                    }
                });
            }
        });
        Ok(TlsListener { incoming, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(accepted) => accepted,
            // The accept loop ended: nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Basic authentication against bcrypt hashes. A credential that verified is remembered by its
/// SHA-256 (never the password itself), so that bcrypt's cost is paid once, not per scrape.
#[derive(Debug, Default)]
pub struct Auth {
    users: BTreeMap<String, String>,
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl Auth {
    /// Authentication for these users (none: every request passes).
    pub fn new(users: BTreeMap<String, String>) -> Self {
        Auth {
            users,
            verified: Mutex::new(HashSet::new()),
        }
    }

    /// Whether requests need credentials.
    pub fn required(&self) -> bool {
        !self.users.is_empty()
    }

    /// Whether an `Authorization` header holds a user's valid credentials.
    pub fn allows(&self, header: Option<&str>) -> bool {
        if !self.required() {
            return true;
        }
        let Some(encoded) = header.and_then(|h| h.strip_prefix("Basic ")) else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Some(colon) = decoded.iter().position(|&b| b == b':') else {
            return false;
        };
        let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
        let Some(hash) = std::str::from_utf8(user)
            .ok()
            .and_then(|u| self.users.get(u))
        else {
            return false;
        };
        let key: [u8; 32] = sha2::Sha256::new()
            .chain_update(&decoded)
            .chain_update(hash.as_bytes())
            .finalize()
            .into();
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.contains(&key) {
            return true;
        }
        let ok = bcrypt::verify(password, hash).unwrap_or(false);
        if ok && verified.len() < 1024 {
            verified.insert(key);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_authentication_takes_only_a_users_own_password() {
        let hash = bcrypt::hash("pr0m", 4).unwrap();
        let auth = Auth::new(BTreeMap::from([("prometheus".to_string(), hash)]));
        let header = |credentials: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(credentials)
            )
        };
        let cases = [
            (Some(header("prometheus:pr0m")), true),
            // Remembered, and still right.
            (Some(header("prometheus:pr0m")), true),
            (Some(header("prometheus:wrong")), false),
            (Some(header("grafana:pr0m")), false),
            (Some(header("prometheus")), false),
            (Some("Bearer x".to_string()), false),
            (Some("Basic !!!".to_string()), false),
            (None, false),
        ];
        for (header, allowed) in cases {
            assert_eq!(auth.allows(header.as_deref()), allowed, "{header:?}");
        }
        assert!(Auth::default().allows(None));
    }
}

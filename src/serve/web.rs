//! The exporter's own endpoint: TLS (a certificate chain and key, as the exporter toolkit's
//! `web.yml` names them) and HTTP basic authentication against bcrypt hashes, checked once per
//! distinct credential and then remembered.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::Digest;

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
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key do not fit: {e}"))?;
    Ok(Arc::new(config))
}

/// bcrypt checks that run at once, on blocking threads.
const BCRYPT_AT_ONCE: usize = 2;
/// How long a request waits for a bcrypt check before it is answered "busy".
const BCRYPT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Basic authentication against bcrypt hashes. A credential that verified is remembered by its
/// SHA-256 (never the password itself), so that bcrypt's cost is paid once, not per scrape.
/// bcrypt runs on blocking threads, [`BCRYPT_AT_ONCE`] at a time and never under a lock; an
/// unknown user costs the same bcrypt check as a known one, so that the time of an answer does
/// not tell which user names exist.
#[derive(Debug)]
pub struct Auth {
    users: BTreeMap<String, String>,
    /// A hash of the users' highest cost, checked for unknown users.
    decoy: Option<String>,
    verified: Mutex<HashSet<[u8; 32]>>,
    checks: tokio::sync::Semaphore,
}

impl Default for Auth {
    fn default() -> Self {
        Auth::new(BTreeMap::new())
    }
}

/// What the credentials of a request come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let through.
    Allowed,
    /// Missing or wrong.
    Refused,
    /// Not checked: too many checks were waiting.
    Busy,
}

impl Auth {
    /// Authentication for these users (none: every request passes).
    pub fn new(users: BTreeMap<String, String>) -> Self {
        let cost = users
            .values()
            .filter_map(|h| h.parse::<bcrypt::HashParts>().ok())
            .map(|p| p.get_cost())
            .max();
        let decoy = cost.and_then(|c| bcrypt::hash("pgtls: no such user", c).ok());
        Auth {
            users,
            decoy,
            verified: Mutex::new(HashSet::new()),
            checks: tokio::sync::Semaphore::new(BCRYPT_AT_ONCE),
        }
    }

    /// Whether requests need credentials.
    pub fn required(&self) -> bool {
        !self.users.is_empty()
    }

    /// Whether an `Authorization` header holds a user's valid credentials.
    pub async fn allows(&self, header: Option<&str>) -> Verdict {
        if !self.required() {
            return Verdict::Allowed;
        }
        let Some((user, password)) = header.and_then(basic_credentials) else {
            return Verdict::Refused;
        };
        let (hash, known) = match self.users.get(&user) {
            Some(hash) => (hash.clone(), true),
            None => match &self.decoy {
                Some(decoy) => (decoy.clone(), false),
                None => return Verdict::Refused,
            },
        };
        let key: [u8; 32] = sha2::Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(&password)
            .chain_update(hash.as_bytes())
            .finalize()
            .into();
        if known && self.lock().contains(&key) {
            return Verdict::Allowed;
        }
        let Ok(Ok(_permit)) = tokio::time::timeout(BCRYPT_WAIT, self.checks.acquire()).await else {
            return Verdict::Busy;
        };
        let ok = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
            .await
            .is_ok_and(|r| r.unwrap_or(false));
        if !(ok && known) {
            return Verdict::Refused;
        }
        let mut verified = self.lock();
        if verified.len() < 1024 {
            verified.insert(key);
        }
        Verdict::Allowed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.verified.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The user and password of a `Basic` authorization header.
fn basic_credentials(header: &str) -> Option<(String, Vec<u8>)> {
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn basic_authentication_takes_only_a_users_own_password() {
        let hash = bcrypt::hash("pr0m", 4).unwrap();
        let auth = Auth::new(BTreeMap::from([("prometheus".to_string(), hash)]));
        let header = |credentials: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(credentials)
            )
        };
        let cases = [
            (Some(header("prometheus:pr0m")), Verdict::Allowed),
            // Remembered, and still right.
            (Some(header("prometheus:pr0m")), Verdict::Allowed),
            (Some(header("prometheus:wrong")), Verdict::Refused),
            (Some(header("grafana:pr0m")), Verdict::Refused),
            (Some(header("prometheus")), Verdict::Refused),
            (Some("Bearer x".to_string()), Verdict::Refused),
            (Some("Basic !!!".to_string()), Verdict::Refused),
            (None, Verdict::Refused),
        ];
        for (header, verdict) in cases {
            assert_eq!(auth.allows(header.as_deref()).await, verdict, "{header:?}");
        }
        assert_eq!(Auth::default().allows(None).await, Verdict::Allowed);
    }
}

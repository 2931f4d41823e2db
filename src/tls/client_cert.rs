//! The client certificate libpq would send: `sslcert`/`sslkey` (or `~/.postgresql/postgresql.crt`
//! and `.key`), a PEM certificate chain, PKCS#1, PKCS#8 and SEC1 keys in PEM or DER, PKCS#8 keys
//! encrypted with `sslpassword`, and libpq's rules for missing files and key-file permissions.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::ResolvesClientCert;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

use crate::config::{Options, Secret, SslCertMode};

/// Why the client certificate or key cannot be used: libpq's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientCertError {
    /// The certificate file exists but cannot be read.
    #[error("could not read certificate file \"{}\": {reason}", path.display())]
    Certificate { path: PathBuf, reason: String },
    /// A certificate without its key.
    #[error("certificate present, but not private key file \"{}\"", .0.display())]
    NoKey(PathBuf),
    /// The key file is not a regular file.
    #[error("private key file \"{}\" is not a regular file", .0.display())]
    KeyNotFile(PathBuf),
    /// The key file is readable by others.
    #[error(
        "private key file \"{}\" has group or world access; file must have permissions u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r (0640) or less if owned by root",
        .0.display()
    )]
    KeyPermissions(PathBuf),
    /// The key cannot be loaded (bad format, wrong or missing password).
    #[error("could not load private key file \"{}\": {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    /// The key is not the certificate's.
    #[error("certificate does not match private key file \"{}\"", .0.display())]
    Mismatch(PathBuf),
}

/// The certificate and key a connection offers.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// The certificate file.
    pub cert_file: PathBuf,
    /// The chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The key, ready to sign.
    pub key: Arc<CertifiedKey>,
}

fn cert_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, ClientCertError> {
    let bad = |reason: String| ClientCertError::Certificate {
        path: path.to_path_buf(),
        reason,
    };
    let bytes =
        crate::files::read(path, crate::files::CERTIFICATES).map_err(|e| bad(e.to_string()))?;
    // libpq reads the certificate file as a PEM chain only (keys may be DER).
    let certs = super::pem::read(&bytes)
        .map_err(|e| bad(e.to_string()))?
        .certs;
    if certs.is_empty() {
        return Err(bad("no start line".into()));
    }
    Ok(certs)
}

fn check_key_file(path: &Path) -> Result<(), ClientCertError> {
    let meta = std::fs::metadata(path).map_err(|_| ClientCertError::NoKey(path.to_path_buf()))?;
    if !meta.is_file() {
        return Err(ClientCertError::KeyNotFile(path.to_path_buf()));
    }
    if key_mode_refused(meta.uid(), meta.permissions().mode()) {
        return Err(ClientCertError::KeyPermissions(path.to_path_buf()));
    }
    Ok(())
}

/// libpq's rule for a key file's mode: owned by root, at most `u=rw,g=r` (0640); owned by anyone
/// else, at most `u=rw` (0600). Who runs the check does not matter: a key that can be read despite
/// such a mode has the right owner.
fn key_mode_refused(owner: u32, mode: u32) -> bool {
    if owner == 0 {
        mode & 0o037 != 0
    } else {
        mode & 0o077 != 0
    }
}

/// Reads a private key: PEM (PKCS#1, PKCS#8, SEC1, encrypted PKCS#8) or DER.
fn private_key(
    path: &Path,
    password: Option<&Secret>,
) -> Result<PrivateKeyDer<'static>, ClientCertError> {
    let bad = |reason: &str| ClientCertError::Key {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let bytes =
        crate::files::read(path, crate::files::CERTIFICATES).map_err(|e| bad(&e.to_string()))?;
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(bad(
            "legacy OpenSSL key encryption is not supported; convert it with `openssl pkcs8 -topk8 -in KEY -out KEY.p8`",
        ));
    }
    let encrypted = if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let (_, doc) = pkcs8::der::Document::from_pem(&text).map_err(|_| bad("invalid PEM"))?;
        Some(doc.as_bytes().to_vec())
    } else if !text.contains("-----BEGIN")
        && pkcs8::EncryptedPrivateKeyInfoRef::try_from(bytes.as_slice()).is_ok()
    {
        Some(bytes.clone())
    } else {
        None
    };
    if let Some(der) = encrypted {
        let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_slice())
            .map_err(|_| bad("invalid encrypted key"))?;
        let Some(password) = password.filter(|p| !p.expose().is_empty()) else {
            return Err(bad("the key is encrypted and no sslpassword is set"));
        };
        let plain = info
            .decrypt(password.expose())
            .map_err(|_| bad("bad decrypt (wrong sslpassword?)"))?;
        return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            plain.as_bytes().to_vec(),
        )));
    }
    if let Ok(key) = PrivateKeyDer::from_pem_slice(&bytes) {
        return Ok(key);
    }
    PrivateKeyDer::try_from(bytes.clone()).map_err(|_| bad("no private key found"))
}

/// Loads the identity libpq would offer, or `None` when it offers none (sslcertmode=disable, or
/// no certificate file).
///
/// # Errors
/// libpq's messages for an unreadable certificate, a missing, exposed or unreadable key, or a
/// key that is not the certificate's.
pub fn load(
    options: &Options,
    password: Option<&Secret>,
) -> Result<Option<ClientIdentity>, ClientCertError> {
    if options.sslcertmode == SslCertMode::Disable {
        return Ok(None);
    }
    let Some(cert_file) = options.sslcert.as_ref().filter(|f| f.exists()) else {
        return Ok(None);
    };
    let chain = cert_chain(cert_file)?;
    let key_file = options.sslkey.clone().unwrap_or_default();
    check_key_file(&key_file)?;
    let key = private_key(&key_file, password)?;
    let provider = super::provider();
    let signing =
        provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| ClientCertError::Key {
                path: key_file.clone(),
                reason: e.to_string(),
            })?;
    let certified = CertifiedKey::new(chain.clone(), signing);
    if matches!(
        certified.keys_match(),
        Err(rustls::Error::InconsistentKeys(_))
    ) {
        return Err(ClientCertError::Mismatch(key_file));
    }
    Ok(Some(ClientIdentity {
        cert_file: cert_file.clone(),
        chain,
        key: Arc::new(certified),
    }))
}

/// Offers the identity when the server asks for one, and records that it asked.
#[derive(Debug)]
pub struct Resolver {
    identity: Option<ClientIdentity>,
    /// Whether the server sent a CertificateRequest.
    pub requested: Arc<Mutex<bool>>,
}

impl Resolver {
    /// A resolver for this identity (or none).
    pub fn new(identity: Option<ClientIdentity>) -> Self {
        Resolver {
            identity,
            requested: Arc::new(Mutex::new(false)),
        }
    }
}

impl ResolvesClientCert for Resolver {
    fn resolve(
        &self,
        _hints: &[&[u8]],
        _schemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        if let Ok(mut requested) = self.requested.lock() {
            *requested = true;
        }
        self.identity.as_ref().map(|i| i.key.clone())
    }

    fn has_certs(&self) -> bool {
        self.identity.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::key_mode_refused;

    #[test]
    fn key_modes_follow_libpqs_owner_rule() {
        // (owner uid, mode, refused)
        let cases = [
            (0, 0o600, false),
            (0, 0o640, false),
            (0, 0o644, true),
            (0, 0o660, true),
            (0, 0o650, true),
            (1000, 0o600, false),
            (1000, 0o400, false),
            (1000, 0o640, true),
            (1000, 0o644, true),
            (1000, 0o604, true),
        ];
        for (owner, mode, refused) in cases {
            assert_eq!(
                key_mode_refused(owner, mode),
                refused,
                "owner {owner} mode {mode:o}"
            );
        }
    }
}

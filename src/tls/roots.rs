//! Trust sources as libpq loads them: the root file (`sslrootcert` or `~/.postgresql/root.crt`),
//! the operating system's store for `sslrootcert=system` (honouring `SSL_CERT_FILE` and
//! `SSL_CERT_DIR`), and CRLs. OpenSSL's rule that a chain must end at a self-signed certificate
//! of the store is kept by splitting the store into anchors and intermediates.

use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer};
use serde::Serialize;

/// Where trusted certificates came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrustSource {
    /// A root file.
    File {
        /// The file.
        path: PathBuf,
    },
    /// The operating system's trust store.
    System,
    /// A provider profile (tried by the trust diagnosis only).
    Profile {
        /// The profile's name.
        name: String,
        /// How messages name its roots ("the bundled azure roots").
        #[serde(skip)]
        phrase: String,
    },
}

impl std::fmt::Display for TrustSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrustSource::File { path } => write!(f, "{}", path.display()),
            TrustSource::System => f.write_str("the system trust store"),
            TrustSource::Profile { phrase, .. } => f.write_str(phrase),
        }
    }
}

/// The certificates a chain may be verified against.
#[derive(Debug, Clone)]
pub struct TrustStore {
    /// Where they came from.
    pub source: TrustSource,
    /// Self-signed certificates: the only anchors OpenSSL accepts.
    pub anchors: Vec<CertificateDer<'static>>,
    /// Other certificates of the store, usable as intermediates but never as anchors.
    pub intermediates: Vec<CertificateDer<'static>>,
    /// Revocation lists.
    pub crls: Vec<CertificateRevocationListDer<'static>>,
    /// Whether CRLs are checked: then every certificate of the chain needs one from its issuer.
    pub crl_check: bool,
}

/// Why a trust source or CRL could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RootError {
    /// verify-ca or verify-full without the root file.
    #[error(
        "root certificate file \"{}\" does not exist\nEither provide the file, use the system's trusted roots with sslrootcert=system, or change sslmode to disable server certificate verification.",
        .0.display()
    )]
    Missing(PathBuf),
    /// verify-ca or verify-full with no home directory to find the default file in.
    #[error(
        "could not get home directory to locate root certificate file\nEither provide the file, use the system's trusted roots with sslrootcert=system, or change sslmode to disable server certificate verification."
    )]
    NoHome,
    /// The root file exists but holds no usable certificate.
    #[error("could not read root certificate file \"{}\": {reason}", path.display())]
    Unreadable {
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The system store has no certificates.
    #[error("could not load the system trust store: {0}")]
    System(String),
}

/// Whether a certificate's issuer is its own subject (OpenSSL's self-signed test, by name).
pub fn is_self_issued(der: &[u8]) -> bool {
    // webpki's parse reads the names without decoding every extension, a fraction of
    // x509-parser's work over a system store; x509-parser for what webpki refuses (version 1).
    let cert = CertificateDer::from(der);
    if let Ok(parsed) = webpki::EndEntityCert::try_from(&cert) {
        return parsed.subject() == parsed.issuer();
    }
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => cert.subject().as_raw() == cert.issuer().as_raw(),
        Err(_) => false,
    }
}

/// A PEM certificate's base64 body, decoded; `None` for one that is not base64 (skipped, as
/// OpenSSL and rustls-native-certs skip it).
fn decode_body(body: &str) -> Option<CertificateDer<'static>> {
    use base64::Engine as _;
    let compact: String = body.split_ascii_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
        .map(CertificateDer::from)
}

/// The base64 bodies of a text's PEM certificates, as written: what tells a file's
/// certificates from a bundle's without decoding them (a body written otherwise is only decoded
/// again). Not UTF-8: nothing.
fn pem_bodies(text: &[u8]) -> Vec<&str> {
    let Ok(text) = std::str::from_utf8(text) else {
        return Vec::new();
    };
    text.split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .filter_map(|block| block.split_once("-----END CERTIFICATE-----"))
        .map(|(body, _)| body.trim())
        .collect()
}

impl TrustStore {
    /// Splits certificates into anchors and intermediates.
    pub fn new(source: TrustSource, certs: Vec<CertificateDer<'static>>) -> Self {
        let (anchors, intermediates) = certs.into_iter().partition(|c| is_self_issued(c));
        TrustStore {
            source,
            anchors,
            intermediates,
            crls: Vec::new(),
            crl_check: false,
        }
    }

    /// Every certificate of the store, anchors first.
    pub fn certificates(&self) -> impl Iterator<Item = &CertificateDer<'static>> {
        self.anchors.iter().chain(&self.intermediates)
    }

    /// Whether the store holds this certificate.
    pub fn holds(&self, der: &[u8]) -> bool {
        self.certificates().any(|c| c.as_ref() == der)
    }

    /// Reads a root file of PEM certificates, as `SSL_CTX_load_verify_locations` does.
    ///
    /// # Errors
    /// [`RootError::Unreadable`] for an unreadable file or one without a certificate.
    pub fn from_file(path: &Path) -> Result<Self, RootError> {
        let unreadable = |reason: String| RootError::Unreadable {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = crate::files::read(path, crate::files::CERTIFICATES)
            .map_err(|e| unreadable(e.to_string()))?;
        let certs = pem_certificates(&bytes)
            .map_err(|reason| unreadable(with_der_conversion(&reason, path)))?;
        Ok(TrustStore::new(
            TrustSource::File {
                path: path.to_path_buf(),
            },
            certs,
        ))
    }

    /// Loads the operating system's store.
    ///
    /// # Errors
    /// [`RootError::System`] when it holds no certificate.
    pub fn system() -> Result<Self, RootError> {
        // OpenSSL's default file and directories, as rustls-native-certs finds them
        // (`SSL_CERT_FILE` and `SSL_CERT_DIR` first).
        let locations = openssl_probe::probe();
        let mut certs = Vec::new();
        let mut errors = Vec::new();
        let bundle = locations.cert_file.as_ref().map(|f| (f, std::fs::read(f)));
        // Bodies differ within their first characters (the serial number), which makes an
        // ordered set cheaper than hashing whole bodies.
        let mut bundled = std::collections::BTreeSet::new();
        match &bundle {
            Some((_, Ok(text))) => {
                for body in pem_bodies(text) {
                    if bundled.insert(body) {
                        certs.extend(decode_body(body));
                    }
                }
            }
            Some((file, Err(e))) => errors.push(format!("{}: {e}", file.display())),
            None => {}
        }
        // A directory mostly repeats the file (Debian's /etc/ssl/certs holds each of
        // ca-certificates.crt's roots again, under two names): only what the file lacks is
        // decoded, and each file once.
        // Files by device and inode, as symbolic links resolve.
        let identity = |path: &Path| {
            use std::os::unix::fs::MetadataExt as _;
            std::fs::metadata(path)
                .ok()
                .filter(std::fs::Metadata::is_file)
                .map(|m| (m.dev(), m.ino()))
        };
        let mut seen: std::collections::HashSet<(u64, u64)> = locations
            .cert_file
            .as_deref()
            .and_then(identity)
            .into_iter()
            .collect();
        for dir in &locations.cert_dir {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if !identity(&path).is_some_and(|id| seen.insert(id)) {
                    continue;
                }
                let Ok(text) = std::fs::read(&path) else {
                    continue;
                };
                for body in pem_bodies(&text) {
                    if !bundled.contains(body) {
                        certs.extend(decode_body(body));
                    }
                }
            }
        }
        if certs.is_empty() {
            let reason = errors
                .into_iter()
                .next()
                .unwrap_or_else(|| "no certificates found".to_string());
            return Err(RootError::System(reason));
        }
        Ok(TrustStore::new(TrustSource::System, certs))
    }

    /// Loads CRLs as libpq does with `X509_STORE_load_locations(file, dir)`: checking is on
    /// when the file (if named) loads and a file or directory is named; a directory holds
    /// CRLs under OpenSSL's hashed names (`89abcdef.r0`); nothing here is ever an error, as libpq
    /// ignores what it cannot load.
    pub fn load_crls(&mut self, file: Option<&Path>, dir: Option<&Path>) {
        let from_file = match file {
            Some(file) => match read_crls(file) {
                Some(crls) => Some(crls),
                None => return,
            },
            None => None,
        };
        if from_file.is_none() && dir.is_none() {
            return;
        }
        self.crl_check = true;
        self.crls.extend(from_file.unwrap_or_default());
        let Some(entries) = dir.and_then(|d| std::fs::read_dir(d).ok()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_hashed_crl_name(&name) {
                self.crls
                    .extend(read_crls(&entry.path()).unwrap_or_default());
            }
        }
    }
}

/// The certificates of a PEM root file, read as OpenSSL reads it; a file of CRLs alone loads
/// (and anchors nothing). An error gives OpenSSL's reason and, for a file without certificates,
/// what it holds instead.
///
/// # Errors
/// A block that does not decode, or no certificate or CRL at all.
pub fn pem_certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let contents = super::pem::read(bytes).map_err(str::to_string)?;
    if !contents.certs.is_empty() || contents.crls > 0 {
        return Ok(contents.certs);
    }
    let holds = if bytes.iter().all(u8::is_ascii_whitespace) {
        "the file is empty"
    } else if bytes.first() == Some(&0x30) {
        "the file is DER, not PEM; convert it with `pgtls inspect --to-pem -o {pem} {der}` and name the new file as the root file"
    } else if bytes.windows(11).any(|w| w == b"PRIVATE KEY") {
        "the file holds a private key, not a certificate"
    } else {
        return Err("no certificate or crl found".into());
    };
    Err(format!("no certificate or crl found ({holds})"))
}

/// A DER root file's message with the conversion written for that file: a new `.pem` file
/// beside it, never the file itself (`inspect` refuses to overwrite one).
fn with_der_conversion(reason: &str, path: &Path) -> String {
    if !reason.contains("{der}") {
        return reason.to_string();
    }
    let mut pem = path.with_extension("pem");
    if pem == path {
        pem = path.with_extension("converted.pem");
    }
    let quote = |p: &Path| crate::conninfo::quote(&p.display().to_string());
    reason
        .replace("{pem}", &quote(&pem))
        .replace("{der}", &quote(path))
}

/// OpenSSL's hashed CRL file name: eight hex digits, `.r`, a number.
fn is_hashed_crl_name(name: &str) -> bool {
    let Some((hash, n)) = name.split_once(".r") else {
        return false;
    };
    hash.len() == 8
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
}

/// The CRLs of a PEM or DER file; `None` when it cannot be read or holds none.
fn read_crls(path: &Path) -> Option<Vec<CertificateRevocationListDer<'static>>> {
    crls_in(&crate::files::read(path, crate::files::CRLS).ok()?)
}

/// The CRLs in PEM or DER bytes; `None` when there are none.
pub fn crls_in(bytes: &[u8]) -> Option<Vec<CertificateRevocationListDer<'static>>> {
    let pem: Vec<_> = CertificateRevocationListDer::pem_slice_iter(bytes)
        .collect::<Result<_, _>>()
        .ok()?;
    if !pem.is_empty() {
        return Some(pem);
    }
    let der = x509_parser::parse_x509_crl(bytes).is_ok();
    der.then(|| vec![CertificateRevocationListDer::from(bytes.to_vec())])
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_system_store_holds_every_certificate_of_the_default_locations_once_decoded() {
        let ours = TrustStore::system().expect("a system store");
        let theirs = rustls_native_certs::load_native_certs();
        let set = |certs: Vec<&CertificateDer<'static>>| {
            certs
                .into_iter()
                .map(|c| c.as_ref().to_vec())
                .collect::<std::collections::BTreeSet<_>>()
        };
        let ours = set(ours.anchors.iter().chain(&ours.intermediates).collect());
        assert!(!ours.is_empty());
        assert_eq!(ours, set(theirs.certs.iter().collect()));
    }

    use super::*;

    #[test]
    fn only_hashed_names_count_in_a_crl_directory() {
        assert!(is_hashed_crl_name("89abcdef.r0"));
        assert!(is_hashed_crl_name("0123ABCD.r12"));
        assert!(!is_hashed_crl_name("root.crl"));
        assert!(!is_hashed_crl_name("89abcdef.0"));
        assert!(!is_hashed_crl_name("89abcde.r0"));
    }

    #[test]
    fn root_files_that_are_not_pem_certificates_say_what_they_are() {
        assert_eq!(
            pem_certificates(b"").unwrap_err(),
            "no certificate or crl found (the file is empty)"
        );
        let der = pem_certificates(&[0x30, 0x82, 0x01]).unwrap_err();
        assert_eq!(
            with_der_conversion(&der, Path::new("/etc/app/root.crt")),
            "no certificate or crl found (the file is DER, not PEM; convert it with `pgtls inspect --to-pem -o /etc/app/root.pem /etc/app/root.crt` and name the new file as the root file)"
        );
        assert!(
            with_der_conversion(&der, Path::new("/a/root.pem"))
                .contains("-o /a/root.converted.pem /a/root.pem")
        );
        let key = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(pem_certificates(key).unwrap_err().contains("private key"));
        assert_eq!(
            pem_certificates(b"hello").unwrap_err(),
            "no certificate or crl found"
        );
    }
}

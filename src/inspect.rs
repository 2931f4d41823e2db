//! `pgtls inspect`: certificate files as users have them (PEM or DER, one certificate or a
//! bundle) read into plain data, and a root file judged against what libpq and the providers
//! expect of it. No network.

use std::path::{Path, PathBuf};

use rustls::pki_types::CertificateDer;

use crate::certinfo;
use crate::judge;
use crate::profiles::Profile;
use crate::report::{FileReport, Finding, Inspection};

/// Why a file holds no certificate pgtls can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The file cannot be read.
    #[error("could not read \"{}\": {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    /// The file is empty.
    #[error("\"{}\" is empty", .0.display())]
    Empty(PathBuf),
    /// The file holds a private key and no certificate.
    #[error("\"{}\" holds a private key, not a certificate", .0.display())]
    PrivateKey(PathBuf),
    /// The file holds a certificate signing request.
    #[error("\"{}\" holds a certificate signing request, not a certificate", .0.display())]
    Request(PathBuf),
    /// The file holds neither PEM nor DER certificates.
    #[error("\"{}\" is neither a PEM nor a DER certificate: {reason}", path.display())]
    NotCertificate {
        path: PathBuf,
        /// What was found.
        reason: String,
    },
    /// A Java keystore that cannot be read (a wrong --storepass, say).
    #[error("could not read keystore \"{}\": {reason}", path.display())]
    Keystore { path: PathBuf, reason: String },
}

/// The certificates of one file.
#[derive(Debug, Clone)]
pub struct FileCerts {
    pub path: PathBuf,
    /// `pem`, `der`, `jks` or `pkcs12`.
    pub format: &'static str,
    /// Its certificates, in file order (a keystore's entries in its order).
    pub certs: Vec<CertificateDer<'static>>,
    /// For a keystore, each certificate's alias (the entry's), parallel to `certs`.
    pub aliases: Option<Vec<String>>,
}

/// Reads every certificate of a PEM or DER file.
///
/// # Errors
/// An unreadable, empty or non-certificate file, named with what it holds instead.
pub fn read(path: &Path, storepass: &str) -> Result<FileCerts, InspectError> {
    let bytes = crate::files::read(path, crate::files::CERTIFICATES).map_err(|e| {
        InspectError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    })?;
    parse_with(path, &bytes, storepass)
}

/// Reads every certificate of PEM or DER bytes that came from `path`.
///
/// # Errors
/// As [`read`], for the bytes.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<FileCerts, InspectError> {
    parse_with(path, bytes, crate::keystore::DEFAULT_PASSWORD)
}

/// The same, with the password of a Java keystore.
///
/// # Errors
/// As [`read`]; a keystore whose password is not `storepass`.
pub fn parse_with(path: &Path, bytes: &[u8], storepass: &str) -> Result<FileCerts, InspectError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(InspectError::Empty(path.to_path_buf()));
    }
    let is_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
    let keystore = !is_pem
        && (crate::keystore::is_jks(bytes) || x509_parser::parse_x509_certificate(bytes).is_err());
    if keystore && let Some(found) = keystore_certs(path, bytes, storepass)? {
        return Ok(found);
    }
    let certs = if is_pem {
        pem_certs(path, bytes)?
    } else {
        der_certs(path, bytes)?
    };
    Ok(FileCerts {
        path: path.to_path_buf(),
        format: if is_pem { "pem" } else { "der" },
        certs,
        aliases: None,
    })
}

/// A JKS or PKCS#12 keystore's certificates; `None` when the bytes are no keystore (then they
/// are judged as DER).
fn keystore_certs(
    path: &Path,
    bytes: &[u8],
    storepass: &str,
) -> Result<Option<FileCerts>, InspectError> {
    use crate::keystore::{self, KeystoreError, Kind};
    let (kind, entries) = match keystore::read(bytes, storepass) {
        Ok(found) => found,
        Err(KeystoreError::Password) => {
            return Err(InspectError::Keystore {
                path: path.to_path_buf(),
                reason: KeystoreError::Password.to_string(),
            });
        }
        Err(e) if keystore::is_jks(bytes) => {
            return Err(InspectError::Keystore {
                path: path.to_path_buf(),
                reason: e.to_string(),
            });
        }
        Err(_) => return Ok(None),
    };
    let (mut certs, mut aliases) = (Vec::new(), Vec::new());
    for entry in entries {
        for cert in entry.certs {
            certs.push(cert);
            aliases.push(entry.alias.clone());
        }
    }
    Ok(Some(FileCerts {
        path: path.to_path_buf(),
        format: match kind {
            Kind::Jks => "jks",
            Kind::Pkcs12 => "pkcs12",
        },
        certs,
        aliases: Some(aliases),
    }))
}

fn pem_certs(path: &Path, bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, InspectError> {
    // Read as OpenSSL reads a root file for libpq, so that what inspect accepts is what libpq
    // will load from `sslrootcert`.
    let certs = crate::tls::pem::read(bytes)
        .map_err(|reason| InspectError::NotCertificate {
            path: path.to_path_buf(),
            reason: format!("invalid PEM: {reason}"),
        })?
        .certs;
    if !certs.is_empty() {
        return Ok(certs);
    }
    let text = String::from_utf8_lossy(bytes);
    Err(if text.contains("PRIVATE KEY-----") {
        InspectError::PrivateKey(path.to_path_buf())
    } else if text.contains("-----BEGIN CERTIFICATE REQUEST-----")
        || text.contains("-----BEGIN NEW CERTIFICATE REQUEST-----")
    {
        InspectError::Request(path.to_path_buf())
    } else {
        InspectError::NotCertificate {
            path: path.to_path_buf(),
            reason: "no CERTIFICATE block".into(),
        }
    })
}

fn der_certs(path: &Path, bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, InspectError> {
    let mut rest = bytes;
    let mut certs = Vec::new();
    while !rest.is_empty() {
        match x509_parser::parse_x509_certificate(rest) {
            Ok((remaining, _)) => {
                let used = rest.len() - remaining.len();
                certs.push(CertificateDer::from(rest[..used].to_vec()));
                rest = remaining;
            }
            Err(_) if certs.is_empty() && bytes.first() == Some(&0x30) => {
                return Err(InspectError::NotCertificate {
                    path: path.to_path_buf(),
                    reason: "DER data that is not an X.509 certificate (a key or a request?)"
                        .into(),
                });
            }
            Err(_) if certs.is_empty() => {
                return Err(InspectError::NotCertificate {
                    path: path.to_path_buf(),
                    reason: "neither PEM text nor DER data".into(),
                });
            }
            Err(_) => {
                return Err(InspectError::NotCertificate {
                    path: path.to_path_buf(),
                    reason: format!("trailing data after {} certificates", certs.len()),
                });
            }
        }
    }
    Ok(certs)
}

/// Builds the report of files already read.
pub fn describe(files: &[FileCerts], now: i64) -> Inspection {
    Inspection {
        files: files
            .iter()
            .map(|f| FileReport {
                path: f.path.display().to_string(),
                format: f.format,
                certificates: f
                    .certs
                    .iter()
                    .filter_map(|c| certinfo::describe(c, now))
                    .collect(),
                aliases: f.aliases.clone(),
            })
            .collect(),
        lint: None,
        profile_coverage: None,
    }
}

/// Judges the certificates of `report` as one root file for `sslrootcert`, and for `profile`'s
/// roots when one is given, on `today` (YYYY-MM-DD, for a profile's rotation dates).
pub fn lint(
    report: &Inspection,
    profile: Option<&Profile>,
    warn_days: i64,
    today: &str,
) -> Vec<Finding> {
    judge::lint::lint(&report.files, profile, warn_days, today)
}

/// The certificate a server should serve (`--expect-cert`): a PEM or DER file with at least one
/// certificate.
///
/// # Errors
/// A file that cannot be read or holds no certificate, named with what it holds.
pub fn expected_cert(path: &Path) -> Result<crate::expect::ExpectedCert, InspectError> {
    let file = read(path, crate::keystore::DEFAULT_PASSWORD)?;
    Ok(crate::expect::ExpectedCert {
        file: path.to_path_buf(),
        certs: file.certs,
    })
}

/// How many of `profile`'s roots the files of `report` hold.
pub fn coverage(report: &Inspection, profile: &Profile) -> crate::report::ProfileCoverage {
    judge::lint::coverage(&report.files, profile)
}

/// A PEM file's text with the certificates it lacks (by SHA-256) added at its end, and how many
/// were added. What was there stays byte for byte.
///
/// # Errors
/// OpenSSL's reason when the existing text is not a PEM file it would read.
pub fn append_pem<'a>(
    existing: &[u8],
    certs: impl IntoIterator<Item = (&'a str, &'a CertificateDer<'a>)>,
) -> Result<(Vec<u8>, usize), String> {
    let mut seen: Vec<String> = crate::tls::pem::read(existing)
        .map_err(|reason| format!("not a PEM file OpenSSL reads: {reason}"))?
        .certs
        .iter()
        .map(|c| certinfo::sha256(c))
        .collect();
    let mut added = Vec::new();
    for (name, der) in certs {
        let sha256 = certinfo::sha256(der);
        if !seen.contains(&sha256) {
            seen.push(sha256);
            added.push((name, der));
        }
    }
    let mut out = existing.to_vec();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend(to_pem(added.iter().copied()).into_bytes());
    Ok((out, added.len()))
}

/// Certificates as PEM, each preceded by a comment naming it.
pub fn to_pem<'a>(certs: impl IntoIterator<Item = (&'a str, &'a CertificateDer<'a>)>) -> String {
    use base64::Engine as _;
    let mut out = String::new();
    for (name, der) in certs {
        let name = crate::sanitize::clean(name);
        out.push_str(&format!("# {name}\n-----BEGIN CERTIFICATE-----\n"));
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        for line in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out
}

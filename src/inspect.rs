//! `pgtls inspect`: certificate files as users have them (PEM or DER, one certificate or a
//! bundle) read into plain data, and a root file judged against what libpq and the providers
//! expect of it. No network.

use std::path::{Path, PathBuf};

use rustls::pki_types::CertificateDer;
use serde::Serialize;

use crate::certinfo::{self, CertificateInfo};
use crate::judge::{self, Expiry};
use crate::profiles::{Need, Profile};
use crate::report::{Finding, Severity};

/// Why a file holds no certificate pgtls can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The file cannot be read.
    #[error("could not read \"{}\": {reason}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
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
        /// The file.
        path: PathBuf,
        /// What was found.
        reason: String,
    },
    /// A Java keystore that cannot be read (a wrong --storepass, say).
    #[error("could not read keystore \"{}\": {reason}", path.display())]
    Keystore {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The certificates of one file.
#[derive(Debug, Clone)]
pub struct FileCerts {
    /// The file.
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

/// What `inspect` reports.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Inspection {
    /// One entry per file.
    pub files: Vec<FileReport>,
    /// Root-file findings, when `--lint` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint: Option<Vec<Finding>>,
}

/// One file's certificates.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FileReport {
    /// The file.
    pub path: String,
    /// `pem`, `der`, `jks` or `pkcs12`.
    pub format: &'static str,
    /// Its certificates.
    pub certificates: Vec<CertificateInfo>,
    /// For a keystore, each certificate's alias, parallel to `certificates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<String>>,
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
    }
}

fn finding(
    severity: Severity,
    code: &'static str,
    message: String,
    hint: Option<String>,
) -> Finding {
    debug_assert!(
        crate::judge::codes::known(code),
        "unlisted finding code {code}"
    );
    Finding {
        severity,
        code,
        message,
        hint,
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
    let mut findings = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for file in &report.files {
        for c in &file.certificates {
            let who = format!("\"{}\" in {}", c.subject, file.path);
            if seen.contains(&c.sha256.as_str()) {
                findings.push(finding(
                    Severity::Warning,
                    "duplicate",
                    format!("{who} appears more than once"),
                    Some("keep one copy".into()),
                ));
            }
            seen.push(&c.sha256);
            if !c.is_ca {
                findings.push(finding(
                    Severity::Error,
                    "leaf_certificate",
                    format!("{who} is a server (leaf) certificate, not a CA"),
                    Some("keep only root CAs in a root file: pinning a server certificate breaks when the provider rotates it".into()),
                ));
            } else if !c.self_signed {
                findings.push(finding(
                    Severity::Warning,
                    "intermediate_certificate",
                    format!("{who} is an intermediate CA (issued by \"{}\")", c.issuer),
                    Some("libpq does not accept an intermediate as a trust anchor; add the root that issued it, and drop the intermediate unless you mean to pin it".into()),
                ));
            }
            match judge::expiry(c, warn_days) {
                Some(Expiry::Expired) => {
                    findings.push(judge::expired(&who, c, "remove it and add its successor"));
                }
                Some(Expiry::Soon) => findings.push(judge::expires_soon(
                    &who,
                    c,
                    "add its successor before it expires",
                )),
                None => {}
            }
        }
    }
    if let Some(profile) = profile {
        // A Java truststore is fixed with a truststore, a root file with a root file.
        let truststore =
            !report.files.is_empty() && report.files.iter().all(|f| f.aliases.is_some());
        let add = if truststore {
            format!(
                "add it with keytool -importcert, or write a complete truststore: pgtls roots --profile {} --format pkcs12 -o FILE",
                profile.name
            )
        } else {
            format!(
                "pgtls roots --profile {} --append -o FILE adds the roots the file lacks and keeps the rest",
                profile.name
            )
        };
        let fix = if truststore {
            format!(
                "pgtls roots --profile {} --format pkcs12 -o FILE writes a complete truststore",
                profile.name
            )
        } else {
            format!(
                "pgtls roots --profile {} -o FILE writes a complete root file",
                profile.name
            )
        };
        let mut one_of_held = false;
        let mut one_of_reason = None;
        for root in profile.roots() {
            let sha256 = certinfo::sha256(&root.der);
            let held = seen.contains(&sha256.as_str());
            if let Need::OneOf(reason) = &root.need {
                one_of_held |= held;
                one_of_reason = Some(reason);
            }
            if held {
                continue;
            }
            match &root.need {
                Need::Required => findings.push(finding(
                    Severity::Error,
                    "missing_root",
                    format!(
                        "{} (required by profile {}) is missing",
                        root.name, profile.name
                    ),
                    Some(fix.clone()),
                )),
                Need::Recommended(reason) => findings.push(finding(
                    Severity::Info,
                    "missing_recommended_root",
                    format!(
                        "{} (recommended by profile {}: {reason}) is not in the file",
                        root.name, profile.name
                    ),
                    Some(add.clone()),
                )),
                Need::OneOf(_) => {}
                Need::Rotation { date, reason } => {
                    findings.push(judge::rotation_root_missing(
                        &root.name,
                        &profile.name,
                        date,
                        reason,
                        today,
                        &add,
                    ));
                }
            }
        }
        if let Some(reason) = one_of_reason.filter(|_| !one_of_held) {
            findings.push(finding(
                Severity::Error,
                "missing_root",
                format!(
                    "the file holds none of profile {}'s regional roots ({reason})",
                    profile.name
                ),
                Some(fix.clone()),
            ));
        }
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
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

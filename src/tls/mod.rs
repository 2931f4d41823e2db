//! TLS as libpq sets it up: trust sources, verifiers per sslmode, the host-name check and the
//! rustls client configuration. No sockets here.

pub(crate) mod chain;
pub(crate) mod client_cert;
pub(crate) mod client_roots;
mod danger;
pub(crate) mod diagnose;
pub(crate) mod groups;
pub mod hostname;
pub(crate) mod keylog;
pub mod names;
pub(crate) mod pem;
pub mod roots;
pub(crate) mod suites;
mod verifier;

use std::sync::Arc;

use rustls::ClientConfig;
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;

use crate::config::{Options, RootCert, TlsVersion};
pub use roots::{RootError, TrustSource, TrustStore};
pub use verifier::{Record, Seen};

/// The ALPN protocol libpq 17+ offers, and requires with direct negotiation.
pub const ALPN: &[u8] = b"postgresql";

/// Why no TLS configuration can be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// The trust source could not be loaded.
    #[error(transparent)]
    Roots(#[from] RootError),
    /// A named CRL file or directory cannot be used.
    #[error(
        "could not read certificate revocation list \"{}\": {reason} (libpq would skip revocation checks without a word)",
        path.display()
    )]
    Crl {
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The allowed protocol range holds neither TLS 1.2 nor TLS 1.3.
    #[error(
        "pgtls speaks only TLS 1.2 and 1.3, and ssl_min_protocol_version={min} ssl_max_protocol_version={max} allows neither"
    )]
    NoVersion {
        /// The lower bound.
        min: String,
        /// The upper bound.
        max: String,
    },
}

/// The crypto provider every configuration is built with: aws-lc-rs's, with the key exchange
/// groups libpq offers on OpenSSL 3.5 (`groups::LIBPQ`).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(base_provider())
}

/// The same provider, owned, for the audit's probes and the other clients to narrow.
pub(crate) fn base_provider() -> CryptoProvider {
    with_groups(groups::LIBPQ.speakable())
}

/// aws-lc-rs's provider with these key exchange groups, in this order. The `fips` build keeps
/// only what the FIPS module approves (rustls's rule: its suites, signatures and groups).
pub(crate) fn with_groups(
    kx_groups: Vec<&'static dyn rustls::crypto::SupportedKxGroup>,
) -> CryptoProvider {
    let kx_groups = kx_groups
        .into_iter()
        .filter(|g| !cfg!(feature = "fips") || g.fips())
        .collect();
    CryptoProvider {
        kx_groups,
        ..rustls::crypto::aws_lc_rs::default_provider()
    }
}

/// The trust store the chain is verified against, loaded as libpq loads it; `None` when this
/// sslmode and these files mean no chain verification.
///
/// # Errors
/// A missing root file under verify-ca or verify-full, or any unreadable root or CRL file.
pub fn trust_store(options: &Options) -> Result<Option<TrustStore>, RootError> {
    let verify = options.sslmode.requires_root_file();
    match &options.root_cert {
        RootCert::System => TrustStore::system().map(Some),
        RootCert::File { path, .. } if path.exists() => {
            let mut store = TrustStore::from_file(path)?;
            store.load_crls(options.sslcrl.as_deref(), options.sslcrldir.as_deref());
            Ok(Some(store))
        }
        RootCert::File { path, .. } if verify => Err(RootError::Missing(path.clone())),
        RootCert::NoHomeDirectory if verify => Err(RootError::NoHome),
        RootCert::File { .. } | RootCert::NoHomeDirectory => Ok(None),
    }
}

/// Checks a CRL file or directory named with `sslcrl` or `sslcrldir`: libpq silently checks no
/// revocation when it cannot load them, which a check must not let pass unnoticed. The default
/// `~/.postgresql/root.crl` may be absent, as in libpq.
///
/// # Errors
/// [`TlsSetupError::Crl`] naming the file and the problem.
pub fn check_crl_files(options: &Options) -> Result<(), TlsSetupError> {
    let crl_error = |path: &std::path::Path, reason: &str| TlsSetupError::Crl {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if options.sslcrl_named
        && let Some(file) = &options.sslcrl
    {
        let bytes = crate::files::read(file, crate::files::CRLS)
            .map_err(|e| crl_error(file, &e.to_string()))?;
        if roots::crls_in(&bytes).is_none() {
            let reason = if bytes.iter().all(u8::is_ascii_whitespace) {
                "the file is empty"
            } else {
                "no CRL found"
            };
            return Err(crl_error(file, reason));
        }
    }
    if let Some(dir) = &options.sslcrldir
        && !dir.is_dir()
    {
        return Err(crl_error(dir, "not a directory"));
    }
    Ok(())
}

/// libpq's SNI rule: the host, unless `sslsni` is off or the host looks like an IP address
/// (only digits and dots, or any colon).
pub fn sni_name(options: &Options, host: &str) -> Option<String> {
    sni_host(host).filter(|_| options.sslsni)
}

/// The host as SNI, unless libpq's lexical rule takes it for an address (or it is empty).
pub(crate) fn sni_host(host: &str) -> Option<String> {
    let ip_like = host.bytes().all(|b| b.is_ascii_digit() || b == b'.') || host.contains(':');
    (!host.is_empty() && !ip_like).then(|| host.to_string())
}

/// The protocol versions allowed by `ssl_min_protocol_version` and `ssl_max_protocol_version`
/// among those rustls speaks.
///
/// # Errors
/// [`TlsSetupError::NoVersion`] when neither TLS 1.2 nor TLS 1.3 is allowed.
pub fn versions(
    options: &Options,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, TlsSetupError> {
    let min = options
        .ssl_min_protocol_version
        .unwrap_or(TlsVersion::Tls10);
    let max = options
        .ssl_max_protocol_version
        .unwrap_or(TlsVersion::Tls13);
    let mut versions = Vec::new();
    if min <= TlsVersion::Tls13 && TlsVersion::Tls13 <= max {
        versions.push(&rustls::version::TLS13);
    }
    if min <= TlsVersion::Tls12 && TlsVersion::Tls12 <= max {
        versions.push(&rustls::version::TLS12);
    }
    if versions.is_empty() {
        let name = |v: Option<TlsVersion>| v.map_or("(none)".to_string(), |v| v.to_string());
        return Err(TlsSetupError::NoVersion {
            min: name(options.ssl_min_protocol_version),
            max: name(options.ssl_max_protocol_version),
        });
    }
    Ok(versions)
}

/// A configuration for an HTTPS client as libcurl makes one (an OAuth issuer): the chain checked
/// against `store` with OpenSSL's rules and recorded, SNI for a host name, no resumption.
///
/// # Errors
/// Versions the provider cannot serve (not with the defaults).
pub fn https_config(
    store: TrustStore,
    host: &str,
    record: Record,
) -> Result<(Arc<ClientConfig>, ServerName<'static>), rustls::Error> {
    let provider = Arc::new(base_provider());
    let verifier = Arc::new(verifier::ChainVerifier::new(store, &provider, record));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = Resumption::disabled();
    let name = sni_host(host).and_then(|h| ServerName::try_from(h).ok());
    config.enable_sni = name.is_some();
    let name = name.unwrap_or_else(|| {
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .map_or(
                ServerName::IpAddress(std::net::Ipv4Addr::UNSPECIFIED.into()),
                |ip| ServerName::IpAddress(ip.into()),
            )
    });
    Ok((Arc::new(config), name))
}

/// A configuration for probing what a server accepts: the given provider (cipher suites, key
/// exchange groups) and versions, no chain verification (handshake signatures still verified),
/// ALPN offered, SNI as libpq sends it.
///
/// # Errors
/// A version list the provider cannot serve.
pub fn probe_config(
    provider: CryptoProvider,
    versions: &[&'static rustls::SupportedProtocolVersion],
    sni: Option<&str>,
) -> Result<(Arc<ClientConfig>, ServerName<'static>), rustls::Error> {
    let provider = Arc::new(provider);
    let verifier = Arc::new(danger::NoChainVerifier::new(&provider, Record::default()));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN.to_vec()];
    config.resumption = Resumption::disabled();
    let name = sni.and_then(|h| ServerName::try_from(h.to_string()).ok());
    config.enable_sni = name.is_some();
    let name = name.unwrap_or(ServerName::IpAddress(
        std::net::Ipv4Addr::UNSPECIFIED.into(),
    ));
    Ok((Arc::new(config), name))
}

/// A configuration for one attempt, the name to hand rustls, and a flag that records whether
/// the server asked for a client certificate.
pub type AttemptConfig = (
    Arc<ClientConfig>,
    ServerName<'static>,
    Arc<std::sync::Mutex<bool>>,
);

/// A client configuration for one attempt.
///
/// # Errors
/// [`TlsSetupError::NoVersion`].
pub fn client_config(
    options: &Options,
    host: &str,
    store: Option<&TrustStore>,
    identity: Option<&client_cert::ClientIdentity>,
    record: Record,
    offer: &groups::Offer,
) -> Result<AttemptConfig, TlsSetupError> {
    let provider = Arc::new(with_groups(offer.speakable()));
    let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> = match store {
        Some(store) => Arc::new(verifier::ChainVerifier::new(
            store.clone(),
            &provider,
            record,
        )),
        None => Arc::new(danger::NoChainVerifier::new(&provider, record)),
    };
    let versions = versions(options)?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|_| TlsSetupError::NoVersion {
            min: String::new(),
            max: String::new(),
        })?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let resolver = client_cert::Resolver::new(identity.cloned());
    let requested = resolver.requested.clone();
    let mut config = config.with_client_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![ALPN.to_vec()];
    config.resumption = Resumption::disabled();
    if let Some(path) = &options.sslkeylogfile {
        config.key_log = Arc::new(keylog::KeyLogFile::new(path.clone()));
    }
    let sni = sni_name(options, host).and_then(|h| ServerName::try_from(h).ok());
    config.enable_sni = sni.is_some();
    let name = sni.unwrap_or(ServerName::IpAddress(
        std::net::Ipv4Addr::UNSPECIFIED.into(),
    ));
    Ok((Arc::new(config), name, requested))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Environment, resolve};

    fn options(conninfo: &str) -> Options {
        let env = Environment::with_vars([], Some("u"));
        resolve(conninfo, &env)
            .map(|r| r.options)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn sni_follows_libpqs_lexical_rule() {
        let cases = [
            (
                "host=db.example.com",
                "db.example.com",
                Some("db.example.com"),
            ),
            ("host=db.example.com sslsni=0", "db.example.com", None),
            ("host=127.0.0.1", "127.0.0.1", None),
            ("host=::1", "::1", None),
            // Not an IP for libpq's SNI test, which only looks at the characters.
            ("host=0x7f.1", "0x7f.1", Some("0x7f.1")),
        ];
        for (conninfo, host, want) in cases {
            assert_eq!(
                sni_name(&options(conninfo), host).as_deref(),
                want,
                "{conninfo}"
            );
        }
    }

    #[test]
    fn protocol_bounds_map_to_what_rustls_speaks() {
        assert_eq!(versions(&options("")).unwrap().len(), 2);
        assert_eq!(
            versions(&options("ssl_min_protocol_version=TLSv1.3")).unwrap(),
            [&rustls::version::TLS13]
        );
        assert_eq!(
            versions(&options("ssl_max_protocol_version=TLSv1.2")).unwrap(),
            [&rustls::version::TLS12]
        );
        let err = versions(&options(
            "ssl_min_protocol_version=TLSv1 ssl_max_protocol_version=TLSv1.1",
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("ssl_max_protocol_version=TLSv1.1 allows neither"),
            "{err}"
        );
    }
}

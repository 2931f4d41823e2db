//! libpq's checks of resolved values, in the order `pqConnectOptions2`, `PQconnectPoll` and
//! `pqConnectDBComplete` make them, turned into typed [`Options`].

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;

use super::modes::*;
use super::require_auth::RequireAuth;
use super::{ConfigError, Environment, HostKind, Settings, Source, Target};

/// Where the server certificate's chain is verified against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// `sslrootcert=system`: the operating system's trust store.
    System,
    /// A root file: the one named, or `~/.postgresql/root.crt`.
    File {
        path: PathBuf,
        /// Whether it was named (rather than the default location).
        explicit: bool,
    },
    /// No file was named and there is no home directory to find the default one in.
    NoHomeDirectory,
}

/// The validated, typed settings that decide how a connection is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The user name.
    pub user: String,
    /// The database name.
    pub dbname: String,
    /// `sslmode`.
    pub sslmode: SslMode,
    /// `sslnegotiation`.
    pub sslnegotiation: SslNegotiation,
    /// `sslcertmode`.
    pub sslcertmode: SslCertMode,
    /// `channel_binding`.
    pub channel_binding: ChannelBinding,
    /// `require_auth`, when set.
    pub require_auth: Option<RequireAuth>,
    /// `gssencmode`.
    pub gssencmode: GssEncMode,
    /// `target_session_attrs`.
    pub target_session_attrs: TargetSessionAttrs,
    /// `load_balance_hosts`.
    pub load_balance_hosts: LoadBalanceHosts,
    /// The lowest TLS version offered, if bounded.
    pub ssl_min_protocol_version: Option<TlsVersion>,
    /// The highest TLS version offered, if bounded.
    pub ssl_max_protocol_version: Option<TlsVersion>,
    /// Whether SNI is sent (for host names, never for IP literals).
    pub sslsni: bool,
    /// libpq's `connect_timeout`, per host; `None` means wait indefinitely.
    pub connect_timeout: Option<Duration>,
    /// The trust source for the server certificate.
    pub root_cert: RootCert,
    /// The CRL file, named or default; a missing file is ignored as in libpq.
    pub sslcrl: Option<PathBuf>,
    /// Whether `sslcrl` was named (rather than the default location).
    pub sslcrl_named: bool,
    /// The CRL directory, if named.
    pub sslcrldir: Option<PathBuf>,
    /// The client certificate file, named or default.
    pub sslcert: Option<PathBuf>,
    /// The client key file, named or default.
    pub sslkey: Option<PathBuf>,
    /// The password of an encrypted client key.
    pub sslpassword: Option<super::Secret>,
    /// `min_protocol_version` and `max_protocol_version`: what the startup message asks for.
    pub protocol: ProtocolRange,
    /// The home directory libpq found, for advice about `~` (which libpq does not expand).
    pub home: Option<PathBuf>,
    /// `sslkeylogfile` (libpq 18): where the TLS secrets of libpq's own connections are logged.
    pub sslkeylogfile: Option<PathBuf>,
    /// The `oauth_*` settings (libpq 18), for a server that asks for OAUTHBEARER.
    pub oauth: OAuthSettings,
    /// `PGOAUTHDEBUG=UNSAFE`: libpq then allows http:// issuers and `PGOAUTHCAFILE`.
    pub oauth_debug: bool,
    /// `PGOAUTHCAFILE`, which libpq's OAuth flow reads only under `PGOAUTHDEBUG=UNSAFE`.
    pub oauth_ca_file: Option<PathBuf>,
}

/// `oauth_issuer`, `oauth_client_id` and `oauth_scope` (the client secret is never needed: no
/// token is requested).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthSettings {
    /// `oauth_issuer`: the issuer identifier, or its discovery URI.
    pub issuer: Option<String>,
    /// `oauth_client_id`.
    pub client_id: Option<String>,
    /// `oauth_scope`.
    pub scope: Option<String>,
}

/// The protocol versions a connection may use, as minor versions of protocol 3 (0 or 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolRange {
    /// The oldest accepted.
    pub min: u16,
    /// The one the startup message asks for.
    pub max: u16,
}

/// libpq's user, database and passfile defaults, applied after the host lists are split.
///
/// # Errors
/// [`ConfigError::NoUser`] when no user is given and the OS has none.
pub fn user_and_database(settings: &mut Settings, env: &Environment) -> Result<(), ConfigError> {
    if settings.nonempty("user").is_none() {
        let user = env.os_user.clone().ok_or(ConfigError::NoUser)?;
        settings.set("user", user, Source::Default);
    }
    if settings.nonempty("dbname").is_none() {
        let user = settings.value("user").unwrap_or_default().to_string();
        settings.set("dbname", user, Source::Default);
    }
    if settings.nonempty("password").is_none()
        && settings.nonempty("passfile").is_none()
        && let Some(home) = env.home()
    {
        let path = home.join(".pgpass").display().to_string();
        settings.set("passfile", path, Source::Default);
    }
    Ok(())
}

/// Validates every enumerated value, in libpq's order.
///
/// # Errors
/// The first check that fails, with libpq's message.
pub fn options(settings: &Settings, env: &Environment) -> Result<Options, ConfigError> {
    let get = |name| settings.value(name);
    // An empty value is not "unset" for libpq: it allows no method at all (only "none").
    let require_auth = get("require_auth").map(RequireAuth::parse).transpose()?;
    let channel_binding =
        get("channel_binding").map_or(Ok(ChannelBinding::Prefer), ChannelBinding::parse)?;
    let sslmode = get("sslmode").map_or(Ok(SslMode::Prefer), SslMode::parse)?;
    let sslnegotiation =
        get("sslnegotiation").map_or(Ok(SslNegotiation::Postgres), SslNegotiation::parse)?;
    if sslnegotiation == SslNegotiation::Direct && sslmode.allows_plaintext() {
        return Err(ConfigError::WeakSslModeWithDirect(sslmode.to_string()));
    }
    let system_roots = get("sslrootcert") == Some("system");
    if system_roots && sslmode != SslMode::VerifyFull {
        return Err(ConfigError::WeakSslModeWithSystemRoots(sslmode.to_string()));
    }
    let min = get("ssl_min_protocol_version").map_or(Ok(None), |v| {
        TlsVersion::parse("ssl_min_protocol_version", v)
    })?;
    let max = get("ssl_max_protocol_version").map_or(Ok(None), |v| {
        TlsVersion::parse("ssl_max_protocol_version", v)
    })?;
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        return Err(ConfigError::TlsVersionRange);
    }
    let sslcertmode = get("sslcertmode").map_or(Ok(SslCertMode::Allow), SslCertMode::parse)?;
    let gssencmode = get("gssencmode").map_or(Ok(GssEncMode::Disable), GssEncMode::parse)?;
    let target_session_attrs = get("target_session_attrs")
        .map_or(Ok(TargetSessionAttrs::Any), TargetSessionAttrs::parse)?;
    let load_balance_hosts =
        get("load_balance_hosts").map_or(Ok(LoadBalanceHosts::Disable), LoadBalanceHosts::parse)?;
    let protocol = protocol_versions(get("min_protocol_version"), get("max_protocol_version"))?;
    scram_key("client", get("scram_client_key"))?;
    scram_key("server", get("scram_server_key"))?;

    let home = env.home();
    let postgresql_dir = home.as_ref().map(|h| h.join(".postgresql"));
    let named_or_default = |name: &str, file: &str| {
        settings
            .nonempty(name)
            .map(PathBuf::from)
            .or_else(|| postgresql_dir.as_ref().map(|d| d.join(file)))
    };
    let root_cert = match settings.nonempty("sslrootcert") {
        Some("system") => RootCert::System,
        Some(path) => RootCert::File {
            path: PathBuf::from(path),
            explicit: true,
        },
        None => match &postgresql_dir {
            Some(dir) => RootCert::File {
                path: dir.join("root.crt"),
                explicit: false,
            },
            None => RootCert::NoHomeDirectory,
        },
    };
    Ok(Options {
        user: get("user").unwrap_or_default().to_string(),
        dbname: get("dbname").unwrap_or_default().to_string(),
        sslmode,
        sslnegotiation,
        sslcertmode,
        channel_binding,
        require_auth,
        gssencmode,
        target_session_attrs,
        load_balance_hosts,
        ssl_min_protocol_version: min,
        ssl_max_protocol_version: max,
        sslsni: get("sslsni").is_some_and(|v| v.starts_with('1')),
        connect_timeout: None,
        // The default CRL file is used only when neither sslcrl nor sslcrldir is set.
        sslcrl: match settings.nonempty("sslcrldir") {
            Some(_) => settings.nonempty("sslcrl").map(PathBuf::from),
            None => named_or_default("sslcrl", "root.crl"),
        },
        sslcrl_named: settings.nonempty("sslcrl").is_some(),
        sslcrldir: settings.nonempty("sslcrldir").map(PathBuf::from),
        sslcert: named_or_default("sslcert", "postgresql.crt"),
        sslkey: named_or_default("sslkey", "postgresql.key"),
        sslpassword: settings
            .nonempty("sslpassword")
            .map(|p| super::Secret::new(p.to_string())),
        root_cert,
        protocol,
        home,
        sslkeylogfile: settings.nonempty("sslkeylogfile").map(PathBuf::from),
        oauth: OAuthSettings {
            issuer: settings.nonempty("oauth_issuer").map(str::to_string),
            client_id: settings.nonempty("oauth_client_id").map(str::to_string),
            scope: settings.nonempty("oauth_scope").map(str::to_string),
        },
        oauth_debug: env.var("PGOAUTHDEBUG") == Some("UNSAFE"),
        oauth_ca_file: env.var("PGOAUTHCAFILE").map(PathBuf::from),
    })
}

/// `min_protocol_version` and `max_protocol_version`: "3.0", "3.2" or "latest". As libpq 18:
/// without `max_protocol_version` the startup message asks for 3.0, or for the minimum when that
/// is higher.
fn protocol_versions(min: Option<&str>, max: Option<&str>) -> Result<ProtocolRange, ConfigError> {
    let parse = |keyword: &'static str, value: &str| match value {
        "3.0" => Ok(0),
        "3.2" | "latest" => Ok(2),
        _ => Err(ConfigError::InvalidValue {
            keyword,
            value: value.to_string(),
        }),
    };
    let min = min.map(|v| parse("min_protocol_version", v)).transpose()?;
    let max = max.map(|v| parse("max_protocol_version", v)).transpose()?;
    if min.unwrap_or(0) > max.unwrap_or(2) {
        return Err(ConfigError::ProtocolVersionRange);
    }
    let min = min.unwrap_or(0);
    Ok(ProtocolRange {
        min,
        max: max.unwrap_or(min),
    })
}

/// A SCRAM key must be base64 for exactly 32 bytes.
fn scram_key(which: &'static str, value: Option<&str>) -> Result<(), ConfigError> {
    let Some(value) = value else { return Ok(()) };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|_| ConfigError::ScramKey(which))?;
    if bytes.len() != 32 {
        return Err(ConfigError::ScramKeyLength {
            which,
            len: bytes.len(),
        });
    }
    Ok(())
}

/// libpq's `pqParseIntParam`: optional leading whitespace and sign, digits that fit an `int`,
/// optional trailing whitespace.
///
/// # Errors
/// `invalid integer value "<value>" for connection option "<keyword>"`.
pub fn parse_int(value: &str, keyword: &'static str) -> Result<i32, ConfigError> {
    let invalid = || ConfigError::InvalidInteger {
        keyword,
        value: value.to_string(),
    };
    let space = |c: char| c.is_ascii() && crate::conninfo::is_space(c as u8);
    let trimmed = value.trim_start_matches(space).trim_end_matches(space);
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    trimmed.parse::<i32>().map_err(|_| invalid())
}

/// The integer settings libpq reads only while connecting: keepalives (for TCP targets, in
/// libpq's peculiar order) and `connect_timeout`.
///
/// # Errors
/// `invalid integer value ...` for the first bad one.
pub fn connection_integers(
    settings: &Settings,
    targets: &[Target],
) -> Result<Option<Duration>, ConfigError> {
    let int = |name: &'static str| settings.value(name).map(|v| parse_int(v, name)).transpose();
    if targets.iter().any(|t| t.kind != HostKind::UnixSocket) && int("keepalives")? != Some(0) {
        // libpq stops at keepalives=0 and then never reads tcp_user_timeout either.
        int("keepalives_idle")?;
        int("keepalives_interval")?;
        int("keepalives_count")?;
        int("tcp_user_timeout")?;
    }
    Ok(match int("connect_timeout")? {
        Some(seconds) if seconds > 0 => Some(Duration::from_secs(seconds.max(2) as u64)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_strtol_with_surrounding_whitespace() {
        assert_eq!(parse_int(" 10 ", "k").unwrap(), 10);
        assert_eq!(parse_int("+5", "k").unwrap(), 5);
        assert_eq!(parse_int("-5", "k").unwrap(), -5);
        for bad in ["", " ", "5x", "x", "1 2", "2147483648", "0x10", "+"] {
            assert_eq!(
                parse_int(bad, "port").unwrap_err().to_string(),
                format!("invalid integer value \"{bad}\" for connection option \"port\"")
            );
        }
    }

    #[test]
    fn protocol_versions_accept_only_libpqs_spellings() {
        let range = |min, max| ProtocolRange { min, max };
        assert_eq!(protocol_versions(None, None).unwrap(), range(0, 0));
        assert_eq!(
            protocol_versions(Some("3.0"), Some("latest")).unwrap(),
            range(0, 2)
        );
        assert_eq!(protocol_versions(Some("3.2"), None).unwrap(), range(2, 2));
        assert_eq!(protocol_versions(None, Some("3.2")).unwrap(), range(0, 2));
        assert_eq!(
            protocol_versions(Some("latest"), Some("3.0"))
                .unwrap_err()
                .to_string(),
            "\"min_protocol_version\" is greater than \"max_protocol_version\""
        );
        assert_eq!(
            protocol_versions(Some("3.1"), None)
                .unwrap_err()
                .to_string(),
            "invalid min_protocol_version value: \"3.1\""
        );
    }

    #[test]
    fn scram_keys_must_decode_to_32_bytes() {
        assert!(
            scram_key(
                "client",
                Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
            )
            .is_ok()
        );
        assert_eq!(
            scram_key("client", Some("AAAA")).unwrap_err().to_string(),
            "invalid SCRAM client key length: 3"
        );
        assert_eq!(
            scram_key("server", Some("x")).unwrap_err().to_string(),
            "invalid SCRAM server key"
        );
    }
}

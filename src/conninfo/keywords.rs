//! The connection keywords libpq 18 knows, in libpq's own order, with their environment variables
//! and compiled-in defaults. This table is the single list every other module consults; it holds
//! no values and does no I/O.

/// One connection keyword, as in libpq's `PQconninfoOptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyword {
    /// The keyword as written in a connection string.
    pub name: &'static str,
    /// The environment variable libpq falls back to, if any.
    pub env: Option<&'static str>,
    /// libpq's compiled-in default, if any.
    pub default: Option<&'static str>,
    /// Whether the value is a secret that must never be printed.
    pub secret: bool,
}

const fn kw(
    name: &'static str,
    env: Option<&'static str>,
    default: Option<&'static str>,
) -> Keyword {
    Keyword {
        name,
        env,
        default,
        secret: false,
    }
}

const fn secret(name: &'static str, env: Option<&'static str>) -> Keyword {
    Keyword {
        name,
        env,
        default: None,
        secret: true,
    }
}

/// Every keyword of libpq 18, in the order `PQconndefaults()` lists them.
pub const KEYWORDS: &[Keyword] = &[
    kw("service", Some("PGSERVICE"), None),
    kw("user", Some("PGUSER"), None),
    secret("password", Some("PGPASSWORD")),
    kw("passfile", Some("PGPASSFILE"), None),
    kw("channel_binding", Some("PGCHANNELBINDING"), Some("prefer")),
    kw("connect_timeout", Some("PGCONNECT_TIMEOUT"), None),
    kw("dbname", Some("PGDATABASE"), None),
    kw("host", Some("PGHOST"), None),
    kw("hostaddr", Some("PGHOSTADDR"), None),
    kw("port", Some("PGPORT"), Some("5432")),
    kw("client_encoding", Some("PGCLIENTENCODING"), None),
    kw("options", Some("PGOPTIONS"), Some("")),
    kw("application_name", Some("PGAPPNAME"), None),
    kw("fallback_application_name", None, None),
    kw("keepalives", None, None),
    kw("keepalives_idle", None, None),
    kw("keepalives_interval", None, None),
    kw("keepalives_count", None, None),
    kw("tcp_user_timeout", None, None),
    kw("sslmode", Some("PGSSLMODE"), Some("prefer")),
    kw("sslnegotiation", Some("PGSSLNEGOTIATION"), Some("postgres")),
    kw("sslcompression", Some("PGSSLCOMPRESSION"), Some("0")),
    kw("sslcert", Some("PGSSLCERT"), None),
    kw("sslkey", Some("PGSSLKEY"), None),
    kw("sslcertmode", Some("PGSSLCERTMODE"), None),
    secret("sslpassword", None),
    kw("sslrootcert", Some("PGSSLROOTCERT"), None),
    kw("sslcrl", Some("PGSSLCRL"), None),
    kw("sslcrldir", Some("PGSSLCRLDIR"), None),
    kw("sslsni", Some("PGSSLSNI"), Some("1")),
    kw("requirepeer", Some("PGREQUIREPEER"), None),
    kw("require_auth", Some("PGREQUIREAUTH"), None),
    kw("min_protocol_version", Some("PGMINPROTOCOLVERSION"), None),
    kw("max_protocol_version", Some("PGMAXPROTOCOLVERSION"), None),
    kw(
        "ssl_min_protocol_version",
        Some("PGSSLMINPROTOCOLVERSION"),
        Some("TLSv1.2"),
    ),
    kw(
        "ssl_max_protocol_version",
        Some("PGSSLMAXPROTOCOLVERSION"),
        None,
    ),
    kw("gssencmode", Some("PGGSSENCMODE"), Some("disable")),
    kw("krbsrvname", Some("PGKRBSRVNAME"), Some("postgres")),
    kw("gsslib", Some("PGGSSLIB"), None),
    kw("gssdelegation", Some("PGGSSDELEGATION"), Some("0")),
    kw("replication", None, None),
    kw(
        "target_session_attrs",
        Some("PGTARGETSESSIONATTRS"),
        Some("any"),
    ),
    kw(
        "load_balance_hosts",
        Some("PGLOADBALANCEHOSTS"),
        Some("disable"),
    ),
    secret("scram_client_key", None),
    secret("scram_server_key", None),
    kw("oauth_issuer", None, None),
    kw("oauth_client_id", None, None),
    secret("oauth_client_secret", None),
    kw("oauth_scope", None, None),
    kw("sslkeylogfile", None, None),
];

/// Looks a keyword up by name; `None` for a keyword libpq does not know.
pub fn find(name: &str) -> Option<usize> {
    KEYWORDS.iter().position(|k| k.name == name)
}

/// The position of a keyword that is known to be in the table.
///
/// # Panics
/// Panics when `name` is not a libpq keyword: a programming error, never caused by input.
pub fn index(name: &str) -> usize {
    match find(name) {
        Some(i) => i,
        None => panic!("{name} is not a libpq keyword"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_is_listed_once() {
        for (i, k) in KEYWORDS.iter().enumerate() {
            assert_eq!(find(k.name), Some(i), "{} listed twice", k.name);
        }
        assert_eq!(KEYWORDS.len(), 50);
    }

    #[test]
    fn secrets_are_the_password_like_keywords() {
        let secrets: Vec<_> = KEYWORDS
            .iter()
            .filter(|k| k.secret)
            .map(|k| k.name)
            .collect();
        assert_eq!(
            secrets,
            [
                "password",
                "sslpassword",
                "scram_client_key",
                "scram_server_key",
                "oauth_client_secret"
            ]
        );
    }
}

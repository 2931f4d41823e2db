//! node-postgres 8.23: `pg-connection-string`'s `parse` (2.14) and `ConnectionParameters`'
//! defaults and `PG*` variables, and the TLS rules of `pg`'s `Connection` over Node.js's `tls`.

use std::path::PathBuf;

use super::NameRules;
use super::{
    Anchors, Client, DriverError, DriverString, Fallback, Order, Policy, ReadWhen, Roots, Verify,
    percent_decode, query_pairs,
};
use crate::config::{Environment, Secret};

/// The URL parameters `pg-connection-string` and `pg`'s `ConnectionParameters` read; `pg`
/// ignores any other without a word.
const KEYS: &[&str] = &[
    "host",
    "port",
    "user",
    "password",
    "database",
    "dbname",
    "ssl",
    "sslmode",
    "sslcert",
    "sslkey",
    "sslrootcert",
    "sslnegotiation",
    "uselibpqcompat",
    "application_name",
    "fallback_application_name",
    "options",
    "client_encoding",
    "connect_timeout",
    "keepalives",
    "keepalives_idle",
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "query_timeout",
    "replication",
    "binary",
    "encoding",
];

/// Node's message for a file `fs.readFileSync` cannot open.
const ENOENT: &str = "ENOENT: no such file or directory, open '{path}'";

/// The parts of a WHATWG URL that `parse` uses.
struct Url {
    username: String,
    password: String,
    hostname: String,
    port: String,
    pathname: String,
    query: String,
}

fn split_url(s: &str) -> Option<Url> {
    let (scheme, rest) = s.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let query = query.split('#').next().unwrap_or_default().to_string();
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (&authority[..i], &authority[i + 1..]),
        None => ("", authority),
    };
    let (username, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (hostname, port) = if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(i) => (
                &hostport[..=i],
                hostport[i + 1..].strip_prefix(':').unwrap_or(""),
            ),
            None => return None,
        }
    } else {
        hostport.rsplit_once(':').unwrap_or((hostport, ""))
    };
    if !port.is_empty() && port.parse::<u16>().is_err() {
        return None;
    }
    Some(Url {
        username: username.to_string(),
        password: password.to_string(),
        hostname: hostname.to_ascii_lowercase(),
        port: port.to_string(),
        pathname: path.to_string(),
        query,
    })
}

/// Reads a connection string as `new pg.Client({ connectionString })` does, with the `PG*`
/// variables and defaults of `ConnectionParameters`.
///
/// # Errors
/// `Invalid URL` where the WHATWG parser refuses it; a bad port.
pub(crate) fn parse(conninfo: &str, env: &Environment) -> Result<DriverString, DriverError> {
    let mut driver = DriverString::default();
    let host: Option<String>;
    let mut port = None;
    if let Some(rest) = conninfo.strip_prefix('/') {
        // A Unix-domain socket directory, then the database.
        let mut parts = rest.split(' ');
        host = Some(format!("/{}", parts.next().unwrap_or_default()));
        driver.dbname = parts.next().map(str::to_string);
    } else {
        // Anything that is not an absolute URL is, to the WHATWG parser, a path relative to
        // postgres://base: node-postgres would send the whole string as the database name (a
        // password included) to a host named "base". pgtls refuses it instead.
        if !conninfo.contains("://") {
            return Err(DriverError::new(
                Client::NodePostgres,
                "not a URL: node-postgres would read this string as a database name on a host named \"base\"; write postgres://user:password@host:port/database?sslmode=...",
            ));
        }
        let url = split_url(conninfo)
            .ok_or_else(|| DriverError::new(Client::NodePostgres, "Invalid URL"))?;
        for (key, value) in query_pairs(&url.query, true) {
            if !KEYS.contains(&key.as_str()) {
                driver
                    .ignored
                    .push(super::unknown_parameter(KEYS.iter().copied(), &key));
            }
            driver.params.insert(key, value);
        }
        let user = driver
            .params
            .remove("user")
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| percent_decode(&url.username));
        if !user.is_empty() {
            driver.user = Some(user);
        }
        let password = driver
            .params
            .remove("password")
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| percent_decode(&url.password));
        if !password.is_empty() {
            driver.password = Some(Secret::new(password));
        }
        let hostname = url
            .hostname
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&url.hostname)
            .to_string();
        host = driver
            .params
            .remove("host")
            .filter(|h| !h.is_empty())
            .or_else(|| Some(percent_decode(&hostname)).filter(|h| !h.is_empty()));
        port = driver
            .params
            .remove("port")
            .filter(|p| !p.is_empty())
            .or_else(|| Some(url.port.clone()).filter(|p| !p.is_empty()));
        let path = url.pathname.strip_prefix('/').unwrap_or(&url.pathname);
        if !path.is_empty() {
            driver.dbname = Some(percent_decode(path));
        }
    }
    let var = |name: &str| env.var(name).filter(|v| !v.is_empty()).map(str::to_string);
    let host = host
        .or_else(|| var("PGHOST"))
        .unwrap_or_else(|| "localhost".into());
    let port = port
        .or_else(|| var("PGPORT"))
        .unwrap_or_else(|| "5432".into());
    let port: u16 = port
        .parse()
        .map_err(|_| DriverError::new(Client::NodePostgres, format!("Invalid port: {port}")))?;
    driver.hosts = vec![(host, port)];
    if driver.user.is_none() {
        driver.user = var("PGUSER").or_else(|| var("USER"));
    }
    if driver.dbname.is_none() {
        driver.dbname = var("PGDATABASE").or_else(|| driver.user.clone());
    }
    if driver.password.is_none() {
        driver.password = var("PGPASSWORD").map(Secret::new);
    }
    Ok(driver)
}

/// How `ssl` ends up: off, on with verification, or on without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ssl {
    Off,
    Verified { names: bool },
    Unverified,
}

/// What node-postgres does with these settings.
pub(crate) fn policy(driver: &DriverString, env: &Environment) -> Policy {
    let sslmode = driver.param("sslmode");
    let files = ["sslrootcert", "sslcert", "sslkey"];
    let rootcert = driver.nonempty("sslrootcert");
    let (ssl, why, mut refused) = ssl_of(driver, files);
    // No `ssl` in the string: PGSSLMODE decides.
    let ssl = ssl.unwrap_or_else(|| match env.var("PGSSLMODE") {
        Some("prefer" | "require" | "verify-ca" | "verify-full") => Ssl::Verified { names: true },
        Some("no-verify") => Ssl::Unverified,
        _ => Ssl::Off,
    });
    let (direct, refusal) = negotiation(driver, env, ssl);
    refused = refusal.or(refused);
    let (order, verify) = match ssl {
        Ssl::Off => (Order::Plain, None),
        Ssl::Unverified => (Order::Tls, None),
        Ssl::Verified { names } => (
            Order::Tls,
            Some(Verify {
                roots: roots(rootcert, env),
                anchors: Anchors::OpenSsl,
                names: names.then_some(NameRules::Node),
            }),
        ),
    };
    let mode = match sslmode {
        Some(m) if !m.is_empty() => format!("sslmode={m}: {why}"),
        _ => why.to_string(),
    };
    Policy {
        client: Client::NodePostgres,
        mode,
        order,
        verify,
        fallback: Fallback::NONE,
        direct,
        reads_first: files
            .iter()
            .filter_map(|k| driver.nonempty(k))
            .map(|p| (PathBuf::from(p), ENOENT))
            .collect(),
        refused,
        no_tls_message: "The server does not support SSL connections",
        unmodelled: ["sslcert", "sslkey"]
            .iter()
            .filter(|k| driver.nonempty(k).is_some())
            .map(|k| format!("{k} (client certificates are offered as libpq would)"))
            .collect(),
        ignored: driver.ignored.clone(),
        custom_verification: None,
    }
}

/// pg-connection-string's `ssl`: from the query, then sslmode and the files turn it into an
/// object (verified, unless a rule relaxes it); `None` where the string says nothing. With the
/// reason, and the refusal of a setting node-postgres refuses.
fn ssl_of(driver: &DriverString, files: [&str; 3]) -> (Option<Ssl>, &'static str, Option<String>) {
    let sslmode = driver.param("sslmode");
    let compat = driver.param("uselibpqcompat") == Some("true");
    let rootcert = driver.nonempty("sslrootcert");
    let mut ssl = match driver.param("ssl") {
        Some("true" | "1") => Some(Ssl::Verified { names: true }),
        Some("0") => Some(Ssl::Off),
        Some("no-verify") => Some(Ssl::Unverified),
        // Any other string is truthy: TLS, verified.
        Some(_) => Some(Ssl::Verified { names: true }),
        None => None,
    };
    let has_files = files.iter().any(|k| driver.nonempty(k).is_some());
    if has_files || sslmode.is_some_and(|m| !m.is_empty()) {
        ssl = Some(Ssl::Verified { names: true });
    }
    let verified = |names| Some(Ssl::Verified { names });
    let (ssl, why) = match (compat, sslmode.unwrap_or_default()) {
        (_, "disable") => (Some(Ssl::Off), "sslmode=disable"),
        (false, "no-verify") => (Some(Ssl::Unverified), "sslmode=no-verify"),
        (false, "prefer" | "require" | "verify-ca") => (
            ssl,
            "node-postgres 8 treats prefer, require and verify-ca as verify-full",
        ),
        (true, "prefer") => (
            Some(Ssl::Unverified),
            "uselibpqcompat: prefer is TLS without verification, no plaintext fallback",
        ),
        (true, "require") if rootcert.is_some() => (
            verified(false),
            "uselibpqcompat: require with sslrootcert verifies like verify-ca",
        ),
        (true, "require") => (
            Some(Ssl::Unverified),
            "uselibpqcompat: require without sslrootcert does not verify",
        ),
        (true, "verify-ca") if rootcert.is_none() => {
            return (
                ssl,
                "uselibpqcompat",
                Some(VERIFY_CA_WITHOUT_CA.to_string()),
            );
        }
        (true, "verify-ca") => (verified(false), "uselibpqcompat: verify-ca"),
        (_, "") if ssl.is_some() => (ssl, "ssl"),
        (_, "") => (ssl, "default: no TLS"),
        _ => (ssl, "any other sslmode is verify-full"),
    };
    (ssl, why, None)
}

/// node-postgres's refusal of `uselibpqcompat` with `verify-ca` and no CA.
const VERIFY_CA_WITHOUT_CA: &str = "SECURITY WARNING: Using sslmode=verify-ca requires specifying a CA with sslrootcert. If a public CA is used, verify-ca allows connections to a server that somebody else may have registered with the CA, making you vulnerable to Man-in-the-Middle attacks. Either specify a custom CA certificate with sslrootcert parameter or use sslmode=verify-full for proper security.";

/// Whether the connection starts with direct TLS, and the refusal of a negotiation setting
/// node-postgres refuses.
fn negotiation(driver: &DriverString, env: &Environment, ssl: Ssl) -> (bool, Option<String>) {
    let given = driver.param("sslnegotiation");
    let direct = given == Some("direct")
        || (given.is_none() && env.var("PGSSLNEGOTIATION") == Some("direct"));
    let refused = match given {
        Some(neg) if neg != "postgres" && neg != "direct" => Some(format!(
            "Invalid sslnegotiation value: \"{neg}\". Valid values are \"postgres\" and \"direct\"."
        )),
        _ if direct && ssl == Ssl::Off => {
            Some("sslnegotiation=direct requires SSL to be enabled".into())
        }
        _ => None,
    };
    (direct, refused)
}

/// The roots node-postgres verifies against: `sslrootcert` (read before connecting), else
/// Node's bundled roots and `NODE_EXTRA_CA_CERTS`.
fn roots(rootcert: Option<&str>, env: &Environment) -> Roots {
    match rootcert {
        Some(path) => Roots::File {
            path: PathBuf::from(path),
            read: ReadWhen::BeforeConnecting,
            missing: Some(ENOENT),
        },
        None => Roots::NodeBundled {
            extra: env
                .var("NODE_EXTRA_CA_CERTS")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        Environment::with_vars([("USER", "osuser")], None)
    }

    #[test]
    fn strings_are_read_as_pg_connection_string_reads_them() {
        let d = parse(
            "postgresql://app:p%40ss@db.example.com:6432/my%20db?sslmode=require&sslrootcert=/r.crt",
            &env(),
        )
        .unwrap();
        assert_eq!(d.hosts, [("db.example.com".to_string(), 6432)]);
        assert_eq!(d.user.as_deref(), Some("app"));
        assert_eq!(d.password.as_ref().unwrap().expose(), "p@ss");
        assert_eq!(d.dbname.as_deref(), Some("my db"));
        assert_eq!(d.param("sslrootcert"), Some("/r.crt"));
        // Defaults: localhost, 5432, $USER, the user's database.
        let d = parse("postgres://", &env()).unwrap();
        assert_eq!(d.hosts, [("localhost".to_string(), 5432)]);
        assert_eq!(d.user.as_deref(), Some("osuser"));
        assert_eq!(d.dbname.as_deref(), Some("osuser"));
        // A libpq key/value string would be a database name on host "base": refused.
        let err = parse("host=db password=secret", &env())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a URL"), "{err}");
        assert!(!err.contains("secret"), "{err}");
        let d = parse("postgres://[::1]:5433/x", &env()).unwrap();
        assert_eq!(d.hosts, [("::1".to_string(), 5433)]);
        assert!(parse("postgres://h:99999/x", &env()).is_err());
    }

    #[test]
    fn every_sslmode_but_disable_and_no_verify_verifies_like_verify_full() {
        // (query, order, chain verified, name checked)
        let table = [
            ("", Order::Plain, false, false),
            ("?ssl=true", Order::Tls, true, true),
            ("?ssl=false", Order::Tls, true, true),
            ("?ssl=0", Order::Plain, false, false),
            ("?sslmode=disable", Order::Plain, false, false),
            ("?sslmode=allow", Order::Tls, true, true),
            ("?sslmode=prefer", Order::Tls, true, true),
            ("?sslmode=require", Order::Tls, true, true),
            ("?sslmode=verify-ca", Order::Tls, true, true),
            ("?sslmode=no-verify", Order::Tls, false, false),
            ("?sslrootcert=/r.crt", Order::Tls, true, true),
            (
                "?sslmode=prefer&uselibpqcompat=true",
                Order::Tls,
                false,
                false,
            ),
            (
                "?sslmode=require&uselibpqcompat=true",
                Order::Tls,
                false,
                false,
            ),
            (
                "?sslmode=require&uselibpqcompat=true&sslrootcert=/r",
                Order::Tls,
                true,
                false,
            ),
            (
                "?sslmode=verify-ca&uselibpqcompat=true&sslrootcert=/r",
                Order::Tls,
                true,
                false,
            ),
        ];
        for (query, order, chain, name) in table {
            let url = format!("postgres://h/d{query}");
            let p = policy(&parse(&url, &env()).unwrap(), &env());
            assert_eq!(super::super::shape(&p), (order, chain, name), "{url}");
            assert_eq!(p.fallback, Fallback::NONE, "{url}");
        }
        let p = policy(
            &parse(
                "postgres://h/d?sslmode=verify-ca&uselibpqcompat=true",
                &env(),
            )
            .unwrap(),
            &env(),
        );
        assert!(p.refused.unwrap().starts_with("SECURITY WARNING"));
        // Without ssl in the string, PGSSLMODE turns TLS on.
        let with = Environment::with_vars([("PGSSLMODE", "require")], None);
        let p = policy(&parse("postgres://h/d", &with).unwrap(), &with);
        assert_eq!(p.order, Order::Tls);
    }
}

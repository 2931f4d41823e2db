//! The libpq-like connection strings of the Go and Rust drivers (pgx, lib/pq, tokio-postgres,
//! sqlx), read into ordered `(key, value)` pairs: the `key=value` form with libpq's quoting, and
//! `postgres://` URLs with their hosts, ports, user, password and database turned into the same
//! keys. Each driver then judges the keys and values as it does.

use super::{percent_decode, query_pairs};

/// A connection string's settings, in the order written.
#[derive(Debug, Default)]
pub(crate) struct Pairs {
    /// The settings; a URL's parts as `host`, `port`, `user`, `password` and `dbname`.
    pub items: Vec<(String, String)>,
    /// Keys written right after a password without quotes: a word there is most likely the
    /// rest of that password (`password=ab cd=ef`), so a message never shows it.
    pub after_bare_secret: Vec<String>,
}

/// Why a string could not be read, in words close to the drivers'.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PairsError {
    /// A word without `=`: the word where it can only be a key's name, `None` where it may be a
    /// piece of a password (after an unquoted one, or with the characters of a URL or secret).
    MissingEquals(Option<String>),
    /// A quote that is never closed.
    Unterminated,
    /// A URL whose host or port part is broken.
    BadUrl(&'static str),
}

impl std::fmt::Display for PairsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PairsError::MissingEquals(Some(key)) => {
                write!(f, "missing \"=\" after \"{key}\" in connection info string")
            }
            PairsError::MissingEquals(None) => write!(
                f,
                "missing \"=\" after a word (not shown: it may be part of a password) in connection info string"
            ),
            PairsError::Unterminated => {
                write!(f, "unterminated quoted string in connection info string")
            }
            PairsError::BadUrl(what) => write!(f, "invalid URL: {what}"),
        }
    }
}

/// Whether `s` is a `postgres://` or `postgresql://` URL.
pub(crate) fn is_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// Reads `s` in either form.
///
/// # Errors
/// A word without `=`, an unterminated quote, a broken URL.
pub(crate) fn read(s: &str) -> Result<Pairs, PairsError> {
    if is_url(s) {
        return url(s);
    }
    keyword_value(s)
}

fn keyword_value(s: &str) -> Result<Pairs, PairsError> {
    let space = |c: char| c.is_ascii_whitespace() || c == '\x0b';
    let mut items: Vec<(String, String)> = Vec::new();
    let mut rest = s.trim_start_matches(space);
    // Whether the last value was a password written without quotes: a stray word after it is
    // most likely the rest of that password.
    let mut after_bare_secret = false;
    let mut suspects = Vec::new();
    let shown = |word: &str, after_secret: bool| {
        let plain = word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        (plain && !after_secret && !word.to_ascii_lowercase().contains("password"))
            .then(|| word.to_string())
    };
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else {
            let word = rest.split(space).next().unwrap_or_default();
            return Err(PairsError::MissingEquals(shown(word, after_bare_secret)));
        };
        let key = rest[..eq].trim_matches(space);
        if let Some(word) = key.split(space).next().filter(|w| w.len() < key.len()) {
            return Err(PairsError::MissingEquals(shown(word, after_bare_secret)));
        }
        if after_bare_secret {
            suspects.push(key.to_string());
        }
        rest = rest[eq + 1..].trim_start_matches(space);
        let mut value = String::new();
        after_bare_secret = matches!(key, "password" | "sslpassword") && !rest.starts_with('\'');
        if let Some(quoted) = rest.strip_prefix('\'') {
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next() {
                    None => return Err(PairsError::Unterminated),
                    Some((i, '\'')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, c)) => value.push(c),
                        None => return Err(PairsError::Unterminated),
                    },
                    Some((_, c)) => value.push(c),
                }
            };
            rest = &quoted[end + 1..];
        } else {
            let mut chars = rest.char_indices();
            let end = loop {
                match chars.next() {
                    None => break rest.len(),
                    Some((i, c)) if space(c) => break i,
                    Some((_, '\\')) => {
                        if let Some((_, c)) = chars.next() {
                            value.push(c);
                        }
                    }
                    Some((_, c)) => value.push(c),
                }
            };
            rest = &rest[end..];
        }
        rest = rest.trim_start_matches(space);
        items.push((key.to_string(), value));
    }
    Ok(Pairs {
        items,
        after_bare_secret: suspects,
    })
}

fn url(s: &str) -> Result<Pairs, PairsError> {
    let (_, rest) = s.split_once("://").unwrap_or(("", s));
    let rest = rest.split('#').next().unwrap_or_default();
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (userinfo, hostlist) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let mut items = Vec::new();
    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            items.push(("user".to_string(), percent_decode(user)));
        }
        if let Some(password) = password {
            items.push(("password".to_string(), percent_decode(password)));
        }
    }
    if !hostlist.is_empty() {
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for part in hostlist.split(',') {
            let (host, port) = if let Some(v6) = part.strip_prefix('[') {
                let (addr, tail) = v6
                    .split_once(']')
                    .ok_or(PairsError::BadUrl("an IPv6 address without \"]\""))?;
                (addr.to_string(), tail.strip_prefix(':').unwrap_or(""))
            } else {
                let (h, p) = part.rsplit_once(':').unwrap_or((part, ""));
                (percent_decode(h), p)
            };
            if !port.is_empty() && !port.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PairsError::BadUrl("a port that is not a number"));
            }
            hosts.push(host);
            ports.push(port.to_string());
        }
        items.push(("host".to_string(), hosts.join(",")));
        if ports.iter().any(|p| !p.is_empty()) {
            items.push(("port".to_string(), ports.join(",")));
        }
    }
    if !path.is_empty() {
        items.push(("dbname".to_string(), percent_decode(path)));
    }
    items.extend(query_pairs(query, false));
    Ok(Pairs {
        items,
        after_bare_secret: Vec::new(),
    })
}

/// A Go driver's string (pgx, lib/pq) read with its `PG*` variables: hosts and ports, database,
/// user and password from the string over `PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER` and
/// `PGPASSWORD` (an empty user is skipped), the OS user by default; every other key a parameter,
/// the ones close to `known` noted as misspellings the server will refuse. `value_error`
/// refuses a value the driver refuses while reading (`Some(message)`).
///
/// # Errors
/// The string's syntax ([`GoDriverError::Syntax`]), or a bad port list or a refused value
/// ([`GoDriverError::Value`]), for the caller to word.
pub(crate) fn go_driver(
    conninfo: &str,
    env: &crate::config::Environment,
    known: &[&'static str],
    value_error: impl Fn(&str, &str) -> Option<String>,
) -> Result<super::DriverString, GoDriverError> {
    use crate::config::Secret;
    let Pairs {
        items,
        after_bare_secret,
    } = read(conninfo).map_err(GoDriverError::Syntax)?;
    let mut driver = super::DriverString::default();
    let var = |name: &str| env.var(name).filter(|v| !v.is_empty()).map(str::to_string);
    let mut host = var("PGHOST");
    let mut port = var("PGPORT");
    driver.dbname = var("PGDATABASE");
    driver.user = var("PGUSER");
    driver.password = var("PGPASSWORD").map(Secret::new);
    for (key, value) in items {
        if let Some(message) = value_error(&key, &value) {
            return Err(GoDriverError::Value(message));
        }
        match key.as_str() {
            "host" => host = Some(value),
            "port" => port = Some(value),
            "dbname" | "database" => driver.dbname = Some(value),
            "user" if value.is_empty() => {}
            "user" => driver.user = Some(value),
            "password" => driver.password = Some(Secret::new(value)),
            _ => {
                if let Some(message) =
                    misspelt(known, &key).filter(|_| !after_bare_secret.contains(&key))
                {
                    driver.misspelt.push(message);
                }
                driver.params.insert(key, value);
            }
        }
    }
    if host.is_none() {
        driver
            .params
            .insert(DEFAULT_HOST.into(), "localhost".into());
    }
    driver.hosts = hosts_and_ports(
        host.as_deref().unwrap_or("localhost"),
        port.as_deref().unwrap_or(""),
    )
    .map_err(GoDriverError::Value)?;
    if driver.user.is_none() {
        driver.user = env.os_user.clone();
    }
    Ok(driver)
}

/// Why a Go driver refuses a string.
#[derive(Debug)]
pub(crate) enum GoDriverError {
    /// Its syntax.
    Syntax(PairsError),
    /// A value: a bad port list, or one the driver refuses.
    Value(String),
}

impl std::fmt::Display for GoDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GoDriverError::Syntax(e) => e.fmt(f),
            GoDriverError::Value(message) => f.write_str(message),
        }
    }
}

/// The parameter that marks a string without a host (the driver's default host is assumed).
pub(crate) const DEFAULT_HOST: &str = "pgtls.default_host";

/// Hosts and ports as libpq pairs them, which pgx, lib/pq and tokio-postgres follow: a list of
/// hosts, and one port for all or one per host (an empty one is 5432).
///
/// # Errors
/// A port that is not a number, or port and host lists of different lengths.
pub(crate) fn hosts_and_ports(hosts: &str, ports: &str) -> Result<Vec<(String, u16)>, String> {
    let hosts: Vec<&str> = hosts.split(',').collect();
    let ports: Vec<&str> = ports.split(',').collect();
    if ports.len() > 1 && ports.len() != hosts.len() {
        return Err(format!(
            "could not match {} port numbers to {} hosts",
            ports.len(),
            hosts.len()
        ));
    }
    hosts
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = if ports.len() > 1 { ports[i] } else { ports[0] };
            let port = match port {
                "" => 5432,
                p => p.parse::<u16>().map_err(|_| "invalid port".to_string())?,
            };
            let host = if host.is_empty() { "localhost" } else { host };
            Ok((host.to_string(), port))
        })
        .collect()
}

/// A key a driver does not know and sends to the server as a run-time parameter (pgx, lib/pq):
/// when it is close to one of the driver's own keys, it is a misspelling that the server will
/// refuse (`unrecognized configuration parameter`), and the message says so.
pub(crate) fn misspelt(known: &[&'static str], key: &str) -> Option<String> {
    if known.contains(&key) {
        return None;
    }
    crate::config::suggest::closest(known.iter().copied(), key)?;
    Some(format!(
        "unrecognized configuration parameter: the driver sends a key it does not know to the server as a run-time parameter, and the server refuses it: {}",
        super::unknown_parameter(known.iter().copied(), key)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(s: &str) -> Vec<(String, String)> {
        read(s).unwrap().items
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn keyword_value_strings_are_read_with_libpqs_quoting() {
        assert_eq!(
            items(" host=db  password='a b\\'c' sslmode=require dbname=x\\ y "),
            [
                pair("host", "db"),
                pair("password", "a b'c"),
                pair("sslmode", "require"),
                pair("dbname", "x y"),
            ]
        );
        assert_eq!(
            read("host=db sslmode").unwrap_err(),
            PairsError::MissingEquals(Some("sslmode".into()))
        );
        // A word after a bare password, or one with a URL's characters, is not shown.
        for s in ["password=ab cd host=x", "postgres:/u:pw@h"] {
            assert_eq!(read(s).unwrap_err(), PairsError::MissingEquals(None), "{s}");
        }
        assert_eq!(read("host='db").unwrap_err(), PairsError::Unterminated);
    }

    #[test]
    fn urls_give_their_parts_as_keys_and_the_query_after() {
        assert_eq!(
            items("postgres://app:p%40ss@a:5432,[::1]:6432/my%20db?sslmode=verify-full&x=1"),
            [
                pair("user", "app"),
                pair("password", "p@ss"),
                pair("host", "a,::1"),
                pair("port", "5432,6432"),
                pair("dbname", "my db"),
                pair("sslmode", "verify-full"),
                pair("x", "1"),
            ]
        );
        assert_eq!(items("postgresql://db"), [pair("host", "db")]);
        assert!(read("postgres://db:port/x").is_err());
    }
}

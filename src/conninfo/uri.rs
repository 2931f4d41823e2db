//! The URI form, `postgresql://[user[:password]@][host[:port]][,...][/dbname][?key=value&...]`, as
//! libpq's `conninfo_uri_parse_options`, `conninfo_uri_parse_params` and `conninfo_uri_decode`.

use super::{Params, ParseError, keywords};

const PREFIXES: [&str; 2] = ["postgresql://", "postgres://"];

/// The length of the URI scheme prefix, if the string starts with one (case-sensitive, as libpq).
pub(super) fn prefix_len(s: &str) -> Option<usize> {
    PREFIXES.iter().find(|p| s.starts_with(*p)).map(|p| p.len())
}

pub(super) fn parse(uri: &str, prefix: usize) -> Result<Params, ParseError> {
    let b = uri.as_bytes();
    let mut params = Params::new();
    let shown = || redact(uri);
    let mut p = prefix;

    // Credentials, when an '@' comes before any '/'.
    let mut look = p;
    while look < b.len() && b[look] != b'@' && b[look] != b'/' {
        look += 1;
    }
    if look < b.len() && b[look] == b'@' {
        let user_end = (p..look).find(|&i| b[i] == b':').unwrap_or(look);
        let user = &uri[p..user_end];
        if !user.is_empty() {
            params.set("user", decode(user, false)?);
        }
        if user_end < look {
            let password = &uri[user_end + 1..look];
            if !password.is_empty() {
                params.set("password", decode(password, true)?);
            }
        }
        p = look + 1;
    }

    // Hosts and ports, comma-separated, joined before decoding as libpq does.
    let mut hosts = String::new();
    let mut ports = String::new();
    let mut terminator;
    loop {
        let host_start;
        let host_end;
        if b.get(p) == Some(&b'[') {
            host_start = p + 1;
            p = host_start;
            while p < b.len() && b[p] != b']' {
                p += 1;
            }
            if p >= b.len() {
                return Err(ParseError::UnclosedBracket(shown()));
            }
            if p == host_start {
                return Err(ParseError::EmptyIpv6(shown()));
            }
            host_end = p;
            p += 1;
            if let Some(&c) = b.get(p)
                && !matches!(c, b':' | b'/' | b'?' | b',')
            {
                return Err(ParseError::UnexpectedCharacter {
                    ch: uri[p..].chars().next().unwrap_or('?'),
                    position: p + 1,
                    uri: shown(),
                });
            }
        } else {
            host_start = p;
            while p < b.len() && !matches!(b[p], b':' | b'/' | b'?' | b',') {
                p += 1;
            }
            host_end = p;
        }
        hosts.push_str(&uri[host_start..host_end]);
        terminator = b.get(p).copied();
        if terminator == Some(b':') {
            p += 1;
            let port_start = p;
            while p < b.len() && !matches!(b[p], b'/' | b'?' | b',') {
                p += 1;
            }
            ports.push_str(&uri[port_start..p]);
            terminator = b.get(p).copied();
        }
        if terminator != Some(b',') {
            break;
        }
        p += 1;
        hosts.push(',');
        ports.push(',');
    }
    if !hosts.is_empty() {
        params.set("host", decode(&hosts, false)?);
    }
    if !ports.is_empty() {
        params.set("port", decode(&ports, false)?);
    }

    if terminator.is_some() && terminator != Some(b'?') {
        p += 1;
        let db_start = p;
        while p < b.len() && b[p] != b'?' {
            p += 1;
        }
        let dbname = &uri[db_start..p];
        // An empty dbname is not stored, so PGDATABASE still applies.
        if !dbname.is_empty() {
            params.set("dbname", decode(dbname, false)?);
        }
        terminator = b.get(p).copied();
    }
    if terminator.is_some() {
        query(&uri[p + 1..], &mut params)?;
    }
    params.fragments = password_fragments(uri, prefix);
    Ok(params)
}

/// The pieces of a password written with an unencoded `@` or `/` that libpq's parse moves into the
/// host, port or database name: `u:p@ss@h` (host `ss@h`), `u:pa/ss@h/db` (host `u`, port `pa`,
/// database `ss@h/db`).
fn password_fragments(uri: &str, prefix: usize) -> Vec<String> {
    let rest = &uri[prefix..];
    let query = rest.find('?').unwrap_or(rest.len());
    let slash = rest[..query].find('/').unwrap_or(query);
    let authority = &rest[..slash];
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    match (authority.find('@'), authority.rfind('@')) {
        // Two or more: the password's `@` ended the credentials early.
        (Some(first), Some(last)) if first < last && authority[..first].contains(':') => {
            non_empty(&authority[first + 1..last]).into_iter().collect()
        }
        // None before the first `/`, one after it: the password's `/` ended the authority.
        (None, None) if rest[slash..query].contains('@') => {
            // `h:5432/my@db` is a port and a database name with `@`; a port that is not a
            // number is a password's first piece.
            let Some(colon) = authority.find(':') else {
                return Vec::new();
            };
            if authority[colon + 1..].bytes().all(|b| b.is_ascii_digit()) {
                return Vec::new();
            }
            let path = &rest[slash + 1..query];
            let at = path.find('@').unwrap_or(0);
            [non_empty(&authority[colon + 1..]), non_empty(&path[..at])]
                .into_iter()
                .flatten()
                .collect()
        }
        _ => Vec::new(),
    }
}

/// A value as it may be shown: every piece of a password that libpq's parse moved into it
/// replaced by `(redacted)`.
pub fn redact_fragments(value: &str, fragments: &[String]) -> String {
    let mut shown = value.to_string();
    for fragment in fragments {
        if shown == *fragment {
            return "(redacted)".into();
        }
        shown = shown.replace(&format!("{fragment}@"), "(redacted)@");
        shown = shown.replace(&format!("\"{fragment}\""), "\"(redacted)\"");
    }
    shown
}

/// The `?key=value&...` part.
fn query(mut rest: &str, params: &mut Params) -> Result<(), ParseError> {
    while !rest.is_empty() {
        let end = rest.find('&').unwrap_or(rest.len());
        let pair = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or("");
        let Some((raw_key, raw_value)) = pair.split_once('=') else {
            // `?passwordXYZ`: a password whose `=` was forgotten is not echoed.
            let secret = keywords::KEYWORDS
                .iter()
                .find(|k| k.secret && pair.starts_with(k.name));
            let shown = secret.map_or(pair.to_string(), |k| format!("{}(redacted)", k.name));
            return Err(ParseError::QueryMissingEquals(shown));
        };
        if raw_value.contains('=') {
            return Err(ParseError::QueryExtraEquals(raw_key.to_string()));
        }
        let key = decode(raw_key, false)?;
        let secret = keywords::find(&key).is_some_and(|i| keywords::KEYWORDS[i].secret);
        let value = decode(raw_value, secret)?;
        let (key, value) = if key == "ssl" && value == "true" {
            ("sslmode".to_string(), "require".to_string())
        } else {
            (key, value)
        };
        match params.store(&key, &value) {
            Err(ParseError::UnknownKeyword(k)) => return Err(ParseError::UnknownQueryParameter(k)),
            other => other?,
        }
    }
    Ok(())
}

/// Percent-decodes one URI component: leading and trailing spaces are dropped, inner spaces
/// refused, `%00` and bad escapes refused. A secret is not echoed in the error.
fn decode(s: &str, secret: bool) -> Result<String, ParseError> {
    let shown = || {
        if secret {
            "(redacted)".to_string()
        } else {
            s.to_string()
        }
    };
    let b = s.as_bytes();
    let mut i = b.iter().take_while(|&&c| c == b' ').count();
    let mut out = Vec::with_capacity(b.len());
    while i < b.len() && b[i] != b' ' {
        if b[i] != b'%' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let hi = b.get(i + 1).and_then(|&c| hex(c));
        let lo = hi.and(b.get(i + 2).and_then(|&c| hex(c)));
        let (Some(hi), Some(lo)) = (hi, lo) else {
            return Err(ParseError::BadPercent(shown()));
        };
        let c = (hi << 4) | lo;
        if c == 0 {
            return Err(ParseError::PercentNul(shown()));
        }
        out.push(c);
        i += 3;
    }
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    if i < b.len() {
        return Err(ParseError::UriSpaces(shown()));
    }
    // A percent-escape may produce bytes that are not UTF-8; keep them visible rather than fail.
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// The URI with its password and any secret query values replaced, for error messages.
fn redact(uri: &str) -> String {
    let prefix = prefix_len(uri).unwrap_or(0);
    let mut out = uri.to_string();
    let authority_end = uri[prefix..].find('/').map_or(uri.len(), |i| i + prefix);
    if let Some(at) = uri[prefix..authority_end].find('@') {
        let at = at + prefix;
        if let Some(colon) = uri[prefix..at].find(':') {
            out = format!("{}(redacted){}", &uri[..prefix + colon + 1], &uri[at..]);
        }
    }
    if let Some(q) = out.find('?') {
        let (head, tail) = out.split_at(q + 1);
        let pairs: Vec<String> = tail
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if keywords::find(k).is_some_and(|i| keywords::KEYWORDS[i].secret) => {
                    format!("{k}=(redacted)")
                }
                _ => pair.to_string(),
            })
            .collect();
        out = format!("{head}{}", pairs.join("&"));
    }
    out
}

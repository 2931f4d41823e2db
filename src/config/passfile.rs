//! The password file, as libpq's `passwordFromFile`: `host:port:dbname:user:password` lines with
//! `*` wildcards and `\` escapes, ignored when group or world can read it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::Secret;

/// The default socket directory, which `.pgpass` matches as `localhost`.
pub const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// What a passfile lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A line matched; its 1-based number and its password.
    Found {
        /// The line number.
        line: usize,
        password: Secret,
    },
    /// The file was read and no line matched.
    NoMatch,
    /// The file does not exist or cannot be read.
    Missing,
    /// libpq ignores the file, with this warning.
    Ignored(String),
}

/// The key a connection is looked up by.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    /// `host`, or `hostaddr` when host is empty.
    pub host: &'a str,
    /// The port as written (empty for the default).
    pub port: &'a str,
    /// The database name.
    pub dbname: &'a str,
    /// The user name.
    pub user: &'a str,
}

/// Looks a connection up in the password file at `path`.
pub fn lookup(path: &Path, key: Key<'_>) -> Lookup {
    if key.dbname.is_empty() || key.user.is_empty() {
        return Lookup::NoMatch;
    }
    let host = if key.host.is_empty() || key.host == DEFAULT_SOCKET_DIR {
        "localhost"
    } else {
        key.host
    };
    let port = if key.port.is_empty() {
        "5432"
    } else {
        key.port
    };
    let Ok(meta) = std::fs::metadata(path) else {
        return Lookup::Missing;
    };
    if !meta.is_file() {
        return Lookup::Ignored(format!(
            "password file \"{}\" is not a plain file",
            path.display()
        ));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Lookup::Ignored(format!(
            "password file \"{}\" has group or world access; permissions should be u=rw (0600) or less",
            path.display()
        ));
    }
    let bytes = match crate::files::read(path, crate::files::SETTINGS) {
        Ok(bytes) => bytes,
        Err(crate::files::FileError::Io(_)) => return Lookup::Missing,
        Err(other) => {
            return Lookup::Ignored(format!("password file \"{}\" is {other}", path.display()));
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    find(&text, [host, port, key.dbname, key.user])
}

/// The first line of `text` whose four fields (host, port, database, user) match `fields`.
pub fn find(text: &str, fields: [&str; 4]) -> Lookup {
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        if raw.starts_with('#') {
            continue;
        }
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            continue;
        }
        let mut rest = Some(line);
        for field in fields {
            rest = rest.and_then(|r| match_field(r, field));
        }
        if let Some(rest) = rest {
            return Lookup::Found {
                line: n + 1,
                password: Secret::new(unescape(rest)),
            };
        }
    }
    Lookup::NoMatch
}

/// libpq's `pwdfMatchesString`: the rest of the line after a field that matches `token`.
fn match_field<'a>(line: &'a str, token: &str) -> Option<&'a str> {
    if let Some(rest) = line.strip_prefix("*:") {
        return Some(rest);
    }
    let bytes = line.as_bytes();
    let token = token.as_bytes();
    let (mut i, mut t) = (0, 0);
    while i < bytes.len() {
        let mut escaped = false;
        if bytes[i] == b'\\' {
            i += 1;
            escaped = true;
        }
        if i >= bytes.len() {
            return None;
        }
        if bytes[i] == b':' && t == token.len() && !escaped {
            return line.get(i + 1..);
        }
        if t == token.len() || bytes[i] != token[t] {
            return None;
        }
        i += 1;
        t += 1;
    }
    None
}

/// The password field: up to the first unescaped `:`, with `\` escapes removed.
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        match c {
            ':' => break,
            '\\' => match chars.next() {
                Some(next) => out.push(next),
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(text: &str, fields: [&str; 4]) -> Option<(usize, String)> {
        match find(text, fields) {
            Lookup::Found { line, password } => Some((line, password.expose().to_string())),
            _ => None,
        }
    }

    #[test]
    fn lines_match_field_by_field_with_wildcards() {
        let text = "# comment\nother:5432:*:*:no\ndb.example.com:*:app:*:yes\n";
        let key = ["db.example.com", "5432", "app", "alice"];
        assert_eq!(password(text, key), Some((3, "yes".into())));
        assert_eq!(password(text, ["x", "5432", "app", "alice"]), None);
    }

    #[test]
    fn backslashes_escape_colons_and_backslashes() {
        let text = "h\\:1:5432:d:u:pa\\:ss\\\\word:ignored\n";
        assert_eq!(
            password(text, ["h:1", "5432", "d", "u"]),
            Some((1, "pa:ss\\word".into()))
        );
    }

    #[test]
    fn a_partial_match_is_no_match() {
        assert_eq!(
            password("hostname:5432:d:u:p\n", ["host", "5432", "d", "u"]),
            None
        );
        assert_eq!(
            password("host:5432:d:u\n", ["host", "5432", "d", "u"]),
            None
        );
    }

    #[test]
    fn crlf_line_ends_are_stripped() {
        assert_eq!(
            password("*:*:*:*:secret\r\n", ["h", "1", "d", "u"]),
            Some((1, "secret".into()))
        );
    }

    #[test]
    fn an_empty_password_field_matches_with_an_empty_password() {
        assert_eq!(
            password("*:*:*:*:\n", ["h", "1", "d", "u"]),
            Some((1, String::new()))
        );
    }

    #[test]
    fn a_group_readable_file_is_ignored_with_libpqs_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let key = Key {
            host: "h",
            port: "",
            dbname: "d",
            user: "u",
        };
        let Lookup::Ignored(warning) = lookup(&path, key) else {
            panic!("a group-readable passfile must be ignored");
        };
        assert!(
            warning
                .ends_with("has group or world access; permissions should be u=rw (0600) or less")
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(lookup(&path, key), Lookup::Found { line: 1, .. }));
    }

    #[test]
    fn the_default_socket_directory_matches_localhost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "localhost:5432:d:u:secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        for host in ["", DEFAULT_SOCKET_DIR, "localhost"] {
            let key = Key {
                host,
                port: "",
                dbname: "d",
                user: "u",
            };
            assert!(
                matches!(lookup(&path, key), Lookup::Found { .. }),
                "{host:?}"
            );
        }
    }
}

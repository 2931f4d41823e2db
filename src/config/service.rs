//! Service files, as libpq's `parseServiceInfo` and `parseServiceFile`: `PGSERVICEFILE` or
//! `~/.pg_service.conf`, then `$PGSYSCONFDIR/pg_service.conf`; INI groups of `key=value` lines.

use std::path::{Path, PathBuf};

use super::{ConfigError, Environment};
use crate::conninfo::keywords;

/// Where libpq looks when `PGSYSCONFDIR` is unset (Debian's and the PGDG packages' setting).
pub const DEFAULT_SYSCONFDIR: &str = "/etc/postgresql-common";

/// The settings of one service, in file order, and the file that defined it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The file the service was found in.
    pub file: PathBuf,
    /// `(keyword index, value)` pairs; the first setting of a keyword wins, as in libpq.
    pub settings: Vec<(usize, String)>,
}

/// Finds and reads the service `name`.
///
/// # Errors
/// libpq's: a `PGSERVICEFILE` that cannot be read, a syntax error inside the service's group, a
/// nested `service=`, or a service that no file defines.
pub fn lookup(name: &str, env: &Environment) -> Result<Service, ConfigError> {
    let user_file = match env.var("PGSERVICEFILE") {
        Some(file) => Some(PathBuf::from(file)),
        None => env
            .home()
            .map(|home| home.join(".pg_service.conf"))
            .filter(|file| file.exists()),
    };
    if let Some(file) = user_file {
        let text = read_service_file(&file)?;
        if let Some(settings) = group(&String::from_utf8_lossy(&text), name, &file)? {
            return Ok(Service { file, settings });
        }
    }
    let sysconfdir = env.var("PGSYSCONFDIR").unwrap_or(DEFAULT_SYSCONFDIR);
    let file = Path::new(sysconfdir).join("pg_service.conf");
    if file.exists() {
        let text = read_service_file(&file)?;
        if let Some(settings) = group(&String::from_utf8_lossy(&text), name, &file)? {
            return Ok(Service { file, settings });
        }
    }
    Err(ConfigError::ServiceNotFound(name.to_string()))
}

/// A service file's bytes, bounded.
fn read_service_file(file: &Path) -> Result<Vec<u8>, ConfigError> {
    crate::files::read(file, crate::files::SETTINGS).map_err(|e| match e {
        crate::files::FileError::Io(_) => ConfigError::ServiceFileNotFound(file.to_path_buf()),
        other => ConfigError::ServiceFileUnreadable {
            file: file.to_path_buf(),
            reason: other.to_string(),
        },
    })
}

/// The settings of group `[name]` in one file's text, or `None` when the file has no such group.
///
/// # Errors
/// libpq's syntax errors for lines of that group, naming `file`.
pub fn group(
    text: &str,
    name: &str,
    file: &Path,
) -> Result<Option<Vec<(usize, String)>>, ConfigError> {
    let mut found = false;
    let mut settings: Vec<(usize, String)> = Vec::new();
    for (n, raw) in text.split('\n').enumerate() {
        let line = raw.trim_matches(|c: char| c.is_ascii() && crate::conninfo::is_space(c as u8));
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            if found {
                break;
            }
            found = rest.starts_with(name) && rest.as_bytes().get(name.len()) == Some(&b']');
            continue;
        }
        if !found {
            continue;
        }
        let syntax = || ConfigError::ServiceSyntax {
            file: file.to_path_buf(),
            line: n + 1,
        };
        let (key, value) = line.split_once('=').ok_or_else(syntax)?;
        if key == "service" {
            return Err(ConfigError::ServiceNested {
                file: file.to_path_buf(),
                line: n + 1,
            });
        }
        let index = keywords::find(key).ok_or_else(syntax)?;
        if !settings.iter().any(|(i, _)| *i == index) {
            settings.push((index, value.to_string()));
        }
    }
    Ok(found.then_some(settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, name: &str) -> Result<Option<Vec<(&'static str, String)>>, ConfigError> {
        group(text, name, Path::new("/svc")).map(|found| {
            found.map(|s| {
                s.into_iter()
                    .map(|(i, v)| (keywords::KEYWORDS[i].name, v))
                    .collect()
            })
        })
    }

    #[test]
    fn a_group_is_read_until_the_next_group() {
        let text = "# comment\n[a]\nhost=h1\n  port=5433  \n[b]\nhost=h2\n";
        assert_eq!(
            read(text, "a").unwrap(),
            Some(vec![("host", "h1".into()), ("port", "5433".into())])
        );
        assert_eq!(read(text, "b").unwrap(), Some(vec![("host", "h2".into())]));
        assert_eq!(read(text, "c").unwrap(), None);
    }

    #[test]
    fn the_first_setting_of_a_keyword_wins() {
        let text = "[a]\nhost=one\nhost=two\n";
        assert_eq!(read(text, "a").unwrap(), Some(vec![("host", "one".into())]));
    }

    #[test]
    fn spaces_around_the_equals_sign_make_an_unknown_keyword() {
        let err = read("[a]\nhost = h\n", "a").unwrap_err();
        assert_eq!(
            err.to_string(),
            "syntax error in service file \"/svc\", line 2"
        );
    }

    #[test]
    fn errors_outside_the_wanted_group_are_ignored() {
        assert_eq!(
            read("[x]\nnonsense\n[a]\nport=1\n", "a").unwrap(),
            Some(vec![("port", "1".into())])
        );
    }

    #[test]
    fn a_line_without_equals_is_a_syntax_error() {
        let err = read("[a]\n\nnonsense\n", "a").unwrap_err();
        assert_eq!(
            err.to_string(),
            "syntax error in service file \"/svc\", line 3"
        );
    }

    #[test]
    fn a_nested_service_is_refused() {
        let err = read("[a]\nservice=b\n", "a").unwrap_err();
        assert_eq!(
            err.to_string(),
            "nested service specifications not supported in service file \"/svc\", line 2"
        );
    }

    #[test]
    fn a_group_header_may_carry_trailing_text() {
        assert_eq!(
            read("[a] extra\nport=1\n", "a").unwrap(),
            Some(vec![("port", "1".into())])
        );
        assert_eq!(read("[ab]\nport=1\n", "a").unwrap(), None);
    }

    #[test]
    fn values_keep_inner_spaces_and_equals_signs() {
        assert_eq!(
            read("[a]\noptions=-c a=b\r\n", "a").unwrap(),
            Some(vec![("options", "-c a=b".into())])
        );
    }
}

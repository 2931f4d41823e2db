//! Connection strings to parameters, exactly as libpq 18's `PQconninfoParse` reads them: the
//! `key=value` form and `postgresql://` URIs. Pure text processing: no environment, no files, no
//! network. Errors carry libpq's own wording, except that a secret is never echoed back.

mod error;
mod keyvalue;
pub mod keywords;
mod uri;

pub use error::ParseError;
pub use keyvalue::is_space;
pub use keywords::{KEYWORDS, Keyword};
pub use uri::redact_fragments;

/// Parameter values indexed like [`KEYWORDS`]; `None` where the string did not set one.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Params {
    values: Vec<Option<String>>,
    /// Pieces of a URI's password that libpq's parse put into other values (see
    /// [`Params::password_fragments`]).
    fragments: Vec<String>,
}

impl Params {
    /// No parameter set.
    pub fn new() -> Self {
        Params {
            values: vec![None; KEYWORDS.len()],
            fragments: Vec::new(),
        }
    }

    /// Pieces of the password that ended up in other parameters: a URI password with an
    /// unencoded `@` (its rest becomes part of the host) or `/` (its start becomes the port, its
    /// rest the start of the database name). libpq parses such a URI all the same; anything shown
    /// from those parameters must hide these pieces.
    pub fn password_fragments(&self) -> &[String] {
        &self.fragments
    }

    /// The value at a position of [`KEYWORDS`].
    pub fn get_at(&self, index: usize) -> Option<&str> {
        self.values[index].as_deref()
    }

    /// Sets a keyword known to be in the table; later settings win, as in libpq.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.values[keywords::index(name)] = Some(value.into());
    }

    /// Sets the value at a position of [`KEYWORDS`].
    pub fn set_at(&mut self, index: usize, value: impl Into<String>) {
        self.values[index] = Some(value.into());
    }

    /// The keywords that are set, with their values, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Keyword, &str)> {
        KEYWORDS
            .iter()
            .zip(&self.values)
            .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
    }

    /// Stores a keyword given by the user, as libpq's `conninfo_storeval` does: `requiressl` is
    /// translated to `sslmode`, an unknown keyword is refused.
    fn store(&mut self, keyword: &str, value: &str) -> Result<(), ParseError> {
        let (keyword, value) = match keyword {
            "requiressl" if value.starts_with('1') => ("sslmode", "require"),
            "requiressl" => ("sslmode", "prefer"),
            _ => (keyword, value),
        };
        match keywords::find(keyword) {
            Some(i) => {
                self.set_at(i, value);
                Ok(())
            }
            None => Err(ParseError::UnknownKeyword(error::without_password(keyword))),
        }
    }
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in self.iter() {
            map.entry(&k.name, &if k.secret { "(redacted)" } else { v });
        }
        map.finish()
    }
}

/// Quotes a value for a libpq key/value string.
pub fn quote(value: &str) -> String {
    if !value.is_empty() && !value.contains([' ', '\'', '\\', '\t', '\n', '=']) {
        return value.to_string();
    }
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl Params {
    /// The parameters as a key/value string that may be shown: secret values (passwords, key
    /// passphrases, OAuth secrets) and the password pieces a URI parse moved elsewhere are
    /// `(redacted)`.
    pub fn shown(&self) -> String {
        self.iter()
            .map(|(keyword, value)| {
                let value = match keyword.secret {
                    true => "(redacted)".to_string(),
                    false => quote(&redact_fragments(value, &self.fragments)),
                };
                format!("{}={value}", keyword.name)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Parses a connection string in either form, as `PQconninfoParse` does.
///
/// # Errors
/// libpq's parse errors: bad syntax, unknown keywords, bad percent-encoding.
pub fn parse(conninfo: &str) -> Result<Params, ParseError> {
    if conninfo.contains('\0') {
        return Err(ParseError::NulByte);
    }
    match uri::prefix_len(conninfo) {
        Some(prefix) => uri::parse(conninfo, prefix),
        None => keyvalue::parse(conninfo),
    }
}

#[cfg(test)]
mod tests;

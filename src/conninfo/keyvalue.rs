//! The `key=value` form, byte for byte as libpq's `conninfo_parse`.

use super::{Params, ParseError, keywords};

/// C's `isspace` in the C locale.
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

pub(super) fn parse(conninfo: &str) -> Result<Params, ParseError> {
    let bytes = conninfo.as_bytes();
    let mut params = Params::new();
    let mut i = 0;
    // Whether the previous value was a secret written without quotes: a stray word right after
    // it is most likely the rest of that secret, so it is not echoed in an error.
    let mut after_bare_secret = false;
    while i < bytes.len() {
        if is_space(bytes[i]) {
            i += 1;
            continue;
        }
        let name_start = i;
        while i < bytes.len() && bytes[i] != b'=' && !is_space(bytes[i]) {
            i += 1;
        }
        let name = &conninfo[name_start..i];
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] != b'=' {
            let shown = if after_bare_secret && keywords::find(name).is_none() {
                "(redacted)".to_string()
            } else {
                super::error::without_password(name)
            };
            return Err(ParseError::MissingEquals(shown));
        }
        i += 1;
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        let quoted = i < bytes.len() && bytes[i] == b'\'';
        let (value, next) = if quoted {
            quoted_value(bytes, i + 1)?
        } else {
            bare_value(bytes, i)
        };
        i = next;
        if after_bare_secret && keywords::find(name).is_none() && name != "requiressl" {
            // `password=ab cd=ef`: the word is most likely the rest of the password.
            return Err(ParseError::UnknownKeyword("(redacted)".into()));
        }
        params.store(name, &value)?;
        after_bare_secret =
            !quoted && keywords::find(name).is_some_and(|k| keywords::KEYWORDS[k].secret);
    }
    Ok(params)
}

/// A value that ends at whitespace; a backslash escapes the next byte.
fn bare_value(bytes: &[u8], mut i: usize) -> (String, usize) {
    let mut out = Vec::new();
    while i < bytes.len() {
        match bytes[i] {
            b if is_space(b) => {
                i += 1;
                break;
            }
            b'\\' => {
                i += 1;
                if i < bytes.len() {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    (lossless(out), i)
}

/// A value in single quotes; a backslash escapes the next byte.
fn quoted_value(bytes: &[u8], mut i: usize) -> Result<(String, usize), ParseError> {
    let mut out = Vec::new();
    loop {
        match bytes.get(i) {
            None => return Err(ParseError::UnterminatedQuote),
            Some(b'\\') => {
                i += 1;
                if let Some(&b) = bytes.get(i) {
                    out.push(b);
                    i += 1;
                }
            }
            Some(b'\'') => return Ok((lossless(out), i + 1)),
            Some(&b) => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Bytes taken from valid UTF-8 at ASCII boundaries are valid UTF-8 again.
fn lossless(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

//! Parse errors with libpq's wording. Where libpq would echo a secret (a password inside a bad
//! percent-escape, say), the secret is replaced by `(redacted)`.

/// Why a connection string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A keyword with no `=` after it.
    #[error("missing \"=\" after \"{0}\" in connection info string")]
    MissingEquals(String),
    /// A quoted value that never closes.
    #[error("unterminated quoted string in connection info string")]
    UnterminatedQuote,
    /// A keyword libpq does not know.
    #[error("invalid connection option \"{0}\"")]
    UnknownKeyword(String),
    /// A URI query parameter libpq does not know.
    #[error("invalid URI query parameter: \"{0}\"")]
    UnknownQueryParameter(String),
    /// A URI query parameter without `=`.
    #[error("missing key/value separator \"=\" in URI query parameter: \"{0}\"")]
    QueryMissingEquals(String),
    /// A URI query parameter with a second `=`.
    #[error("extra key/value separator \"=\" in URI query parameter: \"{0}\"")]
    QueryExtraEquals(String),
    /// A `%` not followed by two hex digits.
    #[error("invalid percent-encoded token: \"{0}\"")]
    BadPercent(String),
    /// `%00`, which a C string cannot hold.
    #[error("forbidden value %00 in percent-encoded value: \"{0}\"")]
    PercentNul(String),
    /// A space inside a URI component.
    #[error("unexpected spaces found in \"{0}\", use percent-encoded spaces (%20) instead")]
    UriSpaces(String),
    /// `[` with no matching `]`.
    #[error(
        "end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"{0}\""
    )]
    UnclosedBracket(String),
    /// `[]`.
    #[error("IPv6 host address may not be empty in URI: \"{0}\"")]
    EmptyIpv6(String),
    /// Something other than `:`, `/`, `?` or `,` after `]`.
    #[error(
        "unexpected character \"{ch}\" at position {position} in URI (expected \":\" or \"/\"): \"{uri}\""
    )]
    UnexpectedCharacter {
        /// The character found.
        ch: char,
        /// Its 1-based byte position in the URI.
        position: usize,
        /// The URI, secrets redacted.
        uri: String,
    },
    /// A NUL byte, which libpq (a C library) can never be given.
    #[error("connection string contains a NUL byte")]
    NulByte,
}

/// A word of a connection string as an error may quote it: a `user:password@` inside it (a URI
/// that libpq did not take for one, such as `Postgresql://u:pw@h`) loses its password.
pub(crate) fn without_password(word: &str) -> String {
    let Some(at) = word.rfind('@') else {
        return word.to_string();
    };
    // The password may hold `/` or `@`: everything from the first `:` after the scheme to the
    // last `@` goes.
    let start = word.find("://").map_or(0, |scheme| scheme + 3);
    if start > at {
        return word.to_string();
    }
    match word[start..at].find(':') {
        Some(colon) => format!("{}(redacted){}", &word[..start + colon + 1], &word[at..]),
        None => word.to_string(),
    }
}

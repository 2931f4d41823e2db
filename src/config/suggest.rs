//! "Did you mean": the keyword or value closest to a mistyped one, for the hint after libpq's own
//! message (`sslmod=`, `sslmode=verify_full`).

use crate::conninfo::KEYWORDS;

/// The values libpq accepts for a keyword with a closed set of them.
pub(crate) fn values_of(keyword: &str) -> Option<&'static [&'static str]> {
    Some(match keyword {
        "sslmode" => &[
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ],
        "sslnegotiation" => &["postgres", "direct"],
        "sslcertmode" => &["disable", "allow", "require"],
        "channel_binding" | "gssencmode" => &["disable", "prefer", "require"],
        "target_session_attrs" => &[
            "any",
            "read-write",
            "read-only",
            "primary",
            "standby",
            "prefer-standby",
        ],
        "load_balance_hosts" => &["disable", "random"],
        "require_auth" => &[
            "password",
            "md5",
            "gss",
            "sspi",
            "scram-sha-256",
            "oauth",
            "none",
        ],
        "ssl_min_protocol_version" | "ssl_max_protocol_version" => {
            &["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
        }
        "min_protocol_version" | "max_protocol_version" => &["3.0", "3.2", "latest"],
        _ => return None,
    })
}

/// The connection keyword closest to `given`, if one is close enough.
pub(crate) fn keyword(given: &str) -> Option<&'static str> {
    closest(KEYWORDS.iter().map(|k| k.name), given)
}

/// The candidate closest to `given`: equal but for case and `_`/`-`, or within a small edit
/// distance (one edit for short words, two for longer ones).
pub(crate) fn closest<'a>(
    candidates: impl IntoIterator<Item = &'a str>,
    given: &str,
) -> Option<&'a str> {
    let normal = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let wanted = normal(given);
    let limit = if wanted.len() <= 4 { 1 } else { 2 };
    candidates
        .into_iter()
        // A word further in length than the limit cannot be within it (and a long one is no typo).
        .filter(|c| c.len().abs_diff(wanted.len()) <= limit)
        .map(|c| (distance(&normal(c), &wanted), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance with adjacent transpositions (optimal string alignment), by bytes: keywords and
/// values are ASCII, and a swapped pair (`hots`) is one slip.
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Advice for a string libpq refuses, where the mistake is a common one: another driver's
/// spelling, a word for a connection string, a mistyped keyword or value ("did you mean").
pub(crate) fn hint(error: &super::ConfigError) -> Option<String> {
    use super::ConfigError;
    use crate::conninfo::ParseError;
    match error {
        ConfigError::Parse(ParseError::MissingEquals(word))
            if other_drivers_spelling(word).is_some() =>
        {
            other_drivers_spelling(word).map(str::to_string)
        }
        // `pgtls check db.example.com`: psql would take the word as a database name, but a
        // CONNINFO argument is a connection string.
        ConfigError::Parse(ParseError::MissingEquals(word)) if word.contains("://") => Some(
            "libpq reads a URI only when it starts with postgresql:// or postgres://, in lower case"
                .to_string(),
        ),
        ConfigError::Parse(ParseError::MissingEquals(word))
            if word == "localhost" || word.contains(['.', ':']) =>
        {
            Some(format!(
                "a connection string is key=value pairs or a postgresql:// URI: for a server, write \"host={word}\""
            ))
        }
        ConfigError::Parse(
            ParseError::UnknownKeyword(word) | ParseError::UnknownQueryParameter(word),
        ) => other_drivers_spelling(word)
            .map(str::to_string)
            .or_else(|| keyword(word).map(|k| format!("did you mean \"{k}\"?"))),
        ConfigError::InvalidValue { keyword, value } => {
            let values = values_of(keyword)?;
            let expected = format!("{keyword} takes {}", values.join(", "));
            Some(match closest(values.iter().copied(), value) {
                Some(near) => format!("did you mean \"{near}\"? ({expected})"),
                None => expected,
            })
        }
        _ => None,
    }
}

/// The hint for a word libpq does not know that another driver spells so: a JDBC URL pgjdbc would
/// not take, and pgjdbc's and node-postgres's `ssl`.
fn other_drivers_spelling(word: &str) -> Option<&'static str> {
    let lower = word.to_ascii_lowercase();
    if lower.starts_with("jdbc:") {
        return Some(
            "a JDBC URL for pgjdbc starts with jdbc:postgresql: (pgjdbc answers \"No suitable driver\" to any other); write jdbc:postgresql://HOST:PORT/DATABASE?...",
        );
    }
    (lower == "ssl").then_some(
        "ssl=true is pgjdbc's and node-postgres's spelling; libpq's keyword is sslmode: sslmode=verify-full with sslrootcert=FILE verifies the server, sslmode=require only encrypts",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_found_and_far_ones_left_alone() {
        let cases = [
            ("sslmod", Some("sslmode")),
            ("sslrootcrt", Some("sslrootcert")),
            ("hots", Some("host")),
            ("passwrd", Some("password")),
            ("SSLMODE", Some("sslmode")),
            ("colour", None),
            ("db.example.com", None),
        ];
        for (given, expected) in cases {
            assert_eq!(keyword(given), expected, "{given}");
        }
        let modes = values_of("sslmode").unwrap();
        assert_eq!(
            closest(modes.iter().copied(), "verify_full"),
            Some("verify-full")
        );
        assert_eq!(
            closest(modes.iter().copied(), "VERIFY-CA"),
            Some("verify-ca")
        );
        assert_eq!(closest(modes.iter().copied(), "requir"), Some("require"));
        assert_eq!(closest(modes.iter().copied(), "strict"), None);
    }
}

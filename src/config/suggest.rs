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

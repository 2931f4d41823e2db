//! Every finding code, with what it means: the one list the manual's table (`docs/json.md`) is checked against.
//! Codes are stable: a JSON consumer may match on them.

/// `(code, what it means)`, grouped as the manual shows them.
pub(crate) const FINDING_CODES: &[(&str, &str)] = &[
    // The verdict.
    (
        "configuration",
        "a local setting or file (root file, CRL, client certificate, connection string) stopped or weakened the check",
    ),
    (
        "unreachable",
        "the server could not be reached, or is not PostgreSQL",
    ),
    (
        "tls_not_offered",
        "TLS was required and the server did not offer it",
    ),
    (
        "handshake_failed",
        "the TLS handshake failed (protocol versions, ciphers, ALPN)",
    ),
    (
        "untrusted_certificate",
        "the chain does not verify against the root file or store",
    ),
    (
        "host_name_mismatch",
        "the certificate is not valid for the host name (verify-full)",
    ),
    ("rejected", "the server refused the connection or the login"),
    ("internal_error", "a check that failed inside pgtls"),
    // What the sslmode leaves open.
    (
        "plaintext",
        "the connection is (or falls back to) unencrypted",
    ),
    (
        "chain_not_verified",
        "this sslmode does not verify the certificate chain",
    ),
    (
        "host_name_not_verified",
        "this sslmode does not check the host name",
    ),
    ("unix_socket", "a Unix-domain socket: TLS does not apply"),
    (
        "not_logged_in",
        "no password is configured: the check stopped at the server's authentication request",
    ),
    (
        "server_view_differs",
        "the server's pg_stat_ssl shows another session than the one negotiated",
    ),
    (
        "pooler_in_front",
        "a pooler or proxy answers for the server: pgtls checked the client's leg to it",
    ),
    (
        "protocol_version_refused",
        "a pooler refuses the protocol version asked for instead of negotiating",
    ),
    (
        "cross_signed",
        "the chain holds a cross-signed copy of a known root",
    ),
    // Certificates.
    ("expires_soon", "a certificate expires within --warn-days"),
    (
        "expiry_threshold",
        "a certificate expires within --crit-days (the check fails with 9)",
    ),
    ("expired", "a certificate has expired"),
    (
        "weak_key",
        "a key shorter than current guidance (RSA under 2048 bits)",
    ),
    ("weak_signature", "a signature with SHA-1 or MD5"),
    ("chain_order", "the server sends its chain out of order"),
    (
        "superfluous_root",
        "the server sends its root, which clients ignore",
    ),
    (
        "missing_intermediate",
        "the server does not send the intermediate its certificate needs",
    ),
    (
        "no_san",
        "the server certificate has no subject alternative name",
    ),
    (
        "long_validity",
        "the server certificate is valid for longer than public CAs issue",
    ),
    (
        "channel_binding_impossible",
        "channel_binding=require cannot succeed with this certificate or server",
    ),
    // --audit.
    ("old_protocol", "the server accepts TLS 1.1 or older"),
    ("no_tls13", "the server does not accept TLS 1.3"),
    (
        "legacy_suite",
        "the server accepts a legacy cipher suite family (static RSA, CBC, 3DES, RC4, export, null)",
    ),
    (
        "plaintext_accepted",
        "the server proceeds with a startup message sent without TLS",
    ),
    (
        "no_post_quantum",
        "the server does not accept the post-quantum hybrid group X25519MLKEM768",
    ),
    (
        "no_direct_tls",
        "the server does not accept direct TLS (sslnegotiation=direct)",
    ),
    (
        "protocol_negotiation_broken",
        "the server does not negotiate an unknown protocol version or option (GREASE) as it must",
    ),
    (
        "cancel_over_tls_refused",
        "the server does not take a cancel request over TLS, as libpq 17 and later send it",
    ),
    (
        "sni_required",
        "the server answers otherwise without SNI (an SNI-routing proxy)",
    ),
    (
        "sni_certificate_differs",
        "the server presents another certificate without SNI",
    ),
    (
        "audit_incomplete",
        "some audit probes did not finish within the deadline",
    ),
    // --client.
    (
        "client_differs",
        "this client's verdict differs from libpq's on the same server",
    ),
    (
        "client_unverified",
        "this client connects without verifying the certificate, or without encryption",
    ),
    (
        "client_not_modelled",
        "a setting the client model does not cover",
    ),
    // inspect --lint.
    (
        "duplicate",
        "a certificate appears more than once in the file",
    ),
    ("leaf_certificate", "a server certificate in a root file"),
    (
        "intermediate_certificate",
        "an intermediate CA in a root file (not an anchor for libpq)",
    ),
    (
        "missing_root",
        "a root the profile requires is missing from the file",
    ),
    (
        "missing_recommended_root",
        "a root the profile recommends is missing from the file (info: the file works for most servers)",
    ),
    (
        "rotation_root_missing",
        "a root the provider has announced for a rotation is missing from the root file (warning until the date, error from it)",
    ),
];

/// Whether `code` is listed: finding constructors assert it in debug builds.
pub(crate) fn known(code: &str) -> bool {
    FINDING_CODES.iter().any(|(c, _)| *c == code)
}

#[cfg(test)]
mod tests {
    use super::FINDING_CODES;

    /// The sources that make findings, without their tests.
    fn sources() -> Vec<&'static str> {
        [
            include_str!("findings.rs"),
            include_str!("audit.rs"),
            include_str!("certs.rs"),
            include_str!("expiry.rs"),
            include_str!("clients.rs"),
            include_str!("refused.rs"),
            include_str!("pooler.rs"),
            include_str!("provider.rs"),
            include_str!("mod.rs"),
            include_str!("../inspect.rs"),
        ]
        .into_iter()
        .map(|s| s.split("#[cfg(test)]").next().unwrap_or(s))
        .collect()
    }

    /// String literals in the places a code is given: `code: "x"`, or an argument of its own
    /// line or of a `push(`/`finding(` call.
    fn codes_in(source: &str) -> Vec<String> {
        let mut found = Vec::new();
        for line in source.lines() {
            let line = line.trim();
            // Whole string literals in those places.
            let literals: Vec<&str> = if let Some(rest) = line.split("code: \"").nth(1) {
                rest.split('"').take(1).collect()
            } else if line.starts_with('"') && line.ends_with("\",") {
                vec![&line[1..line.len() - 2]]
            } else if line.contains("push(") || line.contains("finding(") {
                line.split('"').skip(1).step_by(2).collect()
            } else {
                Vec::new()
            };
            for literal in literals {
                let snake = literal.len() >= 4
                    && literal
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if snake {
                    found.push(literal.to_string());
                }
            }
        }
        found
    }

    #[test]
    fn every_code_the_sources_give_is_listed_and_every_listed_code_is_given() {
        let listed: Vec<&str> = FINDING_CODES.iter().map(|(c, _)| *c).collect();
        let mut given: Vec<String> = sources().into_iter().flat_map(codes_in).collect();
        given.sort();
        given.dedup();
        let unlisted: Vec<&String> = given
            .iter()
            .filter(|c| !listed.contains(&c.as_str()))
            .collect();
        assert!(
            unlisted.is_empty(),
            "codes given but not listed: {unlisted:?}"
        );
        let unused: Vec<&&str> = listed
            .iter()
            .filter(|c| !given.iter().any(|g| g == **c))
            .collect();
        assert!(
            unused.is_empty(),
            "codes listed but never given: {unused:?}"
        );
    }

    #[test]
    fn the_manuals_table_lists_exactly_these_codes() {
        let readme = include_str!("../../docs/json.md");
        let rows: Vec<String> = FINDING_CODES
            .iter()
            .map(|(code, meaning)| format!("| `{code}` | {meaning} |"))
            .collect();
        let table = rows.join("\n");
        assert!(
            readme.contains(&table),
            "docs/json.md's finding-code table is not the code's; it should read:\n| code | meaning |\n|---|---|\n{table}"
        );
    }
}

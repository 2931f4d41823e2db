//! Names of what a handshake negotiated: cipher suites as OpenSSL (and so psql) prints them and as
//! IANA registers them, key exchange groups and protocol versions.

use rustls::{CipherSuite, NamedGroup, ProtocolVersion};

/// `(code, OpenSSL name, IANA name)` for every suite rustls speaks.
const SUITES: &[(u16, &str, &str)] = &[
    (0x1301, "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"),
    (0x1302, "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384"),
    (
        0x1303,
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_CHACHA20_POLY1305_SHA256",
    ),
    (
        0xc02b,
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        0xc02c,
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        0xc02f,
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        0xc030,
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        0xcca8,
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        0xcca9,
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
];

/// The OpenSSL and IANA names of a suite.
pub fn suite_names(suite: CipherSuite) -> (String, String) {
    let code = u16::from(suite);
    match SUITES.iter().find(|(c, _, _)| *c == code) {
        Some((_, openssl, iana)) => (openssl.to_string(), iana.to_string()),
        None => {
            let name = format!("{suite:?}");
            (name.clone(), name)
        }
    }
}

/// IANA names of the suites rustls does not speak that the audit offers by hand.
const LEGACY_NAMES: [(u16, &str); 32] = [
    (0x0001, "TLS_RSA_WITH_NULL_MD5"),
    (0x0002, "TLS_RSA_WITH_NULL_SHA"),
    (0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"),
    (0x0004, "TLS_RSA_WITH_RC4_128_MD5"),
    (0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
    (0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"),
    (0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0x003b, "TLS_RSA_WITH_NULL_SHA256"),
    (0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    (0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"),
    (0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    (0xc006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"),
    (0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"),
    (0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA"),
    (0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"),
    (0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"),
    (0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
];

/// The IANA name of a legacy suite the audit offers.
pub fn legacy_name(code: u16) -> Option<String> {
    LEGACY_NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| (*name).to_string())
}

/// A protocol version as OpenSSL and psql name it.
pub fn version_name(version: ProtocolVersion) -> String {
    match version {
        ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        ProtocolVersion::TLSv1_1 => "TLSv1.1".into(),
        ProtocolVersion::TLSv1_0 => "TLSv1".into(),
        other => format!("{other:?}"),
    }
}

/// A key exchange group's common name.
pub fn group_name(group: NamedGroup) -> String {
    super::groups::name(u16::from(group))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suite_rustls_speaks_has_both_names() {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        for suite in provider.cipher_suites {
            let (openssl, iana) = suite_names(suite.suite());
            assert!(
                !openssl.contains("TLS13_") && !openssl.starts_with("Unknown"),
                "{openssl}"
            );
            assert!(iana.starts_with("TLS_"), "{iana}");
        }
        assert_eq!(
            suite_names(CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
            (
                "ECDHE-RSA-AES256-GCM-SHA384".into(),
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into()
            )
        );
    }

    #[test]
    fn legacy_suites_are_named_by_their_iana_names() {
        assert_eq!(
            super::legacy_name(0xc024).as_deref(),
            Some("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384")
        );
        assert_eq!(
            super::legacy_name(0x009c).as_deref(),
            Some("TLS_RSA_WITH_AES_128_GCM_SHA256")
        );
        assert_eq!(super::legacy_name(0xfefe), None);
    }
}

//! What an operator expects of a target beyond a working connection, as plain data read once
//! before the run (`inspect::expected_cert` reads the file): the certificate the server should be
//! serving (`--expect-cert`, a target's `expect_cert`), and the other names clients reach it by
//! (`--also-names`, a target's `also_names`). The judge compares the served chain with them
//! (`judge::expect`).

use std::path::PathBuf;

use rustls::pki_types::CertificateDer;

/// What a target is expected to serve and to be valid for.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// The certificate (or chain) the server should serve.
    pub cert: Option<ExpectedCert>,
    /// More names the certificate should cover, as clients use them.
    pub also_names: Vec<String>,
    /// With `--audit`: names to ask the server's certificate for by SNI, one handshake each
    /// (PostgreSQL 19 serves a certificate per name, `pg_hosts.conf`).
    pub sni_names: Vec<String>,
}

/// A certificate file as the server should serve it: its leaf first, then what the server
/// should send after it.
#[derive(Debug, Clone)]
pub struct ExpectedCert {
    /// The file, as given.
    pub file: PathBuf,
    /// Its certificates, in file order.
    pub certs: Vec<CertificateDer<'static>>,
}

impl Expectations {
    /// Whether there is anything to compare.
    pub fn is_empty(&self) -> bool {
        self.cert.is_none() && self.also_names.is_empty() && self.sni_names.is_empty()
    }
}

/// The names of `--also-names` / `also_names`: comma-separated, trimmed, without empty ones.
pub fn names(list: &[String]) -> Vec<String> {
    list.iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

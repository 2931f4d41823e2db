//! Certificate loading as every command does it: PEM or DER bytes to certificates, then their
//! description, the names the host-name check reads, a trust store, and a root-file reading.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgtls::tls::{TrustSource, TrustStore, hostname, roots};
use pgtls::{certinfo, inspect};

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.pem");
    let _ = roots::pem_certificates(data);
    let _ = roots::crls_in(data);
    if let Ok(file) = inspect::parse(path, data) {
        for der in &file.certs {
            let _ = certinfo::describe(der, 0);
            if let Some((sans, cn)) = certinfo::check_names(der) {
                let _ = hostname::check("db.example.com", &sans, cn.as_deref());
                let _ = hostname::check("127.0.0.1", &sans, cn.as_deref());
            }
        }
        let _ = TrustStore::new(TrustSource::System, file.certs);
    }
});

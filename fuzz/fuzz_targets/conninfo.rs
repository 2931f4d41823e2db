//! Both connection-string forms: parsing, then resolution with an empty environment, must never
//! panic; whatever parses must parse again to the same parameters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgtls::config::{Environment, resolve};
use pgtls::conninfo;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for input in [text.to_string(), format!("postgresql://{text}")] {
        if let Ok(params) = conninfo::parse(&input) {
            assert_eq!(conninfo::parse(&input).ok(), Some(params));
            let _ = resolve(&input, &Environment::default());
        }
    }
});

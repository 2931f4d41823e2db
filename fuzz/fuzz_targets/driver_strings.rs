//! Every driver's reading of a connection string (`--client NAME`), and the policies built from
//! it, must never panic, whatever the string; a refusal is an answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgtls::clients::{Client, ClientChoice, read_string};
use pgtls::config::Environment;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let env = Environment::default();
    for client in Client::ALL {
        for input in [text.to_string(), format!("postgresql://{text}")] {
            let _ = read_string(&input, &env, Some(ClientChoice::one(client)));
        }
    }
});

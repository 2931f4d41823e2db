//! Service-file groups: any text, any service name, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgtls::config::service;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let name = text.lines().next().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
    let _ = service::group(&text, name, std::path::Path::new("fuzz.conf"));
});

//! Password-file lines: any text against a few keys, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgtls::config::passfile;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for fields in [["localhost", "5432", "db", "user"], ["h:1", "", "*", "\\"], ["", "", "", ""]] {
        let _ = passfile::find(&text, fields);
    }
});

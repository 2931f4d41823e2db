//! Protocol version negotiation against servers that negotiate rightly and wrongly: pgtls ends
//! with libpq 18's verdict and words, and reports the version libpq's `PQfullProtocolVersion`
//! gives. (Real servers and PgBouncer: tests/cli/pooler.rs.)

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::Value;

use crate::fake::{answer_queries, fake, message};
use crate::harness::{libpq_connect, pgtls};
use crate::server::shared_tempdir;

/// NegotiateProtocolVersion: the newest minor version of protocol 3 (or a whole code when
/// `major` is not 3) and the options named.
fn negotiate(major: u16, minor: u16, options: &[&str]) -> Vec<u8> {
    let mut body = ((u32::from(major) << 16) | u32::from(minor))
        .to_be_bytes()
        .to_vec();
    body.extend((options.len() as u32).to_be_bytes());
    for option in options {
        body.extend(option.as_bytes());
        body.push(0);
    }
    message(b'v', &body)
}

/// Reads the startup message (plaintext), sends `first`, then logs the client in with
/// a cancel key of `key_len` bytes and answers every query with an empty result.
fn serve(mut s: TcpStream, first: &[u8], key_len: usize) {
    let mut length = [0u8; 4];
    if s.read_exact(&mut length).is_err() {
        return;
    }
    let mut startup = vec![0u8; (u32::from_be_bytes(length) as usize).saturating_sub(4)];
    if s.read_exact(&mut startup).is_err() {
        return;
    }
    let mut out = first.to_vec();
    out.extend(message(b'R', &0u32.to_be_bytes()));
    out.extend(message(b'S', b"server_version\x0018.0 (fake)\0"));
    let mut key = 4242u32.to_be_bytes().to_vec();
    key.extend(std::iter::repeat_n(7u8, key_len));
    out.extend(message(b'K', &key));
    out.extend(message(b'Z', b"I"));
    if s.write_all(&out).is_ok() {
        answer_queries(&mut s);
    }
}

fn no_negotiation(s: TcpStream) {
    serve(s, &[], 4);
}
fn down_to_3_0(s: TcpStream) {
    serve(s, &negotiate(3, 0, &[]), 4);
}
fn up_to_3_9(s: TcpStream) {
    serve(s, &negotiate(3, 9, &[]), 4);
}
fn to_3_1(s: TcpStream) {
    serve(s, &negotiate(3, 1, &[]), 4);
}
fn to_2_0(s: TcpStream) {
    serve(s, &negotiate(2, 0, &[]), 4);
}
fn with_an_option(s: TcpStream) {
    serve(s, &negotiate(3, 0, &["_pq_.pgtls_grease"]), 4);
}
fn with_a_bare_option(s: TcpStream) {
    serve(s, &negotiate(3, 0, &["pgtls_grease"]), 4);
}
fn twice(s: TcpStream) {
    serve(s, &[negotiate(3, 0, &[]), negotiate(3, 0, &[])].concat(), 4);
}
fn long_cancel_key(s: TcpStream) {
    serve(s, &[], 32);
}

#[test]
fn negotiation_ends_as_libpq_18_ends_it() {
    // (server, settings, pgtls's exit code, libpq's version or the words of its refusal)
    type Case = (fn(TcpStream), &'static str, i32, &'static str);
    let cases: [Case; 13] = [
        (no_negotiation, "", 0, "3.0"),
        (no_negotiation, "max_protocol_version=3.2", 0, "3.2"),
        (down_to_3_0, "max_protocol_version=latest", 0, "3.0"),
        (
            down_to_3_0,
            "",
            3,
            "server negotiated but asks for no changes",
        ),
        (
            down_to_3_0,
            "min_protocol_version=3.2",
            8,
            "server only supports protocol version 3.0",
        ),
        (
            up_to_3_9,
            "max_protocol_version=3.2",
            3,
            "downgrade to a higher-numbered version",
        ),
        (
            to_3_1,
            "max_protocol_version=3.2",
            3,
            "non-existent 3.1 protocol version",
        ),
        (
            to_2_0,
            "max_protocol_version=3.2",
            3,
            "pre-3.0 protocol version",
        ),
        (
            with_an_option,
            "max_protocol_version=3.2",
            3,
            "was not requested (\"_pq_.pgtls_grease\")",
        ),
        (
            with_a_bare_option,
            "max_protocol_version=3.2",
            3,
            "without a \"_pq_.\" prefix",
        ),
        (
            twice,
            "max_protocol_version=3.2",
            3,
            "duplicate protocol negotiation message",
        ),
        (long_cancel_key, "max_protocol_version=3.2", 0, "3.2"),
        (long_cancel_key, "", 3, "cancel key with length 32"),
    ];
    let home = shared_tempdir();
    let mut conninfos = Vec::new();
    let mut failures = Vec::new();
    let mut ours = Vec::new();
    for (behave, settings, _, _) in &cases {
        let port = fake(*behave);
        let conninfo = format!(
            "host=127.0.0.1 port={port} user=u dbname=d sslmode=disable connect_timeout=5 {settings}"
        );
        let out = pgtls(home.path())
            .args(["check", "--format", "json", &conninfo])
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        ours.push((out.status.code().unwrap_or(-1), doc["targets"][0].clone()));
        conninfos.push(conninfo);
    }
    let theirs = libpq_connect(home.path(), &conninfos);
    for (((_, settings, code, want), (exit, target)), libpq) in cases.iter().zip(&ours).zip(&theirs)
    {
        let case = format!("{settings:?} ({})", libpq["conninfo"]);
        if libpq["ok"] == true {
            let full = libpq["protocol"].as_i64().unwrap_or_default();
            let version = format!("{}.{}", full / 10_000, full % 10_000);
            if version != *want || target["login"]["protocol_version"] != version || *exit != 0 {
                failures.push(format!(
                    "{case}: libpq {version}, want {want}; pgtls exit {exit}, {}",
                    target["login"]
                ));
            }
        } else {
            let error = libpq["error"].as_str().unwrap_or_default();
            let mine = target["attempts"][0]["error"].as_str().unwrap_or_default();
            if !error.contains(want) || mine.is_empty() || !error.contains(mine) || exit != code {
                failures.push(format!("{case}: libpq {error:?}; pgtls exit {exit} {mine:?}, want exit {code}, {want:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

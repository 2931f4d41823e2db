//! Servers that misbehave in ways a real PostgreSQL cannot: each answers SSLRequest (or the
//! connection) in one fixed way, for every connection, until the test ends. pgtls must end with
//! the documented exit code and libpq's message, within its deadline, and libpq must agree.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::harness::{libpq_connect, pgtls};
use crate::server::shared_tempdir;

/// Starts a listener that runs `behave` on every connection, each in its own thread.
pub fn fake(behave: fn(TcpStream)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || behave(stream));
        }
    });
    port
}

fn read_request(stream: &mut TcpStream) {
    let mut buf = [0u8; 8];
    let _ = stream.read_exact(&mut buf);
}

fn answer_n(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(b"N");
    let mut rest = [0u8; 512];
    let _ = s.read(&mut rest);
    // A startup rejection carrying terminal escape sequences.
    let body = b"SFATAL\0VFATAL\0C28000\0Mno entry for \x1b[31mred\x1b[0m user\0\0";
    let mut msg = vec![b'E'];
    msg.extend(((body.len() + 4) as u32).to_be_bytes());
    msg.extend(body);
    let _ = s.write_all(&msg);
}

fn answer_e(mut s: TcpStream) {
    read_request(&mut s);
    let body = b"SFATAL\0Mbelieve me, I am the server\0\0";
    let mut msg = vec![b'E'];
    msg.extend(((body.len() + 4) as u32).to_be_bytes());
    msg.extend(body);
    let _ = s.write_all(&msg);
}

fn answer_e_with_a_long_body(mut s: TcpStream) {
    read_request(&mut s);
    let mut msg = vec![b'E', 0x00, 0x10, 0x00, 0x04];
    msg.extend(std::iter::repeat_n(b'M', 0x10_0000));
    let _ = s.write_all(&msg);
}

fn answer_garbage(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
}

/// Answers `S`, then a server message in plaintext before any handshake (CVE-2021-23222).
pub fn answer_s_with_injection(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(b"SR\0\0\0\x08\0\0\0\0");
    std::thread::sleep(Duration::from_millis(500));
}

/// Reads SSLRequest and never answers.
pub fn stay_silent(mut s: TcpStream) {
    read_request(&mut s);
    std::thread::sleep(Duration::from_secs(8));
}

fn close_at_once(s: TcpStream) {
    drop(s);
}

struct Case {
    name: &'static str,
    behave: fn(TcpStream),
    sslmode: &'static str,
    code: i32,
    message: &'static str,
}

#[test]
fn hostile_servers_end_with_the_documented_code_and_libpqs_message() {
    let cases = [
        Case {
            name: "N under require",
            behave: answer_n,
            sslmode: "require",
            code: 4,
            message: "server does not support SSL, but SSL was required",
        },
        Case {
            name: "E under prefer",
            behave: answer_e,
            sslmode: "prefer",
            code: 4,
            message: "server sent an error response during SSL exchange",
        },
        Case {
            name: "E with a megabyte body",
            behave: answer_e_with_a_long_body,
            sslmode: "prefer",
            code: 4,
            message: "server sent an error response during SSL exchange",
        },
        Case {
            name: "an HTTP server",
            behave: answer_garbage,
            sslmode: "prefer",
            code: 3,
            message: "received invalid response to SSL negotiation: H (the answer starts like HTTP's: this port is probably not PostgreSQL's)",
        },
        Case {
            name: "bytes injected after S",
            behave: answer_s_with_injection,
            sslmode: "prefer",
            code: 5,
            message: "received unencrypted data after SSL response",
        },
        Case {
            name: "silence after SSLRequest",
            behave: stay_silent,
            sslmode: "require",
            code: 3,
            message: "timeout expired (the TCP connection was made, but nothing answered the SSLRequest: is this PostgreSQL's port?)",
        },
        Case {
            name: "a close at once",
            behave: close_at_once,
            sslmode: "require",
            code: 3,
            message: "closed the connection unexpectedly",
        },
    ];
    let home = shared_tempdir();
    let mut failures = Vec::new();
    let mut conninfos = Vec::new();
    for case in &cases {
        let port = fake(case.behave);
        let conninfo = format!(
            "host=127.0.0.1 port={port} user=u dbname=d sslmode={} connect_timeout=2",
            case.sslmode
        );
        let start = Instant::now();
        let out = pgtls(home.path())
            .args(["check", "--format", "json", &conninfo])
            .output()
            .unwrap();
        let elapsed = start.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.code() != Some(case.code)
            || !stdout.contains(case.message)
            || elapsed > Duration::from_secs(5)
        {
            failures.push(format!(
                "{}: exit {:?} after {elapsed:?}\n{stdout}",
                case.name,
                out.status.code()
            ));
        }
        conninfos.push(conninfo);
    }
    for (case, libpq) in cases.iter().zip(libpq_connect(home.path(), &conninfos)) {
        let error = libpq["error"].as_str().unwrap_or_default();
        if libpq["ok"] != false
            || !error.contains(case.message.split(' ').next().unwrap_or_default())
        {
            failures.push(format!("{}: libpq says {libpq}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn server_text_reaches_the_terminal_sanitised() {
    let home = shared_tempdir();
    let port = fake(answer_n);
    let conninfo = format!("host=127.0.0.1 port={port} user=u sslmode=prefer connect_timeout=2");
    let out = pgtls(home.path())
        .args(["check", &conninfo])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8), "a startup rejection is exit 8");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("\\x1b[31mred"), "{text}");
}

/// Answers `N`, then refuses the startup with a message that tries to add report lines and
/// reorder text.
fn answer_n_with_forged_lines(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(b"N");
    let mut rest = [0u8; 512];
    let _ = s.read(&mut rest);
    let body = "SFATAL\0VFATAL\0C28000\0Mno entry\n  verdict      connects with TLSv1.3, chain and host name verified\r\n  exit 0 \u{202e}0 tixe\u{200b}\0\0";
    let mut msg = vec![b'E'];
    msg.extend(((body.len() + 4) as u32).to_be_bytes());
    msg.extend(body.as_bytes());
    let _ = s.write_all(&msg);
}

#[test]
fn server_text_cannot_add_lines_or_reorder_the_text_report() {
    let home = shared_tempdir();
    let port = fake(answer_n_with_forged_lines);
    let conninfo = format!("host=127.0.0.1 port={port} user=u sslmode=prefer connect_timeout=2");
    let out = pgtls(home.path())
        .args(["check", &conninfo])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
    let text = String::from_utf8_lossy(&out.stdout);
    let verdicts: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("verdict"))
        .collect();
    assert_eq!(verdicts.len(), 1, "{text}");
    assert!(verdicts[0].contains("fails"), "{text}");
    assert!(
        !text.contains('\u{202e}') && !text.contains('\u{200b}'),
        "{text}"
    );
    assert!(text.contains("\\u{202e}0 tixe\\u{200b}"), "{text}");
    // Nothing of the message is lost from the verdict line: it runs on to the end.
    assert!(verdicts[0].contains("tixe"), "{text}");
}

/// One protocol message: type byte, length, body.
pub fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut msg = vec![kind];
    msg.extend(((body.len() + 4) as u32).to_be_bytes());
    msg.extend(body);
    msg
}

/// Reads one message from the client: its type byte and body.
pub fn read_message(s: &mut (impl Read + ?Sized)) -> Option<(u8, Vec<u8>)> {
    let mut header = [0u8; 5];
    s.read_exact(&mut header).ok()?;
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    let mut body = vec![0u8; len.checked_sub(4)?];
    s.read_exact(&mut body).ok()?;
    Some((header[0], body))
}

/// After a login: answers each message with ReadyForQuery alone (an empty result) until
/// Terminate or the end of the connection.
pub fn answer_queries(s: &mut (impl Read + Write)) {
    while let Some((kind, _)) = read_message(s) {
        if kind == b'X'
            || s.write_all(&message(b'Z', b"I"))
                .and_then(|()| s.flush())
                .is_err()
        {
            return;
        }
    }
}

/// Answers `N`, lets the client in without a password, then sends what a login event trigger
/// and a wide row can: a 200 KiB NOTICE after AuthenticationOk and a 2 MiB row for any query.
fn answer_with_long_messages(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(b"N");
    let mut startup = [0u8; 512];
    let _ = s.read(&mut startup);
    let mut notice = b"SNOTICE\0VNOTICE\0C00000\0M".to_vec();
    notice.extend(std::iter::repeat_n(b'n', 200 << 10));
    notice.extend(b"\0\0");
    let mut out = message(b'R', &0u32.to_be_bytes());
    out.extend(message(b'N', &notice));
    out.extend(message(b'S', b"server_version\x0018.0\0"));
    out.extend(message(b'Z', b"I"));
    let _ = s.write_all(&out);
    let mut query = [0u8; 4096];
    if s.read(&mut query).unwrap_or(0) == 0 || query[0] != b'Q' {
        return;
    }
    let mut row = 1u16.to_be_bytes().to_vec();
    row.extend(((2 << 20) as u32).to_be_bytes());
    row.extend(std::iter::repeat_n(b'r', 2 << 20));
    let mut out = message(b'D', &row);
    out.extend(message(b'C', b"SELECT 1\0"));
    out.extend(message(b'Z', b"I"));
    let _ = s.write_all(&out);
    let _ = s.read(&mut query);
}

#[test]
fn long_messages_after_login_are_accepted_as_libpq_accepts_them() {
    let home = shared_tempdir();
    let port = fake(answer_with_long_messages);
    let conninfo = format!("host=127.0.0.1 port={port} user=u sslmode=prefer connect_timeout=5");
    let out = pgtls(home.path())
        .args(["check", "--format", "json", &conninfo])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{doc}");
    assert_eq!(doc["targets"][0]["login"]["authenticated"], true, "{doc}");
    let libpq = libpq_connect(home.path(), &[conninfo]);
    assert_eq!(libpq[0]["ok"], true, "{}", libpq[0]);
}

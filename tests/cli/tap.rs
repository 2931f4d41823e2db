//! The TLS tap (`tests/oracle/tls_tap.py`): a relay in front of a server that reads the cleartext
//! part of each handshake through it, so that the tests see which groups a real client offered
//! and which one the server chose, which libpq and most drivers do not report.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// A running tap; stops when dropped.
pub struct Tap {
    /// The port on 127.0.0.1 to connect to instead of the server's.
    pub port: u16,
    child: Child,
    /// Held open: the tap stops when its standard input closes.
    _stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Value>,
}

impl Tap {
    /// A tap in front of 127.0.0.1:`target`.
    pub fn start(target: u16) -> Tap {
        let mut child = Command::new(crate::harness::oracle_python())
            .arg(crate::harness::root().join("tests/oracle/tls_tap.py"))
            .arg(target.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the TLS tap runs");
        let stdin = child.stdin.take();
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value: Value = serde_json::from_str(&line).expect("the tap prints JSON");
                if send.send(value).is_err() {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the tap says its port");
        let port = first["port"].as_u64().expect("a port") as u16;
        Tap {
            port,
            child,
            _stdin: stdin,
            lines,
        }
    }

    /// What the next connection through the tap offered and negotiated, once it closed.
    pub fn next(&self) -> Value {
        self.lines
            .recv_timeout(Duration::from_secs(20))
            .expect("the tap saw a connection through it")
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Hostile or unlucky local input: a reader that closes the pipe early, key files with the wrong
//! owner or mode, root files OpenSSL reads differently, files that never end, output paths that
//! are symlinks or cannot be written. Each ends with the documented exit code and a clear
//! message, never a panic, a hang, an unbounded read or a silent success.

use std::process::{Command, Stdio};

use crate::server::shared_tempdir;

#[test]
fn a_closed_pipe_keeps_the_verdicts_exit_code() {
    let home = shared_tempdir();
    // Port 1 refuses: the verdict is 3. The reader is gone before the report is written.
    for format in ["json", "text", "junit", "prometheus"] {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("pgtls"))
            .env_clear()
            .env("HOME", home.path())
            .args([
                "check",
                "--format",
                format,
                "host=127.0.0.1 port=1 sslmode=require",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stderr.is_empty(), "{format}: a closed pipe is quiet");
    }
}

//! `sslkeylogfile` (libpq 18): the secrets of each TLS connection libpq makes, in the NSS key log
//! format Wireshark reads, appended to the file with libpq's rules: opened for each line with
//! `O_WRONLY | O_APPEND | O_CREAT` and mode 0600, and a file that cannot be opened or written is
//! a warning on standard error in libpq's words, never a failed connection.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

/// The key log of one connection string's `sslkeylogfile`.
#[derive(Debug)]
pub(crate) struct KeyLogFile {
    path: PathBuf,
}

impl KeyLogFile {
    pub(crate) fn new(path: PathBuf) -> KeyLogFile {
        KeyLogFile { path }
    }
}

/// One line: `LABEL CLIENT_RANDOM SECRET`, the two values in lower-case hex, as OpenSSL writes.
fn line(label: &str, client_random: &[u8], secret: &[u8]) -> String {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    format!("{label} {} {}\n", hex(client_random), hex(secret))
}

impl rustls::KeyLog for KeyLogFile {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.path);
        let mut file = match file {
            Ok(file) => file,
            Err(e) => {
                eprintln!(
                    "WARNING: could not open SSL key logging file \"{}\": {}",
                    self.path.display(),
                    crate::net::os_message(&e)
                );
                return;
            }
        };
        if let Err(e) = file.write_all(line(label, client_random, secret).as_bytes()) {
            eprintln!(
                "WARNING: could not write to SSL key logging file \"{}\": {}",
                self.path.display(),
                crate::net::os_message(&e)
            );
        }
    }

    fn will_log(&self, _label: &str) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_the_nss_key_log_format() {
        assert_eq!(
            line("CLIENT_TRAFFIC_SECRET_0", &[0x01, 0xab], &[0xff, 0x00]),
            "CLIENT_TRAFFIC_SECRET_0 01ab ff00\n"
        );
    }

    #[test]
    fn the_file_is_created_private_and_appended_to() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.log");
        let log = KeyLogFile::new(path.clone());
        rustls::KeyLog::log(&log, "CLIENT_RANDOM", &[1], &[2]);
        rustls::KeyLog::log(&log, "CLIENT_RANDOM", &[3], &[4]);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "CLIENT_RANDOM 01 02\nCLIENT_RANDOM 03 04\n"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

//! Reading local files the user names (root files, CRLs, client certificates, service and
//! password files, targets files, files to inspect) with bounds: a size limit per kind of file,
//! no directory, and no wait on a FIFO that has no writer. A named pipe with a writer (a shell's
//! `<(...)`) still works. Nothing here knows what the bytes mean.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::{FcntlArg, OFlag, fcntl};

/// The most a certificate, root or key file may hold (a system bundle is ~200 KB).
pub const CERTIFICATES: u64 = 16 << 20;
/// The most a CRL file may hold (a large CA's CRL runs to tens of MB).
pub const CRLS: u64 = 256 << 20;
/// The most a service or password file may hold.
pub const SETTINGS: u64 = 1 << 20;
/// The longest line of a targets file.
pub const TARGET_LINE: usize = 64 << 10;

/// Why a local file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// Opening or reading failed.
    #[error("{}", crate::net::os_message(.0))]
    Io(#[from] io::Error),
    /// A directory where a file was expected.
    #[error("Is a directory")]
    Directory,
    /// More bytes than the limit for this kind of file.
    #[error("larger than {}", size(*.0))]
    TooLarge(u64),
    /// A line of a targets file longer than the limit.
    #[error("line {line} is longer than {} KiB", TARGET_LINE >> 10)]
    LineTooLong {
        /// The 1-based line number.
        line: usize,
    },
}

/// A byte count as people read it.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Opens a file for reading without blocking on a FIFO that has no writer (it then reads as
/// empty), refusing directories.
fn open(path: &Path) -> Result<File, FileError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NONBLOCK.bits())
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_dir() {
        return Err(FileError::Directory);
    }
    if kind.is_fifo() || kind.is_char_device() || kind.is_socket() {
        // Reads block again (a FIFO without writers is at its end at once).
        fcntl(&file, FcntlArg::F_SETFL(OFlag::empty())).map_err(io::Error::from)?;
    }
    Ok(file)
}

/// Reads a whole file of at most `limit` bytes.
///
/// # Errors
/// The file cannot be opened or read, is a directory, or holds more than `limit` bytes.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::new();
    open(path)?.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge(limit));
    }
    Ok(bytes)
}

/// The lines of a file (standard input for "-"), read as they are needed, each at most
/// [`TARGET_LINE`] bytes; invalid UTF-8 is replaced.
///
/// # Errors
/// The file cannot be opened or is a directory; each line may fail to read or be too long.
pub fn lines(
    path: &Path,
) -> Result<impl Iterator<Item = Result<String, FileError>> + use<>, FileError> {
    let reader: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(io::stdin())
    } else {
        Box::new(open(path)?)
    };
    let mut reader = BufReader::new(reader);
    let mut number = 0;
    let mut failed = false;
    Ok(std::iter::from_fn(move || {
        if failed {
            return None;
        }
        number += 1;
        let mut line = Vec::new();
        let read = (&mut reader)
            .take(TARGET_LINE as u64 + 1)
            .read_until(b'\n', &mut line);
        match read {
            Ok(0) => None,
            Err(e) => {
                failed = true;
                Some(Err(e.into()))
            }
            Ok(_) if line.len() > TARGET_LINE && !line.ends_with(b"\n") => {
                failed = true;
                Some(Err(FileError::LineTooLong { line: number }))
            }
            Ok(_) => Some(Ok(String::from_utf8_lossy(&line).into_owned())),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endless_devices_stop_at_the_limit() {
        let err = read(Path::new("/dev/zero"), 1024).unwrap_err();
        assert_eq!(err.to_string(), "larger than 1 KiB");
        assert!(read(Path::new("/dev/null"), 1024).unwrap().is_empty());
        assert_eq!(
            read(Path::new("/"), 1024).unwrap_err().to_string(),
            "Is a directory"
        );
    }

    #[test]
    fn a_fifo_without_a_writer_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert!(read(&fifo, 1024).unwrap().is_empty());
        assert_eq!(lines(&fifo).unwrap().count(), 0);
    }

    #[test]
    fn lines_longer_than_the_limit_end_the_file_with_an_error() {
        let mut lines = lines(Path::new("/dev/zero")).unwrap();
        assert!(matches!(
            lines.next(),
            Some(Err(FileError::LineTooLong { line: 1 }))
        ));
        assert!(lines.next().is_none());
    }
}

//! Local files the user names. Reading (root files, CRLs, client certificates, service and
//! password files, targets files, files to inspect) is bounded: a size limit per kind of file, no
//! directory, and no wait on a FIFO that has no writer; a named pipe with a writer (a shell's
//! `<(...)`) still works. Writing (root files, converted PEM, saved chains) is atomic: a temporary
//! file beside the target, renamed over it, so that a full disk or a crash never leaves half a
//! root file; a symbolic link is written through only when asked. Nothing here knows what the
//! bytes mean.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

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
    /// An output path that is a symbolic link, which is written through only when asked.
    #[error("is a symbolic link (pass --force to write to the file it points to)")]
    Symlink,
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

/// Writes `bytes` to `path` atomically: into a new file in the same directory, then renamed over
/// `path`, keeping an existing file's permissions. A symbolic link at `path` is refused unless
/// `through_symlink`, and then the file it points to is replaced. A path that is not a regular
/// file (a terminal, a pipe) is written directly.
///
/// # Errors
/// A symbolic link not allowed, or any failure to create, write or rename; the temporary file is
/// removed and `path` left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8], through_symlink: bool) -> Result<(), FileError> {
    let mut target = path.to_path_buf();
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        if !through_symlink {
            return Err(FileError::Symlink);
        }
        target = std::fs::canonicalize(path)?;
    }
    let existing = std::fs::metadata(&target).ok();
    if existing.as_ref().is_some_and(|m| !m.is_file()) {
        if existing.as_ref().is_some_and(|m| m.is_dir()) {
            return Err(FileError::Directory);
        }
        std::fs::OpenOptions::new()
            .write(true)
            .open(&target)?
            .write_all(bytes)?;
        return Ok(());
    }
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = target.with_file_name(format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mode = existing.map_or(0o644, |m| m.permissions().mode() & 0o7777);
    let written = (|| -> io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &target)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e.into());
    }
    Ok(())
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
    fn writes_replace_the_file_whole_and_keep_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("root.crt");
        std::fs::write(&file, "old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&file, b"new", false).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn symbolic_links_are_written_through_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.crt");
        let link = dir.path().join("link.crt");
        std::fs::write(&real, "kept").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(
            write_atomic(&link, b"new", false),
            Err(FileError::Symlink)
        ));
        assert_eq!(std::fs::read(&real).unwrap(), b"kept");
        write_atomic(&link, b"new", true).unwrap();
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing_dir = dir.path().join("nope").join("root.crt");
        assert!(write_atomic(&missing_dir, b"x", false).is_err());
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

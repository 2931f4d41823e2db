//! One file per command: each reads its arguments, calls the layers below (configuration, probe,
//! report, renderers) and returns the exit code. `main.rs` only dispatches to these.

mod check;
mod explain;
mod generate;
mod inspect;
mod roots;
mod schema;
mod serve;

use std::io::Write;
use std::path::Path;

pub use check::{check, save_chain};
pub use explain::explain;
pub use generate::{completions, man};
pub use inspect::inspect;
pub use roots::roots;
pub use schema::{schema, schema_text};
pub use serve::serve;

/// The profiles a command works with: the bundled ones, each `--profile-file`, and the config
/// directory's (`$XDG_CONFIG_HOME` or `~/.config`, then `pgtls/profiles/*.toml`); in debug builds
/// the test profile of `PGTLS_TEST_PROFILE` too. Where `all` (the command shows profiles), every
/// file of the config directory must load; elsewhere one that cannot is left out with a warning.
/// Read once, at the command's start, and kept for the whole process.
///
/// # Errors
/// A profile file that cannot be used, or a name taken twice.
pub(crate) fn load_profiles(
    files: &[std::path::PathBuf],
    all: bool,
    env: &crate::config::Environment,
) -> Result<&'static crate::profiles::Profiles, Error> {
    let config = env
        .var("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env.home().map(|h| h.join(".config")));
    let dir = config.map(|c| c.join("pgtls").join("profiles"));
    let (user, left_out) = crate::profiles::load(files, dir.as_deref(), all)?;
    for e in left_out {
        eprintln!("pgtls: warning: {e} (its profiles are left out)");
    }
    let profiles = crate::profiles::Profiles::with_user(user, env.var("PGTLS_TEST_PROFILE"))?;
    // One set for the whole process, which the checks' tasks share.
    Ok(Box::leak(Box::new(profiles)))
}

use rustls::pki_types::CertificateDer;

use crate::error::Error;

/// How an output file may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Only where no file is: an existing one is refused, never silently destroyed.
    Create,
    /// Replacing what is there, through a symbolic link too (`--force`).
    Replace,
    /// Adding to what is there (`--append`); the caller merges.
    Append,
}

impl Mode {
    /// The mode `--force` and `--append` ask for.
    pub(crate) fn from_flags(force: bool, append: bool) -> Self {
        match (force, append) {
            (_, true) => Mode::Append,
            (true, false) => Mode::Replace,
            (false, false) => Mode::Create,
        }
    }
}

/// Writes certificates as one PEM file (or to `out` for "-"), each once; with
/// [`Mode::Append`], only those an existing file lacks are added to it. Returns how many
/// certificates were written or added.
///
/// # Errors
/// An existing file without --force or --append, one to append to that is not PEM, or a write
/// that fails.
pub(crate) fn write_pem(
    path: &Path,
    certs: &[(&str, &CertificateDer<'_>)],
    out: &mut dyn Write,
    mode: Mode,
) -> Result<usize, Error> {
    let existing = match mode {
        Mode::Append if path != Path::new("-") && path.exists() => {
            let bytes = crate::files::read(path, crate::files::CERTIFICATES).map_err(|e| {
                Error::Append {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                }
            })?;
            Some(bytes)
        }
        _ => None,
    };
    let (contents, count) = crate::inspect::append_pem(
        existing.as_deref().unwrap_or_default(),
        certs.iter().copied(),
    )
    .map_err(|reason| Error::Append {
        path: path.to_path_buf(),
        reason,
    })?;
    if count > 0 || existing.is_none() {
        write_to(path, &contents, out, mode)?;
    }
    Ok(count)
}

/// Writes `contents` to `path` atomically, or to `out` for "-".
pub(crate) fn write_to(
    path: &Path,
    contents: &[u8],
    out: &mut dyn Write,
    mode: Mode,
) -> Result<(), Error> {
    if path == Path::new("-") {
        out.write_all(contents)?;
        return Ok(());
    }
    // libpq's own directory (~/.postgresql), where the hints send root files, is made when it
    // is missing, as private as ssh makes ~/.ssh; any other directory must be there.
    if let Some(parent) = path.parent()
        && parent.file_name().is_some_and(|n| n == ".postgresql")
        && !parent.exists()
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(parent)
            .map_err(|e| Error::Write {
                path: path.to_path_buf(),
                source: e.into(),
            })?;
    }
    let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if mode == Mode::Create && !link && path.exists() {
        return Err(Error::Exists(path.to_path_buf()));
    }
    crate::files::write_atomic(path, contents, mode != Mode::Create).map_err(|source| {
        Error::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

//! One file per command: each reads its arguments, calls the layers below (configuration, probe,
//! report, renderers) and returns the exit code. `main.rs` only dispatches to these.

mod check;
mod explain;
mod generate;
mod inspect;
mod roots;

use std::io::Write;
use std::path::Path;

pub use check::{check, save_chain};
pub use explain::explain;
pub use generate::{completions, man};
pub use inspect::inspect;
pub use roots::roots;

use crate::error::Error;

/// Writes `contents` to `path` atomically, or to `out` for "-".
pub(crate) fn write_to(
    path: &Path,
    contents: &[u8],
    out: &mut dyn Write,
    force: bool,
) -> Result<(), Error> {
    if path == Path::new("-") {
        out.write_all(contents)?;
        return Ok(());
    }
    crate::files::write_atomic(path, contents, force).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

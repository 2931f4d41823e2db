//! `pgtls roots`: the bundled provider roots, listed or written as one PEM file.

use std::io::Write;
use std::path::Path;

use super::write_to;
use crate::cli::{Format, RootsArgs};
use crate::clock::Clock;
use crate::error::Error;
use crate::exit::Code;
use crate::inspect::{self, InspectError};
use crate::{bundled, render};

/// `pgtls roots`.
///
/// # Errors
/// An unknown profile, or an output file that cannot be written.
pub fn roots(args: &RootsArgs, clock: Clock, out: &mut dyn Write) -> Result<Code, Error> {
    let profiles = match &args.profile {
        Some(name) => vec![
            bundled::profile(name).ok_or_else(|| InspectError::UnknownProfile {
                name: name.to_string(),
                known: bundled::names(),
            })?,
        ],
        None => bundled::profiles(),
    };
    let Some(path) = &args.output else {
        let listing = bundled::listing(&profiles, clock.unix());
        match args.format {
            Format::Text => render::roots_text(&listing, out)?,
            Format::Json => render::json(&listing, out)?,
        }
        return Ok(Code::Ok);
    };
    let mut roots: Vec<&bundled::Root> = Vec::new();
    for root in profiles.iter().flat_map(|p| &p.roots) {
        if !roots.iter().any(|r| r.der == root.der) {
            roots.push(root);
        }
    }
    let pem = inspect::to_pem(roots.iter().map(|r| (r.name.as_str(), &r.der)));
    write_to(path, &pem, out, args.force)?;
    if path != Path::new("-") {
        let which = args
            .profile
            .as_deref()
            .map_or("all profiles".to_string(), |p| format!("profile {p}"));
        let count = match roots.len() {
            1 => "1 root certificate".to_string(),
            n => format!("{n} root certificates"),
        };
        writeln!(out, "wrote {count} ({which}) to {}", path.display())?;
    }
    Ok(Code::Ok)
}

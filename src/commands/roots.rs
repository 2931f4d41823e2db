//! `pgtls roots`: the bundled provider roots, listed or written as one PEM file.

use std::io::Write;
use std::path::Path;

use super::write_to;
use rustls::pki_types::CertificateDer;

use crate::cli::{RootsArgs, RootsFormat};
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
            RootsFormat::Text => render::roots_text(&listing, out)?,
            RootsFormat::Json => render::json(&listing, out)?,
            RootsFormat::Pkcs12 => return Err(Error::BinaryNeedsFile),
        }
        return Ok(Code::Ok);
    };
    let mut roots: Vec<&bundled::Root> = Vec::new();
    for root in profiles.iter().flat_map(|p| &p.roots) {
        if !roots.iter().any(|r| r.der == root.der) {
            roots.push(root);
        }
    }
    let contents = match args.format {
        RootsFormat::Pkcs12 => {
            let aliases: Vec<String> = roots.iter().map(|r| alias(&r.name)).collect();
            let entries: Vec<(&str, &CertificateDer<'static>)> = aliases
                .iter()
                .map(String::as_str)
                .zip(roots.iter().map(|r| &r.der))
                .collect();
            crate::keystore::write_pkcs12(&entries, &args.storepass).map_err(|e| Error::Write {
                path: path.to_path_buf(),
                source: crate::files::FileError::Io(std::io::Error::other(e.to_string())),
            })?
        }
        RootsFormat::Text | RootsFormat::Json => {
            inspect::to_pem(roots.iter().map(|r| (r.name.as_str(), &r.der))).into_bytes()
        }
    };
    write_to(path, &contents, out, args.force)?;
    if path != Path::new("-") {
        let which = args
            .profile
            .as_deref()
            .map_or("all profiles".to_string(), |p| format!("profile {p}"));
        let count = match roots.len() {
            1 => "1 root certificate".to_string(),
            n => format!("{n} root certificates"),
        };
        let kind = match args.format {
            RootsFormat::Pkcs12 => " as a PKCS#12 truststore",
            RootsFormat::Text | RootsFormat::Json => "",
        };
        writeln!(out, "wrote {count} ({which}){kind} to {}", path.display())?;
    }
    Ok(Code::Ok)
}

/// A keystore alias for a root, as keytool users write them: `digicertglobalrootg2`.
fn alias(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

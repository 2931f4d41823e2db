//! `pgtls roots`: the bundled provider roots, listed or written as one PEM file.

use std::io::Write;
use std::path::Path;

use super::{Mode, write_pem, write_to};
use rustls::pki_types::CertificateDer;

use crate::cli::{RootsArgs, RootsFormat};
use crate::clock::Clock;
use crate::error::Error;
use crate::exit::Code;
use crate::profiles::{self, Profile};
use crate::render;

/// `pgtls roots`.
///
/// # Errors
/// An unknown profile, or an output file that cannot be written.
pub fn roots(
    args: &RootsArgs,
    env: &crate::config::Environment,
    clock: Clock,
    out: &mut dyn Write,
) -> Result<Code, Error> {
    let profiles = super::load_profiles(&args.profile_file, true, env)?;
    let chosen: Vec<&Profile> = match &args.profile {
        Some(name) => vec![profiles.named(name)?],
        None => profiles.all().iter().collect(),
    };
    let Some(path) = &args.output else {
        let listing = profiles::listing(&chosen, clock.unix());
        match args.format {
            RootsFormat::Text => render::roots_text(&listing, args.profile.is_some(), out)?,
            RootsFormat::Json => render::json(&listing, clock.unix(), out)?,
            RootsFormat::Pkcs12 => return Err(Error::BinaryNeedsFile),
        }
        return Ok(Code::Ok);
    };
    let mut roots: Vec<&profiles::Root> = Vec::new();
    for root in chosen.iter().flat_map(|p| p.roots()) {
        if !roots.iter().any(|r| r.der == root.der) {
            roots.push(root);
        }
    }
    if roots.is_empty() {
        let profile = chosen
            .first()
            .expect("only a named profile can have no roots");
        return Err(Error::Usage(format!(
            "profile {} bundles no roots; {}",
            profile.name,
            profile.download.as_deref().unwrap_or("ask the provider")
        )));
    }
    let mode = Mode::from_flags(args.force, args.append);
    let written = match args.format {
        RootsFormat::Pkcs12 => write_truststore(path, &roots, args, out)?,
        RootsFormat::Text | RootsFormat::Json => {
            let certs: Vec<(&str, &CertificateDer<'static>)> =
                roots.iter().map(|r| (r.name.as_str(), &r.der)).collect();
            write_pem(path, &certs, out, mode)?
        }
    };
    if path == Path::new("-") {
        return Ok(Code::Ok);
    }
    say_written(args, mode, (path, written), out)?;
    Ok(Code::Ok)
}

/// Writes `roots` as a PKCS#12 truststore; returns how many.
///
/// # Errors
/// `--append` (a truststore is written anew), or a file that cannot be written.
fn write_truststore(
    path: &Path,
    roots: &[&profiles::Root],
    args: &RootsArgs,
    out: &mut dyn Write,
) -> Result<usize, Error> {
    let mode = Mode::from_flags(args.force, args.append);
    if mode == Mode::Append {
        return Err(Error::Append {
            path: path.to_path_buf(),
            reason: "--append adds to PEM files; write the truststore anew with --force".into(),
        });
    }
    let aliases: Vec<String> = roots.iter().map(|r| alias(&r.name)).collect();
    let entries: Vec<(&str, &CertificateDer<'static>)> = aliases
        .iter()
        .map(String::as_str)
        .zip(roots.iter().map(|r| &r.der))
        .collect();
    let store = crate::keystore::write_pkcs12(&entries, &args.storepass)?;
    write_to(path, &store, out, mode)?;
    Ok(roots.len())
}

/// What was written where: `wrote 4 root certificates (profile azure) to FILE`.
fn say_written(
    args: &RootsArgs,
    mode: Mode,
    (path, written): (&Path, usize),
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let which = args
        .profile
        .as_deref()
        .map_or("all profiles".to_string(), |p| format!("profile {p}"));
    let count = match written {
        1 => "1 root certificate".to_string(),
        n => format!("{n} root certificates"),
    };
    let path = path.display();
    match (mode, args.format) {
        (_, RootsFormat::Pkcs12) => writeln!(
            out,
            "wrote {count} ({which}) as a PKCS#12 truststore to {path}"
        ),
        (Mode::Append, _) if written == 0 => writeln!(
            out,
            "{path} already holds every root certificate of {which}; nothing added"
        ),
        (Mode::Append, _) => writeln!(out, "added {count} ({which}) to {path}"),
        _ => writeln!(out, "wrote {count} ({which}) to {path}"),
    }
}

/// A keystore alias for a root, as keytool users write them: `digicertglobalrootg2`.
fn alias(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

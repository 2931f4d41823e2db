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
    if args.format == RootsFormat::Pkcs12 {
        write_truststore(path, &roots, (args, mode, clock), out)?;
        return Ok(Code::Ok);
    }
    let certs: Vec<(&str, &CertificateDer<'static>)> =
        roots.iter().map(|r| (r.name.as_str(), &r.der)).collect();
    let written = write_pem(path, &certs, out, mode)?;
    if path == Path::new("-") {
        return Ok(Code::Ok);
    }
    say_written(args, mode, (path, written), out)?;
    Ok(Code::Ok)
}

/// Writes `roots` as a Java truststore: a new PKCS#12 file, or with `--append` added to the
/// truststore already there (JKS or PKCS#12), whose entries all stay; and says what it did.
///
/// # Errors
/// A wrong `--storepass` for the existing store, a store pgtls does not rewrite, or a file that
/// cannot be written.
fn write_truststore(
    path: &Path,
    roots: &[&profiles::Root],
    (args, mode, clock): (&RootsArgs, Mode, Clock),
    out: &mut dyn Write,
) -> Result<(), Error> {
    let aliases: Vec<String> = roots.iter().map(|r| alias(&r.name)).collect();
    let entries: Vec<(&str, &CertificateDer<'static>)> = aliases
        .iter()
        .map(String::as_str)
        .zip(roots.iter().map(|r| &r.der))
        .collect();
    let which = which(args);
    let shown = path.display();
    let existed = path.exists();
    if mode == Mode::Append && existed {
        let bytes =
            crate::files::read(path, crate::files::CERTIFICATES).map_err(|e| Error::Append {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let now_ms = u64::try_from(clock.unix())
            .unwrap_or(0)
            .saturating_mul(1000);
        let (kind, store, added) =
            crate::keystore::append_trusted(&bytes, &args.storepass, &entries, now_ms).map_err(
                |e| Error::Append {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                },
            )?;
        let kind = match kind {
            crate::keystore::Kind::Jks => "JKS",
            crate::keystore::Kind::Pkcs12 => "PKCS#12",
        };
        if added == 0 {
            writeln!(
                out,
                "the {kind} truststore {shown} already holds every root certificate of {which}; nothing added"
            )?;
            return Ok(());
        }
        write_to(path, &store, out, mode)?;
        writeln!(
            out,
            "added {} ({which}) to the {kind} truststore {shown}, keeping every entry it held",
            crate::render::counted(added, "root certificate")
        )?;
        return Ok(());
    }
    let store = crate::keystore::write_pkcs12(&entries, &args.storepass)?;
    write_to(path, &store, out, mode)?;
    let replaced = if existed {
        " (the file it replaced is gone; --append adds to a truststore and keeps its entries)"
    } else {
        ""
    };
    writeln!(
        out,
        "wrote {} ({which}) as a PKCS#12 truststore to {shown}{replaced}",
        crate::render::counted(roots.len(), "root certificate")
    )?;
    Ok(())
}

/// Which roots: `profile azure`, or `all profiles`.
fn which(args: &RootsArgs) -> String {
    args.profile
        .as_deref()
        .map_or("all profiles".to_string(), |p| format!("profile {p}"))
}

/// What was written where: `wrote 4 root certificates (profile azure) to FILE`.
fn say_written(
    args: &RootsArgs,
    mode: Mode,
    (path, written): (&Path, usize),
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let which = which(args);
    let count = crate::render::counted(written, "root certificate");
    let path = path.display();
    match mode {
        Mode::Append if written == 0 => writeln!(
            out,
            "{path} already holds every root certificate of {which}; nothing added"
        ),
        Mode::Append => writeln!(out, "added {count} ({which}) to {path}"),
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

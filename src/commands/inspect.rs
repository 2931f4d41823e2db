//! `pgtls inspect`: certificate files described, converted to PEM, or linted as a root file.

use std::io::Write;
use std::path::Path;

use super::{Mode, write_pem};
use crate::cli::{Format, InspectArgs};
use crate::clock::Clock;
use crate::error::Error;
use crate::exit::Code;
use crate::report::Severity;
use crate::{inspect, render};

/// `pgtls inspect`.
///
/// # Errors
/// A file that holds no certificate, an unknown profile, or an output file that cannot be written.
pub fn inspect(
    args: &InspectArgs,
    env: &crate::config::Environment,
    clock: Clock,
    out: &mut dyn Write,
) -> Result<Code, Error> {
    let profiles = super::load_profiles(&args.profile_file, args.lint, env)?;
    // An unknown profile is the mistake to report, before any file is read.
    let profile = args
        .profile
        .as_deref()
        .map(|name| profiles.named(name))
        .transpose()?;
    let files = args
        .files
        .iter()
        .map(|f| inspect::read(f, &args.storepass))
        .collect::<Result<Vec<_>, _>>()?;
    if args.to_pem {
        let names: Vec<(String, &rustls::pki_types::CertificateDer<'static>)> = files
            .iter()
            .flat_map(|f| &f.certs)
            .map(|c| {
                (
                    crate::certinfo::describe(c, 0).map_or_else(String::new, |i| i.subject),
                    c,
                )
            })
            .collect();
        let certs: Vec<(&str, &rustls::pki_types::CertificateDer<'static>)> =
            names.iter().map(|(n, c)| (n.as_str(), *c)).collect();
        let path = args.output.as_deref().unwrap_or(Path::new("-"));
        let mode = Mode::from_flags(args.force, args.append);
        let written = write_pem(path, &certs, out, mode)?;
        if path != Path::new("-") {
            say_converted(path, mode, written, out)?;
        }
        return Ok(Code::Ok);
    }
    let mut report = inspect::describe(&files, clock.unix());
    let mut code = Code::Ok;
    if args.lint {
        let findings = inspect::lint(&report, profile, i64::from(args.warn_days), &clock.date());
        // Information (a recommended root the file lacks) does not fail the lint.
        if findings.iter().any(|f| f.severity > Severity::Info) {
            code = Code::PolicyFailed;
        }
        report.lint = Some(findings);
        report.profile_coverage = profile.map(|p| inspect::coverage(&report, p));
    }
    let written = match args.format {
        Format::Text => render::inspect_text(&report, out),
        Format::Json => render::json(&report, clock.unix(), out),
    };
    crate::error::after_output(
        code,
        written.and_then(|()| out.flush()).map_err(Error::from),
    )
}

/// What `--to-pem -o FILE` wrote: `wrote 2 certificates as PEM to FILE`.
fn say_converted(
    path: &Path,
    mode: Mode,
    written: usize,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let count = crate::render::counted(written, "certificate");
    let path = path.display();
    match mode {
        Mode::Append if written == 0 => {
            writeln!(out, "{path} already holds every certificate; nothing added")
        }
        Mode::Append => writeln!(out, "added {count} as PEM to {path}"),
        _ => writeln!(out, "wrote {count} as PEM to {path}"),
    }
    .map_err(Error::from)
}

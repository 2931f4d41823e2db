//! The `roots` and `inspect` commands: read, describe, write. Kept out of `main.rs` so that it
//! stays a list of steps.

use std::io::Write;
use std::path::Path;

use crate::cli::{CheckArgs, CheckFormat, Format, InspectArgs, RootsArgs};
use crate::config::{self, Environment};
use crate::exit::{Code, Error};
use crate::inspect::{self, InspectError};
use crate::probe::{self, Input};
use crate::{bundled, render};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Writes `text` to `path` atomically, or to `out` for "-".
fn write_to(path: &Path, text: &str, out: &mut dyn Write, force: bool) -> Result<(), Error> {
    if path == Path::new("-") {
        out.write_all(text.as_bytes())?;
        return Ok(());
    }
    crate::files::write_atomic(path, text.as_bytes(), force).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// `pgtls roots`.
///
/// # Errors
/// An unknown profile, or an output file that cannot be written.
pub fn roots(args: &RootsArgs, out: &mut dyn Write) -> Result<Code, Error> {
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
        let listing = bundled::listing(&profiles, now());
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

/// `pgtls inspect`.
///
/// # Errors
/// A file that holds no certificate, an unknown profile, or an output file that cannot be written.
pub fn inspect(args: &InspectArgs, out: &mut dyn Write) -> Result<Code, Error> {
    let files = args
        .files
        .iter()
        .map(|f| inspect::read(f))
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
        let pem = inspect::to_pem(names.iter().map(|(n, c)| (n.as_str(), *c)));
        let path = args.output.as_deref().unwrap_or(Path::new("-"));
        write_to(path, &pem, out, args.force)?;
        return Ok(Code::Ok);
    }
    let mut report = inspect::describe(&files, now());
    let mut code = Code::Ok;
    if args.lint {
        let findings = inspect::lint(&report, args.profile.as_deref(), i64::from(args.warn_days))?;
        if !findings.is_empty() {
            code = Code::PolicyFailed;
        }
        report.lint = Some(findings);
    }
    let written = match args.format {
        Format::Text => render::inspect_text(&report, out),
        Format::Json => render::json(&report, out),
    };
    crate::exit::after_output(
        code,
        written.and_then(|()| out.flush()).map_err(Error::from),
    )
}

/// `check --save-chain FILE`: every target's presented chain, as PEM, in report order. When no
/// server presented a certificate the file is left as it was; returns whether it was written.
///
/// # Errors
/// A file that cannot be written (it is then left as it was).
pub fn save_chain(report: &crate::report::Report, path: &Path, force: bool) -> Result<bool, Error> {
    let chains: Vec<(String, rustls::pki_types::CertificateDer<'static>)> = report
        .targets
        .iter()
        .enumerate()
        .flat_map(|(n, t)| {
            t.presented
                .iter()
                .zip(&t.certificates)
                .map(move |(der, info)| {
                    let name =
                        format!("target {} ({}:{}): {}", n + 1, t.host, t.port, info.subject);
                    (name, rustls::pki_types::CertificateDer::from(der.clone()))
                })
        })
        .collect();
    if chains.is_empty() {
        return Ok(false);
    }
    let pem = inspect::to_pem(chains.iter().map(|(n, c)| (n.as_str(), c)));
    crate::files::write_atomic(path, pem.as_bytes(), force).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(true)
}

/// The connection strings of a targets file (or standard input for "-"), read as they are
/// needed: each line resolved into an input, a line that cannot be read into a refused one.
fn targets_file<'a>(
    path: &'a Path,
    env: &'a Environment,
) -> Result<impl Iterator<Item = Input> + 'a, Error> {
    let lines = crate::files::lines(path).map_err(|source| Error::Targets {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(lines.enumerate().filter_map(move |(n, line)| {
        let origin = format!("{}:{}", path.display(), n + 1);
        let conninfo = match line {
            Ok(line) => line.trim().to_string(),
            Err(e) => {
                let message = format!("could not read {}: {e}", path.display());
                return Some(Input::Invalid { origin, message });
            }
        };
        if conninfo.is_empty() || conninfo.starts_with('#') {
            return None;
        }
        Some(match config::resolve_to_connect(&conninfo, env) {
            Ok(resolved) => Input::Resolved {
                resolved: Box::new(resolved),
                origin: Some(origin),
            },
            Err(e) => Input::Invalid {
                origin,
                message: e.to_string(),
            },
        })
    }))
}

/// `pgtls check`.
///
/// # Errors
/// A bad connection string given as an argument, an unusable trust file, an unreadable targets
/// file, or output that cannot be written. A bad line of a targets file is a failed target.
pub fn check(args: &CheckArgs, env: &Environment, out: &mut dyn Write) -> Result<Code, Error> {
    let mut inputs = Vec::new();
    for conninfo in &args.conninfo {
        inputs.push(Input::Resolved {
            resolved: Box::new(config::resolve_to_connect(conninfo, env)?),
            origin: None,
        });
    }
    let from_file = match &args.targets {
        Some(path) => Some(targets_file(path, env)?),
        None => None,
    };
    if from_file.is_none() && inputs.is_empty() {
        inputs.push(Input::Resolved {
            resolved: Box::new(config::resolve_to_connect("", env)?),
            origin: None,
        });
    }
    let run = probe::CheckOptions {
        default_timeout: std::time::Duration::from_secs(args.timeout),
        diagnose_trust: args.diagnose_trust,
        audit: args.audit,
        warn_days: i64::from(args.warn_days),
        fail_on: args.fail_on.map(|f| match f {
            crate::cli::FailOn::Warning => crate::report::Severity::Warning,
            crate::cli::FailOn::Error => crate::report::Severity::Error,
        }),
    };
    let inputs = inputs.into_iter().chain(from_file.into_iter().flatten());
    let report = probe::check_all(inputs, run, args.concurrency as usize)?;
    let code = crate::exit::report_code(&report);
    let written = match args.format {
        CheckFormat::Text => render::check_text(&report, out),
        CheckFormat::Json => render::json(&report, out),
        CheckFormat::Prometheus => render::prometheus(&report, now(), out),
        CheckFormat::Junit => render::junit(&report, out),
    };
    let code = crate::exit::after_output(
        code,
        written.and_then(|()| out.flush()).map_err(Error::from),
    )?;
    // The report stands whatever happens to the chain file; a failure to save it is reported
    // after it, and the exit code is at least that of a usage error.
    let Some(path) = &args.save_chain else {
        return Ok(code);
    };
    match save_chain(&report, path, args.force) {
        Ok(true) => Ok(code),
        Ok(false) => {
            eprintln!(
                "pgtls: note: no server presented a certificate; {} was left as it was",
                render::sanitize::clean(&path.display().to_string())
            );
            Ok(code)
        }
        Err(err) => {
            crate::exit::print_error(&err);
            Ok(code.max(Code::Usage))
        }
    }
}

/// `pgtls completions SHELL`: the completion script, generated from the command definitions.
///
/// # Errors
/// Output that cannot be written.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<Code, Error> {
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "pgtls", out);
    Ok(Code::Ok)
}

/// `pgtls man`: the manual page, generated from the command definitions, subcommands included.
///
/// # Errors
/// Output that cannot be written.
pub fn man(out: &mut dyn Write) -> Result<Code, Error> {
    let command = <crate::cli::Cli as clap::CommandFactory>::command();
    let page = clap_mangen::Man::new(command.clone());
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    // The commands are sections of this page, not pages of their own as clap_mangen would name them.
    writeln!(out, ".SH COMMANDS")?;
    for sub in command.get_subcommands() {
        let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
        writeln!(
            out,
            ".TP\n\\fBpgtls {}\\fR\n{}",
            sub.get_name(),
            about.replace('-', "\\-")
        )?;
    }
    // The exit codes as a section of their own rather than `--help`'s closing text.
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    writeln!(
        out,
        "With several targets, the exit code is the largest of theirs."
    )?;
    for (code, meaning) in crate::exit::MEANINGS {
        writeln!(out, ".TP\n{}\n{meaning}", code as u8)?;
    }
    page.render_version_section(out)?;
    for sub in command
        .get_subcommands()
        .filter(|s| !matches!(s.get_name(), "completions" | "man"))
    {
        writeln!(out, ".SH \"PGTLS {}\"", sub.get_name().to_uppercase())?;
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            writeln!(out, "{}", about.to_string().replace('\n', "\n.PP\n"))?;
        }
        let page = clap_mangen::Man::new(sub.clone().bin_name(format!("pgtls {}", sub.get_name())));
        page.render_synopsis_section(out)?;
        page.render_options_section(out)?;
    }
    Ok(Code::Ok)
}

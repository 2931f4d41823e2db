//! `pgtls check`: connection strings from the command line and a targets file, checked, rendered
//! in the chosen format, and the chain saved if asked.

use std::io::Write;
use std::path::Path;

use crate::cli::{CheckArgs, CheckFormat, OrderArg};
use crate::clients::ClientChoice;
use crate::clock::Clock;
use crate::config::Environment;
use crate::error::Error;
use crate::exit::Code;
use crate::fleet::{self, Input};
use crate::inspect;
use crate::render;
use crate::report::{Report, Tally, TargetReport};

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
        // A refused string (no port) reached no server and has no chain.
        .filter_map(|(n, t)| Some((n, t, t.port?)))
        .flat_map(|(n, t, port)| {
            t.presented
                .iter()
                .zip(&t.certificates)
                .map(move |(der, info)| {
                    let name = format!("target {} ({}:{port}): {}", n + 1, t.host, info.subject);
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

/// A targets-file line's own names: `CONNINFO  # also-names=NAME,...` (a `#` after a space,
/// outside quotes, where libpq's strings never have one).
///
/// # Errors
/// A `#` part that is not `also-names=...`.
fn line_names(line: &str) -> Result<(&str, Option<Vec<String>>), String> {
    let mut quoted = false;
    let mut previous = ' ';
    let mut at = None;
    for (i, c) in line.char_indices() {
        match c {
            '\'' if previous != '\\' => quoted = !quoted,
            '#' if !quoted && previous.is_whitespace() => {
                at = Some(i);
                break;
            }
            _ => {}
        }
        previous = c;
    }
    let Some(at) = at else {
        return Ok((line, None));
    };
    let options = line[at + 1..].trim();
    match options.strip_prefix("also-names=") {
        Some(names) => Ok((
            line[..at].trim_end(),
            Some(crate::expect::names(&[names.to_string()])),
        )),
        None => Err(format!(
            "after \"#\" a targets-file line takes also-names=NAME,..., not \"{}\"",
            crate::sanitize::clean(options.split('=').next().unwrap_or(""))
        )),
    }
}

/// The connection strings of a targets file (or standard input for "-"), read as they are
/// needed: each line resolved into an input, a line that cannot be read into a refused one.
fn targets_file<'a>(
    path: &'a Path,
    env: &'a Environment,
    (choice, run): (
        Option<ClientChoice>,
        Option<&'a crate::expect::Expectations>,
    ),
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
                return Some(Input::Invalid {
                    origin,
                    message,
                    hint: None,
                });
            }
        };
        if conninfo.is_empty() || conninfo.starts_with('#') {
            return None;
        }
        let (conninfo, names) = match line_names(&conninfo) {
            Ok(split) => split,
            Err(message) => {
                return Some(Input::Invalid {
                    origin,
                    message,
                    hint: None,
                });
            }
        };
        // The line's names replace the run's --also-names; the rest of the run's stays.
        let expect = names.map(|also_names| {
            std::sync::Arc::new(crate::expect::Expectations {
                also_names,
                ..run.cloned().unwrap_or_default()
            })
        });
        Some(match crate::clients::read_string(conninfo, env, choice) {
            Ok((resolved, clients)) => Input::Resolved {
                resolved: Box::new(resolved),
                origin: Some(origin),
                clients,
                expect,
            },
            Err(e) => Input::refused(origin, e),
        })
    }))
}

/// A connection string from the command line. For people (text) one that cannot be used stops
/// the run with its error; for machines (json, prometheus, junit) it becomes a failed target of a
/// complete document, named by its position, with the same exit code.
fn argument(
    n: usize,
    conninfo: &str,
    env: &Environment,
    document: bool,
    choice: Option<ClientChoice>,
) -> Result<Input, Error> {
    let origin = document.then(|| format!("argument {n}"));
    match (crate::clients::read_string(conninfo, env, choice), origin) {
        (Ok((resolved, clients)), origin) => Ok(Input::Resolved {
            resolved: Box::new(resolved),
            origin,
            clients,
            expect: None,
        }),
        (Err(e), Some(origin)) => Ok(Input::refused(origin, e)),
        (Err(e), None) => Err(e.into()),
    }
}

/// The order targets are passed on in: `--order`, else input for text and finish for jsonl.
///
/// # Errors
/// `--order finish` with a document format, which is always in input order.
fn order(args: &CheckArgs) -> Result<fleet::Order, Error> {
    Ok(match (args.order, args.format) {
        (Some(OrderArg::Finish), CheckFormat::Text | CheckFormat::Jsonl) => fleet::Order::Finish,
        (Some(OrderArg::Finish), _) => {
            return Err(Error::Usage(
                "--order finish applies to --format text and jsonl; json, prometheus and junit documents are in input order".into(),
            ));
        }
        (None, CheckFormat::Jsonl) => fleet::Order::Finish,
        _ => fleet::Order::Input,
    })
}

/// One target as a line of `--format jsonl`, flushed so that a reader sees it at once.
fn jsonl(t: &TargetReport, out: &mut dyn Write) -> std::io::Result<()> {
    if t.port.is_none() {
        let value = crate::report::target_json(t).map_err(std::io::Error::other)?;
        crate::render::json_line(&value, out)?;
    } else {
        crate::render::json_line(t, out)?;
    }
    writeln!(out)?;
    out.flush()
}

/// `--expect-cert` and `--also-names`, read before anything connects: a file that holds no
/// certificate is a usage error.
fn expectations(
    args: &CheckArgs,
) -> Result<Option<std::sync::Arc<crate::expect::Expectations>>, Error> {
    let cert = match &args.expect_cert {
        Some(path) => Some(crate::inspect::expected_cert(path)?),
        None => None,
    };
    let expect = crate::expect::Expectations {
        cert,
        also_names: crate::expect::names(&args.also_names),
        sni_names: crate::expect::names(&args.sni_names),
    };
    Ok((!expect.is_empty()).then(|| std::sync::Arc::new(expect)))
}

/// `pgtls check`.
///
/// # Errors
/// With text output, a bad connection string given as an argument or an unusable trust file; an
/// unreadable targets file, or output that cannot be written. A bad line of a targets file is a
/// failed target, and so is a bad argument in the other formats.
pub fn check(
    args: &CheckArgs,
    env: &Environment,
    clock: Clock,
    out: &mut dyn Write,
) -> Result<Code, Error> {
    let profiles = super::load_profiles(&args.profile_file, false, env)?;
    let expect = expectations(args)?;
    let settings = args
        .run
        .settings()
        .map_err(|e| Error::Usage(e.to_string()))?;
    // --sslmode stands where PGSSLMODE would.
    let env = &match settings.sslmode {
        Some(mode) => env.with_var("PGSSLMODE", mode.as_str()),
        None => env.clone(),
    };
    let client = settings.client;
    // Machine formats report a string that cannot be used as a failed target.
    let machine = args.format != CheckFormat::Text;
    // Documents are written whole at the end, in input order.
    let document = matches!(
        args.format,
        CheckFormat::Json | CheckFormat::Prometheus | CheckFormat::Junit
    );
    let mut inputs = Vec::new();
    for (n, conninfo) in args.conninfo.iter().enumerate() {
        inputs.push(argument(n + 1, conninfo, env, machine, client)?);
    }
    // A targets file that cannot be read stops a text run; in a document it is a failed target
    // named by the file, so that CI still gets a complete report with exit code 2.
    let from_file = match &args.targets {
        Some(path) => match targets_file(path, env, (client, expect.as_deref())) {
            Ok(lines) => Some(lines),
            Err(e) if machine => {
                inputs.push(Input::Invalid {
                    origin: path.display().to_string(),
                    message: e.to_string(),
                    hint: e.hint(),
                });
                None
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    if args.targets.is_none() && inputs.is_empty() {
        inputs.push(argument(1, "", env, machine, client)?);
    }
    let run = settings.check;
    let order = order(args)?;
    let inputs = inputs.into_iter().chain(from_file.into_iter().flatten());
    let mut tally = Tally::default();
    let mut text = render::TextStream::new(args.verbose);
    let mut kept: Vec<TargetReport> = Vec::new();
    let mut written: std::io::Result<()> = Ok(());
    let keep = document || args.save_chain.is_some();
    let finished = {
        let sink = |position: usize, t: TargetReport| {
            tally.add(&t);
            let t = match args.format {
                CheckFormat::Jsonl if written.is_ok() => {
                    written = jsonl(&t, out);
                    t
                }
                CheckFormat::Text if written.is_ok() => {
                    // The text stream takes the report; it is copied only to be kept as well.
                    let copy = keep.then(|| t.clone());
                    written = text.target(position, t, out).and_then(|()| out.flush());
                    match copy {
                        Some(copy) => copy,
                        None => return,
                    }
                }
                _ => t,
            };
            if keep {
                kept.push(t);
            }
        };
        let stream = fleet::Stream {
            order,
            sink,
            progress: fleet::progress_wanted(args.quiet, env),
        };
        let ctx = crate::judge::Context {
            clock,
            profiles,
            expect: expect.clone(),
        };
        fleet::check_all(inputs, run, args.concurrency as usize, ctx, stream)?
    };
    let report = Report { targets: kept };
    if written.is_ok() {
        written = match args.format {
            CheckFormat::Text => text.finish(out),
            CheckFormat::Jsonl => Ok(()),
            CheckFormat::Json => render::json(&report, clock.unix(), out),
            CheckFormat::Prometheus => render::prometheus(&report, clock.unix(), out),
            CheckFormat::Junit => render::junit(&report, out),
        };
    }
    let code = match (finished, settings.exit_on) {
        (fleet::Finished::Interrupted, _) => Code::Interrupted,
        (_, crate::run::ExitOn::All) => tally.all(),
        (_, crate::run::ExitOn::Libpq) => tally.libpq(),
    };
    let code = crate::error::after_output(
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
                crate::sanitize::clean(&path.display().to_string())
            );
            Ok(code)
        }
        Err(err) => {
            crate::error::print_error(&err);
            Ok(code.max(Code::Usage))
        }
    }
}

#[cfg(test)]
mod line_tests {
    use super::line_names;

    #[test]
    fn a_targets_line_may_name_its_own_also_names_after_a_hash() {
        // (line, the connection string, its names, or the error)
        type Case<'a> = (&'a str, Result<(&'a str, Option<&'a [&'a str]>), &'a str>);
        let cases: [Case; 6] = [
            ("host=db", Ok(("host=db", None))),
            (
                "host=db  # also-names=db-ro, db-pooler",
                Ok(("host=db", Some(&["db-ro", "db-pooler"][..]))),
            ),
            (
                "host=db password='a #b'",
                Ok(("host=db password='a #b'", None)),
            ),
            ("host=db#x", Ok(("host=db#x", None))),
            ("host=db # expect-cert=x", Err("not \"expect-cert\"")),
            (
                "postgresql://db/app # also-names=db-rw",
                Ok(("postgresql://db/app", Some(&["db-rw"][..]))),
            ),
        ];
        for (line, want) in cases {
            match (line_names(line), want) {
                (Ok((conninfo, names)), Ok((want_conninfo, want_names))) => {
                    assert_eq!(conninfo, want_conninfo, "{line}");
                    let want_names =
                        want_names.map(|n| n.iter().map(|s| s.to_string()).collect::<Vec<_>>());
                    assert_eq!(names, want_names, "{line}");
                }
                (Err(e), Err(want)) => assert!(e.ends_with(want), "{line}: {e}"),
                (got, _) => panic!("{line}: {got:?}"),
            }
        }
    }
}

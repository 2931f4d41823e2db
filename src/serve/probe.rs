//! One probe: the target a scrape names (configured, or ad hoc where `allow_any_target` allows
//! it), checked with its module's settings within the scrape's deadline, as Prometheus text.

use std::time::{Duration, Instant};

use super::config::{Config, Module, Password, TargetSpec};
use crate::clock::Clock;
use crate::config::{Environment, HostKind};
use crate::exit::Code;
use crate::fleet::{self, Input};

/// What Prometheus leaves out of its scrape timeout for the answer to travel
/// (blackbox_exporter's `timeout_offset`).
pub const TIMEOUT_OFFSET: Duration = Duration::from_millis(500);
/// The least time a probe gets.
const MIN_TIMEOUT: Duration = Duration::from_millis(500);

/// A probe that cannot run, with the HTTP status that says why.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No such target (404): nothing connects.
    UnknownTarget(String),
    /// A request that is not a probe (400).
    BadRequest(String),
}

/// What a scrape asks for, resolved against the configuration.
#[derive(Debug)]
pub struct Request {
    /// The target's name as configured, or the connection string of an ad hoc target.
    pub target: String,
    /// The module's name.
    pub module_name: String,
    /// The module.
    pub module: Module,
    /// The target.
    pub spec: TargetSpec,
}

/// Reads `target` and `module` from a query string.
///
/// # Errors
/// A query without a target, with a parameter twice or one the exporter does not take.
pub fn parse_query(query: Option<&str>) -> Result<(String, Option<String>), Refusal> {
    let mut target = None;
    let mut module = None;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| Refusal::BadRequest(format!("malformed query: {e}")))?;
    for (key, value) in pairs {
        let slot = match key.as_str() {
            "target" => &mut target,
            "module" => &mut module,
            other => {
                return Err(Refusal::BadRequest(format!(
                    "unknown parameter \"{}\": /probe takes target and module",
                    crate::sanitize::clean(other)
                )));
            }
        };
        if slot.replace(value).is_some() {
            return Err(Refusal::BadRequest(format!("{key} given twice")));
        }
    }
    match target {
        Some(target) if !target.is_empty() => Ok((target, module)),
        _ => Err(Refusal::BadRequest(
            "a probe needs a target: /probe?target=NAME".into(),
        )),
    }
}

/// The keywords that name files on the exporter's host; an ad hoc target may set none of them
/// (but `sslrootcert=system`).
const LOCAL_FILES: [&str; 8] = [
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "sslcrldir",
    "passfile",
    "service",
    "sslkeylogfile",
];

/// Finds what a scrape asks for.
///
/// # Errors
/// An unknown target or module, or an ad hoc target the rules do not allow.
pub fn resolve(
    config: &Config,
    env: &Environment,
    target: &str,
    module: Option<&str>,
) -> Result<Request, Refusal> {
    let spec = match config.targets.get(target) {
        Some(spec) => spec.clone(),
        None => ad_hoc(config, env, target, module)?,
    };
    let module_name = module.unwrap_or(&spec.module).to_string();
    let module = config.modules.get(&module_name).cloned().ok_or_else(|| {
        Refusal::BadRequest(format!(
            "unknown module \"{}\" (modules: {})",
            crate::sanitize::clean(&module_name),
            config
                .modules
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    Ok(Request {
        target: target.to_string(),
        module_name,
        module,
        spec,
    })
}

/// A target that is not configured: a connection string, allowed only under `allow_any_target`
/// and only where every address it would connect to meets a rule. It never carries a password.
fn ad_hoc(
    config: &Config,
    env: &Environment,
    target: &str,
    module: Option<&str>,
) -> Result<TargetSpec, Refusal> {
    let unknown = || Refusal::UnknownTarget(crate::sanitize::clean(target).into_owned());
    let Some(rules) = &config.any_target else {
        return Err(unknown());
    };
    if !target.contains('=') {
        return Err(unknown());
    }
    let module_name = module.unwrap_or(super::config::DEFAULT_MODULE);
    let default = super::config::Module::default();
    let settings = config.modules.get(module_name).unwrap_or(&default);
    // Read as the probe will: with no password source at all.
    let env = super::config::target_env(env, settings, &Password::Withheld);
    let (resolved, _) = fleet::read_string(target, &env, settings.client)
        .map_err(|e| Refusal::BadRequest(format!("target: {e}")))?;
    if resolved.targets.iter().any(|t| t.password.is_some()) {
        return Err(Refusal::BadRequest(
            "an ad hoc target cannot carry a password; configure the target instead".into(),
        ));
    }
    // Nor make the exporter read files a scraper names (a file-existence oracle, or keys).
    for keyword in LOCAL_FILES {
        let named = resolved
            .settings
            .get(keyword)
            .filter(|s| s.source == crate::config::Source::Conninfo);
        if named.is_some_and(|s| !(keyword == "sslrootcert" && s.value == "system")) {
            return Err(Refusal::BadRequest(format!(
                "an ad hoc target cannot name local files ({keyword}); configure the target instead"
            )));
        }
    }
    for t in &resolved.targets {
        let address = match (&t.hostaddr, t.kind) {
            (_, HostKind::UnixSocket) => None,
            (Some(addr), _) => Some(addr.as_str()),
            (None, _) => Some(t.host.as_str()),
        };
        let allowed = address.is_some_and(|a| rules.iter().any(|r| r.allows(a)));
        if !allowed {
            return Err(Refusal::UnknownTarget(format!(
                "{} (not configured, and allow_any_target does not allow {})",
                crate::sanitize::clean(target),
                crate::sanitize::clean(address.unwrap_or(&t.host))
            )));
        }
    }
    Ok(TargetSpec {
        conninfo: target.to_string(),
        module: module_name.to_string(),
        password: Password::Withheld,
    })
}

/// How long a probe may take: the scrape's timeout less the offset, within the module's.
pub fn deadline(scrape_timeout: Option<&str>, module: &Module) -> Duration {
    let scrape = scrape_timeout
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)).saturating_sub(TIMEOUT_OFFSET));
    scrape
        .unwrap_or(module.timeout)
        .min(module.timeout)
        .max(MIN_TIMEOUT)
}

/// What a probe found.
pub struct Outcome {
    /// The check's report, when it finished within the deadline.
    pub report: Option<crate::report::Report>,
    /// The exit code: the report's, or 3 when the deadline cut the check short.
    pub code: Code,
    /// How long it took.
    pub duration: Duration,
    /// One line for people.
    pub summary: String,
}

/// Runs the check within `limit`. Dropping the future cancels it.
pub async fn run(request: &Request, env: &Environment, limit: Duration) -> Outcome {
    let started = Instant::now();
    let env = super::config::target_env(env, &request.module, &request.spec.password);
    let mut run = request.module.run;
    run.default_timeout = limit;
    let input = match fleet::read_string(&request.spec.conninfo, &env, request.module.client) {
        Ok((resolved, clients)) => Input::Resolved {
            resolved: Box::new(resolved),
            origin: Some(request.target.clone()),
            clients,
        },
        Err(e) => Input::Invalid {
            origin: request.target.clone(),
            message: e.to_string(),
        },
    };
    let checked = tokio::time::timeout(
        limit,
        fleet::check_inputs([input], run, 64, Clock::system()),
    )
    .await;
    let duration = started.elapsed();
    match checked {
        Ok(Ok(report)) => {
            let code = if request.module.exit_on_libpq {
                report.exit_code_as_libpq()
            } else {
                report.exit_code()
            };
            let summary = report
                .targets
                .iter()
                .map(|t| t.summary.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            Outcome {
                report: Some(report),
                code,
                duration,
                summary,
            }
        }
        Ok(Err(e)) => Outcome {
            report: None,
            code: e.code(),
            duration,
            summary: e.to_string(),
        },
        Err(_) => Outcome {
            report: None,
            code: Code::Unreachable,
            duration,
            summary: format!(
                "the probe did not finish within its deadline of {:.1} s",
                limit.as_secs_f64()
            ),
        },
    }
}

/// The probe's answer in the Prometheus text format.
pub fn render(outcome: &Outcome) -> String {
    let mut out = Vec::new();
    let _ = crate::render::prometheus_probe(
        outcome.report.as_ref(),
        outcome.code as i32,
        outcome.duration,
        Clock::system().unix(),
        &mut out,
    );
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_name_a_target_and_perhaps_a_module() {
        // (query, the target and module it names, or the error)
        type Case<'a> = (Option<&'a str>, Result<(&'a str, Option<&'a str>), &'a str>);
        let cases: [Case; 7] = [
            (Some("target=orders"), Ok(("orders", None))),
            (
                Some("target=orders&module=strict"),
                Ok(("orders", Some("strict"))),
            ),
            (
                Some("target=host%3Ddb.example.com+port%3D5432"),
                Ok(("host=db.example.com port=5432", None)),
            ),
            (None, Err("needs a target")),
            (Some("module=strict"), Err("needs a target")),
            (Some("target=a&target=b"), Err("given twice")),
            (Some("target=a&debug=true"), Err("unknown parameter")),
        ];
        for (query, want) in cases {
            let got = parse_query(query);
            match (got, want) {
                (Ok((t, m)), Ok((wt, wm))) => {
                    assert_eq!((t.as_str(), m.as_deref()), (wt, wm), "{query:?}");
                }
                (Err(Refusal::BadRequest(e)), Err(w)) => assert!(e.contains(w), "{query:?}: {e}"),
                (got, want) => panic!("{query:?}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn the_deadline_is_the_scrapes_less_the_offset_within_the_modules() {
        let module = Module::default();
        let cases = [
            (Some("5"), Duration::from_millis(4500)),
            (Some("60"), Duration::from_secs(10)),
            (Some("0.2"), Duration::from_millis(500)),
            (Some("nonsense"), Duration::from_secs(10)),
            (Some("-3"), Duration::from_secs(10)),
            (Some("inf"), Duration::from_secs(10)),
            (None, Duration::from_secs(10)),
        ];
        for (header, want) in cases {
            assert_eq!(deadline(header, &module), want, "{header:?}");
        }
    }
}

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

/// The keywords an ad hoc target may set: where to connect, as whom, and how to speak TLS.
/// Everything else is refused before anything is read: passwords and the files that hold them
/// (`passfile`, `service`), the exporter's own identity (`sslcert`, `sslkey`, `sslpassword`,
/// `sslcertmode`, GSS, OAuth), what the session runs (`options`, `replication`), and files on
/// its host (`sslrootcert` but `system`, `sslcrl`, `sslcrldir`, `sslkeylogfile`).
const AD_HOC_KEYWORDS: [&str; 25] = [
    "host",
    "hostaddr",
    "port",
    "user",
    "dbname",
    "sslmode",
    "sslnegotiation",
    "sslrootcert",
    "sslsni",
    "sslcompression",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "min_protocol_version",
    "max_protocol_version",
    "channel_binding",
    "require_auth",
    "connect_timeout",
    "target_session_attrs",
    "load_balance_hosts",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
];

/// The hosts an ad hoc target may list (after duplicates are removed).
pub const MAX_AD_HOC_HOSTS: usize = 8;

/// The hosts of one target checked at once: with `--audit`, each holds up to
/// `1 + probe::audit::PARALLEL` connections.
pub const HOSTS_AT_ONCE: usize = 4;

/// What a scrape names, as it may be shown in an answer or a log line: a configured target's
/// name, or a connection string with its secrets redacted (and nothing of a string pgtls cannot
/// read).
pub fn shown(target: &str) -> String {
    if super::config::valid_name(target) {
        return target.to_string();
    }
    match crate::conninfo::parse(target) {
        Ok(params) => crate::sanitize::clean(&params.shown()).into_owned(),
        Err(_) => "(a connection string pgtls cannot read)".to_string(),
    }
}

/// Finds what a scrape asks for.
///
/// # Errors
/// An unknown target or module, a module other than a configured target's own, or an ad hoc
/// target the rules do not allow.
pub fn resolve(
    config: &Config,
    env: &Environment,
    target: &str,
    module: Option<&str>,
) -> Result<Request, Refusal> {
    let spec = match config.targets.get(target) {
        // A configured target keeps its module: another could lower its TLS settings or hand
        // its password to a plaintext connection.
        Some(spec) if module.is_some_and(|m| m != spec.module) => {
            return Err(Refusal::BadRequest(format!(
                "target \"{target}\" is configured with module \"{}\"; a scrape cannot choose another",
                spec.module
            )));
        }
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

/// Reads a target's string as its probe will: in the target's environment, and for an ad hoc
/// target with each host once.
fn read(
    spec: &TargetSpec,
    module: &Module,
    env: &Environment,
) -> Result<
    (
        crate::config::Resolved,
        Option<crate::clients::ClientRequest>,
    ),
    crate::clients::ReadError,
> {
    let env = super::config::target_env(env, module, &spec.password);
    let (mut resolved, clients) = crate::clients::read_string(&spec.conninfo, &env, module.client)?;
    if matches!(spec.password, Password::Withheld) {
        let mut seen = std::collections::HashSet::new();
        resolved
            .targets
            .retain(|t| seen.insert((t.host.clone(), t.hostaddr.clone(), t.port)));
    }
    Ok((resolved, clients))
}

/// A target that is not configured: a libpq connection string, allowed only under
/// `allow_any_target`, only with the keywords of [`AD_HOC_KEYWORDS`] (checked before anything
/// is read), at most [`MAX_AD_HOC_HOSTS`] hosts, and only where every address it would connect
/// to meets a rule. It never carries a password or offers a client certificate.
fn ad_hoc(
    config: &Config,
    env: &Environment,
    target: &str,
    module: Option<&str>,
) -> Result<TargetSpec, Refusal> {
    // A name that is not configured is only that; a connection string is ad hoc.
    let is_uri = ["postgresql://", "postgres://"]
        .iter()
        .any(|p| target.trim_start().starts_with(p));
    if !target.contains('=') && !is_uri {
        return Err(Refusal::UnknownTarget(shown(target)));
    }
    let Some(rules) = &config.any_target else {
        return Err(Refusal::UnknownTarget(format!(
            "{} (ad hoc connection strings need [allow_any_target] in the configuration)",
            shown(target)
        )));
    };
    let bad = |message: String| Refusal::BadRequest(format!("ad hoc target: {message}"));
    if crate::clients::Client::detect(target) != crate::clients::Client::Libpq {
        return Err(bad(
            "a driver's connection string can only be a configured target".into(),
        ));
    }
    let module_name = module.unwrap_or(super::config::DEFAULT_MODULE);
    let default = super::config::Module::default();
    let settings = config.modules.get(module_name).unwrap_or(&default);
    if settings
        .client
        .and_then(|c| c.client())
        .is_some_and(|c| c != crate::clients::Client::Libpq)
    {
        return Err(bad(format!(
            "module \"{}\" reads strings as one driver does; ad hoc strings are libpq's (use a module with client libpq or all)",
            crate::sanitize::clean(module_name)
        )));
    }
    // Nothing is resolved before this: resolution reads the service and password files.
    allowed_keywords(target).map_err(bad)?;
    let spec = TargetSpec {
        conninfo: target.to_string(),
        module: module_name.to_string(),
        password: Password::Withheld,
        expect: None,
    };
    let (resolved, _) = read(&spec, settings, env).map_err(|e| bad(e.to_string()))?;
    if resolved.targets.len() > MAX_AD_HOC_HOSTS {
        return Err(bad(format!(
            "{} hosts; an ad hoc target may list {MAX_AD_HOC_HOSTS} at most",
            resolved.targets.len()
        )));
    }
    allowed_addresses(&resolved, rules, target)?;
    Ok(spec)
}

/// Refuses a keyword an ad hoc target may not set (see [`AD_HOC_KEYWORDS`]), naming it.
fn allowed_keywords(target: &str) -> Result<(), String> {
    let params = crate::conninfo::parse(target).map_err(|e| e.to_string())?;
    for (keyword, value) in params.iter() {
        let allowed = AD_HOC_KEYWORDS.contains(&keyword.name)
            && (keyword.name != "sslrootcert" || value == "system");
        if !allowed {
            return Err(format!(
                "{} cannot be set; configure the target instead",
                keyword.name
            ));
        }
    }
    Ok(())
}

/// Refuses a target any of whose addresses no rule of `allow_any_target` allows.
fn allowed_addresses(
    resolved: &crate::config::Resolved,
    rules: &[super::config::HostRule],
    target: &str,
) -> Result<(), Refusal> {
    for t in &resolved.targets {
        let address = match (&t.hostaddr, t.kind) {
            (_, HostKind::UnixSocket) => None,
            (Some(addr), _) => Some(addr.as_str()),
            (None, _) => Some(t.host.as_str()),
        };
        let allowed = address.is_some_and(|a| rules.iter().any(|r| r.allows(a)));
        if !allowed {
            return Err(Refusal::UnknownTarget(format!(
                "{} (not configured, and [allow_any_target] does not allow {})",
                shown(target),
                crate::sanitize::clean(address.unwrap_or(&t.host))
            )));
        }
    }
    Ok(())
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

/// Whether the target's expected certificate was served, when the probe could tell: `Some(true)`
/// when it was, `Some(false)` when another was.
pub fn served_expected(outcome: &Outcome) -> Option<bool> {
    let targets = &outcome.report.as_ref()?.targets;
    let compared: Vec<bool> = targets
        .iter()
        .filter_map(|t| t.expected_certificate.as_ref().map(|e| e.matches))
        .collect();
    (!compared.is_empty()).then(|| compared.iter().all(|m| *m))
}

/// Runs the check within `limit`, with the process's environment and profiles. Dropping the
/// future cancels it.
pub async fn run(
    request: &Request,
    (env, profiles): (&Environment, &'static crate::profiles::Profiles),
    limit: Duration,
) -> Outcome {
    let started = Instant::now();
    let ctx = crate::judge::Context {
        clock: Clock::system(),
        profiles,
        expect: request.spec.expect.clone(),
    };
    let mut run = request.module.run;
    run.default_timeout = limit;
    let input = match read(&request.spec, &request.module, env) {
        Ok((resolved, clients)) => Input::Resolved {
            resolved: Box::new(resolved),
            origin: Some(request.target.clone()),
            clients,
            expect: None,
        },
        Err(e) => Input::refused(request.target.clone(), e),
    };
    let checked =
        tokio::time::timeout(limit, fleet::check_inputs([input], run, HOSTS_AT_ONCE, ctx)).await;
    let duration = started.elapsed();
    match checked {
        Ok(Ok(report)) => Outcome::of(report, request.module.exit_on_libpq, duration),
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

impl Outcome {
    /// A check that finished: its exit code (of every host, or of the host a libpq client ends
    /// up on) and its targets' summaries.
    fn of(report: crate::report::Report, exit_on_libpq: bool, duration: Duration) -> Self {
        let code = match exit_on_libpq {
            true => report.exit_code_as_libpq(),
            false => report.exit_code(),
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
}

/// The probe's answer in the Prometheus text format.
pub fn render(outcome: &Outcome, differing: Option<Duration>) -> String {
    let mut out = Vec::new();
    let _ = crate::render::prometheus_probe(
        outcome.report.as_ref(),
        (outcome.code as i32, outcome.duration),
        (Clock::system().unix(), differing.map(|d| d.as_secs_f64())),
        &mut out,
    );
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ad_hoc_probe_the_configuration_does_not_allow_names_allow_any_target() {
        let env = Environment::with_vars([("HOME", "/nonexistent")], Some("pgtls"));
        let flags = super::super::config::Flags {
            targets: vec!["orders=host=db.example.com".into()],
            ..Default::default()
        };
        let config = super::super::config::load(&flags, &env).unwrap();
        // (target, what the 404 says)
        let cases = [
            (
                "host=other.example.com",
                "(ad hoc connection strings need [allow_any_target] in the configuration)",
            ),
            ("billing", "billing"),
        ];
        for (target, want) in cases {
            match resolve(&config, &env, target, None) {
                Err(Refusal::UnknownTarget(message)) => {
                    assert!(message.contains(want), "{target}: {message}");
                    // A name is not told about ad hoc strings.
                    assert_eq!(message.contains("allow_any_target"), target.contains('='));
                }
                other => panic!("{target}: {other:?}"),
            }
        }
        assert!(resolve(&config, &env, "orders", None).is_ok());
    }

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

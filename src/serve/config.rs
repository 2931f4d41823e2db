//! The exporter's configuration: a TOML file of modules (how to check) and targets (what to
//! check), or the same from flags. Read whole, validated whole: every target's connection string
//! is read as `check` would read it, so a configuration that loads is one whose every target can
//! be probed. Passwords come only from files or environment variables the configuration names.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::clients::ClientChoice;
use crate::config::SslMode;
use crate::config::{Environment, PasswordSource, Secret};
use crate::probe::CheckOptions;
use crate::run::{ExitOn, RunArgs, RunSettings};

/// The address the exporter listens on unless told otherwise: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9819";
/// Probes that may run at once unless told otherwise.
pub const DEFAULT_MAX_PROBES: usize = 16;
/// The module a target uses unless it names another.
pub const DEFAULT_MODULE: &str = "default";

/// A configuration that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn error(message: impl Into<String>) -> ConfigError {
    ConfigError(message.into())
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<String>,
    max_concurrent_probes: Option<usize>,
    #[serde(default)]
    modules: BTreeMap<String, RunArgs>,
    #[serde(default)]
    targets: BTreeMap<String, TargetFile>,
    allow_any_target: Option<AnyTargetFile>,
    web: Option<WebFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    conninfo: String,
    module: Option<String>,
    password_file: Option<PathBuf>,
    password_env: Option<String>,
    /// The certificate the server should be serving (read at load, never by a scrape).
    expect_cert: Option<PathBuf>,
    /// More names clients use for it.
    #[serde(default)]
    also_names: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnyTargetFile {
    hosts: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebFile {
    tls_cert_file: Option<PathBuf>,
    tls_key_file: Option<PathBuf>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
    enable_reload: Option<bool>,
}

/// How a module checks: the settings `check` takes as flags.
#[derive(Debug, Clone)]
pub struct Module {
    /// The sslmode a target gets when its string sets none (as `PGSSLMODE`).
    pub sslmode: Option<SslMode>,
    /// `--client`.
    pub client: Option<ClientChoice>,
    /// `--audit`, `--diagnose-trust`, `--warn-days`, `--crit-days`, `--fail-on`; the default
    /// timeout is the probe's deadline.
    pub run: CheckOptions,
    /// The longest a probe may take, whatever the scrape allows.
    pub timeout: Duration,
    /// `--exit-on libpq`: the host a libpq client ends up on decides.
    pub exit_on_libpq: bool,
}

impl Module {
    fn new(settings: RunSettings) -> Self {
        Module {
            sslmode: settings.sslmode,
            client: settings.client,
            run: settings.check,
            timeout: settings.check.default_timeout,
            exit_on_libpq: settings.exit_on == ExitOn::Libpq,
        }
    }
}

impl Default for Module {
    fn default() -> Self {
        Module::new(
            RunArgs::default()
                .settings()
                .expect("the defaults are valid"),
        )
    }
}

/// One target to probe: configured, or ad hoc.
#[derive(Clone)]
pub struct TargetSpec {
    /// The connection string, without a password.
    pub conninfo: String,
    /// Its module unless the scrape names another.
    pub module: String,
    /// Where its password comes from.
    pub password: Password,
    /// What the served chain is expected to be and to cover (`expect_cert`, `also_names`).
    pub expect: Option<std::sync::Arc<crate::expect::Expectations>>,
}

/// Where a target's password comes from.
#[derive(Clone)]
pub enum Password {
    /// libpq's own sources (`PGPASSWORD`, the password file): a configured target that names none.
    Libpq,
    /// The one its configuration names, read when the configuration was loaded.
    Given(Secret),
    /// None at all, not even from the exporter's environment or password file: an ad hoc target.
    Withheld,
}

impl std::fmt::Debug for TargetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetSpec")
            .field("conninfo", &self.conninfo)
            .field("module", &self.module)
            .field(
                "password",
                &match self.password {
                    Password::Libpq => "libpq",
                    Password::Given(_) => "(redacted)",
                    Password::Withheld => "withheld",
                },
            )
            .finish()
    }
}

/// A rule of `allow_any_target`: which addresses an ad hoc target may connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRule {
    /// A host name, exactly.
    Name(String),
    /// Any name under this suffix (`*.example.com` holds `.example.com`).
    Suffix(String),
    /// An address block.
    Network(IpAddr, u8),
}

impl HostRule {
    fn parse(text: &str) -> Result<HostRule, ConfigError> {
        let text = text.trim();
        if let Some(suffix) = text.strip_prefix("*.") {
            return Ok(HostRule::Suffix(format!(
                ".{}",
                suffix.to_ascii_lowercase()
            )));
        }
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        match (address.parse::<IpAddr>(), prefix) {
            (Ok(ip), prefix) => {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let bits = match prefix {
                    None => max,
                    Some(p) => p
                        .parse::<u8>()
                        .ok()
                        .filter(|b| *b <= max)
                        .ok_or_else(|| error(format!("invalid address block \"{text}\"")))?,
                };
                Ok(HostRule::Network(ip, bits))
            }
            (Err(_), Some(_)) => Err(error(format!("invalid address block \"{text}\""))),
            (Err(_), None) if text.is_empty() || text.contains(char::is_whitespace) => {
                Err(error(format!("invalid host rule \"{text}\"")))
            }
            (Err(_), None) => Ok(HostRule::Name(text.to_ascii_lowercase())),
        }
    }

    /// Whether an address a target connects to (a host name or a numeric address) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        let name = host.to_ascii_lowercase();
        match (self, host.parse::<IpAddr>()) {
            (HostRule::Network(net, bits), Ok(ip)) => in_network(ip, *net, *bits),
            (HostRule::Name(rule), Err(_)) => name == *rule,
            (HostRule::Suffix(suffix), Err(_)) => {
                name.ends_with(suffix.as_str()) && name.len() > suffix.len()
            }
            _ => false,
        }
    }
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(a.to_bits()), u128::from(b.to_bits()), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (a.to_bits(), b.to_bits(), 128),
        _ => return false,
    };
    if bits == 0 {
        return true;
    }
    let shift = width - u32::from(bits);
    (ip >> shift) == (net >> shift)
}

/// The exporter's own endpoint: TLS and basic authentication, as the exporter toolkit's
/// `web.yml` has them.
#[derive(Debug, Clone, Default)]
pub struct Web {
    /// The certificate chain and key files, both or neither.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// User names and their bcrypt hashes.
    pub basic_auth_users: BTreeMap<String, String>,
    /// Whether `POST /-/reload` reloads (`enable_reload`, or `--enable-reload`).
    pub enable_reload: bool,
}

/// A loaded, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the file asks to listen (flags win).
    pub listen: Option<SocketAddr>,
    /// Probes that may run at once.
    pub max_probes: usize,
    /// Modules by name; `default` always exists.
    pub modules: BTreeMap<String, Module>,
    /// Targets by name.
    pub targets: BTreeMap<String, TargetSpec>,
    /// With `allow_any_target`, the rules an ad hoc target must meet.
    pub any_target: Option<Vec<HostRule>>,
    /// The endpoint's TLS and authentication.
    pub web: Web,
}

/// What the command line adds to (or stands for) the file.
#[derive(Debug, Default)]
pub struct Flags {
    /// `--config FILE`.
    pub file: Option<PathBuf>,
    /// `--target NAME=CONNINFO`, in order.
    pub targets: Vec<String>,
    /// `--max-probes N`.
    pub max_probes: Option<usize>,
    /// `--enable-reload`.
    pub enable_reload: bool,
    /// The `default` module's settings given as flags; they take the place of the file's.
    pub default_module: RunArgs,
}

/// Reads and validates the configuration: the file, if any, then the flags' targets.
///
/// # Errors
/// The first problem, naming the file, the target or module and the reason.
pub fn load(flags: &Flags, env: &Environment) -> Result<Config, ConfigError> {
    let mut file = match &flags.file {
        Some(path) => read_file(path)?,
        None => File::default(),
    };
    let default = file.modules.entry(DEFAULT_MODULE.to_string()).or_default();
    *default = flags.default_module.over(default);
    let modules = file
        .modules
        .iter()
        .map(|(name, module)| {
            let module = module.settings().map(Module::new);
            let module = module.map_err(|e| error(format!("module \"{name}\": {e}")))?;
            Ok((name.clone(), module))
        })
        .collect::<Result<BTreeMap<_, _>, ConfigError>>()?;
    let targets = targets(&file, flags, env)?;
    for (name, spec) in &targets {
        check_target(name, spec, &modules, env)?;
    }
    let listen = match &file.listen {
        Some(text) => Some(
            text.parse::<SocketAddr>()
                .map_err(|_| error(format!("listen: \"{text}\" is not ADDRESS:PORT")))?,
        ),
        None => None,
    };
    let max_probes = flags
        .max_probes
        .or(file.max_concurrent_probes)
        .unwrap_or(DEFAULT_MAX_PROBES);
    if !(1..=4096).contains(&max_probes) {
        return Err(error("max_concurrent_probes must be between 1 and 4096"));
    }
    Ok(Config {
        listen,
        max_probes,
        modules,
        targets,
        any_target: any_target(file.allow_any_target.as_ref())?,
        web: build_web(file.web, flags.enable_reload)?,
    })
}

/// The file's targets, then the flags' (`--target NAME=CONNINFO`).
fn targets(
    file: &File,
    flags: &Flags,
    env: &Environment,
) -> Result<BTreeMap<String, TargetSpec>, ConfigError> {
    let mut targets = BTreeMap::new();
    for (name, target) in &file.targets {
        let spec = build_target(target, env).map_err(|e| target_error(name, &e))?;
        targets.insert(name.clone(), spec);
    }
    for flag in &flags.targets {
        // `--target "host=db port=5432"`: a connection string with no NAME= before it, which
        // would otherwise read as a target named "host".
        let unnamed = flag.split_once('=').filter(|(keyword, rest)| {
            crate::conninfo::KEYWORDS.iter().any(|k| k.name == *keyword)
                && !rest.contains("://")
                && rest
                    .split_whitespace()
                    .next()
                    .is_none_or(|first| !first.contains('='))
        });
        if let Some((keyword, _)) = unnamed {
            return Err(error(format!(
                "--target takes NAME=CONNINFO, and \"{keyword}=...\" is a connection string without NAME= before it: write --target NAME=\"{keyword}=...\""
            )));
        }
        let Some((name, conninfo)) = flag.split_once('=').filter(|(n, _)| valid_name(n)) else {
            return Err(error(format!(
                "--target takes NAME=CONNINFO (a name of letters, digits, '.', '-' and '_'), not \"{}\"",
                crate::sanitize::clean(flag.split('=').next().unwrap_or(""))
            )));
        };
        let target = TargetFile {
            conninfo: conninfo.to_string(),
            module: None,
            password_file: None,
            password_env: None,
            expect_cert: None,
            also_names: Vec::new(),
        };
        let spec = build_target(&target, env).map_err(|e| target_error(name, &e))?;
        if targets.insert(name.to_string(), spec).is_some() {
            return Err(error(format!("target \"{name}\" is defined twice")));
        }
    }
    Ok(targets)
}

/// A target as a probe will read it: its name, its module, its string (one libpq or the driver
/// refuses fails here), and no password in the string, which would travel in the file.
fn check_target(
    name: &str,
    spec: &TargetSpec,
    modules: &BTreeMap<String, Module>,
    env: &Environment,
) -> Result<(), ConfigError> {
    if !valid_name(name) {
        return Err(error(format!(
            "target name \"{}\": use letters, digits, '.', '-' and '_'",
            crate::sanitize::clean(name)
        )));
    }
    let module = modules.get(&spec.module).ok_or_else(|| {
        error(format!(
            "target \"{name}\": no module \"{}\" (modules: {})",
            spec.module,
            modules.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let env = target_env(env, module, &spec.password);
    let (resolved, _) =
        crate::clients::read_string(&spec.conninfo, &env, module.client).map_err(|e| {
            // The advice a string given to `check` gets, on the same line (reload errors are one
            // log line).
            let message = e.to_string();
            match e.hint() {
                Some(hint) => target_error(name, &error(format!("{message}; {hint}"))),
                None => target_error(name, &error(message)),
            }
        })?;
    let own_password = resolved.targets.iter().any(|t| {
        t.password
            .as_ref()
            .is_some_and(|p| p.source == PasswordSource::Conninfo)
    });
    if own_password {
        return Err(target_error(
            name,
            &error(
                "the connection string holds a password: give it with password_file or password_env",
            ),
        ));
    }
    Ok(())
}

/// The rules of `allow_any_target`, if the file has it.
fn any_target(any: Option<&AnyTargetFile>) -> Result<Option<Vec<HostRule>>, ConfigError> {
    let Some(any) = any else {
        return Ok(None);
    };
    if any.hosts.is_empty() {
        return Err(error(
            "allow_any_target: hosts must list the names, suffixes (*.example.com) or address blocks ad hoc targets may connect to",
        ));
    }
    let rules = any.hosts.iter().map(|h| HostRule::parse(h));
    let rules = rules.collect::<Result<Vec<_>, _>>();
    rules
        .map(Some)
        .map_err(|e| error(format!("allow_any_target: {}", e.0)))
}

fn target_error(name: &str, e: &ConfigError) -> ConfigError {
    error(format!("target \"{name}\": {}", e.0))
}

/// Whether `name` can be a target's name: letters, digits, `.`, `-` and `_`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn read_file(path: &Path) -> Result<File, ConfigError> {
    let bytes = crate::files::read(path, crate::files::SETTINGS)
        .map_err(|e| error(format!("{}: {e}", path.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| error(format!("{}: not UTF-8 text", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        error(format!(
            "{}: {}",
            path.display(),
            e.to_string().trim_end().replace('\n', "\n  ")
        ))
    })
}

fn build_target(file: &TargetFile, env: &Environment) -> Result<TargetSpec, ConfigError> {
    let password = match (&file.password_file, &file.password_env) {
        (Some(_), Some(_)) => {
            return Err(error("password_file and password_env: give one"));
        }
        (Some(path), None) => {
            let bytes = crate::files::read(path, crate::files::SETTINGS)
                .map_err(|e| error(format!("password_file {}: {e}", path.display())))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| error(format!("password_file {}: not UTF-8 text", path.display())))?;
            // The first line, as a secret file holds it (a trailing newline is not part of it).
            let line = text.lines().next().unwrap_or("").to_string();
            if line.is_empty() {
                return Err(error(format!("password_file {}: empty", path.display())));
            }
            Password::Given(Secret::new(line))
        }
        (None, Some(name)) => match env.var(name) {
            Some(value) if !value.is_empty() => Password::Given(Secret::new(value.to_string())),
            _ => {
                return Err(error(format!(
                    "password_env: the environment variable {name} is not set"
                )));
            }
        },
        (None, None) => Password::Libpq,
    };
    let cert = match &file.expect_cert {
        Some(path) => Some(
            crate::inspect::expected_cert(path).map_err(|e| error(format!("expect_cert: {e}")))?,
        ),
        None => None,
    };
    let expect = crate::expect::Expectations {
        cert,
        also_names: crate::expect::names(&file.also_names),
        sni_names: Vec::new(),
    };
    Ok(TargetSpec {
        conninfo: file.conninfo.clone(),
        module: file
            .module
            .clone()
            .unwrap_or_else(|| DEFAULT_MODULE.to_string()),
        password,
        expect: (!expect.is_empty()).then(|| std::sync::Arc::new(expect)),
    })
}

fn build_web(file: Option<WebFile>, enable_reload: bool) -> Result<Web, ConfigError> {
    let Some(file) = file else {
        return Ok(Web {
            enable_reload,
            ..Web::default()
        });
    };
    let tls = match (file.tls_cert_file, file.tls_key_file) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => return Err(error("web: tls_cert_file and tls_key_file go together")),
    };
    for (user, hash) in &file.basic_auth_users {
        if hash.parse::<bcrypt::HashParts>().is_err() {
            return Err(error(format!(
                "web: the password of user \"{}\" is not a bcrypt hash (htpasswd -nBC 10 \"\" | tr -d ':\\n' makes one)",
                crate::sanitize::clean(user)
            )));
        }
    }
    Ok(Web {
        tls,
        basic_auth_users: file.basic_auth_users,
        enable_reload: enable_reload || file.enable_reload.unwrap_or(false),
    })
}

/// The environment a target is read and probed in: the process's, with the module's default
/// sslmode, and the password its configuration gives — or, for an ad hoc target, no password
/// source at all (an empty `PGPASSWORD` and a password file with nothing in it), no client
/// certificate (`PGSSLCERTMODE=disable`), and neither `PGSERVICE` nor `PGOPTIONS`.
pub fn target_env(env: &Environment, module: &Module, password: &Password) -> Environment {
    let env = match module.sslmode {
        Some(sslmode) => env.with_var("PGSSLMODE", sslmode.as_str()),
        None => env.clone(),
    };
    match password {
        Password::Libpq => env,
        Password::Given(secret) => env.with_var("PGPASSWORD", secret.expose()),
        // Nor a client certificate, a service, or options from the exporter's environment.
        Password::Withheld => env
            .with_var("PGPASSWORD", "")
            .with_var("PGPASSFILE", "/dev/null")
            .with_var("PGSSLCERTMODE", "disable")
            .without("PGSERVICE")
            .without("PGOPTIONS"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_rules_allow_names_suffixes_and_address_blocks() {
        let cases = [
            ("db.example.com", "db.example.com", true),
            ("db.example.com", "DB.Example.com", true),
            ("db.example.com", "db2.example.com", false),
            ("*.example.com", "db.example.com", true),
            ("*.example.com", "example.com", false),
            ("*.example.com", "db.example.com.evil.net", false),
            ("10.0.0.0/8", "10.1.2.3", true),
            ("10.0.0.0/8", "11.1.2.3", false),
            ("10.0.0.0/8", "db.example.com", false),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("::1", "::1", true),
            ("fd00::/8", "fd12::1", true),
            ("fd00::/8", "10.1.2.3", false),
        ];
        for (rule, host, allowed) in cases {
            let parsed = HostRule::parse(rule).unwrap();
            assert_eq!(parsed.allows(host), allowed, "{rule} {host}");
        }
        for bad in ["10.0.0.0/33", "db example", "", "x/8"] {
            assert!(HostRule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_configuration_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment::with_vars([("HOME", "/nonexistent")], Some("pgtls"));
        let cases = [
            (
                "[targets.a]\nconninfo = \"host=db sslmode=verify_full\"\n",
                "invalid sslmode value",
            ),
            (
                "[targets.a]\nconninfo = \"host=db sslmod=require\"\n",
                "target \"a\": invalid connection option \"sslmod\"; did you mean \"sslmode\"?",
            ),
            (
                "[targets.a]\nconninfo = \"host=db ssl=true\"\n",
                "ssl=true is pgjdbc's and node-postgres's spelling",
            ),
            (
                "[targets.a]\nconninfo = \"host=db password=hunter2\"\n",
                "holds a password",
            ),
            (
                "[targets.a]\nconninfo = \"host=db\"\nmodule = \"nope\"\n",
                "no module \"nope\"",
            ),
            ("[targets.a]\nconinfo = \"host=db\"\n", "unknown field"),
            ("[modules.m]\nclient = \"mysql\"\n", "unknown client"),
            ("[modules.m]\nfail_on = \"info\"\n", "fail_on"),
            ("[modules.m]\ntimeout = 0\n", "timeout"),
            (
                "[targets.a]\nconninfo = \"host=db\"\npassword_env = \"PGTLS_NOT_SET\"\n",
                "PGTLS_NOT_SET",
            ),
            ("[allow_any_target]\nhosts = []\n", "allow_any_target"),
            (
                "[web]\nbasic_auth_users = { u = \"plain\" }\n",
                "not a bcrypt hash",
            ),
            ("[web]\ntls_cert_file = \"c.pem\"\n", "go together"),
            ("listen = \"localhost\"\n", "ADDRESS:PORT"),
            ("[targets.a\n", "line 1"),
        ];
        for (text, want) in cases {
            let path = dir.path().join("serve.toml");
            std::fs::write(&path, text).unwrap();
            let flags = Flags {
                file: Some(path),
                ..Flags::default()
            };
            let err = load(&flags, &env).unwrap_err().0;
            assert!(err.contains(want), "{text}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn a_target_flag_without_a_name_is_told_that_name_is_missing() {
        let env = Environment::with_vars([("HOME", "/nonexistent")], Some("pgtls"));
        // (flag, what the error says, or None where the flag is a named target)
        let cases = [
            (
                "host=db.example.com port=5432",
                Some("\"host=...\" is a connection string without NAME= before it"),
            ),
            ("host=db.example.com", Some("without NAME= before it")),
            (
                "dbname=app host=db",
                Some("\"dbname=...\" is a connection string"),
            ),
            ("host=host=db.example.com", None),
            ("orders=host=db.example.com", None),
            ("orders=postgresql://db.example.com/app", None),
            ("host=postgresql://db.example.com/app", None),
        ];
        for (flag, want) in cases {
            let flags = Flags {
                targets: vec![flag.into()],
                ..Flags::default()
            };
            match (load(&flags, &env), want) {
                (Err(e), Some(want)) => assert!(e.0.contains(want), "{flag}: {}", e.0),
                (Ok(_), None) => {}
                (got, _) => panic!("{flag}: {got:?}"),
            }
        }
    }

    #[test]
    fn flags_and_file_make_one_configuration_with_a_default_module() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serve.toml");
        let password = dir.path().join("pw");
        std::fs::write(&password, "s3cret\n").unwrap();
        std::fs::write(
            &path,
            format!(
                "max_concurrent_probes = 4\n[modules.strict]\nsslmode = \"verify-full\"\naudit = true\n\
                 [targets.orders]\nconninfo = \"host=orders.example.com user=app\"\nmodule = \"strict\"\n\
                 password_file = \"{}\"\n",
                password.display()
            ),
        )
        .unwrap();
        let env = Environment::with_vars([("HOME", "/nonexistent")], Some("pgtls"));
        let flags = Flags {
            file: Some(path),
            targets: vec!["billing=host=billing.example.com".into()],
            ..Flags::default()
        };
        let config = load(&flags, &env).unwrap();
        assert_eq!(config.max_probes, 4);
        assert_eq!(
            config.modules.keys().collect::<Vec<_>>(),
            ["default", "strict"]
        );
        assert_eq!(
            config.targets.keys().collect::<Vec<_>>(),
            ["billing", "orders"]
        );
        let orders = &config.targets["orders"];
        assert!(matches!(&orders.password, Password::Given(p) if p.expose() == "s3cret"));
        assert!(!format!("{orders:?}").contains("s3cret"));
        let module = &config.modules["strict"];
        let env = target_env(&env, module, &orders.password);
        assert_eq!(env.var("PGSSLMODE"), Some("verify-full"));
        assert_eq!(env.var("PGPASSWORD"), Some("s3cret"));
    }

    #[test]
    fn every_configuration_the_manual_shows_loads() {
        let manual = include_str!("../../docs/serve.md");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("monitor.password"), "pw\n").unwrap();
        let env = Environment::with_vars([("HOME", "/nonexistent")], Some("pgtls"));
        let blocks: Vec<&str> = manual
            .split("```toml\n")
            .skip(1)
            .map(|rest| rest.split("```").next().unwrap())
            .collect();
        assert_eq!(blocks.len(), 3, "the example, allow_any_target, web");
        for block in blocks {
            let path = dir.path().join("serve.toml");
            let text = block.replace("/etc/pgtls/", &format!("{}/", dir.path().display()));
            std::fs::write(&path, text).unwrap();
            let flags = Flags {
                file: Some(path),
                ..Flags::default()
            };
            if let Err(e) = load(&flags, &env) {
                panic!("{e}:\n{block}");
            }
        }
    }
}

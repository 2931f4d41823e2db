//! How targets are checked and judged: the settings `check` takes as flags, `serve`'s modules as
//! TOML keys and `serve` as flags for its default module. One definition, read by clap and by
//! serde, with typed values; [`RunArgs::settings`] checks the ranges and fills in the defaults.

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::clients::ClientChoice;
use crate::config::SslMode;
use crate::probe::CheckOptions;
use crate::report::Severity;

/// The settings as given: every one optional, so that flags can be laid over a file.
#[derive(Debug, Clone, Default, PartialEq, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunArgs {
    /// The sslmode of strings that set none (as PGSSLMODE).
    #[arg(long, value_name = "MODE", value_parser = parse::<SslMode>)]
    #[serde(default, deserialize_with = "from_text")]
    pub sslmode: Option<SslMode>,

    /// Whose verdict to give: libpq (the default; also psycopg, Ruby pg, PHP), pgjdbc,
    /// node-postgres, asyncpg, npgsql, pgx, lib-pq, sqlx, tokio-postgres, or all side by side
    /// (NAME@LINE for an older line: pgjdbc@42.5, lib-pq@1.10, npgsql@9). Each reads the
    /// string as that driver does; without this option a jdbc:postgresql: URL means pgjdbc
    /// and a Key=Value; string with Host or Server means npgsql.
    #[arg(long, value_name = "NAME", value_parser = parse::<ClientChoice>)]
    #[serde(default, deserialize_with = "from_text")]
    pub client: Option<ClientChoice>,

    /// Also audit what each server accepts: protocol versions, cipher suites, key exchange
    /// groups, negotiation styles, plaintext, and certificate findings.
    #[arg(long)]
    #[serde(default)]
    pub audit: bool,

    /// Try the presented chain against the system store, every provider profile and the Mozilla
    /// roots even when it verified (it is always done when it does not).
    #[arg(long)]
    #[serde(default)]
    pub diagnose_trust: bool,

    /// Report certificates the server presents that expire within this many days (a warning)
    /// [default: 30].
    #[arg(long, value_name = "DAYS")]
    #[serde(default)]
    pub warn_days: Option<u32>,

    /// Make a target that otherwise passes fail with exit code 9 when a certificate it presents
    /// expires within this many days.
    #[arg(long, value_name = "DAYS")]
    #[serde(default)]
    pub crit_days: Option<u32>,

    /// Make a target that otherwise passes fail with exit code 9 when it has a finding of this
    /// severity or worse.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    #[serde(default)]
    pub fail_on: Option<FailOn>,

    /// Which targets decide the exit code: all (the default: the largest code of every host
    /// checked), or libpq (per connection string, the code of the host a libpq client ends up
    /// on, the first that connects; when none does, the largest of its hosts'), so that a
    /// multi-host string gates on what the application will experience.
    #[arg(long, value_enum, value_name = "WHICH")]
    #[serde(default)]
    pub exit_on: Option<ExitOn>,

    /// Seconds each host may take when connect_timeout is not set (for serve, a probe at most;
    /// a scrape's own timeout shortens it) [default: 10].
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    #[serde(default)]
    pub timeout: Option<f64>,
}

/// What `--fail-on` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
}

/// What `--exit-on` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExitOn {
    /// Every host checked.
    All,
    /// The host a libpq client ends up on, per connection string.
    Libpq,
}

/// Settings that cannot be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RunError(String);

/// The settings with their defaults, checked.
#[derive(Debug, Clone, Copy)]
pub struct RunSettings {
    /// How each target is checked.
    pub check: CheckOptions,
    /// The sslmode of strings that set none.
    pub sslmode: Option<SslMode>,
    /// Whose verdict to give.
    pub client: Option<ClientChoice>,
    /// Which targets decide the exit code.
    pub exit_on: ExitOn,
}

/// The timeouts a setting may have, in seconds.
const TIMEOUTS: std::ops::RangeInclusive<f64> = 0.5..=3600.0;

impl RunArgs {
    /// These settings, with `base`'s where these leave one out (a switch is on when either
    /// turns it on).
    pub fn over(&self, base: &RunArgs) -> RunArgs {
        RunArgs {
            sslmode: self.sslmode.or(base.sslmode),
            client: self.client.or(base.client),
            audit: self.audit || base.audit,
            diagnose_trust: self.diagnose_trust || base.diagnose_trust,
            warn_days: self.warn_days.or(base.warn_days),
            crit_days: self.crit_days.or(base.crit_days),
            fail_on: self.fail_on.or(base.fail_on),
            exit_on: self.exit_on.or(base.exit_on),
            timeout: self.timeout.or(base.timeout),
        }
    }

    /// The settings with their defaults.
    ///
    /// # Errors
    /// A timeout outside 0.5 to 3600 seconds.
    pub fn settings(&self) -> Result<RunSettings, RunError> {
        let timeout = seconds(&self.timeout.unwrap_or(10.0).to_string()).map_err(RunError)?;
        Ok(RunSettings {
            check: CheckOptions {
                default_timeout: Duration::from_secs_f64(timeout),
                diagnose_trust: self.diagnose_trust,
                audit: self.audit,
                warn_days: i64::from(self.warn_days.unwrap_or(30)),
                crit_days: self.crit_days.map(i64::from),
                fail_on: self.fail_on.map(|f| match f {
                    FailOn::Warning => Severity::Warning,
                    FailOn::Error => Severity::Error,
                }),
            },
            sslmode: self.sslmode,
            client: self.client,
            exit_on: self.exit_on.unwrap_or(ExitOn::All),
        })
    }
}

/// A timeout in seconds, within [`TIMEOUTS`].
fn seconds(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| TIMEOUTS.contains(s))
        .ok_or_else(|| format!("timeout {text} is not between 0.5 and 3600 seconds"))
}

/// A value read by its type's own parser, for clap: its message is the type's.
fn parse<T: FromStr>(text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e: T::Err| e.to_string())
}

/// A value read by its type's own parser, for serde: its message is the type's.
fn from_text<'de, D: Deserializer<'de>, T: FromStr>(d: D) -> Result<Option<T>, D::Error>
where
    T::Err: std::fmt::Display,
{
    let text = String::deserialize(d)?;
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_lie_over_a_file_and_defaults_fill_the_rest() {
        let file: RunArgs = toml::from_str(
            "sslmode = \"verify-full\"\naudit = true\nwarn_days = 14\ntimeout = 20\n",
        )
        .unwrap();
        let flags = RunArgs {
            warn_days: Some(7),
            client: Some(ClientChoice::All),
            ..RunArgs::default()
        };
        let settings = flags.over(&file).settings().unwrap();
        assert_eq!(settings.sslmode, Some(SslMode::VerifyFull));
        assert_eq!(settings.client, Some(ClientChoice::All));
        assert!(settings.check.audit);
        assert_eq!(settings.check.warn_days, 7);
        assert_eq!(settings.check.default_timeout, Duration::from_secs(20));
        assert_eq!(settings.exit_on, ExitOn::All);
        let defaults = RunArgs::default().settings().unwrap();
        assert_eq!(defaults.check.warn_days, 30);
        assert_eq!(defaults.check.default_timeout, Duration::from_secs(10));
    }

    #[test]
    fn bad_values_are_refused_with_the_types_own_words() {
        // (TOML, what the message says)
        let cases = [
            ("sslmode = \"verify_full\"", "invalid sslmode value"),
            ("client = \"mysql\"", "unknown client \"mysql\""),
            ("fail_on = \"info\"", "unknown variant `info`"),
            ("exit_on = \"some\"", "unknown variant `some`"),
            ("timout = 3", "unknown field `timout`"),
        ];
        for (text, want) in cases {
            let err = toml::from_str::<RunArgs>(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
        for timeout in [0.0, 0.2, 3601.0, f64::NAN] {
            let args = RunArgs {
                timeout: Some(timeout),
                ..RunArgs::default()
            };
            assert!(args.settings().is_err(), "{timeout}");
        }
    }
}

//! Parameter values with the place each came from, and libpq's environment and default fallbacks.

use serde::Serialize;

use super::Environment;
use crate::conninfo::{KEYWORDS, Params, keywords};

/// Where a parameter's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The connection string, in either form.
    Conninfo,
    /// A service file.
    Service,
    /// An environment variable.
    Env,
    /// libpq's default (compiled in, or derived: the OS user, `~/.pgpass`).
    Default,
}

impl Source {
    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Conninfo => "conninfo",
            Source::Service => "service",
            Source::Env => "env",
            Source::Default => "default",
        }
    }
}

/// One parameter's value and origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value as libpq stores it.
    pub value: String,
    /// Where it came from.
    pub source: Source,
    /// The environment variable, when the source is the environment.
    pub env_var: Option<&'static str>,
}

/// A secret (a password) whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: String) -> Self {
        Secret(secret)
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(redacted)")
    }
}

/// Every keyword's setting, indexed like [`KEYWORDS`].
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    values: Vec<Option<Setting>>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (k, s) in self.iter() {
            let value = if k.secret {
                "(redacted)"
            } else {
                s.value.as_str()
            };
            map.entry(&k.name, &(value, s.source));
        }
        map.finish()
    }
}

impl Settings {
    /// The parameters of a connection string, all from source `conninfo`.
    pub fn from_params(params: &Params) -> Self {
        let values = (0..KEYWORDS.len())
            .map(|i| {
                params.get_at(i).map(|v| Setting {
                    value: v.to_string(),
                    source: Source::Conninfo,
                    env_var: None,
                })
            })
            .collect();
        Settings { values }
    }

    /// The setting of a keyword, if any.
    pub fn get(&self, name: &str) -> Option<&Setting> {
        self.values[keywords::index(name)].as_ref()
    }

    /// The value of a keyword, if any.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(|s| s.value.as_str())
    }

    /// The value of a keyword when set and not empty: libpq's usual test for "given".
    pub fn nonempty(&self, name: &str) -> Option<&str> {
        self.value(name).filter(|v| !v.is_empty())
    }

    /// Every keyword that has a value, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static crate::conninfo::Keyword, &Setting)> {
        KEYWORDS
            .iter()
            .zip(&self.values)
            .filter_map(|(k, s)| s.as_ref().map(|s| (k, s)))
    }

    /// Sets a keyword, replacing any value.
    pub fn set(&mut self, name: &str, value: impl Into<String>, source: Source) {
        self.values[keywords::index(name)] = Some(Setting {
            value: value.into(),
            source,
            env_var: None,
        });
    }

    /// Sets a keyword only when it has no value yet.
    pub fn fill(&mut self, index: usize, value: String, source: Source) {
        if self.values[index].is_none() {
            self.values[index] = Some(Setting {
                value,
                source,
                env_var: None,
            });
        }
    }

    /// libpq's `conninfo_add_defaults`: environment variables, then `PGREQUIRESSL`, then
    /// compiled-in defaults, then the OS user; and `sslrootcert=system` turning the default
    /// sslmode into verify-full.
    pub fn apply_env_and_defaults(&mut self, env: &Environment) {
        for (i, keyword) in KEYWORDS.iter().enumerate() {
            if self.values[i].is_some() {
                continue;
            }
            if let Some(var) = keyword.env
                && let Some(value) = env.var(var)
            {
                self.values[i] = Some(Setting {
                    value: value.to_string(),
                    source: Source::Env,
                    env_var: Some(var),
                });
                continue;
            }
            if keyword.name == "sslmode"
                && env.var("PGREQUIRESSL").is_some_and(|v| v.starts_with('1'))
            {
                self.values[i] = Some(Setting {
                    value: "require".into(),
                    source: Source::Env,
                    env_var: Some("PGREQUIRESSL"),
                });
                continue;
            }
            if let Some(default) = keyword.default {
                self.fill(i, default.to_string(), Source::Default);
            } else if keyword.name == "user"
                && let Some(user) = &env.os_user
            {
                self.fill(i, user.clone(), Source::Default);
            }
        }
        let system_roots = self.value("sslrootcert") == Some("system");
        if system_roots
            && self
                .get("sslmode")
                .is_some_and(|s| s.source == Source::Default)
        {
            self.set("sslmode", "verify-full", Source::Default);
        }
    }
}

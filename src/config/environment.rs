//! What resolution reads from outside the connection string: environment variables, the OS user
//! and its home directory. Captured once and passed in, so that libpq's rules are table-tested
//! with a controlled environment and nothing from the machine running the tests leaks in.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// A snapshot of the process environment and the OS user.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
    /// The OS user name (libpq's `pg_fe_getauthname`).
    pub os_user: Option<String>,
    /// The user's home directory from the password database, used when `HOME` is unset or empty.
    pub passwd_home: Option<PathBuf>,
}

impl Environment {
    /// The environment of this process.
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten();
        Environment {
            vars,
            os_user: user.as_ref().map(|u| u.name.clone()),
            passwd_home: user.map(|u| u.dir),
        }
    }

    /// An environment with the given variables and OS user, for tests.
    #[cfg(test)]
    pub fn with_vars<'a>(
        vars: impl IntoIterator<Item = (&'a str, &'a str)>,
        os_user: Option<&str>,
    ) -> Self {
        Environment {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            os_user: os_user.map(str::to_string),
            passwd_home: None,
        }
    }

    /// This environment with one variable set (or replaced): how `pgtls serve` gives a target
    /// its module's default sslmode (`PGSSLMODE`) and the password its configuration names
    /// (`PGPASSWORD`), exactly as libpq would take them from the environment.
    pub fn with_var(&self, name: &str, value: &str) -> Self {
        let mut env = self.clone();
        env.vars.insert(name.to_string(), value.to_string());
        env
    }

    /// This environment without one variable.
    pub fn without(&self, name: &str) -> Self {
        let mut env = self.clone();
        env.vars.remove(name);
        env
    }

    /// The value of an environment variable, if set (possibly empty).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The home directory as libpq finds it: `HOME` when set and not empty, else the password
    /// database.
    pub fn home(&self) -> Option<PathBuf> {
        match self.var("HOME") {
            Some(home) if !home.is_empty() => Some(PathBuf::from(home)),
            _ => self.passwd_home.clone(),
        }
    }
}

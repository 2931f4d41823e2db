//! `pgtls serve`: a Prometheus exporter in the multi-target pattern of blackbox_exporter. A
//! scrape of `/probe?target=NAME` runs one check of a configured target (its module's settings,
//! within the scrape's deadline) and answers with `check --format prometheus`'s families plus
//! the names blackbox users alert on. SIGHUP or `POST /-/reload` reload the configuration (a bad
//! one is refused and the old one kept); SIGTERM stops it, letting probes under way finish
//! within their deadline.

pub mod config;
mod http;
mod listen;
mod probe;
mod stats;
mod web;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use config::ConfigError;
use config::{Config, Flags};

use crate::config::Environment;
use crate::exit::Code;

/// Why the exporter cannot start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The endpoint's TLS certificate or key cannot be used.
    #[error("web TLS: {0}")]
    Tls(String),
    /// The address cannot be listened on.
    #[error("could not listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    /// The async runtime could not start.
    #[error("could not start the runtime: {0}")]
    Runtime(std::io::Error),
    /// Serving failed.
    #[error("the exporter stopped: {0}")]
    Io(std::io::Error),
}

impl ServeError {
    /// The exit code: 2 for what the user can fix (configuration, address, certificate), 1
    /// for the rest.
    pub fn code(&self) -> Code {
        match self {
            ServeError::Runtime(_) | ServeError::Io(_) => Code::Internal,
            _ => Code::Usage,
        }
    }
}

/// What every request shares.
pub(crate) struct Shared {
    config: RwLock<Arc<Config>>,
    flags: Flags,
    env: Environment,
    stats: stats::Stats,
    permits: tokio::sync::Semaphore,
    auth: web::Auth,
    profiles: &'static crate::profiles::Profiles,
    /// Held while a reload over HTTP runs.
    reloading: tokio::sync::Mutex<()>,
    /// Since when each configured target has been seen serving another certificate than its
    /// `expect_cert`.
    differing: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

impl Shared {
    /// How long `target` has served another certificate than expected, as of this probe's
    /// answer (`served`): zero once it serves it again; `None` when it has no expected one.
    fn differing(&self, target: &str, served: Option<bool>) -> Option<std::time::Duration> {
        let served = served?;
        let mut since = self.differing.lock().unwrap_or_else(|p| p.into_inner());
        if served {
            since.remove(target);
            return Some(std::time::Duration::ZERO);
        }
        let first = *since
            .entry(target.to_string())
            .or_insert_with(std::time::Instant::now);
        Some(first.elapsed())
    }

    /// The configuration in use.
    fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads the configuration again; a bad one is refused and the one in use kept. Returns the
    /// number of targets.
    fn reload(&self) -> Result<usize, ConfigError> {
        let now = crate::clock::Clock::system().unix();
        match config::load(&self.flags, &self.env) {
            Ok(new) => {
                let targets = new.targets.len();
                *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
                self.stats.loaded(true, targets, now);
                log(&[
                    ("level", "info"),
                    ("msg", "configuration reloaded"),
                    ("targets", &targets.to_string()),
                ]);
                Ok(targets)
            }
            Err(e) => {
                self.stats.loaded(false, 0, now);
                log(&[
                    ("level", "error"),
                    (
                        "msg",
                        "configuration refused; the previous one stays in use",
                    ),
                    ("error", &e.to_string()),
                ]);
                Err(e)
            }
        }
    }
}

/// One log line on stderr, `key=value` pairs (logfmt), values quoted where they need it and
/// made safe for a terminal.
pub(crate) fn log(fields: &[(&str, &str)]) {
    let line: Vec<String> = fields
        .iter()
        .map(|(key, value)| {
            let value = crate::sanitize::clean(value);
            if !value.is_empty() && !value.contains([' ', '"', '=']) {
                format!("{key}={value}")
            } else {
                format!(
                    "{key}=\"{}\"",
                    value.replace('\\', "\\\\").replace('"', "\\\"")
                )
            }
        })
        .collect();
    eprintln!("{}", line.join(" "));
}

/// What `pgtls serve` was asked.
#[derive(Debug)]
pub struct Options {
    /// The configuration: file, flags' targets and default module.
    pub flags: Flags,
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--check-config`: load, report, exit.
    pub check_only: bool,
    /// The provider profiles the checks use.
    pub profiles: &'static crate::profiles::Profiles,
}

/// `pgtls serve`.
///
/// # Errors
/// A configuration that cannot be used, an address that cannot be listened on, or a TLS
/// certificate or key that cannot be loaded.
pub fn serve(options: Options, env: &Environment) -> Result<Code, ServeError> {
    let config = config::load(&options.flags, env)?;
    if options.check_only {
        println!(
            "configuration OK: {}, {}",
            crate::render::counted(config.targets.len(), "target"),
            crate::render::counted(config.modules.len(), "module")
        );
        return Ok(Code::Ok);
    }
    let listen = options
        .listen
        .or(config.listen)
        .unwrap_or_else(|| config::DEFAULT_LISTEN.parse().expect("a valid address"));
    let tls = match &config.web.tls {
        Some((cert, key)) => Some(web::tls_config(cert, key).map_err(ServeError::Tls)?),
        None => None,
    };
    let grace = config
        .modules
        .values()
        .map(|m| m.timeout)
        .max()
        .unwrap_or(Duration::from_secs(10))
        + Duration::from_secs(1);
    let shared = Arc::new(Shared {
        permits: tokio::sync::Semaphore::new(config.max_probes),
        auth: web::Auth::new(config.web.basic_auth_users.clone()),
        stats: stats::Stats::new(config.targets.len(), crate::clock::Clock::system().unix()),
        config: RwLock::new(Arc::new(config)),
        flags: options.flags,
        env: env.clone(),
        profiles: options.profiles,
        reloading: tokio::sync::Mutex::new(()),
        differing: std::sync::Mutex::default(),
    });
    let limits = listen::Limits::for_descriptors(crate::fleet::raise_descriptor_limit());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    let result = runtime.block_on(run(shared, (listen, limits), tls, grace));
    runtime.shutdown_background();
    result
}

async fn run(
    shared: Arc<Shared>,
    (listen, limits): (SocketAddr, listen::Limits),
    tls: Option<Arc<rustls::ServerConfig>>,
    grace: Duration,
) -> Result<Code, ServeError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ServeError::Listen {
            address: listen,
            source,
        })?;
    let local = listener.local_addr().map_err(ServeError::Io)?;
    let config = shared.config();
    log(&[
        ("level", "info"),
        ("msg", "listening"),
        ("address", &local.to_string()),
        ("tls", if tls.is_some() { "true" } else { "false" }),
        ("targets", &config.targets.len().to_string()),
        ("modules", &config.modules.len().to_string()),
        ("max_probes", &config.max_probes.to_string()),
        ("max_connections", &limits.total.to_string()),
    ]);
    drop(config);
    tokio::spawn(reload_on_hangup(shared.clone()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let app = http::router(shared);
    let server = listen::serve(listener, tls, app, limits, stop_rx);
    let mut server = std::pin::pin!(server);
    tokio::select! {
        () = &mut server => return Ok(Code::Ok),
        () = shutdown_signal() => {}
    }
    log(&[
        ("level", "info"),
        (
            "msg",
            "stopping; probes under way finish within their deadline",
        ),
        ("grace_seconds", &grace.as_secs().to_string()),
    ]);
    let _ = stop_tx.send(true);
    if tokio::time::timeout(grace, server).await.is_err() {
        log(&[
            ("level", "warn"),
            (
                "msg",
                "probes still under way at the end of the grace period were cancelled",
            ),
        ]);
    }
    Ok(Code::Ok)
}

/// Reloads the configuration on each SIGHUP, away from the workers that answer scrapes.
async fn reload_on_hangup(shared: Arc<Shared>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hangup.recv().await.is_some() {
        let worker = shared.clone();
        let _ = tokio::task::spawn_blocking(move || worker.reload()).await;
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

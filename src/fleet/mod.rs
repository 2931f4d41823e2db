//! Many targets at once: every host of every connection string, checked concurrently up to a
//! limit, each with its own deadline, reported in input order. Each target is gathered by `probe`
//! and judged by `judge`. Trust files are loaded once per distinct setting, before any connection.

mod progress;
mod runner;

use std::collections::HashMap;
use std::sync::Arc;

pub use progress::progress_wanted;

use crate::clients::{self as drivers, Client, ClientChoice, Policy, Roots};
use crate::clock::Clock;
use crate::config::{Environment, HostKind, Options, Resolved, SslMode};
use crate::error::Error;
use crate::judge;
use crate::judge::clients::{self, Asked, Trusted};
use crate::probe::{self, CheckOptions, WireNeeds};
use crate::report::{Report, TargetReport};
use crate::tls::client_cert::{ClientCertError, ClientIdentity};
use crate::tls::{self, RootError, TlsSetupError, TrustStore};

/// In which order finished targets are passed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Input order: a target waits for those before it (a bounded number are held).
    Input,
    /// As they finish (the hosts of one connection string together).
    Finish,
}

/// Where a run's targets go: each report with its position in input order (from 0).
pub struct Stream<F: FnMut(usize, TargetReport)> {
    /// The order they are passed on in.
    pub order: Order,
    /// Receives each target.
    pub sink: F,
    /// Whether to draw a progress line on stderr.
    pub progress: bool,
}

/// The other clients asked for on one connection string: their policies (roots not loaded
/// yet) and the libpq string with the same settings.
pub struct ClientRequest {
    /// `--client`, or the client the string's form named.
    pub choice: ClientChoice,
    /// The policies of the clients other than libpq.
    pub policies: Vec<Policy>,
    /// The libpq string with the same settings, for a driver's string.
    pub libpq_equivalent: Option<String>,
}

/// One connection string to check: resolved, or refused with libpq's message.
pub enum Input {
    /// A string that resolved. With an `origin` (a targets-file line), local files that cannot
    /// be used fail that line's targets; without one, they stop the run.
    Resolved {
        /// The resolved string.
        resolved: Box<Resolved>,
        /// Where it came from, e.g. `targets.txt:3`, for a targets-file line.
        origin: Option<String>,
        /// Other clients' verdicts to give, with `--client`.
        clients: Option<ClientRequest>,
    },
    /// A string libpq would refuse (from a targets file: reported, not fatal).
    Invalid {
        /// Where it came from, e.g. `targets.txt:3`.
        origin: String,
        /// libpq's message.
        message: String,
    },
}

/// Reads one connection string for the clients asked: as libpq reads it, or, for one driver
/// (asked for, or named by the string's form), as that driver reads it; then the other clients'
/// policies over the same settings, and the libpq string that holds them.
///
/// # Errors
/// The string refused, with the message of the client that reads it.
pub fn read_string(
    conninfo: &str,
    env: &Environment,
    asked: Option<ClientChoice>,
) -> Result<(Resolved, Option<ClientRequest>), Error> {
    let detected = Client::detect(conninfo);
    let choice = asked.unwrap_or(ClientChoice::one(detected));
    let syntax = choice.client().unwrap_or(detected);
    let others: Vec<Client> = match choice.client() {
        Some(Client::Libpq) => Vec::new(),
        Some(client) => vec![client],
        None => Client::ALL[1..].to_vec(),
    };
    let request = |driver: &crate::clients::DriverString, libpq_equivalent| {
        let policies = others
            .iter()
            .map(|c| crate::clients::policy(*c, driver, env))
            .collect();
        ClientRequest {
            choice,
            policies,
            libpq_equivalent,
        }
    };
    if syntax == Client::Libpq {
        let resolved = crate::config::resolve_to_connect(conninfo, env)?;
        if others.is_empty() {
            return Ok((resolved, None));
        }
        let request = request(&crate::clients::from_libpq(&resolved), None);
        return Ok((resolved, Some(request)));
    }
    let driver = crate::clients::parse(syntax, conninfo, env)?;
    let equivalent = crate::clients::libpq_equivalent(&driver);
    let with_password = match &driver.password {
        Some(p) => format!(
            "{equivalent} password={}",
            crate::conninfo::quote(p.expose())
        ),
        None => equivalent.clone(),
    };
    let resolved = crate::config::resolve_to_connect(&with_password, env)?;
    Ok((resolved, Some(request(&driver, Some(equivalent)))))
}

type Store = Arc<Result<Option<TrustStore>, RootError>>;

/// What the run loads once per distinct setting and shares: libpq's trust stores, the other
/// clients' roots, and whether a file node-postgres reads first can be read.
#[derive(Default)]
struct Loaded {
    stores: HashMap<String, Store>,
    trusted: HashMap<String, Arc<Trusted>>,
    readable: HashMap<std::path::PathBuf, Result<(), String>>,
}

/// What a client trusts, loaded (once per setting) as that client would load it. A file the
/// client reads before connecting and cannot read refuses the string (`policy.refused`).
fn trusted_for(policy: &mut Policy, loaded: &mut Loaded) -> Arc<Trusted> {
    for (path, template) in &policy.reads_first {
        let readable = loaded.readable.entry(path.clone()).or_insert_with(|| {
            crate::files::read(path, crate::files::CERTIFICATES)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        if let Err(e) = readable {
            policy.refused = Some(clients::unreadable(template, path, e));
            return Arc::new(Trusted::Unused);
        }
    }
    let Some(verify) = &policy.verify else {
        return Arc::new(Trusted::Unused);
    };
    loaded
        .trusted
        .entry(format!("{:?}", verify.roots))
        .or_insert_with(|| Arc::new(load_roots(&verify.roots)))
        .clone()
}

/// Loads a client's roots: its root file (a file it cannot read is its message), the JVM
/// truststore, Node's bundled roots or the system store.
fn load_roots(roots: &Roots) -> Trusted {
    let file = |path: &std::path::Path, missing: Option<&str>| {
        let absent = matches!(
            std::fs::metadata(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound
        );
        match (TrustStore::from_file(path), missing) {
            (Ok(store), _) => Trusted::Store(store),
            (Err(_), None) if absent => Trusted::Absent,
            (Err(e), template) => Trusted::Unreadable(clients::unreadable(
                template.unwrap_or("{error}"),
                path,
                &e.to_string(),
            )),
        }
    };
    match roots {
        Roots::File { path, missing, .. } => file(path, *missing),
        Roots::FileElseSystem { path } => match file(path, None) {
            Trusted::Absent => system_store(),
            other => other,
        },
        Roots::Jvm { path, password } => {
            let read = crate::files::read(path, crate::files::CERTIFICATES)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    crate::keystore::read(&bytes, password.as_deref().unwrap_or("changeit"))
                        .map_err(|e| e.to_string())
                });
            match read {
                Ok((_, entries)) => Trusted::Store(TrustStore::new(
                    tls::TrustSource::File { path: path.clone() },
                    entries
                        .into_iter()
                        .filter(|e| e.trusted)
                        .flat_map(|e| e.certs)
                        .collect(),
                )),
                Err(e) => Trusted::Unreadable(format!(
                    "the JVM truststore {} cannot be read: {e}",
                    path.display()
                )),
            }
        }
        Roots::NodeBundled { extra } => {
            Trusted::Mozilla(extra.as_ref().and_then(|p| TrustStore::from_file(p).ok()))
        }
        Roots::System => system_store(),
    }
}

fn system_store() -> Trusted {
    match TrustStore::system() {
        Ok(store) => Trusted::Store(store),
        Err(e) => Trusted::Unreadable(e.to_string()),
    }
}

/// The connections the asked clients need besides libpq's.
fn wire_needs(asked: &Asked) -> WireNeeds {
    let mut needs = WireNeeds::default();
    for (policy, _) in &asked.policies {
        if policy.refused.is_some() {
            continue;
        }
        needs.tls |= policy.order != drivers::Order::Plain;
        // Clients that start with TLS need plaintext only if TLS fails them: asked later.
        needs.plain |= matches!(
            policy.order,
            drivers::Order::Plain | drivers::Order::PlainThenTls
        );
        needs.direct |= policy.direct;
    }
    needs
}
type Identity = Arc<Result<Option<ClientIdentity>, ClientCertError>>;

/// Loads the client certificate libpq would offer. Where TLS is mandatory a problem is an error
/// before anything connects (unless `lenient`); elsewhere the TLS attempt reports it.
fn identity_for(options: &Options, tcp: bool, lenient: bool) -> Result<Identity, Error> {
    if !tcp || options.sslmode == SslMode::Disable {
        return Ok(Arc::new(Ok(None)));
    }
    let identity = tls::client_cert::load(options, options.sslpassword.as_ref());
    if options.sslmode >= SslMode::Require
        && !lenient
        && let Err(e) = identity
    {
        return Err(Error::ClientCert(e));
    }
    Ok(Arc::new(identity))
}

/// Loads (or reuses) the trust store for one string's options. A root file that cannot be used
/// is not an error here: as in libpq, the TLS attempt meets it once the server has agreed to TLS,
/// and the check still shows the chain and how to make the right file. A protocol range or CRL
/// setting that cannot be used is an error before anything connects.
fn store_for(
    options: &Options,
    tcp: bool,
    cache: &mut HashMap<String, Store>,
) -> Result<Store, TlsSetupError> {
    if !tcp || options.sslmode == SslMode::Disable {
        return Ok(Arc::new(Ok(None)));
    }
    tls::versions(options)?;
    tls::check_crl_files(options)?;
    let key = format!(
        "{:?}|{:?}|{:?}",
        options.root_cert, options.sslcrl, options.sslcrldir
    );
    let store = cache
        .entry(key)
        .or_insert_with(|| Arc::new(tls::trust_store(options)))
        .clone();
    Ok(store)
}

/// One host of one connection string, ready to check.
pub(crate) struct Job {
    index: usize,
    resolved: Arc<Resolved>,
    target: usize,
    store: Store,
    identity: Identity,
    asked: Option<Arc<Asked>>,
}

/// Turns one input into reports (refused strings, unusable local files of a targets-file line)
/// and jobs, one per host.
///
/// # Errors
/// Local files that cannot be used, for a string given on the command line.
fn prepare(index: usize, input: Input, loaded: &mut Loaded) -> Result<Prepared, Error> {
    let (resolved, origin, clients) = match input {
        Input::Invalid { origin, message } => {
            return Ok(Prepared::Done(vec![judge::invalid(
                index, &origin, &message,
            )]));
        }
        Input::Resolved {
            resolved,
            origin,
            clients,
        } => (resolved, origin, clients),
    };
    let asked = clients.map(|request| {
        Arc::new(Asked {
            choice: request.choice,
            policies: request
                .policies
                .into_iter()
                .map(|mut policy| {
                    let trusted = trusted_for(&mut policy, loaded);
                    (policy, trusted)
                })
                .collect(),
            libpq_equivalent: request.libpq_equivalent,
        })
    });
    let tcp = resolved
        .targets
        .iter()
        .any(|t| t.kind != HostKind::UnixSocket);
    // A driver's string is that driver's verdict: libpq's local files do not stop it.
    let lenient = asked.as_ref().is_some_and(|a| a.libpq_equivalent.is_some());
    let prepared = store_for(&resolved.options, tcp, &mut loaded.stores)
        .map_err(Error::from)
        .and_then(|store| Ok((store, identity_for(&resolved.options, tcp, lenient)?)));
    let (store, identity) = match (prepared, origin) {
        (Ok(prepared), _) => prepared,
        (Err(e), Some(origin)) => {
            let refused = resolved
                .targets
                .iter()
                .map(|target| {
                    judge::local_files_refused(
                        index,
                        target,
                        &resolved.options,
                        &origin,
                        &e.to_string(),
                    )
                })
                .collect();
            return Ok(Prepared::Done(refused));
        }
        (Err(e), None) => return Err(e),
    };
    let resolved: Arc<Resolved> = Arc::from(resolved);
    let jobs = (0..resolved.targets.len())
        .map(|target| Job {
            index,
            resolved: resolved.clone(),
            target,
            store: store.clone(),
            identity: identity.clone(),
            asked: asked.clone(),
        })
        .collect();
    Ok(Prepared::Jobs(jobs))
}

/// One input, prepared: reports already decided (a refused string, unusable local files of a
/// targets-file line), or one job per host.
pub(crate) enum Prepared {
    /// Decided without connecting.
    Done(Vec<TargetReport>),
    /// To check.
    Jobs(Vec<Job>),
}

/// Descriptors kept back for standard streams, the runtime and files read while checking.
const RESERVED_DESCRIPTORS: u64 = 64;

/// Raises the open-files limit to its hard limit where it is lower; returns the limit now in
/// force, if it can be read.
pub fn raise_descriptor_limit() -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    Some(
        if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
            hard
        } else {
            soft
        },
    )
}

/// Raises the soft open-files limit to the hard one, and fits `concurrency` within it: each target
/// under way holds a socket, and under `--audit` up to a few more. Returns the concurrency to use
/// and, when it had to be lowered, a warning that says why.
fn fit_concurrency(concurrency: usize, audit: bool) -> (usize, Option<String>) {
    let Some(limit) = raise_descriptor_limit() else {
        return (concurrency, None);
    };
    let per_target: u64 = if audit {
        1 + crate::probe::audit::PARALLEL as u64
    } else {
        2
    };
    let fits = (limit.saturating_sub(RESERVED_DESCRIPTORS) / per_target).max(1) as usize;
    if concurrency <= fits {
        return (concurrency, None);
    }
    let warning = format!(
        "--concurrency {concurrency} needs about {} open files, more than this process may open ({limit}); checking {fits} at a time (raise the limit with ulimit -n)",
        concurrency as u64 * per_target + RESERVED_DESCRIPTORS
    );
    (fits, Some(warning))
}

/// Checks every target of every input, at most `concurrency` at a time, on a runtime of its own,
/// passing each target on to `stream` as the run decides it. Inputs are taken as they are
/// needed, so that only the targets under way (and, in input order, those finished early) are
/// held. Ctrl-C stops the run: the targets that finished are passed on, and the run says so.
///
/// # Errors
/// A trust source or protocol range that cannot be used, found before that string's hosts are
/// connected to.
pub fn check_all(
    inputs: impl IntoIterator<Item = Input>,
    run: CheckOptions,
    concurrency: usize,
    clock: Clock,
    stream: Stream<impl FnMut(usize, TargetReport)>,
) -> Result<Finished, Error> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let (concurrency, warning) = fit_concurrency(concurrency.max(1), run.audit);
    if let Some(warning) = warning {
        eprintln!("pgtls: warning: {warning}");
    }
    let mut runner = runner::Runner::new(stream, concurrency);
    let finished = runtime.block_on(async {
        tokio::select! {
            ran = runner.run(inputs, run, clock) => ran.map(|()| Finished::Complete),
            // A handler that cannot be set up leaves the run alone.
            Ok(()) = tokio::signal::ctrl_c() => Ok(Finished::Interrupted),
        }
    });
    // Tasks still blocked in the resolver must not hold the process after the report.
    runtime.shutdown_background();
    runner.end(finished.as_ref().is_ok_and(|f| *f == Finished::Interrupted));
    finished
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Every target was checked.
    Complete,
    /// Ctrl-C stopped it; the targets that finished were passed on.
    Interrupted,
}

/// Checks every target of `inputs` on the runtime this runs on, up to `concurrency` at once, and
/// returns them in input order. Dropping the future cancels the checks under way.
///
/// # Errors
/// A local trust file that cannot be used, for a string without an origin.
pub async fn check_inputs(
    inputs: impl IntoIterator<Item = Input>,
    run: CheckOptions,
    concurrency: usize,
    clock: Clock,
) -> Result<Report, Error> {
    let mut targets = Vec::new();
    let stream = Stream {
        order: Order::Input,
        sink: |_: usize, t: TargetReport| targets.push(t),
        progress: false,
    };
    let mut runner = runner::Runner::new(stream, concurrency.max(1));
    runner.run(inputs, run, clock).await?;
    runner.end(false);
    drop(runner);
    Ok(Report { targets })
}

/// One target: gathered by the probe, then judged.
pub(crate) async fn check(job: Job, run: CheckOptions, clock: Clock) -> TargetReport {
    let store = job.store.as_ref().as_ref().map(Option::as_ref);
    let identity = job.identity.as_ref().as_ref().map(Option::as_ref);
    let target = &job.resolved.targets[job.target];
    let mut needs = job.asked.as_deref().map(wire_needs).unwrap_or_default();
    // A root file that cannot be used ends libpq's TLS attempt before the chain is seen: an
    // unverified connection shows it, for the diagnosis and the fix.
    if job.store.is_err() && job.resolved.options.sslmode >= SslMode::Require {
        needs.tls = true;
    }
    // A connection that gathers facts for the clients verifies nothing: it sends the password
    // only where a client asked for would, after that client's own checks of the chain.
    let now = clock.webpki();
    let gate: probe::Gate = &|presented| {
        job.asked.as_deref().is_some_and(|asked| {
            clients::some_client_sends_password(asked, &target.host, presented, now)
        })
    };
    let credentials = probe::Credentials {
        libpq_judged: job
            .asked
            .as_ref()
            .is_none_or(|a| a.libpq_equivalent.is_none()),
        gate,
    };
    let mut facts = probe::gather(
        &job.resolved,
        target,
        store,
        identity,
        run,
        (needs, credentials),
    )
    .await;
    // A client that falls back from TLS to plaintext on this server needs a plaintext connection.
    if let Some(asked) = job.asked.as_deref()
        && facts.wire.plain.is_none()
        && clients::needs_plain(asked, &target.host, &facts.wire, clock.webpki())
    {
        let timeout = run.timeout(&job.resolved.options);
        let more = WireNeeds {
            plain: true,
            ..WireNeeds::default()
        };
        let gathered = probe::gather_wire(
            &job.resolved,
            target,
            identity,
            &facts.attempts,
            (more, gate),
            timeout,
        )
        .await;
        facts.wire.plain = gathered.plain;
    }
    let options = &job.resolved.options;
    let mut report = judge::judge(
        options,
        target,
        store,
        facts,
        &run,
        clock,
        job.asked.as_deref(),
    );
    report.conninfo = job.index;
    report
}

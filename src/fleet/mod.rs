//! Many targets at once: every host of every connection string, checked concurrently up to a
//! limit, each with its own deadline, reported in input order. Each target is gathered by `probe`
//! and judged by `judge`. Trust files are loaded once per distinct setting, before any connection.

mod progress;
mod runner;

use std::sync::Arc;

pub use progress::progress_wanted;

use crate::clients::ClientRequest;
use crate::config::{HostKind, Resolved};
use crate::judge::clients::{self, Asked};
use crate::judge::{self, Context};
use crate::probe::{self, CheckOptions, WireNeeds};
use crate::report::{Report, TargetReport};
use crate::tls::TlsSetupError;
use crate::tls::client_cert::ClientCertError;
use crate::tls::client_roots::{Identity, Loaded, Store};

/// Why a run could not check its targets.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// A protocol range or CRL setting of a string given on the command line cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    /// The client certificate or key of such a string cannot be used.
    #[error(transparent)]
    ClientCert(#[from] ClientCertError),
    /// The async runtime could not start.
    #[error("could not start the runtime: {0}")]
    Runtime(std::io::Error),
}

impl FleetError {
    /// The exit code: 2 for local files, 1 for the runtime.
    pub fn code(&self) -> crate::exit::Code {
        match self {
            FleetError::Runtime(_) => crate::exit::Code::Internal,
            _ => crate::exit::Code::Usage,
        }
    }
}

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
        /// This input's own expectations (a targets-file line's `# also-names=`), over the run's.
        expect: Option<Arc<crate::expect::Expectations>>,
    },
    /// A string libpq would refuse (from a targets file: reported, not fatal).
    Invalid {
        /// Where it came from, e.g. `targets.txt:3`.
        origin: String,
        /// libpq's message.
        message: String,
        /// Advice for a common mistake ("did you mean ..."), as for a string given as an argument.
        hint: Option<String>,
    },
}

impl Input {
    /// A string the client refuses, with the advice pgtls gives for it as an argument.
    pub(crate) fn refused(origin: String, error: crate::clients::ReadError) -> Input {
        let message = error.to_string();
        let hint = error.hint();
        Input::Invalid {
            origin,
            message,
            hint,
        }
    }
}

/// One host of one connection string, ready to check.
pub(crate) struct Job {
    index: usize,
    resolved: Arc<Resolved>,
    target: usize,
    store: Store,
    identity: Identity,
    asked: Option<Arc<Asked>>,
    expect: Option<Arc<crate::expect::Expectations>>,
}

/// Turns one input into reports (refused strings, unusable local files of a targets-file line)
/// and jobs, one per host.
///
/// # Errors
/// Local files that cannot be used, for a string given on the command line.
fn prepare(index: usize, input: Input, loaded: &mut Loaded) -> Result<Prepared, FleetError> {
    let (resolved, origin, clients, expect) = match input {
        Input::Invalid {
            origin,
            message,
            hint,
        } => {
            return Ok(Prepared::Done(vec![judge::invalid(
                index, &origin, &message, hint,
            )]));
        }
        Input::Resolved {
            resolved,
            origin,
            clients,
            expect,
        } => (resolved, origin, clients, expect),
    };
    let asked = clients.map(|mut request| {
        let trusted = request
            .policies
            .iter_mut()
            .map(|policy| loaded.trusted(policy))
            .collect();
        Arc::new(Asked { request, trusted })
    });
    let tcp = resolved
        .targets
        .iter()
        .any(|t| t.kind != HostKind::UnixSocket);
    let lenient = !clients::libpq_judged(asked.as_deref());
    let prepared = loaded
        .store(&resolved.options, tcp)
        .map_err(FleetError::from)
        .and_then(|store| Ok((store, Loaded::identity(&resolved.options, tcp, lenient)?)));
    let (store, identity) = match (prepared, origin) {
        (Ok(prepared), _) => prepared,
        (Err(e), Some(origin)) => {
            let refused = resolved.targets.iter().map(|target| {
                judge::local_files_refused(
                    index,
                    target,
                    &resolved.options,
                    &origin,
                    &e.to_string(),
                )
            });
            return Ok(Prepared::Done(refused.collect()));
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
            expect: expect.clone(),
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
/// judged in `ctx`,
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
    ctx: Context<'static>,
    stream: Stream<impl FnMut(usize, TargetReport)>,
) -> Result<Finished, FleetError> {
    let (concurrency, warning) = fit_concurrency(concurrency.max(1), run.audit);
    let runtime = runtime_for(concurrency).map_err(FleetError::Runtime)?;
    if let Some(warning) = warning {
        eprintln!("pgtls: warning: {warning}");
    }
    let mut runner = runner::Runner::new(stream, concurrency);
    let finished = runtime.block_on(async {
        tokio::select! {
            ran = runner.run(inputs, run, ctx) => ran.map(|()| Finished::Complete),
            // A handler that cannot be set up leaves the run alone.
            Ok(()) = tokio::signal::ctrl_c() => Ok(Finished::Interrupted),
        }
    });
    // Tasks still blocked in the resolver must not hold the process after the report.
    runtime.shutdown_background();
    runner.end(finished.as_ref().is_ok_and(|f| *f == Finished::Interrupted));
    finished
}

/// Checks at once that one thread keeps up with: at under a millisecond of CPU per check, 64
/// checks take a few tens of milliseconds of it per round of round trips, far less than the
/// network's time. A single-threaded runtime spends a sixth less CPU per check than a
/// multi-threaded one (no wake-ups across threads; scripts/bench.sh measures it).
const ONE_THREAD_KEEPS_UP: usize = 64;

/// The runtime for `concurrency` checks at once: one thread where it keeps up, else a worker
/// per core (at most 8), for fleets whose checks become CPU-bound.
fn runtime_for(concurrency: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if concurrency <= ONE_THREAD_KEEPS_UP {
        return tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
    }
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
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
    ctx: Context<'static>,
) -> Result<Report, FleetError> {
    let mut targets = Vec::new();
    let stream = Stream {
        order: Order::Input,
        sink: |_: usize, t: TargetReport| targets.push(t),
        progress: false,
    };
    let mut runner = runner::Runner::new(stream, concurrency.max(1));
    runner.run(inputs, run, ctx).await?;
    runner.end(false);
    drop(runner);
    Ok(Report { targets })
}

/// One target: gathered by the probe, then judged.
pub(crate) async fn check(job: Job, run: CheckOptions, ctx: Context<'static>) -> TargetReport {
    // A line's own expectations stand over the run's.
    let ctx = Context {
        expect: job.expect.clone().or(ctx.expect),
        ..ctx
    };
    let store = job.store.as_ref().as_ref().map(Option::as_ref);
    let identity = job.identity.as_ref().as_ref().map(Option::as_ref);
    let target = &job.resolved.targets[job.target];
    let asked = job.asked.as_deref();
    let now = ctx.clock.webpki();
    let gate = clients::password_gate(asked, &target.host, now);
    let credentials = probe::Credentials {
        libpq_judged: clients::libpq_judged(asked),
        gate: &gate,
    };
    let needs = asked.map(clients::wire_needs).unwrap_or_default();
    let mut facts = probe::gather(
        &job.resolved,
        target,
        store,
        identity,
        run,
        (
            needs,
            credentials,
            ctx.expect.as_deref().map_or(&[][..], |e| &e.sni_names[..]),
        ),
    )
    .await;
    // A client that falls back from TLS to plaintext on this server needs a plaintext connection.
    if let Some(asked) = asked
        && facts.wire.plain.is_none()
        && clients::needs_plain(asked, &target.host, &facts.wire, now)
    {
        let more = WireNeeds {
            plain: true,
            ..WireNeeds::default()
        };
        let timeout = run.timeout(&job.resolved.options);
        let gathered = probe::gather_wire(
            &job.resolved,
            target,
            identity,
            &facts.attempts,
            (more, &gate),
            timeout,
        )
        .await;
        facts.wire.plain = gathered.plain;
    }
    // Client stacks whose own key exchange groups decide whether they connect here.
    let offers = judge::groups::offers_to_try(asked, &facts.attempts, &facts.wire);
    if !offers.is_empty() {
        let timeout = run.timeout(&job.resolved.options);
        facts.wire.by_offer = probe::gather_offers(
            &job.resolved,
            target,
            identity,
            (offers, needs.direct),
            &gate,
            timeout,
        )
        .await;
    }
    let options = &job.resolved.options;
    let mut report = judge::judge(options, target, store, facts, &run, ctx, asked);
    report.conninfo = job.index;
    report
}

//! Many targets at once: every host of every connection string, checked concurrently up to a
//! limit, each with its own deadline, reported in input order. Trust files are loaded once per
//! distinct setting, before any connection.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{CheckOptions, check_target};
use crate::config::{HostKind, Options, Resolved, SslMode};
use crate::exit::Error;
use crate::report::{Report, SCHEMA_VERSION, TargetReport};
use crate::tls::client_cert::{ClientCertError, ClientIdentity};
use crate::tls::{self, RootError, TlsSetupError, TrustStore};

/// One connection string to check: resolved, or refused with libpq's message.
pub enum Input {
    /// A string that resolved. With an `origin` (a targets-file line), local files that cannot
    /// be used fail that line's targets; without one, they stop the run.
    Resolved {
        /// The resolved string.
        resolved: Box<Resolved>,
        /// Where it came from, e.g. `targets.txt:3`, for a targets-file line.
        origin: Option<String>,
    },
    /// A string libpq would refuse (from a targets file: reported, not fatal).
    Invalid {
        /// Where it came from, e.g. `targets.txt:3`.
        origin: String,
        /// libpq's message.
        message: String,
    },
}

type Store = Arc<Result<Option<TrustStore>, RootError>>;
type Identity = Arc<Result<Option<ClientIdentity>, ClientCertError>>;

/// Loads the client certificate libpq would offer. Where TLS is mandatory a problem is an error
/// before anything connects; elsewhere the TLS attempt reports it.
fn identity_for(options: &Options, tcp: bool) -> Result<Identity, Error> {
    if !tcp || options.sslmode == SslMode::Disable {
        return Ok(Arc::new(Ok(None)));
    }
    let identity = tls::client_cert::load(options, options.sslpassword.as_ref());
    if options.sslmode >= SslMode::Require
        && let Err(e) = identity
    {
        return Err(Error::ClientCert(e));
    }
    Ok(Arc::new(identity))
}

/// Loads (or reuses) the trust store for one string's options. Where TLS is mandatory a
/// problem is an error before anything connects; elsewhere the TLS attempt reports it.
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
    if options.sslmode >= SslMode::Require
        && let Err(e) = store.as_ref()
    {
        return Err(e.clone().into());
    }
    Ok(store)
}

/// Checks every target of every input, at most `concurrency` at a time, in input order.
///
/// # Errors
/// A trust source or protocol range that cannot be used, found before any connection is made.
pub fn check_all(
    inputs: Vec<Input>,
    run: CheckOptions,
    concurrency: usize,
) -> Result<Report, Error> {
    let mut cache = HashMap::new();
    let mut jobs = Vec::new();
    let mut reports: Vec<Option<TargetReport>> = Vec::new();
    for (index, input) in inputs.into_iter().enumerate() {
        match input {
            Input::Invalid { origin, message } => {
                reports.push(Some(TargetReport::invalid(index, &origin, &message)));
            }
            Input::Resolved { resolved, origin } => {
                let tcp = resolved
                    .targets
                    .iter()
                    .any(|t| t.kind != HostKind::UnixSocket);
                let prepared = store_for(&resolved.options, tcp, &mut cache)
                    .map_err(Error::from)
                    .and_then(|store| Ok((store, identity_for(&resolved.options, tcp)?)));
                let (store, identity) = match (prepared, origin) {
                    (Ok(prepared), _) => prepared,
                    (Err(e), Some(origin)) => {
                        for target in &resolved.targets {
                            reports.push(Some(TargetReport::local_files_refused(
                                index,
                                target,
                                &resolved.options,
                                &origin,
                                &e.to_string(),
                            )));
                        }
                        continue;
                    }
                    (Err(e), None) => return Err(e),
                };
                let resolved: Arc<Resolved> = Arc::from(resolved);
                for target in 0..resolved.targets.len() {
                    let job = (resolved.clone(), target, store.clone(), identity.clone());
                    jobs.push((reports.len(), index, job));
                    reports.push(None);
                }
            }
        }
    }
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let total = jobs.len();
    let progress = total > 1 && std::io::stderr().is_terminal();
    runtime.block_on(async {
        let limit = Arc::new(Semaphore::new(concurrency.max(1)));
        let mut set = JoinSet::new();
        let mut slots = HashMap::new();
        for (slot, index, (resolved, target, store, identity)) in jobs {
            let limit = limit.clone();
            let task = set.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let store = store.as_ref().as_ref().map(Option::as_ref);
                let identity = identity.as_ref().as_ref().map(Option::as_ref);
                let target = &resolved.targets[target];
                let mut report = check_target(&resolved, target, store, identity, run).await;
                report.conninfo = index;
                report
            });
            slots.insert(task.id(), (slot, index));
        }
        let mut done = 0;
        while let Some(joined) = set.join_next_with_id().await {
            match joined {
                Ok((id, report)) => {
                    if let Some(&(slot, _)) = slots.get(&id) {
                        reports[slot] = Some(report);
                    }
                }
                Err(e) => {
                    if let Some(&(slot, index)) = slots.get(&e.id()) {
                        reports[slot] = Some(TargetReport::internal(index, &e.to_string()));
                    }
                }
            }
            done += 1;
            if progress {
                eprint!("\rpgtls: checked {done} of {total} targets");
            }
        }
        if progress {
            eprintln!();
        }
    });
    let mut targets: Vec<TargetReport> = reports.into_iter().flatten().collect();
    let mut chosen = std::collections::HashSet::new();
    for t in &mut targets {
        t.libpq_uses = t.libpq_connects && chosen.insert(t.conninfo);
    }
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        targets,
    })
}

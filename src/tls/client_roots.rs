//! What each client trusts and what libpq offers, loaded once per distinct setting for a whole
//! run and shared by every target with that setting: libpq's trust store and client certificate,
//! and the other clients' roots as each loads them (a root file, the JVM truststore, Node.js's
//! bundled roots, the system store). A file a client cannot read is that client's message, not an
//! error of the run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::client_cert::{ClientCertError, ClientIdentity};
use super::{RootError, TlsSetupError, TrustSource, TrustStore};
use crate::clients::{Policy, Roots};
use crate::config::{Options, SslMode};

/// A client's trusted certificates, as loaded for its policy.
#[derive(Debug, Clone)]
pub(crate) enum Trusted {
    /// The policy verifies nothing.
    Unused,
    /// Certificates from a file, a keystore or the system store.
    Store(TrustStore),
    /// Node.js's bundled Mozilla roots, plus `NODE_EXTRA_CA_CERTS`.
    Mozilla(Option<TrustStore>),
    /// An optional root file that is not there: no verification (asyncpg's `require`).
    Absent,
    /// A root file that cannot be read, with the client's message.
    Unreadable(String),
}

/// A client's roots being loaded on a thread of their own while the connections go on (a system
/// store or a bundle of roots takes milliseconds to read): the first use waits for them.
#[derive(Debug)]
pub(crate) struct Loading {
    loaded: std::sync::OnceLock<Trusted>,
    job: std::sync::Mutex<Option<std::thread::JoinHandle<Trusted>>>,
}

impl Loading {
    /// Starts loading `roots`.
    fn start(roots: &Roots) -> Self {
        let moved = roots.clone();
        let job = std::thread::Builder::new()
            .name("pgtls-roots".into())
            .spawn(move || load(&moved));
        match job {
            Ok(job) => Loading {
                loaded: std::sync::OnceLock::new(),
                job: std::sync::Mutex::new(Some(job)),
            },
            // No thread to be had: load here and now.
            Err(_) => Loading::done(load(roots)),
        }
    }

    /// Roots already known.
    fn done(trusted: Trusted) -> Self {
        Loading {
            loaded: std::sync::OnceLock::from(trusted),
            job: std::sync::Mutex::new(None),
        }
    }
}

impl std::ops::Deref for Loading {
    type Target = Trusted;

    fn deref(&self) -> &Trusted {
        self.loaded.get_or_init(|| {
            let job = self.job.lock().ok().and_then(|mut job| job.take());
            match job.map(std::thread::JoinHandle::join) {
                Some(Ok(trusted)) => trusted,
                _ => Trusted::Unreadable("loading the roots failed".into()),
            }
        })
    }
}

/// The client's message for a root file it cannot read.
pub(crate) fn unreadable(template: &str, path: &Path, error: &str) -> String {
    template
        .replace("{path}", &path.display().to_string())
        .replace("{error}", error)
}

/// libpq's trust store for one setting: none where nothing is verified, or why it cannot be
/// loaded.
pub(crate) type Store = Arc<Result<Option<TrustStore>, RootError>>;
/// libpq's client certificate for one setting: none where none is offered, or why it cannot be
/// loaded.
pub(crate) type Identity = Arc<Result<Option<ClientIdentity>, ClientCertError>>;

/// What a run has loaded, by setting.
#[derive(Default)]
pub(crate) struct Loaded {
    stores: HashMap<String, Store>,
    trusted: HashMap<String, Arc<Loading>>,
    readable: HashMap<PathBuf, Result<(), String>>,
}

impl Loaded {
    /// libpq's trust store for `options` (loaded once per root file and CRL setting), where it
    /// connects over TCP with TLS possible. A root file that cannot be used is not an error here:
    /// as in libpq, the TLS attempt meets it once the server has agreed to TLS, and the check
    /// still shows the chain and how to make the right file.
    ///
    /// # Errors
    /// A protocol range or CRL setting that cannot be used, before anything connects.
    pub(crate) fn store(&mut self, options: &Options, tcp: bool) -> Result<Store, TlsSetupError> {
        if !tcp || options.sslmode == SslMode::Disable {
            return Ok(Arc::new(Ok(None)));
        }
        super::versions(options)?;
        super::check_crl_files(options)?;
        let key = format!(
            "{:?}|{:?}|{:?}",
            options.root_cert, options.sslcrl, options.sslcrldir
        );
        let store = self
            .stores
            .entry(key)
            .or_insert_with(|| Arc::new(super::trust_store(options)));
        Ok(store.clone())
    }

    /// The client certificate libpq would offer. Where TLS is mandatory a problem is an error
    /// before anything connects (unless `lenient`: a driver's string, whose verdict libpq's local
    /// files do not stop); elsewhere the TLS attempt reports it.
    ///
    /// # Errors
    /// The certificate or key cannot be used, where TLS is mandatory.
    pub(crate) fn identity(
        options: &Options,
        tcp: bool,
        lenient: bool,
    ) -> Result<Identity, ClientCertError> {
        if !tcp || options.sslmode == SslMode::Disable {
            return Ok(Arc::new(Ok(None)));
        }
        let identity = super::client_cert::load(options, options.sslpassword.as_ref());
        match identity {
            Err(e) if options.sslmode >= SslMode::Require && !lenient => Err(e),
            identity => Ok(Arc::new(identity)),
        }
    }

    /// What a client trusts, loaded (once per setting) as that client would load it. A file the
    /// client reads before connecting and cannot read refuses the string (`policy.refused`).
    pub(crate) fn trusted(&mut self, policy: &mut Policy) -> Arc<Loading> {
        for (path, template) in &policy.reads_first {
            let readable = self.readable.entry(path.clone()).or_insert_with(|| {
                crate::files::read(path, crate::files::CERTIFICATES)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
            if let Err(e) = readable {
                policy.refused = Some(unreadable(template, path, e));
                return Arc::new(Loading::done(Trusted::Unused));
            }
        }
        let Some(verify) = &policy.verify else {
            return Arc::new(Loading::done(Trusted::Unused));
        };
        self.trusted
            .entry(format!("{:?}", verify.roots))
            .or_insert_with(|| Arc::new(Loading::start(&verify.roots)))
            .clone()
    }
}

/// Loads a client's roots: its root file (a file it cannot read is its message), the JVM
/// truststore, Node's bundled roots or the system store.
fn load(roots: &Roots) -> Trusted {
    match roots {
        Roots::File { path, missing, .. } => file(path, *missing),
        Roots::FileElseSystem { path } => match file(path, None) {
            Trusted::Absent => system(),
            other => other,
        },
        Roots::Jvm { path, password } => jvm(path, password.as_deref().unwrap_or("changeit")),
        Roots::NodeBundled { extra } => {
            Trusted::Mozilla(extra.as_ref().and_then(|p| TrustStore::from_file(p).ok()))
        }
        Roots::System => system(),
        Roots::FileAndSystem { path, missing } => match (file(path, Some(missing)), system()) {
            (Trusted::Store(mut own), Trusted::Store(system)) => {
                own.anchors.extend(system.anchors);
                own.intermediates.extend(system.intermediates);
                Trusted::Store(own)
            }
            (Trusted::Store(own), _) => Trusted::Store(own),
            (other, _) => other,
        },
        Roots::Unchecked => Trusted::Unused,
        Roots::WebpkiAndFile { file: None, .. } => Trusted::Mozilla(None),
        Roots::WebpkiAndFile {
            file: Some(path),
            missing,
        } => match file(path, Some(missing)) {
            Trusted::Store(store) => Trusted::Mozilla(Some(store)),
            other => other,
        },
    }
}

/// A root file; `missing` is the client's message for one that is not there (without one, a
/// missing file is [`Trusted::Absent`]).
fn file(path: &Path, missing: Option<&str>) -> Trusted {
    let absent = matches!(
        std::fs::metadata(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound
    );
    match (TrustStore::from_file(path), missing) {
        (Ok(store), _) => Trusted::Store(store),
        (Err(_), None) if absent => Trusted::Absent,
        (Err(e), template) => Trusted::Unreadable(unreadable(
            template.unwrap_or("{error}"),
            path,
            &e.to_string(),
        )),
    }
}

/// The trusted certificate entries of a JVM truststore (JKS or PKCS#12).
fn jvm(path: &Path, password: &str) -> Trusted {
    let read = crate::files::read(path, crate::files::CERTIFICATES)
        .map_err(|e| e.to_string())
        .and_then(|bytes| crate::keystore::read(&bytes, password).map_err(|e| e.to_string()));
    match read {
        Ok((_, entries)) => Trusted::Store(TrustStore::new(
            TrustSource::File {
                path: path.to_path_buf(),
            },
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

fn system() -> Trusted {
    match TrustStore::system() {
        Ok(store) => Trusted::Store(store),
        Err(e) => Trusted::Unreadable(e.to_string()),
    }
}

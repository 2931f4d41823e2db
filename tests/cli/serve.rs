//! `pgtls serve`, the Prometheus exporter: scraped by a real Prometheus (Debian's `prometheus`)
//! that probes real PostgreSQL servers, its output accepted by `promtool check metrics`, and
//! every kind of bad input answered with the right status, nothing connecting where it must not.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fake::{fake, stay_silent};
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, free_port, shared_tempdir};

/// A running `pgtls serve`, stopped on drop; its log collected as it is written.
pub struct Exporter {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl Exporter {
    /// Starts `pgtls serve ARGS --listen 127.0.0.1:0` in `home` with `vars`, and waits for the
    /// line that says where it listens.
    pub fn start(home: &Path, args: &[&str], vars: &[(&str, &str)]) -> Exporter {
        Exporter::spawn(
            Command::new(assert_cmd::cargo::cargo_bin("pgtls")),
            home,
            args,
            vars,
        )
    }

    /// As [`Exporter::start`], with the open-files limit (soft and hard) at `limit`.
    pub fn start_with_open_files(
        home: &Path,
        args: &[&str],
        vars: &[(&str, &str)],
        limit: u64,
    ) -> Exporter {
        let mut prlimit = Command::new("prlimit");
        prlimit
            .arg(format!("--nofile={limit}:{limit}"))
            .arg(assert_cmd::cargo::cargo_bin("pgtls"));
        Exporter::spawn(prlimit, home, args, vars)
    }

    fn spawn(mut command: Command, home: &Path, args: &[&str], vars: &[(&str, &str)]) -> Exporter {
        let mut child = command
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("PGSYSCONFDIR", home.join("no-sysconfdir"))
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pgtls serve starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = line
                    .strip_prefix("level=info msg=listening address=")
                    .and_then(|rest| rest.split(' ').next())
                {
                    let _ = tx.send(address.to_string());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let address = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("pgtls serve did not listen: {:?}", log.lock().unwrap()));
        let port = address.rsplit(':').next().unwrap().parse().unwrap();
        Exporter { child, port, log }
    }

    /// What it has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Its log once `needle` appears in it `count` times: the exporter logs a probe before it
    /// answers, but the lines reach the test through a reader thread, later.
    pub fn log_with(&self, needle: &str, count: usize) -> String {
        let started = Instant::now();
        loop {
            let log = self.log();
            if log.matches(needle).count() >= count {
                return log;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{needle:?} logged fewer than {count} times in 10 s:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Its peak resident set, in kB.
    fn peak_rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request; returns the status and the body.
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Content-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {response:?}"));
    (status, body.to_string())
}

pub fn get(port: u16, path: &str) -> (u16, String) {
    http(port, "GET", path, &[])
}

/// The value of the sample `line_start` (name and labels) in a text-format body.
pub fn sample(body: &str, line_start: &str) -> Option<f64> {
    body.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

pub fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A TLS server for `localhost` and the CA file that verifies it.
fn good_server(dir: &Path) -> (Server, std::path::PathBuf) {
    let ca = Ca::root("pgtls serve root");
    let leaf = ca.server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    (server, write(dir, "root.crt", &ca.cert_pem))
}

#[test]
fn a_real_prometheus_scrapes_the_verdicts_of_real_servers() {
    let home = shared_tempdir();
    let dir = home.path();
    let (good, root) = good_server(dir);
    let expired_ca = Ca::root("pgtls serve expired root");
    let expired_leaf = expired_ca.server(&ServerCert {
        valid: (-30, -1),
        ..ServerCert::localhost()
    });
    let expired = Server::start(
        Version::V15,
        &Setup::tls(expired_leaf.cert_pem, expired_leaf.key_pem),
    );
    let expired_root = write(dir, "expired-root.crt", &expired_ca.cert_pem);
    let plain = Server::start(
        Version::V15,
        &Setup {
            ssl: false,
            cert: None,
            ..Setup::tls(String::new(), String::new())
        },
    );
    let other = write(dir, "other.crt", &Ca::root("an unrelated root").cert_pem);
    let base = "user=postgres dbname=postgres sslmode=verify-full";
    let targets = [
        (
            "good",
            format!(
                "host=localhost port={} {base} sslrootcert={}",
                good.port,
                root.display()
            ),
            0,
            1,
        ),
        (
            "untrusted",
            format!(
                "host=localhost port={} {base} sslrootcert={}",
                good.port,
                other.display()
            ),
            6,
            0,
        ),
        (
            "mismatch",
            format!(
                "host=db.example.com hostaddr=127.0.0.1 port={} {base} sslrootcert={}",
                good.port,
                root.display()
            ),
            7,
            0,
        ),
        (
            "expired",
            format!(
                "host=localhost port={} {base} sslrootcert={}",
                expired.port,
                expired_root.display()
            ),
            6,
            0,
        ),
        (
            "ssl_off",
            format!(
                "host=localhost port={} {base} sslrootcert={}",
                plain.port,
                root.display()
            ),
            4,
            0,
        ),
    ];
    let mut config = String::new();
    for (name, conninfo, _, _) in &targets {
        config.push_str(&format!("[targets.{name}]\nconninfo = \"{conninfo}\"\n"));
    }
    let config_file = write(dir, "serve.toml", &config);
    let exporter = Exporter::start(dir, &["--config", config_file.to_str().unwrap()], &[]);

    let prometheus_port = free_port();
    let names: Vec<String> = targets.iter().map(|(n, ..)| format!("'{n}'")).collect();
    let prometheus_config = write(
        dir,
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n\
             \x20 - job_name: pgtls\n\
             \x20   metrics_path: /probe\n\
             \x20   static_configs:\n\
             \x20     - targets: [{}]\n\
             \x20   relabel_configs:\n\
             \x20     - source_labels: [__address__]\n\
             \x20       target_label: __param_target\n\
             \x20     - source_labels: [__param_target]\n\
             \x20       target_label: instance\n\
             \x20     - target_label: __address__\n\
             \x20       replacement: 127.0.0.1:{port}\n\
             \x20 - job_name: pgtls_exporter\n\
             \x20   static_configs:\n\
             \x20     - targets: ['127.0.0.1:{port}']\n",
            names.join(", "),
            port = exporter.port
        ),
    );
    let prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", prometheus_config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Prometheus (Debian's prometheus package, installed by scripts/test.sh) runs");
    struct Stop(Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _prometheus = Stop(prometheus);
    let query = |expr: &str| -> Vec<Value> {
        let path = format!(
            "/api/v1/query?query={}",
            expr.replace(' ', "%20")
                .replace('{', "%7B")
                .replace('}', "%7D")
                .replace('"', "%22")
        );
        // Until Prometheus listens, nothing.
        if TcpStream::connect(("127.0.0.1", prometheus_port)).is_err() {
            return Vec::new();
        }
        match http(prometheus_port, "GET", &path, &[]) {
            (200, body) => {
                let doc: Value = serde_json::from_str(&body).unwrap();
                doc["data"]["result"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        }
    };
    let started = Instant::now();
    let mut success = Vec::new();
    while started.elapsed() < Duration::from_secs(60) {
        success = query("probe_success");
        // Every target probed, and the exporter's own metrics scraped after an untrusted one.
        if success.len() == targets.len()
            && !query("pgtls_exporter_probes_total{exit_code=\"6\"}").is_empty()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        success.len(),
        targets.len(),
        "Prometheus has every target's probe_success: {success:?}\n{}",
        exporter.log()
    );
    let value = |results: &[Value], instance: &str| -> f64 {
        results
            .iter()
            .find(|r| r["metric"]["instance"] == instance)
            .and_then(|r| r["value"][1].as_str())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no series for {instance} in {results:?}"))
    };
    let exit_codes = query("pgtls_exit_code");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let expiry = query("probe_ssl_earliest_cert_expiry");
    for (name, _, exit, up) in &targets {
        assert_eq!(
            value(&success, name),
            f64::from(*up),
            "{name} probe_success"
        );
        assert_eq!(
            value(&exit_codes, name),
            f64::from(*exit),
            "{name} exit code"
        );
        match *name {
            "good" => assert!(value(&expiry, name) > now + 300.0 * 86400.0),
            "expired" => assert!(value(&expiry, name) < now),
            "ssl_off" => assert!(expiry.iter().all(|r| r["metric"]["instance"] != "ssl_off")),
            _ => {}
        }
    }
    let tls = query("probe_tls_version_info");
    assert_eq!(tls[0]["metric"]["version"], "TLS 1.3", "{tls:?}");
    // Prometheus scrapes the exporter's own metrics too.
    assert!(!query("up{job=\"pgtls_exporter\"} == 1").is_empty());
    assert!(!query("pgtls_exporter_probes_total{exit_code=\"6\"}").is_empty());
}

/// `promtool check metrics` accepts a page.
pub fn promtool_accepts(body: &str) {
    let mut lint = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package) runs");
    lint.stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = lint.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_accepts_the_probe_and_metrics_pages() {
    let home = shared_tempdir();
    let dir = home.path();
    let (good, root) = good_server(dir);
    let config = write(
        dir,
        "serve.toml",
        &format!(
            "[modules.audit]\naudit = true\nclient = \"all\"\n\
             [targets.good]\nconninfo = \"host=localhost port={port} user=postgres sslmode=verify-full sslrootcert={root}\"\n\
             [targets.good-audit]\nconninfo = \"host=localhost port={port} user=postgres sslmode=verify-full sslrootcert={root}\"\nmodule = \"audit\"\n",
            port = good.port,
            root = root.display()
        ),
    );
    let exporter = Exporter::start(dir, &["--config", config.to_str().unwrap()], &[]);
    let pages = [
        get(exporter.port, "/probe?target=good"),
        get(exporter.port, "/probe?target=good-audit&module=audit"),
        get(exporter.port, "/metrics"),
    ];
    for (status, body) in &pages {
        assert_eq!(*status, 200, "{body}");
        promtool_accepts(body);
    }
    assert_eq!(sample(&pages[0].1, "probe_success"), Some(1.0));
    assert!(pages[1].1.contains("pgtls_audit_protocol_accepted{"));
    assert!(pages[1].1.contains("pgtls_client_up{"));
    assert!(
        !pages[0].1.contains("_expiry_days"),
        "deprecated series stay in textfiles"
    );
    assert_eq!(
        sample(&pages[2].1, "pgtls_exporter_probes_total{exit_code=\"0\"}"),
        Some(2.0)
    );
    let (status, index) = get(exporter.port, "/");
    assert_eq!(status, 200);
    assert!(
        index.contains("<td><a href=\"probe?target=good\">good</a></td>"),
        "{index}"
    );
    assert!(index.contains("exit 0"), "{index}");
    for path in ["/-/healthy", "/-/ready"] {
        assert_eq!(get(exporter.port, path).0, 200, "{path}");
    }
}

/// A listener that counts the connections it gets, holds each for `hold`, and remembers how
/// many it held at once.
pub fn counting_listener(hold: Duration) -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let total = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let open = Arc::new(AtomicUsize::new(0));
    let (t, p) = (total.clone(), peak.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            t.fetch_add(1, Ordering::SeqCst);
            let now = open.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            let open = open.clone();
            std::thread::spawn(move || {
                std::thread::sleep(hold);
                open.fetch_sub(1, Ordering::SeqCst);
                drop(stream);
            });
        }
    });
    (port, total, peak)
}

#[test]
fn bad_requests_are_refused_and_nothing_connects_for_them() {
    let home = shared_tempdir();
    let dir = home.path();
    let (port, connections, _) = counting_listener(Duration::ZERO);
    let config = write(
        dir,
        "serve.toml",
        &format!("[targets.known]\nconninfo = \"host=127.0.0.1 port={port} sslmode=disable\"\n"),
    );
    let exporter = Exporter::start(dir, &["--config", config.to_str().unwrap()], &[]);
    let conninfo = format!("host%3D127.0.0.1%20port%3D{port}");
    let cases = [
        (format!("/probe?target={conninfo}"), 404, "unknown target"),
        ("/probe?target=unknown".to_string(), 404, "unknown target"),
        ("/probe".to_string(), 400, "needs a target"),
        (
            "/probe?target=known&target=known".to_string(),
            400,
            "given twice",
        ),
        (
            "/probe?target=known&module=nope".to_string(),
            400,
            "configured with module \"default\"",
        ),
        (
            "/probe?target=known&debug=1".to_string(),
            400,
            "unknown parameter",
        ),
        ("/nowhere".to_string(), 404, ""),
    ];
    for (path, status, message) in &cases {
        let (got, body) = get(exporter.port, path);
        assert_eq!(got, *status, "{path}: {body}");
        assert!(body.contains(message), "{path}: {body}");
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "a refused probe connects nowhere"
    );
    let (_, metrics) = get(exporter.port, "/metrics");
    assert_eq!(
        sample(
            &metrics,
            "pgtls_exporter_requests_refused_total{reason=\"unknown_target\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &metrics,
            "pgtls_exporter_requests_refused_total{reason=\"bad_request\"}"
        ),
        Some(4.0)
    );
}

#[test]
fn ad_hoc_targets_need_allow_any_target_and_an_allowed_address() {
    let home = shared_tempdir();
    let dir = home.path();
    let (good, root) = good_server(dir);
    let (port, connections, _) = counting_listener(Duration::ZERO);
    let config = write(
        dir,
        "serve.toml",
        "[allow_any_target]\nhosts = [\"localhost\"]\n",
    );
    let exporter = Exporter::start(dir, &["--config", config.to_str().unwrap()], &[]);
    // verify-full against the exporter's own ~/.postgresql/root.crt: an ad hoc string may not
    // name files of its own.
    std::fs::create_dir_all(dir.join(".postgresql")).unwrap();
    std::fs::copy(&root, dir.join(".postgresql/root.crt")).unwrap();
    let allowed = format!(
        "host%3Dlocalhost%20port%3D{}%20user%3Dpostgres%20sslmode%3Dverify-full",
        good.port
    );
    let (status, body) = get(exporter.port, &format!("/probe?target={allowed}"));
    assert_eq!(
        (status, sample(&body, "probe_success")),
        (200, Some(1.0)),
        "{body}"
    );
    let cases = [
        (
            format!("host%3D127.0.0.1%20port%3D{port}"),
            404,
            "does not allow 127.0.0.1",
        ),
        (
            format!("host%3Dlocalhost%20hostaddr%3D127.0.0.1%20port%3D{port}"),
            404,
            "does not allow",
        ),
        (
            format!("host%3Dlocalhost%20port%3D{port}%20password%3Dhunter2"),
            400,
            "password cannot be set",
        ),
        ("host%3D%2Ftmp".to_string(), 404, "does not allow"),
        (
            "host%3Dlocalhost%20sslrootcert%3D%2Fetc%2Fshadow".to_string(),
            400,
            "sslrootcert cannot be set",
        ),
        (
            "host%3Dlocalhost%20sslkey%3D%2Froot%2F.ssh%2Fid_ed25519".to_string(),
            400,
            "sslkey cannot be set",
        ),
    ];
    for (target, status, message) in &cases {
        let (got, body) = get(exporter.port, &format!("/probe?target={target}"));
        assert_eq!(got, *status, "{target}: {body}");
        assert!(body.contains(message), "{target}: {body}");
        assert!(!body.contains("hunter2"), "{target}: {body}");
    }
    let log = exporter.log_with("msg=\"probe refused\"", cases.len());
    assert!(!log.contains("hunter2"), "{log}");
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

#[test]
fn a_bad_configuration_is_refused_at_start_and_on_reload_keeping_the_old_one() {
    let home = shared_tempdir();
    let dir = home.path();
    let (good, root) = good_server(dir);
    let target =
        |name: &str, conninfo: &str| format!("[targets.{name}]\nconninfo = \"{conninfo}\"\n");
    let good_conninfo = format!(
        "host=localhost port={} user=postgres sslmode=verify-full sslrootcert={}",
        good.port,
        root.display()
    );
    let bad = target("broken", "host=localhost sslmode=verify_full");
    let config = write(dir, "serve.toml", &bad);
    let out = crate::harness::pgtls(dir)
        .args(["serve", "--config", config.to_str().unwrap()])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("target \"broken\": invalid sslmode value: \"verify_full\""),
        "{stderr}"
    );
    for (text, code) in [(&bad, 2), (&target("a", &good_conninfo), 0)] {
        std::fs::write(&config, text).unwrap();
        let out = crate::harness::pgtls(dir)
            .args([
                "serve",
                "--check-config",
                "--config",
                config.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{text}");
    }

    let exporter = Exporter::start(
        dir,
        &["--config", config.to_str().unwrap(), "--enable-reload"],
        &[],
    );
    assert_eq!(
        sample(&get(exporter.port, "/probe?target=a").1, "probe_success"),
        Some(1.0)
    );
    std::fs::write(&config, format!("{}{bad}", target("b", &good_conninfo))).unwrap();
    exporter.signal("HUP");
    exporter.log_with("configuration refused", 1);
    let (status, body) = http(exporter.port, "POST", "/-/reload", &[]);
    assert_eq!(status, 500);
    assert!(body.contains("invalid sslmode value"), "{body}");
    // The old configuration stays: a still probes, b does not exist.
    assert_eq!(
        sample(&get(exporter.port, "/probe?target=a").1, "probe_success"),
        Some(1.0)
    );
    assert_eq!(get(exporter.port, "/probe?target=b").0, 404);
    let (_, metrics) = get(exporter.port, "/metrics");
    assert_eq!(
        sample(&metrics, "pgtls_exporter_config_last_reload_successful"),
        Some(0.0)
    );
    std::fs::write(&config, target("b", &good_conninfo)).unwrap();
    let (status, body) = http(exporter.port, "POST", "/-/reload", &[]);
    assert_eq!((status, body.as_str()), (200, "reloaded: 1 target\n"));
    assert_eq!(
        sample(&get(exporter.port, "/probe?target=b").1, "probe_success"),
        Some(1.0)
    );
    assert_eq!(get(exporter.port, "/probe?target=a").0, 404);
    let (_, metrics) = get(exporter.port, "/metrics");
    assert_eq!(
        sample(&metrics, "pgtls_exporter_config_last_reload_successful"),
        Some(1.0)
    );
}

#[test]
fn two_hundred_probes_at_once_are_all_answered_sixteen_at_a_time() {
    let home = shared_tempdir();
    let dir = home.path();
    let (port, connections, peak) = counting_listener(Duration::from_millis(200));
    let exporter = Exporter::start(
        dir,
        &[
            "--target",
            &format!("held=host=127.0.0.1 port={port} sslmode=require"),
            "--max-probes",
            "16",
        ],
        &[],
    );
    let port = exporter.port;
    let answers: Vec<_> = (0..200)
        .map(|_| std::thread::spawn(move || get(port, "/probe?target=held")))
        .collect();
    let answers: Vec<(u16, String)> = answers.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(answers.len(), 200);
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(sample(body, "probe_success"), Some(0.0), "{body}");
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        200,
        "one connection per probe"
    );
    let peak = peak.load(Ordering::SeqCst);
    assert!(
        (1..=16).contains(&peak),
        "at most 16 probes at once, saw {peak}"
    );
    let rss = exporter.peak_rss_kb();
    assert!(rss < 100 * 1024, "peak RSS {rss} kB");
}

#[test]
fn a_scrape_timeout_shorter_than_the_probe_cuts_it_short() {
    let home = shared_tempdir();
    let dir = home.path();
    let silent = fake(stay_silent);
    let exporter = Exporter::start(
        dir,
        &[
            "--target",
            &format!("silent=host=127.0.0.1 port={silent} sslmode=require"),
        ],
        &[],
    );
    let started = Instant::now();
    let (status, body) = http(
        exporter.port,
        "GET",
        "/probe?target=silent",
        &[("X-Prometheus-Scrape-Timeout-Seconds", "1.5")],
    );
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert_eq!(sample(&body, "probe_success"), Some(0.0), "{body}");
    assert!(
        took < Duration::from_millis(1500),
        "answered in {took:?}, before Prometheus gives up"
    );
    assert!(
        took >= Duration::from_millis(900),
        "the probe used its second: {took:?}"
    );
    exporter.log_with("exit_code=3", 1);
    assert_eq!(sample(&body, "pgtls_exit_code"), Some(3.0), "{body}");
    promtool_accepts(&body);
}

#[test]
fn sigterm_lets_the_probe_under_way_answer_and_stops() {
    let home = shared_tempdir();
    let dir = home.path();
    let silent = fake(stay_silent);
    let mut exporter = Exporter::start(
        dir,
        &[
            "--target",
            &format!("silent=host=127.0.0.1 port={silent} sslmode=require"),
            "--timeout",
            "2",
        ],
        &[],
    );
    let port = exporter.port;
    let probe = std::thread::spawn(move || get(port, "/probe?target=silent"));
    std::thread::sleep(Duration::from_millis(300));
    exporter.signal("TERM");
    let (status, body) = probe.join().unwrap();
    assert_eq!(status, 200);
    assert_eq!(sample(&body, "probe_success"), Some(0.0));
    let started = Instant::now();
    let code = loop {
        if let Some(status) = exporter.child.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "no longer listening"
    );
}

#[test]
fn tls_and_basic_authentication_guard_the_endpoint() {
    let home = shared_tempdir();
    let dir = home.path();
    let ca = Ca::root("pgtls exporter web root");
    let leaf = ca.server(&ServerCert::localhost());
    let cert = write(dir, "web.crt", &leaf.cert_pem);
    let key = write(dir, "web.key", &leaf.key_pem);
    let ca_file = write(dir, "web-ca.crt", &ca.cert_pem);
    let hash = bcrypt::hash("scrape-pw", 4).unwrap();
    let config = write(
        dir,
        "serve.toml",
        &format!(
            "[web]\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n[web.basic_auth_users]\nprometheus = \"{hash}\"\n",
            cert.display(),
            key.display()
        ),
    );
    let exporter = Exporter::start(dir, &["--config", config.to_str().unwrap()], &[]);
    let curl = |args: &[&str]| -> String {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(&ca_file)
            .args(args)
            .arg(format!("https://localhost:{}/metrics", exporter.port))
            .output()
            .expect("curl runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(curl(&["-u", "prometheus:scrape-pw"]), "200");
    assert_eq!(curl(&["-u", "prometheus:wrong"]), "401");
    assert_eq!(curl(&[]), "401");
    // Plain HTTP to a TLS endpoint gets no answer.
    let mut stream = TcpStream::connect(("127.0.0.1", exporter.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert!(!String::from_utf8_lossy(&answer).contains("pgtls_exporter"));
    assert!(!exporter.log().contains("scrape-pw"));
}

#[test]
fn the_manuals_prometheus_configuration_and_rules_pass_promtool() {
    let home = shared_tempdir();
    let page = std::fs::read_to_string(crate::harness::root().join("docs/serve.md")).unwrap();
    let blocks: Vec<&str> = page
        .split("```yaml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert_eq!(
        blocks.len(),
        2,
        "the scrape configuration and the alert rules"
    );
    for (block, check) in blocks.iter().zip(["config", "rules"]) {
        let file = write(home.path(), &format!("{check}.yml"), block);
        let out = Command::new("promtool")
            .args(["check", check])
            .arg(&file)
            .output()
            .expect("promtool runs");
        assert!(
            out.status.success(),
            "promtool check {check}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_systemd_unit_passes_systemd_analyze() {
    let home = shared_tempdir();
    let unit = std::fs::read_to_string(crate::harness::root().join("contrib/pgtls-serve.service"))
        .unwrap();
    let binary = assert_cmd::cargo::cargo_bin("pgtls");
    let file = write(
        home.path(),
        "pgtls-serve.service",
        &unit.replace("/usr/local/bin/pgtls", binary.to_str().unwrap()),
    );
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&file)
        .output()
        .expect("systemd-analyze (Debian's systemd, installed by scripts/test.sh) runs");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_ad_hoc_target_never_logs_in_with_the_exporters_own_passwords() {
    let home = shared_tempdir();
    let dir = home.path();
    let ca = Ca::root("pgtls ad hoc root");
    let leaf = ca.server(&ServerCert::localhost());
    let mut setup = Setup::tls(leaf.cert_pem, leaf.key_pem);
    setup
        .hba
        .insert(0, "hostssl all app 127.0.0.1/32 scram-sha-256");
    setup.settings.push(("log_connections", "on".to_string()));
    let server = Server::start(Version::V15, &setup);
    server.sql("CREATE ROLE app LOGIN PASSWORD 'exporter-pw'");
    // Both of libpq's own sources hold the right password.
    let pgpass = dir.join(".pgpass");
    std::fs::write(&pgpass, "*:*:*:app:exporter-pw\n").unwrap();
    std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let config = write(
        dir,
        "serve.toml",
        "[allow_any_target]\nhosts = [\"localhost\"]\n",
    );
    let exporter = Exporter::start(
        dir,
        &["--config", config.to_str().unwrap()],
        &[("PGPASSWORD", "exporter-pw")],
    );
    let (status, body) = get(
        exporter.port,
        &format!(
            "/probe?target=host%3Dlocalhost%20port%3D{}%20user%3Dapp%20dbname%3Dpostgres%20sslmode%3Drequire",
            server.port
        ),
    );
    assert_eq!(status, 200, "{body}");
    std::thread::sleep(Duration::from_millis(200));
    let log = server.log();
    assert!(
        !log.contains("connection authorized: user=app"),
        "an ad hoc probe logged in with the exporter's password:\n{log}"
    );
}

//! Resolution with a controlled environment: libpq's precedence (string, service file,
//! environment, defaults), its validation order, targets and passwords.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use super::*;

fn env(vars: &[(&str, &str)]) -> Environment {
    Environment::with_vars(vars.iter().copied(), Some("osuser"))
}

fn value_and_source(r: &Resolved, name: &str) -> Option<(String, Source)> {
    r.settings.get(name).map(|s| (s.value.clone(), s.source))
}

fn ok(conninfo: &str, vars: &[(&str, &str)]) -> Resolved {
    match resolve(conninfo, &env(vars)) {
        Ok(r) => r,
        Err(e) => panic!("{conninfo:?} with {vars:?}: {e}"),
    }
}

fn err(conninfo: &str, vars: &[(&str, &str)]) -> String {
    match resolve(conninfo, &env(vars)) {
        Ok(r) => panic!("{conninfo:?} with {vars:?} resolved to {r:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_string_wins_over_the_environment_which_wins_over_defaults() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str, Source);
    let cases: &[Case] = &[
        (
            "sslmode=require",
            &[("PGSSLMODE", "verify-full")],
            "sslmode",
            "require",
            Source::Conninfo,
        ),
        (
            "",
            &[("PGSSLMODE", "verify-full")],
            "sslmode",
            "verify-full",
            Source::Env,
        ),
        ("", &[], "sslmode", "prefer", Source::Default),
        (
            "",
            &[("PGREQUIRESSL", "1")],
            "sslmode",
            "require",
            Source::Env,
        ),
        (
            "",
            &[("PGREQUIRESSL", "0")],
            "sslmode",
            "prefer",
            Source::Default,
        ),
        (
            "",
            &[("PGREQUIRESSL", "1"), ("PGSSLMODE", "disable")],
            "sslmode",
            "disable",
            Source::Env,
        ),
        (
            "",
            &[("PGSSLROOTCERT", "system")],
            "sslmode",
            "verify-full",
            Source::Default,
        ),
        (
            "sslrootcert=system",
            &[],
            "sslmode",
            "verify-full",
            Source::Default,
        ),
        (
            "",
            &[("PGHOST", "a,b"), ("PGPORT", "")],
            "port",
            "",
            Source::Env,
        ),
        ("", &[], "port", "5432", Source::Default),
        ("", &[], "user", "osuser", Source::Default),
        ("user=", &[], "user", "osuser", Source::Default),
        (
            "",
            &[("PGUSER", "envuser")],
            "dbname",
            "envuser",
            Source::Default,
        ),
        (
            "dbname=",
            &[("PGDATABASE", "envdb")],
            "dbname",
            "osuser",
            Source::Default,
        ),
        (
            "",
            &[("PGDATABASE", "envdb")],
            "dbname",
            "envdb",
            Source::Env,
        ),
        ("", &[], "sslcertmode", "allow", Source::Default),
        (
            "",
            &[("HOME", "/home/u")],
            "passfile",
            "/home/u/.pgpass",
            Source::Default,
        ),
        ("", &[("PGPASSFILE", "/p")], "passfile", "/p", Source::Env),
        (
            "",
            &[("PGAPPNAME", "app")],
            "application_name",
            "app",
            Source::Env,
        ),
        (
            "",
            &[("PGSSLNEGOTIATION", "postgres")],
            "sslnegotiation",
            "postgres",
            Source::Env,
        ),
    ];
    for (conninfo, vars, name, value, source) in cases {
        let r = ok(conninfo, vars);
        assert_eq!(
            value_and_source(&r, name),
            Some((value.to_string(), *source)),
            "{conninfo:?} with {vars:?}"
        );
    }
}

#[test]
fn a_password_suppresses_the_default_passfile() {
    let r = ok("password=x", &[("HOME", "/home/u")]);
    assert_eq!(r.settings.get("passfile"), None);
    let r = ok("", &[("HOME", "/home/u"), ("PGPASSWORD", "x")]);
    assert_eq!(r.settings.get("passfile"), None);
}

#[test]
fn an_empty_environment_value_is_a_value() {
    assert_eq!(err("", &[("PGSSLMODE", "")]), "invalid sslmode value: \"\"");
}

#[test]
fn validation_reports_the_first_error_in_libpqs_order() {
    let cases = [
        (
            "require_auth=x channel_binding=y sslmode=z",
            "invalid require_auth value: \"x\"",
        ),
        (
            "channel_binding=y sslmode=z",
            "invalid channel_binding value: \"y\"",
        ),
        ("sslmode=z sslnegotiation=q", "invalid sslmode value: \"z\""),
        (
            "sslnegotiation=q sslrootcert=system sslmode=require",
            "invalid sslnegotiation value: \"q\"",
        ),
        (
            "sslnegotiation=direct sslmode=allow sslrootcert=system",
            "weak sslmode \"allow\" may not be used with sslnegotiation=direct (use \"require\", \"verify-ca\", or \"verify-full\")",
        ),
        (
            "sslrootcert=system sslmode=verify-ca ssl_min_protocol_version=x",
            "weak sslmode \"verify-ca\" may not be used with sslrootcert=system (use \"verify-full\")",
        ),
        (
            "ssl_min_protocol_version=x sslcertmode=y",
            "invalid \"ssl_min_protocol_version\" value: \"x\"",
        ),
        (
            "ssl_max_protocol_version=TLSv1.1",
            "invalid SSL protocol version range",
        ),
        (
            "sslcertmode=y gssencmode=z",
            "invalid sslcertmode value: \"y\"",
        ),
        (
            "gssencmode=z target_session_attrs=q",
            "invalid gssencmode value: \"z\"",
        ),
        (
            "target_session_attrs=q load_balance_hosts=r",
            "invalid target_session_attrs value: \"q\"",
        ),
        (
            "load_balance_hosts=r min_protocol_version=s",
            "invalid load_balance_hosts value: \"r\"",
        ),
        (
            "min_protocol_version=s scram_client_key=t",
            "invalid min_protocol_version value: \"s\"",
        ),
        (
            "scram_client_key=AAAA scram_server_key=x",
            "invalid SCRAM client key length: 3",
        ),
        (
            "host=a,b port=1,2,3 sslmode=x",
            "could not match 3 port numbers to 2 hosts",
        ),
        (
            "host=a,b hostaddr=127.0.0.1 port=1,2,3",
            "could not match 2 host names to 1 hostaddr values",
        ),
        ("host=a port=0 sslmode=x", "invalid sslmode value: \"x\""),
        ("host=a port=0", "invalid port number: \"0\""),
        (
            "host=a port=x connect_timeout=y",
            "invalid integer value \"x\" for connection option \"port\"",
        ),
        (
            "hostaddr=db.example.com",
            "could not parse network address \"db.example.com\": Name or service not known",
        ),
        (
            "host=a keepalives=x",
            "invalid integer value \"x\" for connection option \"keepalives\"",
        ),
        (
            "host=a tcp_user_timeout=x",
            "invalid integer value \"x\" for connection option \"tcp_user_timeout\"",
        ),
        (
            "host=a connect_timeout=soon",
            "invalid integer value \"soon\" for connection option \"connect_timeout\"",
        ),
        (
            "service=missing",
            "definition of service \"missing\" not found",
        ),
    ];
    for (conninfo, message) in cases {
        assert_eq!(err(conninfo, &[]), message, "{conninfo:?}");
    }
}

#[test]
fn keepalive_values_matter_only_where_libpq_reads_them() {
    ok("host=/tmp keepalives=x", &[]);
    ok(
        "host=a keepalives=0 keepalives_idle=x tcp_user_timeout=y",
        &[],
    );
}

#[test]
fn connect_timeout_is_at_least_two_seconds_and_zero_means_none() {
    let cases = [
        ("1", Some(2)),
        ("10", Some(10)),
        (" 3 ", Some(3)),
        ("0", None),
        ("-5", None),
    ];
    for (value, seconds) in cases {
        let r = ok(&format!("host=a connect_timeout='{value}'"), &[]);
        assert_eq!(
            r.options.connect_timeout,
            seconds.map(Duration::from_secs),
            "{value:?}"
        );
    }
}

#[test]
fn hosts_hostaddrs_and_ports_pair_into_targets() {
    let r = ok("host=a,/sock,c hostaddr=10.0.0.1,,::1 port=1,2,", &[]);
    let targets: Vec<_> = r
        .targets
        .iter()
        .map(|t| (t.host.as_str(), t.hostaddr.as_deref(), t.port, t.kind))
        .collect();
    assert_eq!(
        targets,
        [
            ("a", Some("10.0.0.1"), 1, HostKind::Address),
            ("/sock", None, 2, HostKind::UnixSocket),
            ("c", Some("::1"), 5432, HostKind::Address),
        ]
    );
}

#[test]
fn no_host_means_the_default_socket_directory() {
    let r = ok("", &[]);
    assert_eq!(r.targets.len(), 1);
    assert_eq!(r.targets[0].host, "/var/run/postgresql");
    assert_eq!(r.targets[0].kind, HostKind::UnixSocket);
}

#[test]
fn one_port_serves_every_host() {
    let r = ok("host=a,b,c port=7", &[]);
    assert!(r.targets.iter().all(|t| t.port == 7));
}

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_service_fills_what_the_string_leaves_unset_and_beats_the_environment() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap();
    write(
        &home.path().join(".pg_service.conf"),
        "[prod]\nhost=svc.example.com\nsslmode=verify-ca\nport=6543\n",
        0o644,
    );
    let vars = [
        ("HOME", h),
        ("PGHOST", "env.example.com"),
        ("PGPORT", "1111"),
    ];
    let r = ok("service=prod port=7777", &vars);
    assert_eq!(
        value_and_source(&r, "host"),
        Some(("svc.example.com".into(), Source::Service))
    );
    assert_eq!(
        value_and_source(&r, "sslmode"),
        Some(("verify-ca".into(), Source::Service))
    );
    assert_eq!(
        value_and_source(&r, "port"),
        Some(("7777".into(), Source::Conninfo))
    );
    assert_eq!(r.service_file, Some(home.path().join(".pg_service.conf")));
    let r = ok("", &[("HOME", h), ("PGSERVICE", "prod")]);
    assert_eq!(
        value_and_source(&r, "service"),
        Some(("prod".into(), Source::Env))
    );
    assert_eq!(
        value_and_source(&r, "host"),
        Some(("svc.example.com".into(), Source::Service))
    );
}

#[test]
fn service_files_are_searched_as_libpq_searches_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let sys = dir.path().join("sys");
    std::fs::create_dir(&sys).unwrap();
    write(
        &sys.join("pg_service.conf"),
        "[both]\nhost=sys\n[sysonly]\nhost=sysonly\n",
        0o644,
    );
    let user_file = dir.path().join("user.conf");
    write(&user_file, "[both]\nhost=user\n", 0o644);
    let s = sys.to_str().unwrap();
    let u = user_file.to_str().unwrap();
    let host = |conninfo: &str, vars: &[(&str, &str)]| {
        ok(conninfo, vars)
            .settings
            .value("host")
            .map(str::to_string)
    };
    assert_eq!(
        host("service=both", &[("PGSERVICEFILE", u), ("PGSYSCONFDIR", s)]),
        Some("user".into())
    );
    assert_eq!(
        host(
            "service=sysonly",
            &[("PGSERVICEFILE", u), ("PGSYSCONFDIR", s)]
        ),
        Some("sysonly".into())
    );
    // No ~/.pg_service.conf: straight to the system file.
    assert_eq!(
        host("service=both", &[("HOME", d), ("PGSYSCONFDIR", s)]),
        Some("sys".into())
    );
    let missing = dir.path().join("missing.conf");
    let m = missing.to_str().unwrap();
    assert_eq!(
        err("service=both", &[("PGSERVICEFILE", m), ("PGSYSCONFDIR", s)]),
        format!("service file \"{m}\" not found")
    );
    assert_eq!(
        err("service=none", &[("PGSERVICEFILE", u), ("PGSYSCONFDIR", s)]),
        "definition of service \"none\" not found"
    );
}

#[test]
fn passwords_come_from_the_string_the_environment_or_the_passfile() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap();
    let pgpass = home.path().join(".pgpass");
    write(
        &pgpass,
        "a:5432:osuser:osuser:from-a\n10.0.0.9:*:*:*:from-addr\n",
        0o600,
    );
    let r = ok("host=a,b,,c hostaddr=,,10.0.0.9,", &[("HOME", h)]);
    let sources: Vec<_> = r
        .targets
        .iter()
        .map(|t| t.password.as_ref().map(|p| p.source.clone()))
        .collect();
    let line = |line| {
        Some(PasswordSource::Passfile {
            path: pgpass.clone(),
            line,
        })
    };
    assert_eq!(sources, [line(1), None, line(2), None]);
    assert_eq!(
        r.targets[0].password.as_ref().map(|p| p.secret.expose()),
        Some("from-a")
    );
    let r = ok("host=a", &[("HOME", h), ("PGPASSWORD", "env")]);
    assert_eq!(
        r.targets[0].password.as_ref().map(|p| p.source.clone()),
        Some(PasswordSource::Env)
    );
}

#[test]
fn a_world_readable_passfile_is_ignored_with_a_warning() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap();
    write(&home.path().join(".pgpass"), "*:*:*:*:secret\n", 0o644);
    let r = ok("host=a", &[("HOME", h)]);
    assert_eq!(r.targets[0].password, None);
    assert_eq!(r.warnings.len(), 1);
    assert!(
        r.warnings[0].contains("has group or world access"),
        "{:?}",
        r.warnings
    );
}

#[test]
fn without_an_os_user_a_user_must_be_given() {
    let no_user = Environment::with_vars([], None);
    assert_eq!(
        resolve("", &no_user).unwrap_err().to_string(),
        "could not look up local user name"
    );
    assert!(resolve("user=u", &no_user).is_ok());
}

#[test]
fn root_and_client_files_default_to_the_home_directory() {
    let r = ok("", &[("HOME", "/home/u")]);
    assert_eq!(
        r.options.root_cert,
        RootCert::File {
            path: "/home/u/.postgresql/root.crt".into(),
            explicit: false
        }
    );
    assert_eq!(
        r.options.sslcert,
        Some("/home/u/.postgresql/postgresql.crt".into())
    );
    assert_eq!(
        r.options.sslkey,
        Some("/home/u/.postgresql/postgresql.key".into())
    );
    assert_eq!(
        r.options.sslcrl,
        Some("/home/u/.postgresql/root.crl".into())
    );
    let r = ok("sslrootcert=/r.pem", &[("HOME", "/home/u")]);
    assert_eq!(
        r.options.root_cert,
        RootCert::File {
            path: "/r.pem".into(),
            explicit: true
        }
    );
    let r = ok("", &[]);
    assert_eq!(r.options.root_cert, RootCert::NoHomeDirectory);
}

#[test]
fn sni_is_on_only_when_sslsni_starts_with_1() {
    for (value, on) in [
        ("1", true),
        ("0", false),
        ("", false),
        ("yes", false),
        ("10", true),
    ] {
        assert_eq!(
            ok(&format!("sslsni='{value}'"), &[]).options.sslsni,
            on,
            "{value:?}"
        );
    }
}

#[test]
fn a_crl_directory_suppresses_the_default_crl_file() {
    let r = ok("sslcrldir=/crls", &[("HOME", "/home/u")]);
    assert_eq!(r.options.sslcrl, None);
    assert_eq!(r.options.sslcrldir, Some("/crls".into()));
    let r = ok("sslcrldir=/crls sslcrl=/one.crl", &[("HOME", "/home/u")]);
    assert_eq!(r.options.sslcrl, Some("/one.crl".into()));
}

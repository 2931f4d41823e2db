//! `check --audit` against real servers with restricted settings, and against fake servers that
//! speak only TLS 1.0, only TLS 1.1 or only legacy suites.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use serde_json::Value;

use crate::harness::{first_target, pgtls};
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

fn audit(home: &std::path::Path, conninfo: &str, extra: &[&str]) -> (i32, Value) {
    first_target(
        pgtls(home)
            .args(["check", "--audit", "--format", "json"])
            .args(extra)
            .arg(conninfo),
    )
}

fn server(
    version: Version,
    settings: &[(&'static str, &str)],
    hba: Option<Vec<&'static str>>,
) -> (tempfile::TempDir, Server) {
    let home = shared_tempdir();
    let root = Ca::root("pgtls audit root");
    let leaf = root.server(&ServerCert::localhost());
    let mut setup = Setup::tls(leaf.cert_pem, leaf.key_pem);
    for (name, value) in settings {
        setup.settings.push((name, value.to_string()));
    }
    if let Some(hba) = hba {
        setup.hba = hba;
    }
    let server = Server::start(version, &setup);
    (home, server)
}

fn protocols(t: &Value) -> Vec<(String, Value)> {
    ["TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1.0", "SSLv3"]
        .iter()
        .map(|v| (v.to_string(), t["audit"]["protocols"][v].clone()))
        .collect()
}

/// Each key exchange group of the audit with whether it was accepted.
fn groups(t: &Value) -> Vec<(&str, Value)> {
    t["audit"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["name"].as_str().unwrap(), g["accepted"].clone()))
        .collect()
}

fn flags(values: [bool; 5]) -> Vec<(String, Value)> {
    ["TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1.0", "SSLv3"]
        .iter()
        .zip(values)
        .map(|(v, b)| (v.to_string(), Value::Bool(b)))
        .collect()
}

#[test]
fn protocol_bounds_of_the_server_are_found() {
    // With TLS 1.3, groups are tested one by one: PostgreSQL's default ssl_ecdh_curve is P-256.
    let (home, s) = server(Version::V15, &[], None);
    let (_, t) = audit(
        home.path(),
        &format!("{} sslmode=require", s.conninfo()),
        &[],
    );
    let accepted: Vec<&str> = groups(&t)
        .into_iter()
        .filter(|(_, a)| *a == Value::Bool(true))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(accepted, ["P-256"], "{t}");
    assert_eq!(groups(&t).len(), 9, "{t}");
    let (home, tls13) = server(
        Version::V15,
        &[("ssl_min_protocol_version", "TLSv1.3")],
        None,
    );
    let (_, tls12) = server(
        Version::V15,
        &[("ssl_max_protocol_version", "TLSv1.2")],
        None,
    );
    let (_, t) = audit(
        home.path(),
        &format!("{} sslmode=require", tls13.conninfo()),
        &[],
    );
    assert_eq!(
        protocols(&t),
        flags([true, false, false, false, false]),
        "{t}"
    );
    let (_, t) = audit(
        home.path(),
        &format!("{} sslmode=require", tls12.conninfo()),
        &[],
    );
    assert_eq!(
        protocols(&t),
        flags([false, true, false, false, false]),
        "{t}"
    );
    assert!(
        t["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "no_tls13")
    );
}

#[test]
fn postgresql_18s_default_groups_are_found_one_by_one() {
    // PostgreSQL 18 renamed ssl_ecdh_curve to ssl_groups and offers X25519 and P-256 by default;
    // its OpenSSL (1.1.1 in the npm build) has no ML-KEM, and every probe has a real key share.
    let (home, s) = server(Version::V18, &[], None);
    let (code, t) = audit(
        home.path(),
        &format!("{} sslmode=require", s.conninfo()),
        &[],
    );
    assert_eq!(code, 0, "{t}");
    let groups = groups(&t);
    let no = Value::Bool(false);
    let expected = [
        ("X25519MLKEM768", no.clone()),
        ("X25519", Value::Bool(true)),
        ("P-256", Value::Bool(true)),
        ("P-384", no.clone()),
        ("P-521", no.clone()),
        ("SecP256r1MLKEM768", no.clone()),
        ("SecP384r1MLKEM1024", no.clone()),
        ("MLKEM768", no.clone()),
        ("MLKEM1024", no),
    ];
    assert_eq!(groups, expected, "{t}");
    assert_eq!(t["tls"]["key_exchange_group"], "X25519", "{t}");
}

#[test]
fn restricted_ciphers_and_groups_are_found() {
    let settings = [
        ("ssl_max_protocol_version", "TLSv1.2"),
        ("ssl_ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256"),
        ("ssl_ecdh_curve", "secp384r1"),
    ];
    let (home, s) = server(Version::V15, &settings, None);
    let (_, t) = audit(
        home.path(),
        &format!("{} sslmode=require", s.conninfo()),
        &[],
    );
    let accepted: Vec<&str> = t["audit"]["suites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["accepted"] == true)
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(accepted, ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"], "{t}");
    let groups = groups(&t);
    // TLS 1.2 only: the group the server chose is known, the others cannot be tested alone.
    // The post-quantum groups exist only in TLS 1.3.
    let no = Value::Bool(false);
    let expected = [
        ("X25519MLKEM768", no.clone()),
        ("X25519", Value::Null),
        ("P-256", Value::Null),
        ("P-384", Value::Bool(true)),
        ("P-521", Value::Null),
        ("SecP256r1MLKEM768", no.clone()),
        ("SecP384r1MLKEM1024", no.clone()),
        ("MLKEM768", no.clone()),
        ("MLKEM1024", no),
    ];
    assert_eq!(groups, expected, "{t}");
    let legacy: Vec<bool> = t["audit"]["legacy_suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["accepted"].as_bool().unwrap())
        .collect();
    assert_eq!(legacy, [false; 6], "{t}");
}

#[test]
fn plaintext_and_direct_tls_are_found() {
    let (home, hostssl) = server(
        Version::V17,
        &[],
        Some(vec!["hostssl all all 127.0.0.1/32 trust"]),
    );
    let (_, host) = server(Version::V15, &[], None);
    let (code, t) = audit(
        home.path(),
        &format!("{} sslmode=require", hostssl.conninfo()),
        &["--fail-on", "warning"],
    );
    assert_eq!(t["audit"]["plaintext"], false);
    assert_eq!(
        t["audit"]["negotiation"],
        serde_json::json!({"postgres": true, "direct": true})
    );
    let _ = code;
    let (code, t) = audit(
        home.path(),
        &format!("{} sslmode=require", host.conninfo()),
        &["--fail-on", "warning"],
    );
    assert_eq!(t["audit"]["plaintext"], true);
    assert_eq!(
        t["audit"]["negotiation"]["direct"], false,
        "PostgreSQL 15 has no direct TLS"
    );
    assert_eq!(
        code, 9,
        "plaintext accepted is a warning, and --fail-on warning fails on it"
    );
    let (code, _) = audit(
        home.path(),
        &format!(
            "{} sslmode=verify-full sslrootcert=/missing",
            host.conninfo()
        ),
        &["--fail-on", "error"],
    );
    assert_eq!(code, 2, "configuration errors keep their own code");
    let out = pgtls(home.path())
        .args([
            "check",
            "--audit",
            "--fail-on",
            "error",
            &format!("{} sslmode=require", host.conninfo()),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// How a fake server answers a ClientHello: `(version, suite)` for a ServerHello, `None` for an
/// alert.
type Answer = fn(u16, &[u16]) -> Option<(u16, u16)>;

/// A fake server that answers every ClientHello with `answer(client_version, offered_suites)`.
fn fake(answer: Answer) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream, answer));
        }
    });
    port
}

fn serve(mut s: TcpStream, answer: Answer) {
    let mut request = [0u8; 8];
    if s.read_exact(&mut request).is_err() {
        return;
    }
    if request[4..] != [0x04, 0xd2, 0x16, 0x2f] {
        // A startup message sent without TLS: refuse it.
        let body = b"SFATAL\0C28000\0Mno encryption\0\0";
        let mut msg = vec![b'E'];
        msg.extend(((body.len() + 4) as u32).to_be_bytes());
        msg.extend(body);
        let _ = s.write_all(&msg);
        return;
    }
    let _ = s.write_all(b"S");
    let mut header = [0u8; 5];
    if s.read_exact(&mut header).is_err() {
        return;
    }
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
    if s.read_exact(&mut body).is_err() || body.len() < 39 {
        return;
    }
    let version = u16::from_be_bytes([body[4], body[5]]);
    let sid = usize::from(body[38]);
    let at = 39 + sid;
    let Some(len) = body
        .get(at..at + 2)
        .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
    else {
        return;
    };
    let suites: Vec<u16> = body
        .get(at + 2..at + 2 + len)
        .unwrap_or(&[])
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    let reply = match answer(version, &suites) {
        Some((version, suite)) => {
            let mut hello = vec![2, 0, 0, 38];
            hello.extend(version.to_be_bytes());
            hello.extend([7u8; 32]);
            hello.push(0);
            hello.extend(suite.to_be_bytes());
            hello.push(0);
            let mut record = vec![0x16, 0x03, 0x01];
            record.extend((hello.len() as u16).to_be_bytes());
            record.extend(hello);
            record
        }
        None => vec![0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46],
    };
    let _ = s.write_all(&reply);
    std::thread::sleep(std::time::Duration::from_millis(50));
}

#[test]
fn old_protocols_and_legacy_suites_are_found_by_hand_built_hellos() {
    let home = shared_tempdir();
    let tls10_only = fake(|version, suites| {
        (version >= 0x0301).then(|| {
            (
                0x0301,
                suites
                    .iter()
                    .copied()
                    .find(|s| *s == 0x002f)
                    .unwrap_or(suites[0]),
            )
        })
    });
    let tls11_only = fake(|version, suites| (version >= 0x0302).then(|| (0x0302, suites[0])));
    let triple_des_only = fake(|version, suites| {
        suites
            .contains(&0x000a)
            .then(|| (version.min(0x0303), 0x000a))
    });
    let conninfo =
        |port: u16| format!("host=127.0.0.1 port={port} sslmode=prefer connect_timeout=2");
    let (_, t) = audit(home.path(), &conninfo(tls10_only), &[]);
    assert_eq!(
        protocols(&t),
        flags([false, false, false, true, false]),
        "{t}"
    );
    assert!(
        t["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "old_protocol" && f["severity"] == "error")
    );
    let (_, t) = audit(home.path(), &conninfo(tls11_only), &[]);
    assert_eq!(
        protocols(&t),
        flags([false, false, true, false, false]),
        "{t}"
    );
    let (code, t) = audit(
        home.path(),
        &conninfo(triple_des_only),
        &["--fail-on", "error"],
    );
    let three_des = t["audit"]["legacy_suites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["family"] == "3des")
        .unwrap()
        .clone();
    assert_eq!(
        three_des,
        serde_json::json!({"family": "3des", "accepted": true, "chosen": "0x000A",
                           "chosen_name": "TLS_RSA_WITH_3DES_EDE_CBC_SHA"})
    );
    assert_eq!(t["audit"]["plaintext"], false);
    assert_ne!(code, 0, "{t}");
    let finding = t["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "legacy_suite")
        .unwrap();
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("(it chose TLS_RSA_WITH_3DES_EDE_CBC_SHA, 0x000A)"),
        "the suite is named, not only numbered: {finding}"
    );
}

fn codes(t: &Value) -> Vec<String> {
    t["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn certificate_findings_cover_chain_shape_names_and_validity() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls audit chain root");
    let inter = root.intermediate("pgtls audit chain intermediate");
    let cn_only = inter.server(&ServerCert {
        dns: vec![],
        ips: vec![],
        ..ServerCert::localhost()
    });
    let root_file = home.path().join("root.crt");
    std::fs::write(&root_file, format!("{}{}", root.cert_pem, inter.cert_pem)).unwrap();
    // The leaf alone: the intermediate comes from the root file, so the server omits it.
    let leaf_only = Server::start(
        Version::V15,
        &Setup::tls(cn_only.cert_pem.clone(), cn_only.key_pem.clone()),
    );
    let (_, t) = audit(
        home.path(),
        &format!(
            "{} sslmode=verify-ca sslrootcert={}",
            leaf_only.conninfo(),
            root_file.display()
        ),
        &[],
    );
    let found = codes(&t);
    for code in ["missing_intermediate", "no_san", "long_validity"] {
        assert!(found.contains(&code.to_string()), "{code} not in {found:?}");
    }
    // The whole chain, root included, in the wrong order.
    let misordered = format!("{}{}{}", cn_only.cert_pem, root.cert_pem, inter.cert_pem);
    let shuffled = Server::start(
        Version::V15,
        &Setup::tls(misordered, cn_only.key_pem.clone()),
    );
    let (_, t) = audit(
        home.path(),
        &format!("{} sslmode=require", shuffled.conninfo()),
        &[],
    );
    assert!(
        codes(&t).contains(&"chain_order".to_string()),
        "{:?}",
        codes(&t)
    );
    let in_order = format!("{}{}{}", cn_only.cert_pem, inter.cert_pem, root.cert_pem);
    let with_root = Server::start(Version::V15, &Setup::tls(in_order, cn_only.key_pem));
    let (_, t) = audit(
        home.path(),
        &format!("{} sslmode=require", with_root.conninfo()),
        &["--warn-days", "400"],
    );
    let found = codes(&t);
    assert!(
        found.contains(&"superfluous_root".to_string())
            && !found.contains(&"chain_order".to_string()),
        "{found:?}"
    );
    assert!(
        found.contains(&"expires_soon".to_string()),
        "--warn-days 400 reaches the one-year leaf: {found:?}"
    );
}

//! `check` as text for people: a psql-style line, then negotiation, chain, trust anchor, name
//! decision, server answer, timings and findings. Every server-supplied string is sanitised.

use std::io::{self, Write};

use crate::certinfo::CertificateInfo;
use crate::config::HostKind;
use crate::exit::Code;
use crate::report::{AnswerKind, Severity, TargetReport};
use crate::sanitize::clean;
use crate::tls::hostname::NameCheck;

/// Text for a run, written as its targets are passed on: a target alone gets the full report
/// (written at the end, once it is known to be alone); several get one line each as they come,
/// numbered by input position, then a summary and, for strings of several hosts, the host a
/// libpq client ends up on.
#[derive(Default)]
pub struct TextStream {
    /// `--verbose`: the round trips on the timings line.
    verbose: bool,
    first: Option<(usize, TargetReport)>,
    count: usize,
    failed: usize,
    worst: Code,
    /// Per connection string: each host's line number, whether libpq uses it, and where it is.
    hosts: std::collections::BTreeMap<usize, Vec<(usize, bool, String)>>,
}

impl TextStream {
    /// Text for a run; `verbose` adds the round trips to a lone target's timings.
    pub fn new(verbose: bool) -> Self {
        TextStream {
            verbose,
            ..TextStream::default()
        }
    }

    /// One target, at `position` in input order (from 0).
    ///
    /// # Errors
    /// Whatever writing to `out` returns.
    pub fn target(
        &mut self,
        position: usize,
        t: TargetReport,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        self.count += 1;
        if t.exit_code != Code::Ok {
            self.failed += 1;
        }
        self.worst = self.worst.max(t.exit_code);
        self.hosts
            .entry(t.conninfo)
            .or_default()
            .push((position + 1, t.libpq_uses, place(&t)));
        match self.count {
            1 => {
                self.first = Some((position, t));
                Ok(())
            }
            2 => {
                if let Some((p, first)) = self.first.take() {
                    write_line(p + 1, &first, out)?;
                }
                write_line(position + 1, &t, out)
            }
            _ => write_line(position + 1, &t, out),
        }
    }

    /// The end of the run.
    ///
    /// # Errors
    /// Whatever writing to `out` returns.
    pub fn finish(mut self, out: &mut dyn Write) -> io::Result<()> {
        if let Some((_, one)) = self.first.take() {
            write_target(&one, self.verbose, out)?;
        }
        if self.count > 1 {
            writeln!(
                out,
                "\n{} targets: {} OK, {} failed (exit code {}); check one alone for the full report",
                self.count,
                self.count - self.failed,
                self.failed,
                self.worst
            )?;
        }
        let strings = self.hosts.keys().max().map_or(0, |m| m + 1);
        for (string, hosts) in &mut self.hosts {
            if hosts.len() < 2 {
                continue;
            }
            hosts.sort();
            let which = if strings > 1 {
                format!("connection string {}", string + 1)
            } else {
                "this string".to_string()
            };
            writeln!(out)?;
            match hosts.iter().find(|(_, uses, _)| *uses) {
                Some((n, _, place)) => writeln!(
                    out,
                    "A libpq client with {which} connects to target {n} ({place})."
                )?,
                None => writeln!(
                    out,
                    "A libpq client with {which} connects to none of its hosts."
                )?,
            }
        }
        Ok(())
    }
}

/// One line for one of several targets.
fn write_line(n: usize, t: &TargetReport, out: &mut dyn Write) -> io::Result<()> {
    let verdict = if t.exit_code == Code::Ok {
        "OK  "
    } else {
        "FAIL"
    };
    let place = match t.port {
        None => "(invalid)".to_string(),
        Some(_) => place(t),
    };
    let expiry = t
        .certificates
        .iter()
        .map(|c| c.days_left)
        .min()
        .map(|d| {
            if d < 0 {
                format!("; chain expired {} ago", crate::certinfo::days(-d))
            } else {
                format!("; chain expires in {}", crate::certinfo::days(d))
            }
        })
        .unwrap_or_default();
    writeln!(
        out,
        "{n:>4}  {verdict}  exit {}  {place}{}{}  {}{expiry}",
        t.exit_code,
        sslmode(t),
        client(t),
        clean(&t.summary)
    )
}

/// Whether the target never got as far as a host: its connection string was refused.
fn unresolved(t: &TargetReport) -> bool {
    t.port.is_none()
}

/// `  sslmode=MODE`, with the driver's own mode beside it where the verdict is a driver's
/// (`sslmode=verify-full (SSL Mode=VerifyFull)`), or nothing for a connection string that was
/// refused (it has none).
fn sslmode(t: &TargetReport) -> String {
    if unresolved(t) {
        return String::new();
    }
    match &t.driver_sslmode {
        Some(own) if *own != t.sslmode.as_str() => {
            format!("  sslmode={} ({})", t.sslmode, clean(own))
        }
        _ => format!("  sslmode={}", t.sslmode),
    }
}

/// `  client=NAME` when the verdict is another client's than libpq's.
fn client(t: &TargetReport) -> String {
    match t.client {
        crate::report::ClientChoice::One(crate::clients::Client::Libpq) => String::new(),
        other => format!("  client={}", other.name()),
    }
}

fn place(t: &TargetReport) -> String {
    let Some(port) = t.port else {
        return "(invalid connection string)".into();
    };
    let host = if t.host.contains(':') {
        format!("[{}]", clean(&t.host))
    } else {
        clean(&t.host).into_owned()
    };
    match (&t.kind, &t.hostaddr) {
        (HostKind::UnixSocket, _) => format!("socket {}/.s.PGSQL.{port}", clean(&t.host)),
        (_, Some(addr)) if t.host.is_empty() => format!("{}:{port}", clean(addr)),
        (_, Some(addr)) => format!("{host}:{port} at {}", clean(addr)),
        (_, None) => format!("{host}:{port}"),
    }
}

fn write_target(t: &TargetReport, verbose: bool, out: &mut dyn Write) -> io::Result<()> {
    write_heading(t, out)?;
    write_attempts(t, out)?;
    if !t.certificates.is_empty() {
        match &t.earliest_expiry {
            Some(e) => writeln!(
                out,
                "  chain        (as presented; first to expire: {}, on {}, {})",
                e.position,
                crate::certinfo::day(&e.not_after),
                if e.days_left < 0 {
                    format!("{} ago", crate::certinfo::days(-e.days_left))
                } else {
                    format!("in {}", crate::certinfo::days(e.days_left))
                }
            )?,
            None => writeln!(out, "  chain        (as presented)")?,
        }
        for (i, c) in t.certificates.iter().enumerate() {
            write_cert(i, c, out)?;
        }
    }
    write_trust(t, out)?;
    write_host_name(t, out)?;
    write_expected(t, out)?;
    write_login(t, out)?;
    write_timings(t, verbose, out)?;
    if let Some(audit) = &t.audit {
        super::audit::write_audit(audit, out)?;
    }
    write_findings(t, out)
}

/// The target and its verdict, psql's `SSL connection` line, and the one-line summary.
fn write_heading(t: &TargetReport, out: &mut dyn Write) -> io::Result<()> {
    let verdict = if t.exit_code == Code::Ok {
        "OK"
    } else {
        "FAIL"
    };
    writeln!(
        out,
        "{}{}{}  [{verdict}, exit {}]",
        place(t),
        sslmode(t),
        client(t),
        t.exit_code
    )?;
    match &t.tls {
        Some(tls) if t.encrypted || t.exit_code != Code::Ok => writeln!(
            out,
            "SSL connection (protocol: {}, cipher: {}, compression: off, ALPN: {})",
            tls.protocol,
            tls.cipher,
            tls.alpn.as_deref().map_or("none".into(), clean)
        )?,
        _ => {}
    }
    writeln!(out, "  verdict      {}", clean(&t.summary))?;
    write_clients(t, out)
}

/// Each client's verdict, side by side, with the libpq string of the same settings.
fn write_clients(t: &TargetReport, out: &mut dyn Write) -> io::Result<()> {
    if t.clients.is_empty() {
        return Ok(());
    }
    if let Some(equivalent) = t.clients.iter().find_map(|v| v.libpq_equivalent.as_deref()) {
        writeln!(out, "  as libpq      {}", clean(equivalent))?;
    }
    for v in &t.clients {
        let verdict = if v.exit_code == Code::Ok {
            "OK  "
        } else {
            "FAIL"
        };
        let modelled = match v.reference {
            crate::report::Reference::Modelled => " (modelled)",
            crate::report::Reference::Verified => "",
        };
        writeln!(
            out,
            "  {:<15}{verdict}  exit {}  {}  [{}{modelled}]",
            v.name.name(),
            v.exit_code,
            clean(&v.summary),
            clean(&v.mode)
        )?;
    }
    Ok(())
}

/// Each attempt, then the negotiated session.
fn write_attempts(t: &TargetReport, out: &mut dyn Write) -> io::Result<()> {
    for (i, a) in t.attempts.iter().enumerate() {
        let kind = if a.tls { "TLS" } else { "plaintext" };
        let at = a
            .address
            .as_deref()
            .map(|x| format!(" to {}", clean(x)))
            .unwrap_or_default();
        let result = match &a.error {
            Some(e) => clean(&crate::sanitize::one_line(e)).into_owned(),
            None => "accepted".to_string(),
        };
        writeln!(out, "  attempt {}    {kind}{at}: {result}", i + 1)?;
    }
    let Some(tls) = &t.tls else {
        return Ok(());
    };
    let negotiation = match tls.negotiation {
        crate::config::SslNegotiation::Postgres => "SSLRequest",
        crate::config::SslNegotiation::Direct => "direct",
    };
    writeln!(
        out,
        "  tls          {} via {negotiation}; {} (IANA {}); group {}; SNI {}",
        tls.protocol,
        tls.cipher,
        tls.cipher_iana,
        super::group(tls),
        tls.sni.as_deref().map_or("none".into(), clean)
    )
}

fn write_host_name(t: &TargetReport, out: &mut dyn Write) -> io::Result<()> {
    let Some(check) = &t.host_name else {
        return Ok(());
    };
    let line = match check {
        NameCheck::Matched { name, field } => format!(
            "\"{}\" matches \"{}\" ({})",
            clean(&t.host),
            clean(name),
            field.to_uppercase()
        ),
        NameCheck::Mismatch { message, .. } | NameCheck::Error { message } => {
            clean(message).into_owned()
        }
    };
    writeln!(out, "  host name    {line}")
}

/// The OAUTHBEARER discovery and the issuer's endpoint.
fn write_oauth(oauth: &crate::report::OAuthLogin, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "  oauth        discovery {}{}",
        oauth.discovery_uri.as_deref().map_or("-".into(), clean),
        oauth
            .scope
            .as_deref()
            .map(|s| format!(", scope \"{}\"", clean(s)))
            .unwrap_or_default()
    )?;
    if let Some(issuer) = &oauth.issuer {
        let line = match (&issuer.error, issuer.verified) {
            (Some(error), _) => format!("NOT usable: {}", clean(error)),
            (None, _) => format!(
                "{}, verified by {}{}",
                issuer.protocol.as_deref().unwrap_or("TLS"),
                issuer.trust.as_deref().map_or("-".into(), clean),
                issuer
                    .http_status
                    .map(|s| format!("; the document answers HTTP {s}"))
                    .unwrap_or_default()
            ),
        };
        writeln!(out, "  issuer       {line}")?;
    }
    Ok(())
}

/// What the operator expected: the certificate to be served, the other names to be covered.
fn write_expected(t: &TargetReport, out: &mut dyn Write) -> io::Result<()> {
    if let Some(e) = &t.expected_certificate {
        let verdict = if e.matches {
            "serves"
        } else {
            "does NOT serve"
        };
        writeln!(
            out,
            "  expected     the server {verdict} the certificate in {} (\"{}\", SHA-256 {})",
            clean(&e.file),
            clean(&e.subject),
            e.sha256
        )?;
    }
    if !t.also_names.is_empty() {
        let names: Vec<String> = t
            .also_names
            .iter()
            .map(|n| {
                let word = if n.covered { "covered" } else { "NOT covered" };
                format!("{} {word}", clean(&n.name))
            })
            .collect();
        writeln!(out, "  also names   {}", names.join(", "))?;
    }
    Ok(())
}

/// The server's first answer, the login, the server's view and the client certificate.
fn write_login(t: &TargetReport, out: &mut dyn Write) -> io::Result<()> {
    if let Some(provider) = &t.provider {
        writeln!(
            out,
            "  provider     {} ({}; {})",
            provider.profile,
            clean(&provider.description),
            clean(&provider.recognised_by)
        )?;
    }
    if let Some(server) = &t.server {
        let line = match server.answer {
            AnswerKind::AuthenticationOk => "accepts without a password (trust)".to_string(),
            AnswerKind::AuthenticationRequest => format!(
                "asks for authentication: {}",
                clean(server.method.as_deref().unwrap_or(""))
            ),
            AnswerKind::Error => format!(
                "rejects: {}",
                clean(server.message.as_deref().unwrap_or(""))
            ),
        };
        writeln!(out, "  server       {line}")?;
    }
    if let Some(login) = &t.login {
        let line = match (login.authenticated, &login.method) {
            (true, Some(method)) => format!("logged in with {method}"),
            (false, Some(method)) => {
                format!("not logged in: the server asks for {}", clean(method))
            }
            _ => "not logged in".to_string(),
        };
        writeln!(out, "  login        {line}")?;
        if let Some(oauth) = &login.oauth {
            write_oauth(oauth, out)?;
        }
        if let Some(version) = &login.protocol_version {
            writeln!(out, "  protocol     version {version}")?;
        }
        if let Some(server) = &login.server_tls {
            write_server_view(login.server_version.as_deref(), server, out)?;
        }
    }
    if let Some(cert) = &t.client_certificate
        && (cert.requested || cert.file.is_some())
    {
        let line = match (cert.requested, cert.sent) {
            (true, true) => format!(
                "requested; sent {}",
                clean(cert.subject.as_deref().unwrap_or(""))
            ),
            (true, false) => "requested; none to send".to_string(),
            (false, _) => "not requested by the server".to_string(),
        };
        writeln!(out, "  client cert  {line}")?;
    }
    Ok(())
}

fn write_server_view(
    version: Option<&str>,
    server: &crate::report::ServerTls,
    out: &mut dyn Write,
) -> io::Result<()> {
    let view = if server.ssl {
        format!(
            "{} {} ({} bits)",
            server.version.as_deref().unwrap_or("?"),
            server.cipher.as_deref().unwrap_or("?"),
            server.bits.map_or("?".into(), |b| b.to_string())
        )
    } else {
        "no TLS".to_string()
    };
    let version = version
        .map(|v| format!("PostgreSQL {}: ", clean(v)))
        .unwrap_or_default();
    writeln!(out, "  server view  {version}{}", clean(&view))?;
    if let Some(dn) = &server.client_dn {
        writeln!(out, "  client cert  server sees \"{}\"", clean(dn))?;
    }
    Ok(())
}

fn write_timings(t: &TargetReport, verbose: bool, out: &mut dyn Write) -> io::Result<()> {
    let Some(a) = t.attempts.last() else {
        return Ok(());
    };
    let mut parts = vec![format!("connect {:.1} ms", a.timings.connect_ms)];
    if let Some(tls) = a.timings.tls_ms {
        parts.push(format!("TLS {tls:.1} ms"));
    }
    if let Some(startup) = a.timings.startup_ms {
        parts.push(format!("startup {startup:.1} ms"));
    }
    parts.push(format!("total {:.1} ms", a.timings.total_ms));
    if verbose {
        let trips = t
            .attempts
            .iter()
            .map(|a| a.timings.round_trips)
            .sum::<u32>();
        let plural = if trips == 1 { "" } else { "s" };
        parts.push(match t.attempts.len() {
            1 => format!("{trips} round trip{plural}"),
            n => format!("{trips} round trip{plural} over {n} attempts"),
        });
    }
    writeln!(out, "  timings      {}", parts.join(", "))
}

fn write_findings(t: &TargetReport, out: &mut dyn Write) -> io::Result<()> {
    for f in &t.findings {
        let label = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "note",
        };
        // libpq's messages may carry a second line of advice: keep it, under the first. Server
        // text never holds a line break of its own (the report keeps it as a visible `\n`).
        let message = crate::sanitize::clean_lines(&f.message).replace('\n', "\n               ");
        writeln!(out, "  {label:<12} {message}")?;
        if let Some(hint) = &f.hint {
            writeln!(out, "  {:<12} hint: {}", "", clean(hint))?;
        }
    }
    Ok(())
}

fn write_cert(i: usize, c: &CertificateInfo, out: &mut dyn Write) -> io::Result<()> {
    let ca = if c.self_signed {
        "  (self-signed)"
    } else if c.is_ca {
        "  (CA)"
    } else {
        ""
    };
    writeln!(out, "    {i}  {}{ca}", clean(&c.subject))?;
    writeln!(out, "       issuer   {}", clean(&c.issuer))?;
    if !c.sans.is_empty() {
        writeln!(out, "       SAN      {}", clean(&c.sans.join(", ")))?;
    }
    writeln!(out, "       valid    {}", super::certs::validity(c))?;
    let key = super::certs::key(c);
    writeln!(
        out,
        "       key      {key}, signed with {}",
        c.signature_algorithm
    )?;
    writeln!(out, "       serial   {}", c.serial)?;
    writeln!(out, "       SHA-256  {}", c.sha256)
}

fn write_trust(t: &TargetReport, out: &mut dyn Write) -> io::Result<()> {
    let line = match (&t.trust, t.tls.is_some() || !t.certificates.is_empty()) {
        (_, false) => return Ok(()),
        (trust, _) if trust.roots_unusable.is_some() => format!(
            "NOT verified: the root file cannot be used ({})",
            clean(
                trust
                    .roots_unusable
                    .as_deref()
                    .and_then(|m| m.lines().next())
                    .unwrap_or_default()
            )
        ),
        (trust, _) if !trust.checked => {
            "chain not verified (this sslmode with no root file)".to_string()
        }
        (trust, _) if trust.verified => {
            let source = trust
                .source
                .as_ref()
                .map(|s| clean(&s.to_string()).into_owned())
                .unwrap_or_default();
            let anchor = trust.anchor.as_ref().map_or(String::new(), |a| {
                format!(" at \"{}\" (SHA-256 {})", clean(&a.subject), a.sha256)
            });
            format!("verified by {source}{anchor}")
        }
        (trust, _) => format!(
            "NOT verified: {}",
            trust
                .error
                .as_ref()
                .map_or("unknown error".to_string(), |e| clean(&e.to_string())
                    .into_owned())
        ),
    };
    // With one driver's verdict, its own trust first; the rest is libpq's view.
    let driver = t.client.driver();
    if let Some(v) = driver.and_then(|c| t.clients.iter().find(|v| v.name == c)) {
        let own = match (&v.trust, &v.custom_verification) {
            (_, Some(setting)) => format!("not modelled: {}", clean(setting)),
            (Some(roots), _) => format!("chain verified up to {}", clean(roots)),
            (None, _) if v.connects && v.encrypted => "chain not verified".to_string(),
            (None, _) => "no verified chain".to_string(),
        };
        writeln!(out, "  trust        {}: {own}", v.name.name())?;
        writeln!(out, "  {:<12} libpq: {line}", "")?;
    } else {
        writeln!(out, "  trust        {line}")?;
    }
    for (i, d) in t.trust.diagnosis.iter().enumerate() {
        let label = if i == 0 { "diagnosis" } else { "" };
        let verdict = if d.verified {
            let mut hops: Vec<String> =
                d.path.iter().map(|p| format!("\"{}\"", clean(p))).collect();
            hops.push(format!("\"{}\"", clean(d.anchor.as_deref().unwrap_or(""))));
            format!("verifies: {}", hops.join(" -> "))
        } else {
            format!(
                "does not verify ({})",
                clean(d.error.as_deref().unwrap_or(""))
            )
        };
        writeln!(out, "  {label:<12} {}: {verdict}", d.source)?;
    }
    Ok(())
}

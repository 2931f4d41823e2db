//! `pgtls explain`: a resolved configuration turned into plain data: every parameter with its
//! source, one entry per target with what libpq will do there, and notes where libpq's behaviour
//! surprises people. Secrets are replaced here, so no renderer ever holds one.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::config::{
    GssEncMode, HostKind, LoadBalanceHosts, PasswordSource, Resolved, RootCert, Source, SslMode,
    SslNegotiation, Target, Transport,
};

/// What `explain` reports.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Explanation {
    /// Every parameter with a value, in libpq's keyword order.
    #[schemars(with = "std::collections::BTreeMap<String, Param>")]
    pub params: Params,
    /// The service file that supplied settings, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_file: Option<String>,
    /// One entry per host.
    pub targets: Vec<TargetPlan>,
    /// libpq behaviour worth knowing about for this configuration.
    pub notes: Vec<Note>,
}

/// Parameters in keyword order, serialised as a JSON object.
#[derive(Debug, Clone)]
pub struct Params(pub Vec<(&'static str, Param)>);

impl Serialize for Params {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, param) in &self.0 {
            map.serialize_entry(name, param)?;
        }
        map.end()
    }
}

/// One parameter.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Param {
    /// The value as libpq stores it; `(redacted)` for secrets.
    pub value: String,
    /// Where it came from.
    pub source: Source,
    /// The environment variable, when it came from the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<&'static str>,
}

/// What libpq will do for one host.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TargetPlan {
    /// The name checked against the certificate and sent as SNI (may be empty).
    pub host: String,
    /// The address connected to instead of resolving `host`.
    pub hostaddr: Option<String>,
    /// The port.
    pub port: u16,
    /// How the host is reached.
    pub kind: HostKind,
    /// Connection attempts in order: `"tls"` and `"plaintext"`.
    pub attempts: Vec<&'static str>,
    /// How TLS starts: `"postgres"` (SSLRequest) or `"direct"`; absent without TLS.
    pub negotiation: Option<SslNegotiation>,
    /// Whether the certificate chain is verified.
    pub verify_chain: bool,
    /// Whether the certificate must match `host`.
    pub verify_host_name: bool,
    /// The trust source: `"system"` or the root file's path.
    pub root_cert: Option<String>,
    /// Whether the root file exists (absent for `system`).
    pub root_cert_exists: Option<bool>,
    /// The SNI name sent, if any.
    pub sni: Option<String>,
    /// Where the password comes from; the password itself is never reported.
    pub password: Option<PasswordSource>,
}

/// A remark about libpq's behaviour with this configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Note {
    /// A stable identifier.
    pub code: &'static str,
    /// The remark, in words.
    pub message: String,
}

/// The parameters a connection string sets by itself, before anything is resolved.
pub fn parsed(params: &crate::conninfo::Params) -> Explanation {
    Explanation {
        params: Params(
            params
                .iter()
                .map(|(keyword, value)| {
                    (keyword.name, param(keyword, value, Source::Conninfo, None))
                })
                .collect(),
        ),
        service_file: None,
        targets: Vec::new(),
        notes: Vec::new(),
    }
    .hiding(params.password_fragments())
}

impl Explanation {
    /// The explanation with pieces of a URI password that libpq's parse moved into other
    /// parameters (a password with an unencoded `@` or `/`) redacted wherever they show, and a
    /// note that says why.
    fn hiding(mut self, fragments: &[String]) -> Self {
        if fragments.is_empty() {
            return self;
        }
        let hide = |text: &mut String| *text = crate::conninfo::redact_fragments(text, fragments);
        self.params
            .0
            .iter_mut()
            .for_each(|(_, p)| hide(&mut p.value));
        for target in &mut self.targets {
            hide(&mut target.host);
            if let Some(sni) = target.sni.as_mut() {
                hide(sni);
            }
        }
        self.notes.iter_mut().for_each(|n| hide(&mut n.message));
        self.notes.push(Note {
            code: "unencoded_password",
            message: "the URI's password holds an unencoded \"@\" or \"/\": libpq takes pieces of it for the host, port or database name (shown redacted); percent-encode them (%40, %2F). pgtls check refuses such a URI".into(),
        });
        self
    }
}

fn param(
    keyword: &crate::conninfo::Keyword,
    value: &str,
    source: Source,
    env: Option<&'static str>,
) -> Param {
    let value = if keyword.secret { "(redacted)" } else { value };
    Param {
        value: value.to_string(),
        source,
        env,
    }
}

/// Builds the explanation of a resolved configuration.
pub fn explain(resolved: &Resolved) -> Explanation {
    let params = Params(
        resolved
            .settings
            .iter()
            .map(|(keyword, s)| (keyword.name, param(keyword, &s.value, s.source, s.env_var)))
            .collect(),
    );
    let targets: Vec<TargetPlan> = resolved.targets.iter().map(|t| plan(resolved, t)).collect();
    let mut notes = Vec::new();
    notes_for(resolved, &targets, &mut notes);
    Explanation {
        params,
        service_file: resolved
            .service_file
            .as_ref()
            .map(|p| p.display().to_string()),
        targets,
        notes,
    }
    .hiding(&resolved.password_fragments)
}

fn plan(resolved: &Resolved, target: &Target) -> TargetPlan {
    let options = &resolved.options;
    let unix = target.kind == HostKind::UnixSocket;
    let attempts: Vec<&'static str> = options
        .sslmode
        .attempts(unix)
        .iter()
        .map(|t| t.as_str())
        .collect();
    let tls = options.sslmode.attempts(unix).contains(&Transport::Tls);
    let (root_cert, root_cert_exists) = match &options.root_cert {
        RootCert::System => (Some("system".to_string()), None),
        RootCert::File { path, .. } => (Some(path.display().to_string()), Some(path.is_file())),
        RootCert::NoHomeDirectory => (None, None),
    };
    let verify_chain = tls
        && (options
            .sslmode
            .verifies_chain(root_cert_exists == Some(true))
            || options.root_cert == RootCert::System);
    let is_ip = target.host.parse::<std::net::IpAddr>().is_ok();
    let sni =
        (tls && options.sslsni && !is_ip && !target.host.is_empty()).then(|| target.host.clone());
    TargetPlan {
        host: target.host.clone(),
        hostaddr: target.hostaddr.clone(),
        port: target.port,
        kind: target.kind,
        negotiation: tls.then_some(options.sslnegotiation),
        verify_chain,
        verify_host_name: tls && options.sslmode == SslMode::VerifyFull,
        root_cert: root_cert.filter(|_| tls),
        root_cert_exists: root_cert_exists.filter(|_| tls),
        sni,
        password: target.password.as_ref().map(|p| p.source.clone()),
        attempts,
    }
}

fn note(notes: &mut Vec<Note>, code: &'static str, message: String) {
    if !notes.iter().any(|n| n.code == code && n.message == message) {
        notes.push(Note { code, message });
    }
}

fn notes_for(resolved: &Resolved, targets: &[TargetPlan], notes: &mut Vec<Note>) {
    let options = &resolved.options;
    let sslmode_source = resolved.settings.get("sslmode").map(|s| s.source);
    if options.root_cert == RootCert::System && sslmode_source == Some(Source::Default) {
        note(notes, "system_roots_imply_verify_full",
            "sslrootcert=system made the default sslmode verify-full: the server's certificate must chain to the operating system's trust store and match the host name".into());
    }
    for target in targets {
        if target.kind == HostKind::UnixSocket {
            note(
                notes,
                "unix_socket_never_uses_tls",
                format!(
                    "{} is a Unix-domain socket: libpq never uses TLS there, whatever sslmode says",
                    target.host
                ),
            );
            continue;
        }
        if let Some(addr) = &target.hostaddr {
            if target.host.is_empty() {
                if target.verify_host_name {
                    note(
                        notes,
                        "verify_full_needs_host",
                        format!(
                            "hostaddr {addr} has no host name: libpq refuses verify-full with \"host name must be specified for a verified SSL connection\""
                        ),
                    );
                }
            } else {
                note(
                    notes,
                    "hostaddr_connects_host_verifies",
                    format!(
                        "libpq connects to {addr} and checks the certificate (and sends SNI and looks up the passfile) with the name {}",
                        target.host
                    ),
                );
            }
        }
        if !target.attempts.contains(&"tls") {
            continue;
        }
        let root = target.root_cert.as_deref().unwrap_or("");
        match (options.sslmode, target.root_cert_exists) {
            (SslMode::VerifyCa | SslMode::VerifyFull, Some(false)) => note(notes, "root_file_missing", format!(
                "root certificate file \"{root}\" does not exist: libpq will refuse to connect with sslmode={}",
                options.sslmode
            )),
            (SslMode::VerifyCa | SslMode::VerifyFull, None) if options.root_cert == RootCert::NoHomeDirectory => note(notes, "root_file_missing",
                "there is no home directory to find ~/.postgresql/root.crt in, and sslrootcert is not set: libpq will refuse to connect".into()),
            (SslMode::Require, Some(true)) => note(notes, "require_verifies_chain", format!(
                "sslmode=require verifies the certificate chain because the root file \"{root}\" exists: libpq then behaves as verify-ca"
            )),
            (SslMode::Prefer | SslMode::Allow, Some(true)) => note(notes, "root_file_verifies_chain", format!(
                "the root file \"{root}\" exists, so libpq verifies the certificate chain even with sslmode={}",
                options.sslmode
            )),
            _ => {}
        }
        if target.sni.is_none()
            && options.sslsni
            && !target.host.is_empty()
            && target.host.parse::<std::net::IpAddr>().is_ok()
        {
            note(
                notes,
                "no_sni_for_ip",
                format!("{} is an IP address: no SNI is sent", target.host),
            );
        }
    }
    let tcp = targets.iter().any(|t| t.kind != HostKind::UnixSocket);
    if tcp {
        match options.sslmode {
            SslMode::Prefer => note(notes, "prefer_may_use_plaintext",
                "sslmode=prefer: if TLS fails for any reason, certificate verification included, libpq connects again without TLS; use sslmode=verify-full to require a verified connection".into()),
            SslMode::Allow => note(notes, "allow_tries_plaintext_first",
                "sslmode=allow: libpq connects without TLS first and uses TLS only if the server refuses plaintext".into()),
            SslMode::Disable => note(notes, "tls_disabled", "sslmode=disable: the connection is never encrypted".into()),
            _ => {}
        }
        if options.sslnegotiation == SslNegotiation::Direct {
            note(notes, "direct_needs_postgresql_17",
                "sslnegotiation=direct starts TLS at once with ALPN \"postgresql\": servers before PostgreSQL 17 cannot accept it".into());
        }
    }
    if options.gssencmode != GssEncMode::Disable {
        note(
            notes,
            "gssapi_not_checked",
            format!(
                "gssencmode={}: pgtls does not negotiate GSSAPI encryption; a libpq client with Kerberos credentials may use it instead of TLS",
                options.gssencmode
            ),
        );
    }
    if options.load_balance_hosts == LoadBalanceHosts::Random && targets.len() > 1 {
        note(
            notes,
            "hosts_in_random_order",
            "load_balance_hosts=random: libpq tries the hosts in random order".into(),
        );
    }
    for warning in &resolved.warnings {
        note(notes, "passfile_ignored", warning.clone());
    }
}

/// `explain --client`: how each asked client reads the string and what it will do.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ClientsExplanation {
    /// The client asked for (or named by the string's form).
    pub client: crate::clients::ClientChoice,
    /// Whose syntax the string was read with.
    pub read_as: crate::clients::Client,
    /// The hosts and ports, as the string's own client reads them.
    pub hosts: Vec<(String, u16)>,
    /// The user.
    pub user: Option<String>,
    /// The database.
    pub dbname: Option<String>,
    /// The libpq string with the same settings, for a driver's string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libpq_equivalent: Option<String>,
    /// Each client's plan, libpq's as its sslmode.
    pub clients: Vec<crate::clients::Plan>,
}

/// libpq's plan for a resolved string, in the same form as the other clients': whether its
/// root file exists (which makes libpq verify under require) is found by the caller.
pub fn libpq_plan(resolved: &Resolved, root_file_exists: bool) -> crate::clients::Plan {
    use crate::clients::Client;
    let options = &resolved.options;
    let mode = options.sslmode;
    let transports = match mode {
        SslMode::Disable => "plaintext only",
        SslMode::Allow => "plaintext; a new TLS connection if the server refuses it",
        SslMode::Prefer => {
            "TLS (SSLRequest); plaintext on the same connection if the server answers N, and a new plaintext connection after any TLS failure"
        }
        _ => "TLS only; no plaintext fallback",
    };
    let root = match &options.root_cert {
        RootCert::File { path, .. } => Some(format!("the root file {}", path.display())),
        RootCert::System => Some("the system store".to_string()),
        RootCert::NoHomeDirectory => None,
    };
    let verifies = mode.verifies_chain(root_file_exists);
    let chain = match (verifies, root) {
        (true, Some(root)) => format!("verified up to a self-signed root of {root}"),
        _ => "not verified".to_string(),
    };
    crate::clients::Plan {
        name: Client::Libpq,
        models: Client::Libpq.models(),
        reference: Client::Libpq.reference(),
        mode: mode.as_str().to_string(),
        transports: transports.to_string(),
        chain,
        host_name: match mode {
            SslMode::VerifyFull => "checked (libpq)".to_string(),
            _ => "not checked".to_string(),
        },
        refused: None,
        unmodelled: Vec::new(),
        ignored: Vec::new(),
    }
}

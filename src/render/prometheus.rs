//! `check --format prometheus`: the text exposition format, for node_exporter's textfile
//! collector. Labels name the target (host, port, sslmode, client; the string's position only where
//! two targets share all of those); never a secret.

use std::io::{self, Write};

use super::exposition::{self, Kind, Sample, label};
use crate::certinfo::CertificateInfo;
use crate::report::{Audit, ClientVerdict, Report, TargetReport};

/// Each target's labels: what names it (target, port, sslmode, client), stable when the targets
/// file is reordered; `input` (the position of its connection string) is added only where two
/// targets would otherwise share every label.
fn target_labels(report: &Report) -> Vec<String> {
    let base: Vec<String> = report
        .targets
        .iter()
        .map(|t| {
            let Some(port) = t.port else {
                return format!(
                    "target=\"(invalid)\",port=\"0\",sslmode=\"\",client=\"{}\"",
                    t.client.name()
                );
            };
            let driver = match &t.driver_sslmode {
                Some(own) => format!(",driver_sslmode=\"{}\"", label(own)),
                None => String::new(),
            };
            format!(
                "target=\"{}\",port=\"{}\",sslmode=\"{}\",client=\"{}\"{driver}",
                label(if t.host.is_empty() {
                    t.hostaddr.as_deref().unwrap_or("")
                } else {
                    &t.host
                }),
                port,
                t.sslmode,
                t.client.name()
            )
        })
        .collect();
    super::disambiguate(base, &report.targets, |labels, input| {
        format!("{labels},input=\"{input}\"")
    })
}

const EXIT_CODE_HELP: &str =
    "The target's pgtls exit code (0 when it connects as its sslmode requires).";

/// Labels beyond the target's.
type Extra = Vec<(&'static str, String)>;
/// A target's samples of one family: the labels beyond the target's, and the value.
type Samples = Vec<(Extra, String)>;

/// Which reports a family is written in at all.
#[derive(Clone, Copy)]
enum Shown {
    /// Every report.
    Always,
    /// Reports where some target was audited.
    Audit,
    /// Reports where a profile recognised some target.
    Provider,
    /// Reports with other clients' verdicts.
    Clients,
    /// Reports where some target has an expected certificate (`--expect-cert`).
    ExpectedCert,
    /// Reports where some target has other names to check (`--also-names`).
    AlsoNames,
}

impl Shown {
    fn applies(self, report: &Report) -> bool {
        let any = |f: fn(&TargetReport) -> bool| report.targets.iter().any(f);
        match self {
            Shown::Always => true,
            Shown::Audit => any(|t| t.audit.is_some()),
            Shown::Provider => any(|t| t.provider.is_some()),
            Shown::Clients => any(|t| !t.clients.is_empty()),
            Shown::ExpectedCert => any(|t| t.expected_certificate.is_some()),
            Shown::AlsoNames => any(|t| !t.also_names.is_empty()),
        }
    }
}

/// One `pgtls_*` family.
struct Family {
    name: &'static str,
    help: &'static str,
    /// A target's samples, as of a Unix time.
    samples: fn(&TargetReport, i64) -> Samples,
    shown: Shown,
    /// Kept one release for textfiles; `serve` never writes it.
    deprecated: bool,
}

/// One sample without labels of its own, if there is a value.
fn one(value: Option<impl ToString>) -> Samples {
    value
        .map(|v| (Vec::new(), v.to_string()))
        .into_iter()
        .collect()
}

/// A sample per certificate the target presented, labelled with its position first.
fn per_certificate(t: &TargetReport, sample: fn(&CertificateInfo) -> (Extra, String)) -> Samples {
    t.certificates
        .iter()
        .enumerate()
        .map(|(position, c)| {
            let (mut labels, value) = sample(c);
            labels.insert(0, ("position", position.to_string()));
            (labels, value)
        })
        .collect()
}

/// A sample per other client's verdict, labelled with its driver.
fn per_client(t: &TargetReport, value: fn(&ClientVerdict) -> String) -> Samples {
    t.clients
        .iter()
        .map(|v| (vec![("driver", v.name.name().to_string())], value(v)))
        .collect()
}

/// What the audit tested: one sample per item (1 accepted, 0 refused; untested ones left out).
fn audited<T>(
    t: &TargetReport,
    items: fn(&Audit) -> Vec<T>,
    sample: fn(&T) -> Option<(Extra, bool)>,
) -> Samples {
    let Some(audit) = &t.audit else {
        return Vec::new();
    };
    items(audit)
        .iter()
        .filter_map(sample)
        .map(|(labels, yes)| (labels, u8::from(yes).to_string()))
        .collect()
}

/// Every `pgtls_*` family, in the order they are written.
const FAMILIES: &[Family] = &[
    Family {
        name: "pgtls_up",
        help: "Whether a libpq client with this connection string connects to the target (1) or not (0).",
        samples: |t, _| one(Some(u8::from(t.libpq_connects))),
        shown: Shown::Always,
        deprecated: false,
    },
    Family {
        name: "pgtls_exit_code",
        help: EXIT_CODE_HELP,
        samples: |t, _| one(Some(t.exit_code)),
        shown: Shown::Always,
        deprecated: false,
    },
    Family {
        name: "pgtls_encrypted",
        help: "Whether the connection a libpq client makes is encrypted.",
        samples: |t, _| one(Some(u8::from(t.encrypted))),
        shown: Shown::Always,
        deprecated: false,
    },
    Family {
        name: "pgtls_leaf_not_after_timestamp_seconds",
        help: "When the server certificate expires, as a Unix timestamp (alert on it minus time()).",
        samples: |t, _| one(t.certificates.first().map(|c| c.not_after_unix)),
        shown: Shown::Always,
        deprecated: false,
    },
    Family {
        name: "pgtls_chain_not_after_timestamp_seconds",
        help: "When the earliest-expiring certificate the server presented expires, as a Unix timestamp.",
        samples: |t, _| one(t.certificates.iter().map(|c| c.not_after_unix).min()),
        shown: Shown::Always,
        deprecated: false,
    },
    Family {
        name: "pgtls_served_certificate_matches",
        help: "Whether the server serves the certificate the target expects (expect_cert, --expect-cert): 1, or 0 when it serves another (not reloaded, or another file).",
        samples: |t, _| one(t.expected_certificate.as_ref().map(|e| u8::from(e.matches))),
        shown: Shown::ExpectedCert,
        deprecated: false,
    },
    Family {
        name: "pgtls_name_covered",
        help: "Whether the served certificate covers each other name clients use (also_names, --also-names) by the rules of the client judged.",
        samples: |t, _| {
            t.also_names
                .iter()
                .map(|n| {
                    (
                        vec![("name", n.name.clone())],
                        u8::from(n.covered).to_string(),
                    )
                })
                .collect()
        },
        shown: Shown::AlsoNames,
        deprecated: false,
    },
    Family {
        name: "pgtls_chain_earliest_expiry_info",
        help: "Which presented certificate expires first (always 1): its position (0 is the leaf) and subject.",
        samples: |t, _| {
            t.earliest_expiry
                .iter()
                .map(|e| {
                    (
                        vec![
                            ("position", e.position.to_string()),
                            ("subject", e.subject.clone()),
                        ],
                        "1".to_string(),
                    )
                })
                .collect()
        },
        shown: Shown::Always,
        deprecated: false,
    },
    Family {
        name: "pgtls_leaf_expiry_seconds",
        help: "Deprecated, use pgtls_leaf_not_after_timestamp_seconds - time(): seconds until the server certificate expires, as of the check (negative once expired).",
        samples: |t, now| one(t.certificates.first().map(|c| c.not_after_unix - now)),
        shown: Shown::Always,
        deprecated: true,
    },
    Family {
        name: "pgtls_leaf_expiry_days",
        help: "Deprecated: whole days until the server certificate expires, as of the check.",
        samples: |t, _| one(t.certificates.first().map(|c| c.days_left)),
        shown: Shown::Always,
        deprecated: true,
    },
    Family {
        name: "pgtls_chain_expiry_seconds",
        help: "Deprecated, use pgtls_chain_not_after_timestamp_seconds - time(): seconds until the earliest-expiring certificate the server presented expires, as of the check.",
        samples: |t, now| one(t.certificates.iter().map(|c| c.not_after_unix - now).min()),
        shown: Shown::Always,
        deprecated: true,
    },
    Family {
        name: "pgtls_chain_expiry_days",
        help: "Deprecated: whole days until the earliest-expiring certificate the server presented expires, as of the check.",
        samples: |t, _| one(t.certificates.iter().map(|c| c.days_left).min()),
        shown: Shown::Always,
        deprecated: true,
    },
    Family {
        name: "pgtls_check_duration_seconds",
        help: "Time the check of this target took, all attempts together.",
        samples: |t, _| {
            let ms = t
                .attempts
                .iter()
                .fold(0.0, |sum, a| sum + a.timings.total_ms);
            one(Some(format!("{:.6}", ms / 1000.0)))
        },
        shown: Shown::Always,
        deprecated: false,
    },
    Family {
        name: "pgtls_certificate_info",
        help: "Each certificate the server presented (always 1): its position (0 = the server's own), subject, issuer and SHA-256.",
        samples: |t, _| {
            per_certificate(t, |c| {
                let labels = vec![
                    ("subject", c.subject.clone()),
                    ("issuer", c.issuer.clone()),
                    ("sha256", c.sha256.clone()),
                ];
                (labels, "1".into())
            })
        },
        shown: Shown::Always,
        deprecated: false,
    },
    Family {
        name: "pgtls_certificate_not_after_timestamp_seconds",
        help: "When each certificate the server presented expires, as a Unix timestamp.",
        samples: |t, _| {
            per_certificate(t, |c| {
                (
                    vec![("sha256", c.sha256.clone())],
                    c.not_after_unix.to_string(),
                )
            })
        },
        shown: Shown::Always,
        deprecated: false,
    },
    Family {
        name: "pgtls_audit_protocol_accepted",
        help: "Whether the server accepts this protocol version (--audit).",
        samples: |t, _| {
            audited(
                t,
                |a| {
                    let p = &a.protocols;
                    vec![
                        ("TLSv1.3", p.tls13),
                        ("TLSv1.2", p.tls12),
                        ("TLSv1.1", p.tls11),
                        ("TLSv1.0", p.tls10),
                        ("SSLv3", p.ssl3),
                    ]
                },
                |(name, accepted)| Some((vec![("protocol", name.to_string())], (*accepted)?)),
            )
        },
        shown: Shown::Audit,
        deprecated: false,
    },
    Family {
        name: "pgtls_audit_suite_accepted",
        help: "Whether the server accepts this cipher suite (--audit; IANA name).",
        samples: |t, _| {
            audited(
                t,
                |a| a.suites.clone(),
                |s| Some((vec![("suite", s.name.clone())], s.accepted?)),
            )
        },
        shown: Shown::Audit,
        deprecated: false,
    },
    Family {
        name: "pgtls_audit_legacy_suite_accepted",
        help: "Whether the server accepts a suite of this legacy family (--audit).",
        samples: |t, _| {
            audited(
                t,
                |a| a.legacy_suites.clone(),
                |l| Some((vec![("family", l.family.to_string())], l.accepted)),
            )
        },
        shown: Shown::Audit,
        deprecated: false,
    },
    Family {
        name: "pgtls_audit_group_accepted",
        help: "Whether the server accepts this key exchange group (--audit).",
        samples: |t, _| {
            audited(
                t,
                |a| a.groups.clone(),
                |g| Some((vec![("group", g.name.clone())], g.accepted?)),
            )
        },
        shown: Shown::Audit,
        deprecated: false,
    },
    Family {
        name: "pgtls_audit_plaintext_accepted",
        help: "Whether the server proceeds with a startup message sent without TLS (--audit).",
        samples: |t, _| audited(t, |a| vec![a.plaintext], |p| Some((Vec::new(), (*p)?))),
        shown: Shown::Audit,
        deprecated: false,
    },
    Family {
        name: "pgtls_tls_info",
        help: "The negotiated TLS protocol, cipher and key exchange group (always 1).",
        samples: |t, _| {
            let tls = t.tls.as_ref().filter(|_| t.encrypted);
            let labels = tls.map(|tls| {
                vec![
                    ("protocol", tls.protocol.clone()),
                    ("cipher", tls.cipher.clone()),
                    ("group", tls.key_exchange_group.clone().unwrap_or_default()),
                ]
            });
            labels.map(|l| (l, "1".to_string())).into_iter().collect()
        },
        shown: Shown::Always,
        deprecated: false,
    },
    Family {
        name: "pgtls_tls_hello_retry",
        help: "Whether the server's key exchange group cost a HelloRetryRequest (one more round trip).",
        samples: |t, _| {
            let tls = t.tls.as_ref().filter(|_| t.encrypted);
            tls.map(|tls| (Vec::new(), u8::from(tls.hello_retry).to_string()))
                .into_iter()
                .collect()
        },
        shown: Shown::Always,
        deprecated: false,
    },
    Family {
        name: "pgtls_provider_info",
        help: "The provider profile that recognised the target (always 1).",
        samples: |t, _| {
            let profile = t.provider.as_ref().map(|p| p.profile.clone());
            profile
                .map(|p| (vec![("profile", p)], "1".to_string()))
                .into_iter()
                .collect()
        },
        shown: Shown::Provider,
        deprecated: false,
    },
    Family {
        name: "pgtls_client_up",
        help: "Whether this client (label driver) connects to the target (1) or not (0), with --client.",
        samples: |t, _| per_client(t, |v| u8::from(v.connects).to_string()),
        shown: Shown::Clients,
        deprecated: false,
    },
    Family {
        name: "pgtls_client_verified",
        help: "Whether this client's connection is encrypted with its certificate chain verified.",
        samples: |t, _| {
            per_client(t, |v| {
                u8::from(v.connects && v.encrypted && v.chain_verified).to_string()
            })
        },
        shown: Shown::Clients,
        deprecated: false,
    },
    Family {
        name: "pgtls_client_exit_code",
        help: "The exit code of this client's verdict.",
        samples: |t, _| per_client(t, |v| v.exit_code.to_string()),
        shown: Shown::Clients,
        deprecated: false,
    },
];

/// Writes the report as Prometheus metrics (`check --format prometheus`).
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn prometheus(report: &Report, now: i64, out: &mut dyn Write) -> io::Result<()> {
    families(report, now, true, out)
}

/// Writes one probe of `pgtls serve`: the names blackbox_exporter's users alert on
/// (`probe_success`, `probe_duration_seconds`, `probe_ssl_earliest_cert_expiry`,
/// `probe_tls_version_info`), then the `pgtls_*` families `check --format prometheus` writes,
/// without the deprecated ones.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn probe(
    report: Option<&Report>,
    (code, duration): (i32, std::time::Duration),
    (now, differing): (i64, Option<f64>),
    out: &mut dyn Write,
) -> io::Result<()> {
    let gauge = |name, help, value: String| (name, help, Sample::new(String::new(), value));
    let mut first = vec![
        gauge(
            "probe_success",
            "Whether the probe succeeded: pgtls's verdict is exit code 0 (blackbox_exporter's name).",
            u8::from(code == 0).to_string(),
        ),
        gauge(
            "probe_duration_seconds",
            "How long the probe took, in seconds (blackbox_exporter's name).",
            format!("{:.6}", duration.as_secs_f64()),
        ),
    ];
    // A probe cut short by its deadline has no report: its exit code alone.
    let Some(report) = report else {
        first.push(gauge("pgtls_exit_code", EXIT_CODE_HELP, code.to_string()));
        return blackbox(first, out);
    };
    let earliest = report
        .targets
        .iter()
        .flat_map(|t| &t.certificates)
        .map(|c| c.not_after_unix)
        .min();
    if let Some(earliest) = earliest {
        first.push(gauge(
            "probe_ssl_earliest_cert_expiry",
            "When the earliest-expiring certificate the servers presented expires, as a Unix timestamp (blackbox_exporter's name).",
            earliest.to_string(),
        ));
    }
    // The session of the host a libpq client ends up on, else the first that negotiated TLS.
    let session = report
        .targets
        .iter()
        .filter(|t| t.encrypted)
        .max_by_key(|t| t.libpq_uses)
        .and_then(|t| t.tls.as_ref());
    if let Some(tls) = session {
        let version = tls.protocol.replace("TLSv", "TLS ");
        first.push((
            "probe_tls_version_info",
            "The TLS version negotiated (always 1; blackbox_exporter's name and values).",
            Sample::new(exposition::labels(&[("version", &version)]), 1),
        ));
    }
    // How long the exporter has seen another certificate served than the target expects.
    if let Some(seconds) = differing {
        first.push(gauge(
            "pgtls_served_certificate_differs_seconds",
            "How long this exporter has seen the server serve another certificate than the target's expect_cert, in seconds (0 while it serves it; counted from the first probe that saw the difference).",
            format!("{seconds:.3}"),
        ));
    }
    blackbox(first, out)?;
    families(report, now, false, out)
}

/// Gauges of one sample each.
fn blackbox(gauges: Vec<(&str, &str, Sample)>, out: &mut dyn Write) -> io::Result<()> {
    for (name, help, sample) in gauges {
        exposition::family(out, (name, Kind::Gauge, help), [sample])?;
    }
    Ok(())
}

/// The `pgtls_*` families, with or without the deprecated ones.
fn families(report: &Report, now: i64, deprecated: bool, out: &mut dyn Write) -> io::Result<()> {
    let target_labels = target_labels(report);
    let families = FAMILIES
        .iter()
        .filter(|f| (deprecated || !f.deprecated) && f.shown.applies(report));
    for f in families {
        let samples = report
            .targets
            .iter()
            .zip(&target_labels)
            .flat_map(|(t, base)| {
                (f.samples)(t, now).into_iter().map(move |(extra, value)| {
                    let mut labels = base.clone();
                    for (name, v) in extra {
                        labels.push_str(&format!(",{name}=\"{}\"", label(&v)));
                    }
                    Sample::new(labels, value)
                })
            });
        exposition::family(out, (f.name, Kind::Gauge, f.help), samples)?;
    }
    Ok(())
}

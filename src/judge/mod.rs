//! Judging: what `probe` gathered about a target turned into its report: the verdict as libpq
//! reaches it, findings with hints (one constructor per finding code), the one-line summary, and
//! the exit code, decided here and nowhere else.

mod audit;
mod certs;
pub(crate) mod clients;
mod expect;
mod expiry;
mod findings;
pub(crate) mod groups;
pub(crate) mod lint;
mod pooler;
mod provider;
mod refused;

use crate::certinfo;
use crate::clock::Clock;
use crate::config::{Options, Target};
use crate::exit::Code;
use crate::probe::{Answer, AttemptResult, CheckOptions, Facts};
use crate::profiles::Profiles;
use crate::report::{AnswerKind, Attempt, Outcome, ServerAnswer, TargetReport, Trust};
use crate::tls::TrustStore;

pub(crate) use expiry::{Expiry, expired, expires_soon, expiry};
pub(crate) use provider::rotation_root_missing;
pub(crate) use refused::{internal, invalid, local_files_refused};

/// The exit code of an attempt's outcome.
fn outcome_code(outcome: Outcome) -> Code {
    match outcome {
        Outcome::Accepted => Code::Ok,
        Outcome::Unreachable => Code::Unreachable,
        Outcome::TlsNotOffered => Code::TlsNotOffered,
        Outcome::HandshakeFailed => Code::HandshakeFailed,
        Outcome::Untrusted => Code::Untrusted,
        Outcome::NameMismatch => Code::NameMismatch,
        Outcome::Rejected => Code::Rejected,
        Outcome::ConfigError => Code::Usage,
    }
}

/// The attempt whose failure decides the target's verdict: a TLS failure wins over a later
/// plaintext one, since it is the cause.
fn decisive(attempts: &[AttemptResult]) -> &AttemptResult {
    let last = attempts
        .last()
        .expect("every target makes at least one attempt");
    if last.outcome == Some(Outcome::Accepted) {
        return last;
    }
    attempts
        .iter()
        .find(|a| {
            matches!(
                a.outcome,
                Some(
                    Outcome::TlsNotOffered
                        | Outcome::HandshakeFailed
                        | Outcome::Untrusted
                        | Outcome::NameMismatch
                )
            )
        })
        .unwrap_or(last)
}

/// What judging needs beside the facts: the time, the provider profiles, and what the operator
/// expects of the served chain.
#[derive(Clone)]
pub(crate) struct Context<'a> {
    /// Now.
    pub clock: Clock,
    /// The bundled and the user's profiles.
    pub profiles: &'a Profiles,
    /// `--expect-cert` and `--also-names` (a target's own in `serve`).
    pub expect: Option<std::sync::Arc<crate::expect::Expectations>>,
}

/// Judges what the probe gathered about one target: the report with its verdict, findings,
/// summary and exit code, as of `ctx.clock`.
pub(crate) fn judge(
    options: &Options,
    target: &Target,
    roots: Result<Option<&TrustStore>, &crate::tls::RootError>,
    facts: Facts,
    run: &CheckOptions,
    ctx: Context<'_>,
    asked: Option<&clients::Asked>,
) -> TargetReport {
    let Context {
        clock,
        profiles,
        expect,
    } = ctx;
    let Facts {
        attempts,
        audit,
        wire,
    } = facts;
    // A root file that could not be used ends libpq's TLS attempt before the chain is seen;
    // the unverified connection gathered beside it shows the chain.
    let store = roots.ok().flatten();
    let root_error = roots.err();
    let seen = root_error.and(wire.tls.as_ref());
    let mut report = describe(
        options,
        target,
        store,
        &attempts,
        seen,
        run,
        (clock, profiles),
    );
    report.trust.roots_unusable = root_error.map(ToString::to_string);
    report.provider = provider::recognise(&report, profiles);
    findings::add(options, &attempts, &mut report, profiles);
    if target.no_host {
        findings::no_host(&mut report);
    }
    report.findings.extend(groups::hello_retry(&report));
    pooler::judge(options, &mut report, audit.is_some(), profiles);
    if let Some(e) = root_error {
        findings::unusable_roots(options, &attempts, e, &mut report, profiles);
    }
    provider::rotations(options, &mut report, store, (&clock.date(), profiles));
    report.earliest_expiry = expiry::earliest(&report.certificates);
    let source = match &report.trust.source {
        Some(source) => source.to_string(),
        None => "the root file".to_string(),
    };
    let lifetimes = expiry::lifetimes(&report.certificates, report.trust.anchor.as_ref(), &source);
    report.findings.extend(lifetimes);
    provider::lookalike_anchor(&mut report, profiles);
    report.summary = findings::summary(&report);
    if let Some(asked) = asked {
        clients::apply(&mut report, asked, &target.host, &wire, clock.webpki());
    }
    report
        .findings
        .extend(groups::older_stacks(&report, audit.as_ref()));
    let mut audit = audit;
    match &mut audit {
        Some(found) => {
            let by_name = audit::sni_names(found, &report.host);
            report.findings.extend(by_name);
            let provider = provider::profile_of(&report, profiles);
            report.findings.extend(audit::findings(found, provider));
            let certificates = certs::certificate_findings(&report, run.warn_days);
            report.findings.extend(certificates);
        }
        None => {
            for c in &report.certificates {
                if expiry::expiry(c, run.warn_days) == Some(expiry::Expiry::Soon) {
                    let who = format!("certificate \"{}\"", c.subject);
                    let found = expiry::expires_soon(&who, c, "renew it before it expires");
                    report.findings.push(found);
                }
            }
        }
    }
    // --expect-cert and --also-names: checks the operator asked for, which fail as --crit-days does.
    let mut critical = expect
        .as_deref()
        .is_some_and(|expect| self::expect::judge(&mut report, expect, clock.unix()));
    // The OAuth issuer's certificate, by the same expiry rule.
    let issuer_cert = report
        .login
        .as_ref()
        .and_then(|l| l.oauth.as_ref())
        .and_then(|o| o.issuer.as_ref())
        .and_then(|i| i.certificate.clone());
    if let Some(c) = issuer_cert {
        let who = format!("the OAuth issuer's certificate \"{}\"", c.subject);
        match expiry::expiry(&c, run.warn_days) {
            Some(expiry::Expiry::Soon) => report.findings.push(expiry::expires_soon(
                &who,
                &c,
                "the issuer's operator renews it; libpq's OAuth flow fails once it has expired",
            )),
            Some(expiry::Expiry::Expired) => report.findings.push(expiry::expired(
                &who,
                &c,
                "the issuer's operator must renew it: libpq's OAuth flow fails until then",
            )),
            None => {}
        }
    }
    // --crit-days: the same rule with the failing threshold.
    if let Some(crit_days) = run.crit_days {
        for c in &report.certificates {
            if expiry::expiry(c, crit_days) == Some(expiry::Expiry::Soon) {
                let who = format!("certificate \"{}\"", c.subject);
                report
                    .findings
                    .push(expiry::expiry_threshold(&who, c, crit_days));
                critical = true;
            }
        }
    }
    provider::managed_levers(&mut report, profiles);
    report
        .findings
        .sort_by_key(|f| std::cmp::Reverse(f.severity));
    report.audit = audit;
    let failed_policy = critical
        || run
            .fail_on
            .is_some_and(|threshold| report.findings.iter().any(|f| f.severity >= threshold));
    if failed_policy && report.exit_code == Code::Ok {
        report.exit_code = Code::PolicyFailed;
    }
    report
}

/// The report's data from the attempts: libpq's verdict and its exit code, the session, the
/// chain described, the trust decision (diagnosed where it failed or was asked), the server's
/// answer and the login. No findings yet.
fn describe(
    options: &Options,
    target: &Target,
    store: Option<&TrustStore>,
    attempts: &[AttemptResult],
    seen: Option<&AttemptResult>,
    run: &CheckOptions,
    (clock, profiles): (Clock, &Profiles),
) -> TargetReport {
    let now = clock.unix();
    let decisive_outcome = decisive(attempts).outcome.unwrap_or(Outcome::Unreachable);
    let final_attempt = attempts.last().expect("at least one attempt");
    let libpq_connects = final_attempt.outcome == Some(Outcome::Accepted);
    let tls_attempt = attempts
        .iter()
        .find(|a| !a.seen.presented.is_empty() || a.session.is_some());
    let presented = tls_attempt
        .or(seen)
        .map(|a| a.seen.presented.clone())
        .unwrap_or_default();
    let mut trust = trust(tls_attempt, store, now);
    let unusable_roots = seen.is_some();
    if !presented.is_empty()
        && (run.diagnose_trust || (trust.checked && !trust.verified) || unusable_roots)
    {
        trust.diagnosis = crate::tls::diagnose::diagnose(&presented, clock.webpki(), profiles);
        trust.cross_signed = crate::tls::diagnose::cross_signed(&presented, store, profiles);
    }
    TargetReport {
        host: target.host.clone(),
        hostaddr: target.hostaddr.clone(),
        port: Some(target.port),
        kind: target.kind,
        sslmode: options.sslmode,
        driver_sslmode: None,
        sslnegotiation: options.sslnegotiation,
        exit_code: if libpq_connects {
            Code::Ok
        } else {
            outcome_code(decisive_outcome)
        },
        summary: String::new(),
        conninfo: 0,
        libpq_connects,
        libpq_uses: false,
        encrypted: libpq_connects && final_attempt.tls,
        tls: tls_attempt.and_then(|a| a.session.clone()),
        certificates: presented
            .iter()
            .filter_map(|c| certinfo::describe(c, now))
            .collect(),
        earliest_expiry: None,
        trust,
        host_name: tls_attempt.and_then(|a| a.name_check.clone()),
        server: final_attempt.answer.as_ref().map(server_answer),
        login: final_attempt.login.clone(),
        client_certificate: tls_attempt.and_then(|a| a.client_cert.clone()),
        provider: None,
        findings: Vec::new(),
        audit: None,
        client: crate::report::ClientChoice::default(),
        clients: Vec::new(),
        presented: presented.iter().map(|c| c.to_vec()).collect(),
        attempts: attempts.iter().map(attempt).collect(),
        expected_certificate: None,
        also_names: Vec::new(),
    }
}

fn attempt(a: &AttemptResult) -> Attempt {
    Attempt {
        tls: a.tls,
        address: a.address.clone(),
        outcome: a.outcome.unwrap_or(Outcome::Unreachable),
        error: a.error.clone(),
        timings: a.timings,
    }
}

fn trust(attempt: Option<&AttemptResult>, store: Option<&TrustStore>, now: i64) -> Trust {
    let chain = attempt.and_then(|a| a.seen.chain.clone());
    let checked = attempt.is_some_and(|a| a.chain_checked) || chain.is_some();
    match chain {
        Some(Ok(verified)) => Trust {
            checked,
            verified: true,
            source: Some(verified.source.clone()),
            anchor: certinfo::describe(&verified.anchor, now),
            path: verified
                .intermediates
                .iter()
                .filter_map(|c| certinfo::describe(c, now).map(|i| i.subject))
                .collect(),
            error: None,
            diagnosis: Vec::new(),
            cross_signed: Vec::new(),
            roots_unusable: None,
        },
        Some(Err(e)) => Trust {
            checked,
            verified: false,
            source: store.map(|s| s.source.clone()),
            anchor: None,
            path: Vec::new(),
            error: Some(e.clone()),
            diagnosis: Vec::new(),
            cross_signed: Vec::new(),
            roots_unusable: None,
        },
        None => Trust {
            checked,
            verified: false,
            source: store.map(|s| s.source.clone()),
            anchor: None,
            path: Vec::new(),
            error: None,
            diagnosis: Vec::new(),
            cross_signed: Vec::new(),
            roots_unusable: None,
        },
    }
}

fn server_answer(answer: &Answer) -> ServerAnswer {
    match answer {
        Answer::AuthenticationOk => ServerAnswer {
            answer: AnswerKind::AuthenticationOk,
            method: Some("trust".into()),
            message: None,
            sqlstate: None,
            pooler: None,
        },
        Answer::Authentication(method) => ServerAnswer {
            answer: AnswerKind::AuthenticationRequest,
            method: Some(method.clone()),
            message: None,
            sqlstate: None,
            pooler: None,
        },
        Answer::Error(err) => ServerAnswer {
            answer: AnswerKind::Error,
            method: None,
            message: Some(err.to_string()),
            sqlstate: Some(err.code.clone()),
            pooler: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_its_documented_code() {
        let table = [
            (Outcome::Accepted, 0),
            (Outcome::ConfigError, 2),
            (Outcome::Unreachable, 3),
            (Outcome::TlsNotOffered, 4),
            (Outcome::HandshakeFailed, 5),
            (Outcome::Untrusted, 6),
            (Outcome::NameMismatch, 7),
            (Outcome::Rejected, 8),
        ];
        for (outcome, code) in table {
            assert_eq!(outcome_code(outcome) as u8, code, "{outcome:?}");
        }
    }
}

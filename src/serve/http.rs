//! The exporter's HTTP endpoints: `/probe`, `/metrics`, `/-/healthy`, `/-/ready`, `/-/reload`
//! and an index page, behind basic authentication when the configuration asks for it.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use super::Shared;
use super::probe::{self, Refusal};
use super::stats::Last;
use super::web;
use crate::render::markup as html;

/// The Prometheus text format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The routes, with their shared state.
pub fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new()
        .route("/", get(index))
        .route("/probe", get(probe_handler))
        .route("/metrics", get(metrics))
        .route("/-/healthy", get(|| async { "Healthy.\n" }))
        .route("/-/ready", get(|| async { "Ready.\n" }))
        .route("/-/reload", post(reload).put(reload))
        .layer(middleware::from_fn_with_state(shared.clone(), authenticate))
        .with_state(shared)
}

async fn authenticate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let credentials = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    match shared.auth.allows(credentials).await {
        web::Verdict::Allowed => next.run(request).await,
        web::Verdict::Refused => {
            shared.stats.refused("unauthorized");
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"pgtls\"")],
                "Unauthorized\n",
            )
                .into_response()
        }
        web::Verdict::Busy => {
            shared.stats.refused("busy");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                "Too many credentials to check; try again\n",
            )
                .into_response()
        }
    }
}

async fn probe_handler(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let config = shared.config();
    let request = probe::parse_query(query.as_deref()).and_then(|(target, module)| {
        probe::resolve(&config, &shared.env, &target, module.as_deref())
    });
    let request = match request {
        Ok(request) => request,
        Err(refusal) => return refused(&shared, refusal),
    };
    let scrape_timeout = headers
        .get("X-Prometheus-Scrape-Timeout-Seconds")
        .and_then(|h| h.to_str().ok());
    let limit = probe::deadline(scrape_timeout, &request.module);
    // Waiting for a free slot counts against the same deadline.
    let permit = tokio::time::timeout(limit, shared.permits.acquire()).await;
    let outcome = match permit {
        Ok(Ok(_permit)) => {
            let _flight = shared.stats.start();
            let left = limit.saturating_sub(started.elapsed());
            probe::run(&request, (&shared.env, shared.profiles), left).await
        }
        _ => probe::Outcome {
            report: None,
            code: crate::exit::Code::Unreachable,
            duration: started.elapsed(),
            summary: format!(
                "no free probe slot within the deadline of {:.1} s ({} probes at most at once)",
                limit.as_secs_f64(),
                config.max_probes
            ),
        },
    };
    let differing = shared.differing(&request.target, probe::served_expected(&outcome));
    let body = probe::render(&outcome, differing);
    record(&shared, &config, &request, &outcome);
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], body).into_response()
}

/// The answer to a probe that cannot run, counted and logged.
fn refused(shared: &Shared, refusal: Refusal) -> Response {
    let (status, reason, message) = match refusal {
        Refusal::UnknownTarget(t) => (
            StatusCode::NOT_FOUND,
            "unknown_target",
            format!("unknown target {t}"),
        ),
        Refusal::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m),
    };
    shared.stats.refused(reason);
    super::log(&[
        ("level", "warn"),
        ("msg", "probe refused"),
        ("error", &message),
    ]);
    (status, format!("{message}\n")).into_response()
}

/// A probe's line in the log and its place in the exporter's own counters.
fn record(
    shared: &Shared,
    config: &super::config::Config,
    request: &probe::Request,
    outcome: &probe::Outcome,
) {
    let code = outcome.code as i32;
    let configured = config.targets.contains_key(&request.target);
    let shown = probe::shown(&request.target);
    super::log(&[
        ("level", "info"),
        ("msg", "probe"),
        ("target", &shown),
        ("module", &request.module_name),
        ("exit_code", &code.to_string()),
        (
            "duration_seconds",
            &format!("{:.3}", outcome.duration.as_secs_f64()),
        ),
        ("summary", &outcome.summary),
    ]);
    shared.stats.finished(
        configured.then_some(request.target.as_str()),
        Last {
            module: request.module_name.clone(),
            code,
            at: crate::clock::Clock::system().unix(),
            summary: outcome.summary.clone(),
        },
        outcome.duration.as_secs_f64(),
    );
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(header::CONTENT_TYPE, TEXT_FORMAT)],
        shared.stats.render(env!("CARGO_PKG_VERSION")),
    )
        .into_response()
}

async fn reload(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(why) = reload_allowed(shared.config().web.enable_reload, &headers) {
        shared.stats.refused("forbidden");
        return (StatusCode::FORBIDDEN, format!("{why}\n")).into_response();
    }
    // One reload at a time, read and checked away from the workers that answer scrapes.
    let Ok(_reloading) = shared.reloading.try_lock() else {
        return (StatusCode::CONFLICT, "a reload is under way\n").into_response();
    };
    let worker = shared.clone();
    match tokio::task::spawn_blocking(move || worker.reload()).await {
        Ok(Ok(targets)) => {
            let targets = crate::render::counted(targets, "target");
            (StatusCode::OK, format!("reloaded: {targets}\n")).into_response()
        }
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload failed, the previous configuration stays in use: {e}\n"),
        )
            .into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "reload failed\n").into_response(),
    }
}

/// Whether a request may reload: reloading over HTTP is on, and the request is not a browser's
/// from another origin (an `Origin` or `Sec-Fetch-Site` header) nor addressed to a name that is
/// not this machine's (DNS rebinding): its `Host` is an address or `localhost`.
fn reload_allowed(enabled: bool, headers: &HeaderMap) -> Result<(), &'static str> {
    if !enabled {
        return Err(
            "reloading over HTTP is off: send SIGHUP, or start with --enable-reload (enable_reload = true under [web])",
        );
    }
    let from_browser = headers.contains_key(header::ORIGIN)
        || headers
            .get("sec-fetch-site")
            .is_some_and(|site| site.as_bytes() != b"none");
    if from_browser {
        return Err("a reload cannot come from a web page");
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !local_host(host) {
        return Err("a reload must name the exporter by address or as localhost in Host");
    }
    Ok(())
}

/// Whether a `Host` header names an address (`127.0.0.1:9819`, `[::1]:9819`) or `localhost`.
fn local_host(host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host
            }
        }),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok()
}

async fn index(State(shared): State<Arc<Shared>>) -> Html<String> {
    let config = shared.config();
    let last = shared.stats.last();
    let mut rows = String::new();
    for (name, spec) in &config.targets {
        let (result, at, summary) = match last.get(name) {
            Some(l) => (
                format!("exit {}", l.code),
                l.at.to_string(),
                format!("{} ({})", l.summary, l.module),
            ),
            None => ("not probed yet".into(), String::new(), String::new()),
        };
        rows.push_str(&format!(
            "<tr><td><a href=\"probe?target={n}\">{n}</a></td><td>{m}</td><td>{r}</td><td>{a}</td><td>{s}</td></tr>\n",
            n = html(name),
            m = html(&spec.module),
            r = html(&result),
            a = html(&at),
            s = html(&summary),
        ));
    }
    Html(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>pgtls exporter</title></head><body>\n\
         <h1>pgtls exporter</h1>\n<p>pgtls {v}: <a href=\"metrics\">metrics</a>; probe a target with <code>/probe?target=NAME[&amp;module=MODULE]</code>.</p>\n\
         <table border=\"1\" cellpadding=\"4\">\n<tr><th>target</th><th>module</th><th>last result</th><th>at (Unix time)</th><th>summary</th></tr>\n{rows}</table>\n</body></html>\n",
        v = env!("CARGO_PKG_VERSION"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_needs_to_be_on_and_to_come_from_no_web_page_by_a_local_name() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (k, v) in pairs {
                map.insert(*k, v.parse().unwrap());
            }
            map
        };
        // (on, headers, allowed)
        type Case<'a> = (bool, &'a [(&'a str, &'a str)], bool);
        let cases: [Case; 10] = [
            (false, &[("host", "127.0.0.1:9819")], false),
            (true, &[("host", "127.0.0.1:9819")], true),
            (true, &[("host", "localhost:9819")], true),
            (true, &[("host", "[::1]:9819")], true),
            (true, &[("host", "::1")], true),
            (true, &[("host", "attacker.example:9819")], false),
            (true, &[], false),
            (
                true,
                &[
                    ("host", "127.0.0.1:9819"),
                    ("origin", "http://attacker.example"),
                ],
                false,
            ),
            (
                true,
                &[("host", "127.0.0.1:9819"), ("sec-fetch-site", "cross-site")],
                false,
            ),
            (
                true,
                &[("host", "127.0.0.1:9819"), ("sec-fetch-site", "none")],
                true,
            ),
        ];
        for (on, pairs, allowed) in cases {
            assert_eq!(
                reload_allowed(on, &headers(pairs)).is_ok(),
                allowed,
                "{on} {pairs:?}"
            );
        }
    }
}

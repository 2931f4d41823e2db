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
    if shared.auth.allows(credentials) {
        return next.run(request).await;
    }
    shared.stats.refused("unauthorized");
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"pgtls\"")],
        "Unauthorized\n",
    )
        .into_response()
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
        Err(refusal) => {
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
            return (status, format!("{message}\n")).into_response();
        }
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
            probe::run(&request, &shared.env, left).await
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
    let body = probe::render(&outcome);
    let code = outcome.code as i32;
    let configured = config.targets.contains_key(&request.target);
    let shown = if configured {
        request.target.clone()
    } else {
        crate::sanitize::clean(&request.target).into_owned()
    };
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
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], body).into_response()
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(header::CONTENT_TYPE, TEXT_FORMAT)],
        shared.stats.render(env!("CARGO_PKG_VERSION")),
    )
        .into_response()
}

async fn reload(State(shared): State<Arc<Shared>>) -> Response {
    match shared.reload() {
        Ok(targets) => (StatusCode::OK, format!("reloaded: {targets} targets\n")).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload failed, the previous configuration stays in use: {e}\n"),
        )
            .into_response(),
    }
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

//! The exporter's own state for `/metrics` and the index page: probes by exit code, their
//! durations, probes in flight and refused, reloads, and each target's last result.

use crate::render::exposition::{self, Kind, Sample};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

/// Upper bounds of the probe-duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// One target's last probe, for the index page.
#[derive(Debug, Clone)]
pub struct Last {
    /// The module it ran with.
    pub module: String,
    /// Its exit code.
    pub code: i32,
    /// When it ran (Unix time).
    pub at: i64,
    /// Its one-line summary.
    pub summary: String,
}

#[derive(Debug, Default)]
struct Counts {
    by_code: BTreeMap<i32, u64>,
    refused: BTreeMap<&'static str, u64>,
    buckets: [u64; BUCKETS.len()],
    duration_sum: f64,
    count: u64,
    last: BTreeMap<String, Last>,
}

/// Everything `/metrics` reports.
#[derive(Debug, Default)]
pub struct Stats {
    counts: Mutex<Counts>,
    in_flight: AtomicI64,
    reload_ok: AtomicI64,
    reload_at: AtomicI64,
    targets: AtomicI64,
}

/// Counts a probe in flight while it lives.
pub struct InFlight<'a>(&'a Stats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Stats {
    /// Stats for a configuration of `targets` targets loaded now.
    pub fn new(targets: usize, now: i64) -> Self {
        let stats = Stats::default();
        stats.loaded(true, targets, now);
        stats
    }

    /// A probe starts: counted until the guard drops.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// A probe finished; a configured target's result is kept for the index page (an ad hoc
    /// target's, `None`, is not).
    pub fn finished(&self, target: Option<&str>, last: Last, seconds: f64) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.by_code.entry(last.code).or_default() += 1;
        for (bucket, bound) in counts.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        counts.duration_sum += seconds;
        counts.count += 1;
        if let Some(target) = target {
            counts.last.insert(target.to_string(), last);
        }
    }

    /// A request was refused before any probe, for `reason`.
    pub fn refused(&self, reason: &'static str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.refused.entry(reason).or_default() += 1;
    }

    /// A configuration was loaded (or refused, keeping the old one).
    pub fn loaded(&self, ok: bool, targets: usize, now: i64) {
        self.reload_ok.store(i64::from(ok), Ordering::Relaxed);
        if ok {
            self.reload_at.store(now, Ordering::Relaxed);
            self.targets.store(targets as i64, Ordering::Relaxed);
        }
    }

    /// The last result of each target.
    pub fn last(&self) -> BTreeMap<String, Last> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.last.clone()
    }

    /// `/metrics` in the Prometheus text format.
    pub fn render(&self, version: &str) -> String {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let version = vec![Sample::new(exposition::labels(&[("version", version)]), 1)];
        let families = [
            (BUILD_INFO, version),
            (PROBES, counts.probes()),
            (REFUSED, counts.refusals()),
            (DURATION, counts.durations()),
        ];
        drop(counts);
        let gauges = [
            (IN_FLIGHT, &self.in_flight),
            (TARGETS, &self.targets),
            (RELOAD_OK, &self.reload_ok),
            (RELOAD_AT, &self.reload_at),
        ]
        .map(|(what, value)| {
            let value = value.load(Ordering::Relaxed);
            (what, vec![Sample::new(String::new(), value)])
        });
        let mut out = Vec::new();
        for (what, samples) in families.into_iter().chain(gauges) {
            let _ = exposition::family(&mut out, what, samples);
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// A family's name, type and help.
type What = (&'static str, Kind, &'static str);

const BUILD_INFO: What = (
    "pgtls_exporter_build_info",
    Kind::Gauge,
    "The exporter's version (always 1).",
);
const PROBES: What = (
    "pgtls_exporter_probes_total",
    Kind::Counter,
    "Probes finished, by the target's exit code.",
);
const REFUSED: What = (
    "pgtls_exporter_requests_refused_total",
    Kind::Counter,
    "Requests refused before any connection: unknown_target, bad_request, unauthorized, busy (too many credentials to check), forbidden (a reload not allowed).",
);
const DURATION: What = (
    "pgtls_exporter_probe_duration_seconds",
    Kind::Histogram,
    "How long probes took.",
);
const IN_FLIGHT: What = (
    "pgtls_exporter_probes_in_flight",
    Kind::Gauge,
    "Probes running now.",
);
const TARGETS: What = (
    "pgtls_exporter_targets",
    Kind::Gauge,
    "Targets in the configuration in use.",
);
const RELOAD_OK: What = (
    "pgtls_exporter_config_last_reload_successful",
    Kind::Gauge,
    "Whether the last configuration load succeeded (0: the previous one is still in use).",
);
const RELOAD_AT: What = (
    "pgtls_exporter_config_last_reload_success_timestamp_seconds",
    Kind::Gauge,
    "When the configuration in use was loaded, as a Unix timestamp.",
);

impl Counts {
    /// `probes_total`, by exit code.
    fn probes(&self) -> Vec<Sample> {
        self.by_code
            .iter()
            .map(|(code, n)| Sample::new(format!("exit_code=\"{code}\""), n))
            .collect()
    }

    /// `requests_refused_total`, every reason (0 where none was refused for it).
    fn refusals(&self) -> Vec<Sample> {
        REFUSALS
            .iter()
            .map(|reason| {
                let n = self.refused.get(reason).copied().unwrap_or(0);
                Sample::new(format!("reason=\"{reason}\""), n)
            })
            .collect()
    }

    /// The duration histogram: its buckets, sum and count.
    fn durations(&self) -> Vec<Sample> {
        let sample = |suffix, labels: String, value: String| Sample {
            suffix,
            labels,
            value,
        };
        let bucket = |le: String, n: u64| sample("_bucket", format!("le=\"{le}\""), n.to_string());
        let mut out: Vec<Sample> = BUCKETS
            .iter()
            .zip(self.buckets)
            .map(|(bound, n)| bucket(bound.to_string(), n))
            .collect();
        out.push(bucket("+Inf".into(), self.count));
        out.push(sample(
            "_sum",
            String::new(),
            format!("{:.6}", self.duration_sum),
        ));
        out.push(sample("_count", String::new(), self.count.to_string()));
        out
    }
}

/// Why a request may be refused, as `requests_refused_total` counts it.
const REFUSALS: [&str; 5] = [
    "unknown_target",
    "bad_request",
    "unauthorized",
    "busy",
    "forbidden",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_counted_by_exit_code_and_duration() {
        let stats = Stats::new(2, 1_800_000_000);
        for (code, seconds) in [(0, 0.02), (0, 0.3), (6, 4.0)] {
            let last = Last {
                module: "default".into(),
                code,
                at: 1,
                summary: String::new(),
            };
            stats.finished(Some("orders"), last, seconds);
        }
        stats.refused("unknown_target");
        let text = stats.render("0.1.0");
        for line in [
            "pgtls_exporter_probes_total{exit_code=\"0\"} 2",
            "pgtls_exporter_probes_total{exit_code=\"6\"} 1",
            "pgtls_exporter_requests_refused_total{reason=\"unknown_target\"} 1",
            "pgtls_exporter_probe_duration_seconds_bucket{le=\"0.025\"} 1",
            "pgtls_exporter_probe_duration_seconds_bucket{le=\"0.5\"} 2",
            "pgtls_exporter_probe_duration_seconds_bucket{le=\"+Inf\"} 3",
            "pgtls_exporter_probe_duration_seconds_count 3",
            "pgtls_exporter_targets 2",
            "pgtls_exporter_config_last_reload_successful 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert_eq!(stats.last()["orders"].code, 6);
    }
}

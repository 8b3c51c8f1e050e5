//! Prometheus counters in text exposition format, without a metrics framework: a handful of
//! labelled counters is all the service needs.
use std::{collections::BTreeMap, fmt::Write, sync::Mutex};

/// Counter name → help text. Only these names are accepted.
const COUNTERS: &[(&str, &str)] = &[
    (
        "ilive_http_requests_total",
        "HTTP requests by route, method and status.",
    ),
    (
        "ilive_sessions_created_total",
        "Sessions created, by kind and mode.",
    ),
    ("ilive_verdicts_total", "Completed sessions by verdict."),
    (
        "ilive_webhook_attempts_total",
        "Webhook delivery attempts by outcome.",
    ),
    (
        "ilive_frames_total",
        "Camera frames received over WebSockets, by outcome.",
    ),
    (
        "ilive_sessions_erased_total",
        "Sessions erased on request (DELETE /api/v1/session/{id}).",
    ),
    (
        "ilive_capacity_refusals_total",
        "Captures refused because every capture slot was taken, by where (create, upgrade).",
    ),
];

/// A gauge to render: name, help text, and (label set, value) samples.
pub type Gauge<'a> = (&'a str, &'a str, Vec<(String, f64)>);

#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
}

impl Metrics {
    /// Adds one to `name{labels}`.
    pub fn inc(&self, name: &'static str, labels: &[(&str, &str)]) {
        let labels = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect::<Vec<_>>()
            .join(",");
        let mut map = self
            .counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *map.entry((name, labels)).or_default() += 1;
    }

    /// Renders every counter, plus the given gauges, as Prometheus text.
    pub fn render(&self, gauges: &[Gauge]) -> String {
        let map = self
            .counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out = String::new();
        for (name, help) in COUNTERS {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for ((n, labels), value) in map.iter() {
                if n == name {
                    let _ = writeln!(out, "{name}{{{labels}}} {value}");
                }
            }
        }
        for (name, help, samples) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (labels, value) in samples {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {value}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {value}");
                }
            }
        }
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_labels() {
        let m = Metrics::default();
        m.inc("ilive_verdicts_total", &[("verdict", "pass")]);
        m.inc("ilive_verdicts_total", &[("verdict", "pass")]);
        let text = m.render(&[]);
        assert!(text.contains("ilive_verdicts_total{verdict=\"pass\"} 2"));
        assert!(text.contains("# TYPE ilive_http_requests_total counter"));
    }
}

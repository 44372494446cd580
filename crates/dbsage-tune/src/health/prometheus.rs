//! The Prometheus text exposition format (version 0.0.4) for node_exporter's textfile
//! collector: every gauge with its `# HELP` and `# TYPE` lines once, a `database` label on every
//! sample, and `dbsage_health_status{check}` (0 ok, 1 warning, 2 critical, 3 unknown).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{HealthReport, Metric};

pub const PREFIX: &str = "dbsage_health_";

/// The whole report as exposition text (ends with a newline).
pub fn render(report: &HealthReport) -> String {
    // Samples grouped by metric name, in first-seen order, so each family is contiguous.
    let mut order: Vec<&'static str> = Vec::new();
    let mut families: BTreeMap<&'static str, (&'static str, Vec<&Metric>)> = BTreeMap::new();
    let statuses: Vec<Metric> = report
        .checks
        .iter()
        .map(|c| {
            Metric::new(
                "status",
                "Check status: 0 ok, 1 warning, 2 critical, 3 unknown.",
                f64::from(c.status.exit_code()),
            )
            .label("check", c.check)
        })
        .collect();
    let overall = Metric::new(
        "overall_status",
        "The most urgent check status (the exit code of dbsage health).",
        f64::from(report.exit_code),
    );
    let all = statuses
        .iter()
        .chain(std::iter::once(&overall))
        .chain(report.checks.iter().flat_map(|c| c.metrics.iter()));
    for metric in all {
        let family = families.entry(metric.name).or_insert_with(|| {
            order.push(metric.name);
            (metric.help, Vec::new())
        });
        family.1.push(metric);
    }
    let mut out = String::new();
    for name in order {
        let (help, samples) = &families[name];
        let _ = writeln!(out, "# HELP {PREFIX}{name} {}", escape_help(help));
        let _ = writeln!(out, "# TYPE {PREFIX}{name} gauge");
        for sample in samples {
            let mut labels = vec![("database", report.database.as_str())];
            labels.extend(sample.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = writeln!(
                out,
                "{PREFIX}{name}{{{}}} {}",
                labels.join(","),
                value(sample.value)
            );
        }
    }
    out
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

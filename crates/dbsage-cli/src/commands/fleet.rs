//! Fleet environments in the CLI: the shared flags, live progress, the per-target table and
//! the JSON report of every fleet command (`{"targets": [...], "summary": {...}}`). What each
//! command does on one database is its closure (`fleet_migrate`, `fleet_reads`).

use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde_json::{json, Map, Value};

use dbsage_core::env::Target;
use dbsage_core::fan_out::{self, FanOutOptions, FanOutReport, Outcome, TargetRun};
use dbsage_core::fleet::Fleet;
use dbsage_core::{Error, Result};

use crate::output::{error_json, Out, Style};

#[derive(Args, Debug, Clone, Default)]
pub struct FleetArgs {
    /// Fleet environments: databases worked on at once [default: 4].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: Option<u16>,
    /// Fleet environments: start no other database after one fails.
    #[arg(long)]
    pub fail_fast: bool,
    /// Fleet environments: run the first N databases alone first; stop if one of them fails.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub canary: Option<u16>,
}

impl FleetArgs {
    pub fn options(&self) -> FanOutOptions {
        FanOutOptions {
            parallel: self.parallel.map_or(4, usize::from),
            fail_fast: self.fail_fast,
            canary: self.canary.map_or(0, usize::from),
        }
    }

    /// The flags only mean something on a fleet: on one database they are a usage error.
    pub fn refuse_on_single(&self, environment: &str) -> Result<()> {
        if self.parallel.is_some() || self.fail_fast || self.canary.is_some() {
            return Err(Error::Config {
                message: format!(
                    "--parallel, --fail-fast and --canary apply to fleet environments; `{environment}` is one database"
                ),
                hint: "name a fleet environment (urls, urls_file or urls_query in dbsage.toml), or drop the flag".into(),
            });
        }
        Ok(())
    }
}

/// What a fleet command found on one database.
#[derive(Debug, Default)]
pub struct Row {
    /// `ok`, or the command's word for what is wrong (`inconsistent`, `critical`, …).
    pub result: String,
    /// Counts as a failed target (exit 1).
    pub failed: bool,
    /// The newest applied migration, when the command read it.
    pub version: Option<String>,
    /// Time spent waiting for the migration lock, when the command took it.
    pub lock_wait_ms: Option<u64>,
    /// The human table's last column.
    pub detail: String,
    /// Extra JSON fields of the target.
    pub json: Map<String, Value>,
}

impl Row {
    pub fn ok(detail: String) -> Row {
        Row {
            result: "ok".into(),
            detail,
            ..Default::default()
        }
    }
}

/// "→ tenants (fleet: 20 databases from urls_file tenants.txt)" on stderr.
pub fn announce(out: &Out, fleet: &Fleet) {
    if !out.json_mode() {
        err_line!(
            "→ {} (fleet: {} from {})",
            out.paint_err(&fleet.name, Style::Bold),
            dbsage_core::wording::plural(fleet.targets.len(), "database"),
            fleet.source
        );
    }
}

/// Runs `work` on every database of the fleet with live progress on stderr.
pub fn run(
    out: &Out,
    fleet: &Fleet,
    args: &FleetArgs,
    work: &(dyn Fn(&Target) -> Result<Row> + Sync),
) -> FanOutReport<Row> {
    let options = args.options();
    let on_done = |run: &TargetRun<Row>| {
        let ms = run.duration.as_millis();
        match &run.outcome {
            Outcome::Done(row) if !row.failed => out.status(
                "Done",
                &format!("{} in {ms} ms: {}", run.target, row.detail),
            ),
            Outcome::Done(row) => out.status(
                "Failed",
                &format!("{} in {ms} ms: {}: {}", run.target, row.result, row.detail),
            ),
            Outcome::Failed(e) => out.status(
                "Failed",
                &format!("{} in {ms} ms: {}", run.target, headline(e)),
            ),
            Outcome::Skipped(_) => {}
        }
    };
    fan_out::run(&fleet.targets, &options, work, &on_done)
}

fn failed(run: &TargetRun<Row>) -> bool {
    match &run.outcome {
        Outcome::Done(row) => row.failed,
        Outcome::Failed(_) => true,
        Outcome::Skipped(_) => false,
    }
}

/// Renders the report (table + errors, or JSON) and returns the exit code: 1 when any target
/// failed (or was skipped because one did), else 0.
pub fn render(out: &Out, fleet: &Fleet, command: &str, report: &FanOutReport<Row>) -> i32 {
    let failed_count = report.runs.iter().filter(|r| failed(r)).count();
    let skipped = report.skipped();
    let ok = report.runs.len() - failed_count - skipped;
    if out.json_mode() {
        let targets: Vec<Value> = report.runs.iter().map(target_json).collect();
        out.json(&json!({
            "environment": fleet.name,
            "command": command,
            "source": fleet.source,
            "targets": targets,
            "summary": {
                "targets": report.runs.len(),
                "ok": ok,
                "failed": failed_count,
                "skipped": skipped,
                "parallel": report.parallel,
                "duration_ms": report.duration.as_millis() as u64,
            },
        }));
    } else {
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
            "target",
            "result",
            "version",
            "duration",
            "lock wait",
            "detail",
        ]);
        for run in &report.runs {
            let (result, version, lock_wait, detail) = match &run.outcome {
                Outcome::Done(row) => (
                    out.paint(
                        &row.result,
                        if row.failed { Style::Bad } else { Style::Good },
                    ),
                    row.version.clone().unwrap_or_default(),
                    row.lock_wait_ms
                        .map(|ms| format!("{ms} ms"))
                        .unwrap_or_default(),
                    row.detail.clone(),
                ),
                Outcome::Failed(e) => (
                    out.paint("failed", Style::Bad),
                    String::new(),
                    String::new(),
                    headline(e),
                ),
                Outcome::Skipped(reason) => (
                    out.paint("skipped", Style::Dim),
                    String::new(),
                    String::new(),
                    reason.clone(),
                ),
            };
            let target = if run.canary {
                format!("{} (canary)", run.target)
            } else {
                run.target.clone()
            };
            let duration = match run.outcome {
                Outcome::Skipped(_) => String::new(),
                _ => format!("{} ms", run.duration.as_millis()),
            };
            table.add_row(vec![target, result, version, duration, lock_wait, detail]);
        }
        out.line(&table.to_string());
        for run in &report.runs {
            if let Outcome::Failed(e) = &run.outcome {
                err_line!("{}:", out.paint_err(&run.target, Style::Bold));
                out.error(e);
            }
        }
        out.line(&format!(
            "{}: {} ok, {} failed, {} skipped of {} in {} ms (--parallel {})",
            fleet.name,
            ok,
            failed_count,
            skipped,
            dbsage_core::wording::plural(report.runs.len(), "database"),
            report.duration.as_millis(),
            report.parallel
        ));
        if failed_count > 0 || skipped > 0 {
            out.line(&format!(
                "re-run `dbsage {command} --env {}` once fixed: each database does only what it still lacks",
                fleet.name
            ));
        }
    }
    if failed_count > 0 || skipped > 0 {
        1
    } else {
        0
    }
}

fn target_json(run: &TargetRun<Row>) -> Value {
    let mut value = json!({
        "target": run.target,
        "canary": run.canary,
        "duration_ms": run.duration.as_millis() as u64,
    });
    match &run.outcome {
        Outcome::Done(row) => {
            value["result"] = json!(if row.failed && row.result == "ok" {
                "failed"
            } else {
                row.result.as_str()
            });
            value["failed"] = json!(row.failed);
            value["version"] = json!(row.version);
            value["lock_wait_ms"] = json!(row.lock_wait_ms);
            for (k, v) in &row.json {
                value[k.as_str()] = v.clone();
            }
        }
        Outcome::Failed(e) => {
            value["result"] = json!("failed");
            value["failed"] = json!(true);
            value["error"] = error_json(e);
        }
        Outcome::Skipped(reason) => {
            value["result"] = json!("skipped");
            value["failed"] = json!(false);
            value["reason"] = json!(reason);
        }
    }
    value
}

/// The error's first line, a migration's file relative to the current directory, for a cell.
fn headline(e: &Error) -> String {
    let text = match e {
        Error::Migration(m) => format!(
            "{}:{}:{}: {}",
            super::display_path(&m.file),
            m.line,
            m.column,
            m.message
        ),
        other => other.to_string(),
    };
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 100 {
        format!("{}…", line.chars().take(99).collect::<String>())
    } else {
        line.to_string()
    }
}

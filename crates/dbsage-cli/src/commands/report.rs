//! `dbsage report --html FILE`: gathers what the other commands show (status and history,
//! lint, audit, coverage, tune, health, backups) through the same library calls, and writes
//! `dbsage_report`'s self-contained page. A part that cannot be read becomes a note on the page.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use dbsage_catalog::finding::Finding;
use dbsage_core::env::Target;
use dbsage_core::{history, migrate};
use dbsage_report::model as page;

use crate::output::Out;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Environment to report on (default: the project's default environment). Read only.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Where to write the page (one file: inline CSS and SVG, nothing loaded from the network).
    #[arg(long, value_name = "FILE")]
    pub html: PathBuf,
}

pub fn run(args: ReportArgs, out: &Out) -> dbsage_core::Result<i32> {
    let (project, files) = super::project_and_files()?;
    let target = Target::resolve(&project, args.env.as_deref())?;
    super::announce(out, &target);
    let (mut client, protection) = target.connect_protected(&project, "dbsage report")?;
    let mut report = page::Report {
        project: project
            .root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        environment: target.name.clone(),
        generated_at: now_utc(),
        ..Default::default()
    };

    let entries = migrate::status(&mut client, &project, &files)?;
    let applied = history::read(&mut client, &project.history_table())?;
    report.migrations = entries
        .iter()
        .map(|e| page::TimelineEntry {
            version: e.version.clone(),
            name: e.name.clone(),
            state: serde_json::to_value(e.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            applied_at: e.applied_at.clone().filter(|a| !a.is_empty()),
            duration_ms: applied
                .iter()
                .find(|a| a.version == e.version)
                .map(|a| a.duration_ms),
        })
        .collect();

    report
        .sections
        .push(match dbsage_core::lint::lint_migrations(&project, &files) {
            Ok(findings) => section(
                "lint",
                "Lint findings (migration files)",
                findings.iter().map(lint_row).collect(),
                None,
            ),
            Err(e) => section(
                "lint",
                "Lint findings (migration files)",
                vec![],
                Some(e.to_string()),
            ),
        });
    report.sections.push(audit_section(&project, &mut client));
    report.coverage = match protection {
        Some(p) => {
            report.notes.push(format!(
                "RLS coverage not read: it plans test cases as other roles, and `{}` is protected ({}); run `dbsage secure coverage --env {} --i-know-this-is-production` to see it",
                target.name,
                p.describe(),
                target.name
            ));
            None
        }
        None => match coverage(&project, &mut client) {
            Ok(matrix) => Some(matrix),
            Err(reason) => {
                report
                    .notes
                    .push(format!("RLS coverage not read: {reason}"));
                None
            }
        },
    };
    report
        .sections
        .push(match dbsage_tune::tune(&mut client, &Default::default()) {
            Ok(tune) => section(
                "tune",
                "Performance findings (tune)",
                tune.findings.iter().map(catalog_row).collect(),
                None,
            ),
            Err(e) => section(
                "tune",
                "Performance findings (tune)",
                vec![],
                Some(e.to_string()),
            ),
        });
    report.sections.push(health_section(&project, &mut client));
    let (charts, chart_notes) = dbsage_report::charts::read(&mut client);
    report.charts = charts;
    report.notes.extend(chart_notes);
    match dbsage_backup::store::list(&project, Some(&target.name)) {
        Ok(list) => report.backups = list.iter().map(backup_row).collect(),
        Err(e) => report.notes.push(format!("backups not read: {e}")),
    }
    match dbsage_backup::drill::read_log(&project) {
        Ok(log) => {
            report.drills = log
                .drills
                .iter()
                .rev()
                .filter(|d| d.environment == target.name)
                .map(drill_row)
                .collect()
        }
        Err(e) => report.notes.push(format!("restore drills not read: {e}")),
    }

    dbsage_core::project_file::write(&args.html, &dbsage_report::html::render(&report))?;
    let finding_count: usize = report.sections.iter().map(|s| s.findings.len()).sum();
    if out.json_mode() {
        out.json(&json!({ "html": args.html, "environment": target.name, "migrations": report.migrations.len(), "findings": finding_count, "notes": report.notes }));
    } else {
        out.status(
            "Wrote",
            &format!(
                "{} ({} migrations, {finding_count} findings)",
                super::display_path(&args.html),
                report.migrations.len()
            ),
        );
        for note in &report.notes {
            err_line!("note: {note}");
        }
    }
    Ok(0)
}

fn section(
    id: &str,
    title: &str,
    findings: Vec<page::FindingRow>,
    note: Option<String>,
) -> page::Section {
    page::Section {
        id: id.into(),
        title: title.into(),
        findings,
        note,
    }
}

fn catalog_row(f: &Finding) -> page::FindingRow {
    page::FindingRow {
        check: f.check.clone(),
        severity: f.severity.as_str().into(),
        object: f.object.clone(),
        message: f.message.clone(),
        fix: f.fix_sql.clone(),
    }
}

fn lint_row(f: &dbsage_lint::Finding) -> page::FindingRow {
    page::FindingRow {
        check: f.rule.clone(),
        severity: serde_json::to_value(f.severity)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        object: format!("{}:{}:{}", super::display_path(&f.file), f.line, f.column),
        message: f.message.clone(),
        fix: Some(f.fix.clone()).filter(|x| !x.is_empty()),
    }
}

fn audit_section(
    project: &dbsage_core::config::Project,
    client: &mut postgres::Client,
) -> page::Section {
    const TITLE: &str = "Row-level security audit";
    let exposure = match dbsage_core::exposure::exposed_schemas(project) {
        Ok(e) if !e.is_plain() => e,
        Ok(_) => {
            return section("audit", TITLE, vec![], Some("not run: no exposed schemas (`[lint] exposed_schemas` in dbsage.toml, or Supabase's [api] schemas)".into()))
        }
        Err(e) => return section("audit", TITLE, vec![], Some(e.to_string())),
    };
    let options = dbsage_secure::AuditOptions {
        exposed_schemas: exposure.schemas,
    };
    match dbsage_secure::audit(client, &options) {
        Ok(findings) => section(
            "audit",
            TITLE,
            findings.iter().map(catalog_row).collect(),
            None,
        ),
        Err(e) => section("audit", TITLE, vec![], Some(e.to_string())),
    }
}

fn coverage(
    project: &dbsage_core::config::Project,
    client: &mut postgres::Client,
) -> Result<page::CoverageMatrix, String> {
    let tests = project.root.join("tests/rls");
    let files = if tests.exists() {
        dbsage_secure::load_tests(&tests).map_err(|e| e.to_string())?
    } else {
        Vec::new()
    };
    let c = dbsage_secure::coverage(client, &files, &[]).map_err(|e| e.to_string())?;
    Ok(page::CoverageMatrix {
        roles: c.roles.clone(),
        tables: c.tables.clone(),
        commands: dbsage_secure::COMMANDS
            .iter()
            .map(|c| c.to_string())
            .collect(),
        cells: c
            .cells
            .iter()
            .map(|cell| page::CoverageCell {
                role: cell.role.clone(),
                table: cell.table.clone(),
                command: cell.command.clone(),
                allowed: cell.allowed,
                tested: cell.tested,
            })
            .collect(),
    })
}

fn health_section(
    project: &dbsage_core::config::Project,
    client: &mut postgres::Client,
) -> page::Section {
    const TITLE: &str = "Health checks";
    let config =
        match dbsage_tune::health::HealthConfig::from_toml(project.config.other.get("health")) {
            Ok(c) => c,
            Err(message) => {
                return section(
                    "health",
                    TITLE,
                    vec![],
                    Some(format!("dbsage.toml: {message}")),
                )
            }
        };
    match dbsage_tune::health::run(client, &config, None) {
        Ok(health) => {
            let mut rows = Vec::new();
            for check in &health.checks {
                if check.findings.is_empty() && check.status != dbsage_tune::health::Status::Ok {
                    rows.push(page::FindingRow {
                        check: check.check.into(),
                        severity: check.status.as_str().into(),
                        object: health.database.clone(),
                        message: check.message.clone(),
                        fix: None,
                    });
                }
                rows.extend(check.findings.iter().map(catalog_row));
            }
            section("health", TITLE, rows, None)
        }
        Err(e) => section("health", TITLE, vec![], Some(dbsage_pgerror::describe(&e))),
    }
}

fn backup_row(b: &dbsage_backup::store::BackupSummary) -> page::Backup {
    page::Backup {
        id: b.id.clone(),
        state: b.state.into(),
        created_at: b.created_at.clone(),
        total_bytes: b.total_bytes,
        rows: b.rows,
        duration_ms: b.duration_ms,
        last_verify: b.last_verify.as_ref().map(|v| match v {
            serde_json::Value::Object(o) => o
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{k}: {}",
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        }),
    }
}

fn now_utc() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn drill_row(d: &dbsage_backup::drill::Drill) -> dbsage_report::model::Drill {
    dbsage_report::model::Drill {
        at: d.at.clone(),
        backup_id: d.backup_id.clone(),
        rpo_seconds: d.rpo_seconds,
        rto_ms: d.rto_ms,
        smoke: d.smoke.status.clone(),
        ok: d.ok,
        problems: d.problems.clone(),
    }
}

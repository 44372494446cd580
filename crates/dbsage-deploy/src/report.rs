//! The deploy report: `.dbsage/deploys/<UTC>-<env>.json` and `.md`, written whatever the
//! outcome, leading with the rollback commands when the deploy failed after changing something.

use std::path::PathBuf;

use dbsage_core::config::Project;
use dbsage_core::rollback::RolledBack;
use serde::Serialize;

use crate::backup::BackupInfo;
use crate::migrate::MigrationRun;
use crate::step::{StepReport, StepStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Deployed,
    /// A step failed (exit 1).
    Failed,
    /// A gate refused (exit 3).
    Refused,
    /// `--plan`: nothing changed.
    Planned,
    /// `--rehearse`: ran on a throwaway copy.
    Rehearsed,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    pub environment: String,
    /// The connection with the password hidden.
    pub database: String,
    /// `deploy`, `plan` or `rehearse`.
    pub mode: &'static str,
    pub outcome: Outcome,
    pub failed_step: Option<String>,
    /// `os-user@host`.
    pub who: String,
    pub started_at: String,
    pub duration_ms: u64,
    /// The migration set: every file's version, the pending ones at the start.
    pub pending: Vec<String>,
    pub steps: Vec<StepReport>,
    pub migrations: Vec<MigrationRun>,
    pub smoke: Option<dbsage_secure::TestReport>,
    pub backup: BackupInfo,
    /// Migrations rolled back automatically (`[deploy] rollback_on_failure`).
    pub rolled_back: Vec<RolledBack>,
    /// How to undo what this deploy changed, as things stand now.
    pub rollback_commands: Vec<String>,
    /// How the rehearsal learnt the locks each migration took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_method: Option<String>,
    /// One database of a fleet deploy: its report files are named after the database too.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fleet_member: bool,
    /// The report files, once written.
    pub files: Vec<PathBuf>,
}

impl DeployReport {
    pub fn exit_code(&self) -> i32 {
        match self.outcome {
            Outcome::Deployed | Outcome::Planned | Outcome::Rehearsed => 0,
            Outcome::Failed => dbsage_core::error::exit::FAILED,
            Outcome::Refused => dbsage_core::error::exit::REFUSED,
        }
    }

    /// Writes the JSON and Markdown reports under `.dbsage/deploys/`.
    pub fn write(&mut self, project: &Project, stamp: &str) -> dbsage_core::Result<()> {
        let dir = project.state_dir().join("deploys");
        std::fs::create_dir_all(&dir)
            .map_err(|e| dbsage_core::Error::io("creating .dbsage/deploys", e))?;
        let base = if self.fleet_member {
            // `database@host:port` made a file name: unique per database, no password.
            let database: String = self
                .database
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("{stamp}-{}-{database}", self.environment)
        } else {
            format!("{stamp}-{}", self.environment)
        };
        let json = dir.join(format!("{base}.json"));
        let md = dir.join(format!("{base}.md"));
        self.files = vec![json.clone(), md.clone()];
        dbsage_core::project_file::write(&json, &serde_json::to_string_pretty(self).unwrap())?;
        dbsage_core::project_file::write(&md, &self.markdown())?;
        Ok(())
    }

    pub fn headline(&self) -> String {
        let migrations = dbsage_core::wording::plural(self.migrations.len(), "migration");
        match self.outcome {
            Outcome::Deployed => format!("deployed {migrations} to {}", self.environment),
            Outcome::Planned => format!(
                "plan for {}: {} pending, nothing was changed",
                self.environment,
                dbsage_core::wording::plural(self.pending.len(), "migration")
            ),
            Outcome::Rehearsed => format!(
                "rehearsed {migrations} on a throwaway copy of {}: {}",
                self.environment,
                if self.failed_step.is_some() {
                    "a step FAILED"
                } else {
                    "every step passed"
                }
            ),
            Outcome::Failed => format!(
                "deploy to {} FAILED at {}",
                self.environment,
                self.failed_step.as_deref().unwrap_or("?")
            ),
            Outcome::Refused => format!(
                "deploy to {} REFUSED at {}",
                self.environment,
                self.failed_step.as_deref().unwrap_or("?")
            ),
        }
    }

    pub fn markdown(&self) -> String {
        let mut md = format!("# {}\n\n", self.headline());
        if !self.rolled_back.is_empty() {
            md.push_str("## Rolled back\n\n");
            for r in &self.rolled_back {
                md.push_str(&format!(
                    "- {}_{} ({} ms)\n",
                    r.version, r.name, r.duration_ms
                ));
            }
            md.push('\n');
        }
        if !self.rollback_commands.is_empty() && self.outcome != Outcome::Deployed {
            md.push_str("## Rollback: run now\n\n```sh\n");
            for c in &self.rollback_commands {
                md.push_str(c);
                md.push('\n');
            }
            md.push_str("```\n\n");
        }
        md.push_str(&format!(
            "- environment: `{}` ({})\n- mode: {}\n- by: {}\n- started: {}\n- duration: {} ms\n",
            self.environment, self.database, self.mode, self.who, self.started_at, self.duration_ms
        ));
        match (&self.backup.id, &self.backup.skipped) {
            (Some(id), _) => md.push_str(&format!("- backup: `{id}` (`dbsage restore {id}`)\n")),
            (None, Some(why)) => md.push_str(&format!("- backup: **{why}**\n")),
            _ => md.push_str("- backup: none taken\n"),
        }
        md.push_str("\n## Steps\n\n| step | result | what happened |\n|---|---|---|\n");
        for s in &self.steps {
            md.push_str(&format!(
                "| {} | {} | {} |\n",
                s.step,
                status_word(s.status),
                s.message.replace('|', "\\|")
            ));
        }
        if !self.migrations.is_empty() {
            md.push_str("\n## Migrations\n\n| migration | duration | attempts | lock waits | locks taken |\n|---|---|---|---|---|\n");
            for m in &self.migrations {
                md.push_str(&format!(
                    "| {}_{} | {} ms | {} | {} ms | {} |\n",
                    m.version,
                    m.name,
                    m.duration_ms,
                    m.attempts,
                    m.lock_wait_ms,
                    m.locks.join(", ")
                ));
            }
            if let Some(method) = &self.lock_method {
                md.push_str(&format!("\nLocks: {method}.\n"));
            }
        }
        if let Some(smoke) = &self.smoke {
            md.push_str("\n## Smoke tests\n\n");
            for c in &smoke.cases {
                md.push_str(&format!(
                    "- {} {} · {}: {}\n",
                    if c.passed { "ok" } else { "FAILED" },
                    c.file,
                    c.name,
                    c.message
                ));
            }
        }
        let details: Vec<&StepReport> = self
            .steps
            .iter()
            .filter(|s| !s.details.is_empty())
            .collect();
        if !details.is_empty() {
            md.push_str("\n## Details\n");
            for s in details {
                md.push_str(&format!("\n### {}\n\n", s.step));
                for d in &s.details {
                    md.push_str(&format!("- {d}\n"));
                }
            }
        }
        if !self.rollback_commands.is_empty() && self.outcome == Outcome::Deployed {
            md.push_str("\n## If this deploy must be undone\n\n```sh\n");
            for c in &self.rollback_commands {
                md.push_str(c);
                md.push('\n');
            }
            md.push_str("```\n");
        }
        md
    }
}

pub fn status_word(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Passed => "passed",
        StepStatus::Failed => "FAILED",
        StepStatus::Refused => "REFUSED",
        StepStatus::Skipped => "skipped",
        StepStatus::Planned => "planned",
    }
}

/// `20261201T203000Z`: sorts by time and is safe in file names.
pub fn utc_stamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap()
}

pub fn utc_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

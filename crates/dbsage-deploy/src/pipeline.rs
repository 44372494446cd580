//! The pipeline: each step reported as it finishes, the first failing one stops it, and the
//! report is written whatever happened.

use std::cell::RefCell;
use std::time::Instant;

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::gates::{self, Confirm, GateOptions, Protection};
use dbsage_core::migrate::{self, Progress, RunOptions};
use dbsage_core::migrations::MigrationFile;
use dbsage_core::Result;
use postgres::Client;

use crate::backup::{self, BackupInfo};
use crate::config::DeployConfig;
use crate::preflight::{drift, lint, locks, replay, requires, status};
use crate::report::{utc_now, utc_stamp, DeployReport, Outcome};
use crate::step::{Event, StepReport, StepStatus};
use crate::{postcheck, rehearse, rollback, smoke};

#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    /// Print everything that would happen; change nothing.
    pub plan: bool,
    /// Run migrate, smoke tests and post-checks on a throwaway copy restored from the
    /// target's latest backup.
    pub rehearse: bool,
    /// Do not ask for the protected environment's name.
    pub yes: bool,
    /// Deploy without a backup (said loudly, recorded in the audit log).
    pub skip_backup: bool,
    /// Why `--skip-backup`: recorded with it.
    pub reason: Option<String>,
    /// One database of a fleet deploy: what was done once for the whole fleet.
    pub fleet: Option<FleetShare>,
}

/// What a fleet deploy did once for all its databases, handed to each database's pipeline.
#[derive(Debug, Clone, Default)]
pub struct FleetShare {
    /// The preflight steps that do not depend on the database (lint, local pass, `requires`,
    /// the replay's audit, policy tests and pgTAP), all passed: recorded in each report.
    pub steps: Vec<StepReport>,
    /// The audit events of the gate the protected fleet passed; `None` for a fleet that is not
    /// protected (a database marked protected is then refused).
    pub gate_audit: Option<Vec<(String, String)>>,
}

/// Runs the deploy of `environment` and writes its report. An `Err` is a failure before the
/// pipeline could start (configuration, connection); a failed step is an `Ok` report whose
/// outcome says so.
pub fn deploy(
    project: &Project,
    environment: Option<&str>,
    options: &DeployOptions,
    confirm: &mut Confirm,
    events: &mut dyn FnMut(Event),
) -> Result<DeployReport> {
    let target = Target::resolve(project, environment)?;
    deploy_to(project, target, options, confirm, events)
}

/// [`deploy`] on a resolved target (a single environment's, or one database of a fleet with
/// `options.fleet` set).
pub fn deploy_to(
    project: &Project,
    target: Target,
    options: &DeployOptions,
    confirm: &mut Confirm,
    events: &mut dyn FnMut(Event),
) -> Result<DeployReport> {
    let config = DeployConfig::of(project)?;
    let files = dbsage_core::migrations::discover_project(project)?;
    let (mut client, protection) = target.connect_protected(project, "dbsage deploy")?;
    let stamp = utc_stamp();
    let started = Instant::now();
    let mode = if options.plan {
        "plan"
    } else if options.rehearse {
        "rehearse"
    } else {
        "deploy"
    };
    let mut run = Deploy {
        project,
        config,
        files,
        target,
        options,
        confirm,
        events,
        report: DeployReport {
            environment: String::new(),
            database: String::new(),
            mode,
            outcome: Outcome::Deployed,
            failed_step: None,
            who: dbsage_core::actor::actor(),
            started_at: utc_now(),
            duration_ms: 0,
            pending: Vec::new(),
            steps: Vec::new(),
            migrations: Vec::new(),
            smoke: None,
            backup: BackupInfo::default(),
            rolled_back: Vec::new(),
            rollback_commands: Vec::new(),
            lock_method: None,
            fleet_member: options.fleet.is_some(),
            files: Vec::new(),
        },
    };
    run.report.environment = run.target.name.clone();
    run.report.database = run.target.display.clone();
    run.pipeline(&mut client, protection.as_ref());
    let mut report = run.report;
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.write(project, &stamp)?;
    Ok(report)
}

struct Deploy<'a> {
    project: &'a Project,
    config: DeployConfig,
    files: Vec<MigrationFile>,
    target: Target,
    options: &'a DeployOptions,
    confirm: &'a mut Confirm<'a>,
    events: &'a mut dyn FnMut(Event),
    report: DeployReport,
}

impl Deploy<'_> {
    /// Runs one step and records it; false when the pipeline must stop.
    fn step(&mut self, name: &str, work: impl FnOnce(&mut Self) -> Result<StepReport>) -> bool {
        self.steps(name, |d| work(d).map(|s| vec![s]))
    }

    fn steps(
        &mut self,
        name: &str,
        work: impl FnOnce(&mut Self) -> Result<Vec<StepReport>>,
    ) -> bool {
        (self.events)(Event::Started(name));
        let started = Instant::now();
        let reports = match work(self) {
            Ok(reports) => reports,
            Err(e) => vec![error_step(name, &e)],
        };
        let elapsed = started.elapsed().as_millis() as u64;
        let mut ok = true;
        for mut step in reports {
            if step.duration_ms == 0 {
                step.duration_ms = elapsed;
            }
            ok &= self.record(step);
        }
        ok
    }

    fn record(&mut self, step: StepReport) -> bool {
        (self.events)(Event::Done(&step));
        let ok = step.ok();
        if !ok && self.report.failed_step.is_none() {
            self.report.failed_step = Some(step.step.clone());
            self.report.outcome = if step.status == StepStatus::Refused {
                Outcome::Refused
            } else {
                Outcome::Failed
            };
        }
        self.report.steps.push(step);
        ok
    }

    fn pipeline(&mut self, client: &mut Client, protection: Option<&Protection>) {
        let mut entries = Vec::new();
        if !self.step("preflight.status", |d| {
            let (step, found) = status::check(client, d.project, &d.files)?;
            entries = found;
            Ok(step)
        }) {
            return;
        }
        let pending: Vec<MigrationFile> = status::pending(&entries, &self.files)
            .into_iter()
            .cloned()
            .collect();
        let pending_refs: Vec<&MigrationFile> = pending.iter().collect();
        self.report.pending = pending.iter().map(MigrationFile::label).collect();
        let applied: Vec<MigrationFile> = self
            .files
            .iter()
            .filter(|f| !pending.iter().any(|p| p.version == f.version))
            .cloned()
            .collect();
        if let Some(share) = &self.options.fleet {
            // Passed once for the whole fleet: recorded, not run again.
            for step in share.steps.clone() {
                self.record(step);
            }
            if !self.step("preflight.drift", |d| {
                drift_step(client, d.project, &applied)
            }) {
                return;
            }
        } else if !self.step("preflight.lint", |d| {
            lint::lint(d.project, &d.files, &pending_refs)
        }) || !self.step("preflight.local", |d| {
            Ok(lint::local_pass(d.project, &d.files))
        }) || !self.step("preflight.requires", |d| {
            requires::check(d.project, &d.target, &d.files)
        }) || !self.step("preflight.drift", |d| {
            drift_step(client, d.project, &applied)
        }) || !self.steps("preflight.replay", |d| replay::checks(d.project, &d.files))
        {
            return;
        }
        let (older_than, bound) = (self.config.long_transaction(), self.config.lock_wait());
        if self.options.rehearse {
            self.record(StepReport::new(
                "preflight.locks",
                StepStatus::Skipped,
                "the rehearsal runs on a copy: the target's locks do not matter",
            ));
        } else {
            // A plan reports the holders as they are now; it does not wait.
            let bound = if self.options.plan {
                Default::default()
            } else {
                bound
            };
            let events = RefCell::new(&mut *self.events);
            let step = locks::check(client, &pending_refs, older_than, bound, &mut |n| {
                (events.borrow_mut())(Event::Note(n))
            });
            let step = step.unwrap_or_else(|e| error_step("preflight.locks", &e));
            if !self.record(step) {
                return;
            }
        }
        if self.options.plan {
            self.plan(client, protection);
            return;
        }
        if self.options.rehearse {
            self.rehearse();
            return;
        }
        let mut audit = Vec::new();
        if !self.step("gate", |d| {
            if let Some(share) = &d.options.fleet {
                return fleet_gate(client, d.project, &d.target, protection, share, &mut audit);
            }
            let Some(protection) = protection else {
                return Ok(StepReport::new(
                    "gate",
                    StepStatus::Passed,
                    "not a protected environment: no confirmation asked",
                ));
            };
            let planned = planned(client, d.project, &d.files)?;
            let gate = gates::check(
                d.project,
                &d.target,
                protection,
                &d.files,
                &planned,
                &GateOptions {
                    yes: d.options.yes,
                    ..Default::default()
                },
                "deploy to",
                &mut |prompt| (d.confirm)(prompt),
            )?;
            dbsage_core::protection::mark(client, d.project, &d.target)?;
            audit = gate.audit_events();
            Ok(StepReport::new(
                "gate",
                StepStatus::Passed,
                gate.confirmation,
            ))
        }) {
            return;
        }
        if self.options.skip_backup {
            let (step, info) = backup::skipped(self.options.reason.as_deref());
            audit.push((
                "deploy_backup_skipped".into(),
                format!(
                    "dbsage deploy --skip-backup: {}",
                    self.options.reason.as_deref().unwrap_or("no reason given")
                ),
            ));
            self.report.backup = info;
            self.record(step);
        } else if !self.step("backup", |d| {
            let (step, info) = backup::take(d.project, &d.target)?;
            d.report.backup = info;
            Ok(step)
        }) {
            return;
        }
        self.change(client, audit, None);
        if self.report.outcome == Outcome::Failed && !self.report.migrations.is_empty() {
            self.recover(client);
        }
        self.report.rollback_commands = rollback::commands(
            self.project,
            &self.target.name,
            &self.files,
            &self.report.migrations[..self
                .report
                .migrations
                .len()
                .saturating_sub(self.report.rolled_back.len())],
            &self.report.backup,
        );
    }

    /// migrate → smoke → post-checks, on the target or on the rehearsal's copy.
    fn change(
        &mut self,
        client: &mut Client,
        audit: Vec<(String, String)>,
        lock_recorder: Option<&rehearse::LockRecorder>,
    ) {
        let mut before = postcheck::Before::default();
        if !self.step("postcheck.before", |d| {
            before = postcheck::before(client, d.project)?;
            Ok(StepReport::new(
                "postcheck.before",
                StepStatus::Passed,
                format!(
                    "{} invalid {} and {} before the migrations",
                    before.invalid_indexes.len(),
                    if before.invalid_indexes.len() == 1 {
                        "index"
                    } else {
                        "indexes"
                    },
                    dbsage_core::wording::plural(before.criticals.len(), "critical health finding")
                ),
            ))
        }) {
            return;
        }
        (self.events)(Event::Started("migrate"));
        let started = Instant::now();
        let outcome = {
            let events = RefCell::new(&mut *self.events);
            crate::migrate::apply(
                client,
                self.project,
                &self.files,
                &self.config,
                audit,
                &mut |p| match p {
                    Progress::Applying(f) => {
                        (events.borrow_mut())(Event::Note(format!("applying {}", f.label())))
                    }
                    Progress::Applied(a) => (events.borrow_mut())(Event::Note(format!(
                        "applied {}_{} in {} ms",
                        a.version, a.name, a.duration_ms
                    ))),
                    Progress::WaitingForLock(h) => (events.borrow_mut())(Event::Note(format!(
                        "waiting for another migration run: pid {} ({})",
                        h.pid, h.application_name
                    ))),
                },
                &mut |n| (events.borrow_mut())(Event::Note(n)),
            )
        };
        let mut applied = outcome.applied;
        if let Some(recorder) = lock_recorder {
            recorder.attach(client, &mut applied);
        }
        let retries: u32 = applied.iter().map(|m| m.attempts - 1).sum();
        let waited: u64 = applied.iter().map(|m| m.lock_wait_ms).sum();
        let mut step = match &outcome.error {
            None => StepReport::new(
                "migrate",
                StepStatus::Passed,
                format!(
                    "applied {} under lock_timeout {} ({retries} {} after lock timeouts, {waited} ms lost waiting)",
                    dbsage_core::wording::plural(applied.len(), "migration"),
                    self.config.lock_timeout,
                    if retries == 1 { "retry" } else { "retries" }
                ),
            ),
            Some(e) => {
                let mut details: Vec<String> = e.hint().map(|h| vec![h.to_string()]).unwrap_or_default();
                details.extend(applied.iter().map(|m| {
                    format!("{}_{} was applied before the failure and stays applied", m.version, m.name)
                }));
                StepReport::new("migrate", StepStatus::Failed, e.to_string()).with_details(details)
            }
        };
        step.duration_ms = started.elapsed().as_millis() as u64;
        self.report.migrations = applied;
        if !self.record(step) {
            return;
        }
        if !self.step("smoke", |d| {
            let (step, report) = smoke::run(client, d.project, &d.config)?;
            d.report.smoke = report;
            Ok(step)
        }) {
            return;
        }
        self.steps("postcheck", |d| {
            postcheck::check(client, d.project, &before)
        });
    }

    /// After a failed smoke test or post-check: roll back when allowed and possible.
    fn recover(&mut self, client: &mut Client) {
        let failed = self.report.failed_step.clone().unwrap_or_default();
        if !(failed == "smoke" || failed.starts_with("postcheck")) {
            return;
        }
        let applied = self.report.migrations.clone();
        let without_down: Vec<String> = applied
            .iter()
            .filter(|a| {
                !self
                    .files
                    .iter()
                    .any(|f| f.version == a.version && f.down.is_some())
            })
            .map(|a| format!("{}_{}", a.version, a.name))
            .collect();
        if !self.config.rollback_on_failure || !without_down.is_empty() {
            let why = if !self.config.rollback_on_failure {
                "[deploy] rollback_on_failure is off".to_string()
            } else {
                format!("no down file for {}", without_down.join(", "))
            };
            self.record(StepReport::new(
                "rollback",
                StepStatus::Skipped,
                format!("NOT rolled back ({why}): the migrations stay applied; the report leads with the rollback commands"),
            ));
            return;
        }
        self.step("rollback", |d| {
            let rolled = rollback::undo(client, d.project, &d.files, &applied)?;
            let names: Vec<String> = rolled
                .iter()
                .map(|r| format!("{}_{} ({} ms)", r.version, r.name, r.duration_ms))
                .collect();
            d.report.rolled_back = rolled;
            Ok(StepReport::new(
                "rollback",
                StepStatus::Passed,
                format!(
                    "rolled back {} with their down files after the failed {failed}",
                    dbsage_core::wording::plural(names.len(), "migration")
                ),
            )
            .with_details(names))
        });
    }

    /// `--plan`: what the rest of the pipeline would do.
    fn plan(&mut self, client: &mut Client, protection: Option<&Protection>) {
        let planned = match planned(client, self.project, &self.files) {
            Ok(p) => p,
            Err(e) => {
                self.record(error_step("migrate", &e));
                return;
            }
        };
        let gate = match protection {
            Some(p) => format!(
                "{}: would ask to type `{}` (or --yes)",
                p.describe(),
                p.name
            ),
            None => "not a protected environment: no confirmation".into(),
        };
        let backup = if self.options.skip_backup {
            "would be SKIPPED (--skip-backup, recorded in the audit log)".to_string()
        } else {
            format!(
                "would take `dbsage backup` of {} first",
                self.target.display
            )
        };
        let migrate = StepReport::new(
            "migrate",
            StepStatus::Planned,
            format!(
                "would apply {} under lock_timeout {}, up to {} {} on lock timeouts (backoff {}, doubling)",
                dbsage_core::wording::plural(planned.len(), "migration"),
                self.config.lock_timeout,
                self.config.retries,
                if self.config.retries == 1 { "retry" } else { "retries" },
                self.config.backoff
            ),
        )
        .with_details(
            planned
                .iter()
                .map(|p| {
                    format!(
                        "{}_{} ({}, {})",
                        p.version,
                        p.name,
                        if p.no_transaction { "no transaction" } else { "one transaction" },
                        dbsage_core::wording::plural(p.statements, "statement")
                    )
                })
                .collect(),
        );
        let smoke_dir = self.project.root.join(&self.config.smoke_dir);
        let smoke = match dbsage_secure::load_tests(&smoke_dir) {
            Ok(tests) if smoke_dir.exists() => format!(
                "would run {} from {}, each rolled back",
                dbsage_core::wording::plural(
                    tests.iter().map(|t| t.cases.len()).sum::<usize>(),
                    "smoke case"
                ),
                self.config.smoke_dir.display()
            ),
            Ok(_) => format!(
                "no smoke tests ({} does not exist)",
                self.config.smoke_dir.display()
            ),
            Err(e) => format!("the smoke tests do not load: {e}"),
        };
        let rollback = if self.config.rollback_on_failure {
            "after a failed smoke test or post-check: roll back with the down files when every migration has one"
        } else {
            "after a failed smoke test or post-check: report the rollback commands ([deploy] rollback_on_failure is off)"
        };
        for step in [
            StepReport::new("gate", StepStatus::Planned, gate),
            StepReport::new("backup", StepStatus::Planned, backup),
            migrate,
            StepReport::new("smoke", StepStatus::Planned, smoke),
            StepReport::new(
                "postcheck",
                StepStatus::Planned,
                "would check for new invalid indexes and new critical health findings",
            ),
            StepReport::new("rollback", StepStatus::Planned, rollback),
        ] {
            self.record(step);
        }
        if self.report.failed_step.is_none() {
            self.report.outcome = Outcome::Planned;
        }
    }

    /// `--rehearse`: the changing steps on a throwaway copy of the target.
    fn rehearse(&mut self) {
        let mut copy = None;
        if !self.step("rehearse.restore", |d| {
            let (restored, info, step) = rehearse::restore_copy(d.project, &d.target, &d.files)?;
            d.report.backup = info;
            copy = Some(restored);
            Ok(step)
        }) {
            return;
        }
        let mut copy = copy.expect("restored");
        let recorder = match rehearse::LockRecorder::install(&mut copy.client, self.project) {
            Ok(r) => r,
            Err(e) => {
                self.record(error_step("rehearse.locks", &e));
                return;
            }
        };
        self.report.lock_method = Some(rehearse::LOCK_METHOD.into());
        self.change(&mut copy.client, Vec::new(), Some(&recorder));
        drop(copy.client);
        if self.report.failed_step.is_none() {
            self.report.outcome = Outcome::Rehearsed;
        }
        copy.cluster.stop();
    }
}

/// A fleet's database: the gate was asked once for the fleet; a database found protected is
/// written only under it (and marked, as `migrate` marks it).
fn fleet_gate(
    client: &mut Client,
    project: &Project,
    target: &Target,
    protection: Option<&Protection>,
    share: &FleetShare,
    audit: &mut Vec<(String, String)>,
) -> Result<StepReport> {
    if let Some(found) = protection {
        dbsage_core::fleet::refuse_unless_gated(
            &target.name,
            target,
            found,
            share.gate_audit.is_some(),
            "deploy to",
        )?;
        dbsage_core::protection::mark(client, project, target)?;
    }
    *audit = share.gate_audit.clone().unwrap_or_default();
    Ok(StepReport::new(
        "gate",
        StepStatus::Passed,
        if share.gate_audit.is_some() {
            "the protected fleet's gate was passed once for all its databases"
        } else {
            "not a protected fleet: no confirmation asked"
        },
    ))
}

/// What `migrate` would apply now (a dry run: nothing is written).
fn planned(
    client: &mut Client,
    project: &Project,
    files: &[MigrationFile],
) -> Result<Vec<migrate::Planned>> {
    Ok(migrate::run(
        client,
        project,
        files,
        &mut RunOptions {
            dry_run: true,
            ..Default::default()
        },
        &mut |_| {},
    )?
    .planned)
}

fn drift_step(
    client: &mut Client,
    project: &Project,
    applied: &[MigrationFile],
) -> Result<StepReport> {
    let differences = drift::drift(client, project, applied)?;
    Ok(if differences.is_empty() {
        StepReport::new(
            "preflight.drift",
            StepStatus::Passed,
            format!(
                "the live schema matches a replay of the {} applied",
                dbsage_core::wording::plural(applied.len(), "migration")
            ),
        )
    } else {
        StepReport::new(
            "preflight.drift",
            StepStatus::Failed,
            format!(
                "the live schema differs from a replay of its migration history in {}: someone changed it by hand; put the change in a migration (or undo it) first",
                dbsage_core::wording::plural(differences.len(), "object")
            ),
        )
        .with_details(differences.iter().map(ToString::to_string).collect())
    })
}

pub(crate) fn error_step(name: &str, e: &dbsage_core::Error) -> StepReport {
    let status = if e.exit_code() == dbsage_core::error::exit::REFUSED {
        StepStatus::Refused
    } else {
        StepStatus::Failed
    };
    StepReport::new(name, status, dbsage_core::redact::redact(&e.to_string()))
        .with_details(e.hint().map(|h| vec![h.to_string()]).unwrap_or_default())
}

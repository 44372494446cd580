//! A fleet deploy's preflight that does not depend on the database (lint, the local pass,
//! `requires`, and the audit, policy tests and pgTAP on a replay): run once for all the
//! fleet's databases, before the per-database pipelines fan out.

use std::time::Instant;

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::migrations::MigrationFile;

use crate::pipeline::error_step;
use crate::preflight::{lint, replay, requires};
use crate::step::{Event, StepReport};

/// The shared preflight steps, stopping at the first that fails. `pending` is every file
/// pending on some database of the fleet; `member` any of its databases (its environment's
/// `requires` is the fleet's).
pub fn preflight_once(
    project: &Project,
    member: &Target,
    files: &[MigrationFile],
    pending: &[&MigrationFile],
    events: &mut dyn FnMut(Event),
) -> Vec<StepReport> {
    type Work<'w> = Box<dyn FnOnce() -> dbsage_core::Result<Vec<StepReport>> + 'w>;
    let work: Vec<(&str, Work)> = vec![
        (
            "preflight.lint",
            Box::new(|| lint::lint(project, files, pending).map(|s| vec![s])),
        ),
        (
            "preflight.local",
            Box::new(|| Ok(vec![lint::local_pass(project, files)])),
        ),
        (
            "preflight.requires",
            Box::new(|| requires::check(project, member, files).map(|s| vec![s])),
        ),
        (
            "preflight.replay",
            Box::new(|| replay::checks(project, files)),
        ),
    ];
    let mut steps = Vec::new();
    for (name, run) in work {
        events(Event::Started(name));
        let started = Instant::now();
        let reports = run().unwrap_or_else(|e| vec![error_step(name, &e)]);
        let elapsed = started.elapsed().as_millis() as u64;
        let mut ok = true;
        for mut step in reports {
            if step.duration_ms == 0 {
                step.duration_ms = elapsed;
            }
            events(Event::Done(&step));
            ok &= step.ok();
            steps.push(step);
        }
        if !ok {
            break;
        }
    }
    steps
}

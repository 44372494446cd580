//! A move in the audit logs (`dbsage.migration_events`), as `migrate` records its runs: the
//! confirmation of a protected database (`protected_confirmed`), then `move_started`,
//! `move_cutover`, `move_aborted`, and the result, `move_finished` or `move_failed`.
//!
//! Where: the source's log gets the start and the result whenever the run changes the source
//! and the source is protected (marked and given a log first, as other commands do) or keeps a
//! dbsage log already; a database dbsage neither manages nor protects gets no schema from a
//! move. The start is written before the data is copied, so the target's log (a copy of the
//! source's) holds it too; the target's log gets the result once the data is in and compared,
//! always (created when the source had none). Nothing is written into the target earlier: it
//! must be empty for the restore, and its log is being replicated during a replication move.

use postgres::Client;
use serde_json::{json, Value};

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::gates::Protection;
use dbsage_core::protection;

use crate::gates::Approval;
use crate::Method;

/// The facts every move event carries.
pub fn details(from: &Target, to: &Target, method: Method) -> Value {
    json!({
        "command": "move",
        "method": method.as_str(),
        "from": from.name,
        "to": to.name,
        "source": dbsage_core::redact::redact(&from.display),
        "target": dbsage_core::redact::redact(&to.display),
    })
}

/// `details` with `extra`'s keys added.
pub fn with(mut details: Value, extra: Value) -> Value {
    if let (Some(d), Value::Object(extra)) = (details.as_object_mut(), extra) {
        d.extend(extra);
    }
    details
}

/// One side's log. `confirmation` is how its protection was confirmed in this run (recorded
/// once, before the first event).
pub struct Log<'a> {
    pub project: &'a Project,
    pub target: &'a Target,
    pub protection: Option<&'a Protection>,
    pub confirmation: Option<&'a str>,
    /// Create the log when the database has none (the target, once the data is in).
    pub create: bool,
}

impl Log<'_> {
    /// Appends `event`; false when this side keeps no log and is not to get one.
    pub fn record(
        &self,
        client: &mut Client,
        event: &str,
        reason: &str,
        details: Value,
        confirmed_now: bool,
    ) -> dbsage_core::Result<bool> {
        if self.protection.is_none() && !self.create && !has_log(client, self.project)? {
            return Ok(false);
        }
        if self.protection.is_some() {
            protection::mark(client, self.project, self.target)?;
        }
        if let (true, Some(confirmation)) = (confirmed_now, self.confirmation) {
            protection::record_event(
                client,
                self.project,
                "protected_confirmed",
                confirmation,
                details.clone(),
            )?;
        }
        protection::record_event(client, self.project, event, reason, details)?;
        Ok(true)
    }
}

/// The result, `move_finished`: in the target's log (created now that the data is in), then in
/// the source's when the run changed the source. `done` says what stands if recording fails.
pub(crate) fn record_finished(
    target_log: &Log,
    target: &mut Client,
    source: Option<(&Log, &mut Client)>,
    reason: &str,
    result: Value,
    done: &str,
) -> dbsage_core::Result<()> {
    let recorded = |e| {
        crate::with_note(
            e,
            &format!("{done}, but the move could not be recorded in the audit log"),
        )
    };
    target_log
        .record(target, "move_finished", reason, result.clone(), true)
        .map_err(recorded)?;
    if let Some((source_log, source)) = source {
        source_log
            .record(source, "move_finished", reason, result, false)
            .map_err(recorded)?;
    }
    Ok(())
}

impl Approval {
    /// The source's log, with the source's protection and confirmation of this run.
    pub(crate) fn source_log<'a>(&'a self, project: &'a Project, from: &'a Target) -> Log<'a> {
        Log {
            project,
            target: from,
            protection: self.source.as_ref(),
            confirmation: self.source_confirmation.as_deref(),
            create: false,
        }
    }

    /// The target's log, created when missing: call once the data is in.
    pub(crate) fn target_log<'a>(&'a self, project: &'a Project, to: &'a Target) -> Log<'a> {
        Log {
            project,
            target: to,
            protection: self.target.as_ref(),
            confirmation: self.target_confirmation.as_deref(),
            create: true,
        }
    }
}

fn has_log(client: &mut Client, project: &Project) -> dbsage_core::Result<bool> {
    let table = project.history_table();
    Ok(client
        .query_one("select to_regclass($1) is not null", &[&table.events()])
        .map_err(|e| dbsage_core::Error::db("looking for the audit log", e))?
        .get(0))
}

/// A failure's text for the log: the first line, passwords hidden.
pub fn failure_reason(e: &dbsage_core::Error) -> String {
    let text = e.to_string();
    dbsage_core::redact::redact(text.lines().next().unwrap_or_default())
}

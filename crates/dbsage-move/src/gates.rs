//! The gates in front of a move. The target is written (restored into, subscribed, its
//! sequences set), so a protected target asks for the typed name of its protection, as
//! `migrate` does; so does a protected source whenever the move changes it (read-only, a
//! publication, a slot): only a dry run (`--keep-source-writable`) leaves the source alone and
//! skips its gate. Protection is read from each database ([`protection_of_database`]): its
//! mark, `protected = true`, or a protected environment at the same address, so a raw URL or
//! an alias gets the same gates. An unprotected source is confirmed by typing its environment
//! name (or `--yes`). Without a terminal and without `--yes`: refused (exit 3), nothing changed.

use serde::Serialize;

use dbsage_core::config::Project;
use dbsage_core::gates::{confirm_protected, Confirm, Protection};
use dbsage_core::protection_address::protection_of_database;

use crate::side::Side;

/// How the caller asks a person: the prompt (plan lines, then the question) in, the typed
/// answer out; None when nobody can be asked.
pub struct Ask<'a> {
    pub yes: bool,
    pub confirm: Box<Confirm<'a>>,
}

impl Ask<'_> {
    /// `--yes` and nobody to ask: for library callers that have confirmed already.
    pub fn yes() -> Ask<'static> {
        Ask {
            yes: true,
            confirm: Box::new(|_| None),
        }
    }
}

/// What one run of a move asks for.
pub struct Request {
    /// The run changes the source (read-only, publication, slot): its protection is asked.
    pub changes_source: bool,
    /// Also confirm an unprotected source by its typed name (moves and cutovers do; abort
    /// restores the source and does not).
    pub confirm_source_name: bool,
    /// What would happen, one line each (shown above the question).
    pub plan: Vec<String>,
}

/// Who confirmed what, for the report and the audit log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Approval {
    /// The name the source is protected under (None: unprotected, or not changed).
    pub source_protected_as: Option<String>,
    pub target_protected_as: Option<String>,
    /// How the protected source was confirmed (`typed `production` (…)`, `--yes (…)`).
    pub source_confirmation: Option<String>,
    pub target_confirmation: Option<String>,
    #[serde(skip)]
    pub(crate) source: Option<Protection>,
    #[serde(skip)]
    pub(crate) target: Option<Protection>,
}

/// Reads both databases' protection and asks for every confirmation the run needs, before
/// anything is changed.
pub fn approve(
    project: &Project,
    source: &mut Side,
    target: &mut Side,
    request: &Request,
    ask: &mut Ask,
) -> dbsage_core::Result<Approval> {
    let source_protection = if request.changes_source {
        protection_of_database(&mut source.client, project, &source.target)?
    } else {
        None
    };
    let target_protection = protection_of_database(&mut target.client, project, &target.target)?;
    let mut approval = Approval::default();
    // The target first: it is written in every case.
    if let Some(p) = &target_protection {
        approval.target_confirmation = Some(confirm_protected(
            &target.target,
            p,
            "move a database into",
            &request.plan,
            ask.yes,
            &mut *ask.confirm,
        )?);
    }
    match &source_protection {
        Some(p) => {
            approval.source_confirmation = Some(confirm_protected(
                &source.target,
                p,
                "move",
                &request.plan,
                ask.yes,
                &mut *ask.confirm,
            )?);
        }
        None if request.confirm_source_name => confirm_name(&source.target, &request.plan, ask)?,
        None => {}
    }
    approval.source_protected_as = source_protection.as_ref().map(|p| p.name.clone());
    approval.target_protected_as = target_protection.as_ref().map(|p| p.name.clone());
    approval.source = source_protection;
    approval.target = target_protection;
    Ok(approval)
}

/// An unprotected source: its environment name typed, or `--yes`.
fn confirm_name(
    source: &dbsage_core::env::Target,
    plan: &[String],
    ask: &mut Ask,
) -> dbsage_core::Result<()> {
    if ask.yes {
        return Ok(());
    }
    let what = plan.join("\n");
    let prompt = format!("{what}.\nType `{}` to confirm", source.name);
    match (ask.confirm)(&prompt) {
        Some(answer) if answer.trim() == source.name => Ok(()),
        Some(_) => Err(dbsage_core::Error::Refused {
            message: format!(
                "the name typed does not match `{}`: nothing was changed",
                source.name
            ),
            hint: String::new(),
        }),
        None => Err(dbsage_core::Error::Refused {
            message: format!(
                "refusing to move `{}` without confirmation (no terminal to ask on): {what}",
                source.name
            ),
            hint: "run it in a terminal and type the source's name, or pass --yes in scripts"
                .into(),
        }),
    }
}

/// What `move --method dump` would do, for the confirmation.
pub fn dump_plan(from: &str, to: &str, keep_source_writable: bool, drain_secs: u64) -> Vec<String> {
    vec![if keep_source_writable {
        format!("would copy `{from}` into `{to}` (the source stays writable: a dry run)")
    } else {
        format!(
            "would set `{from}` read-only (sessions ended after {drain_secs} s), copy it into `{to}` with pg_dump/pg_restore and compare every table"
        )
    }]
}

/// What `move --method replicate` would do.
pub fn replicate_plan(from: &str, to: &str) -> Vec<String> {
    vec![format!(
        "would copy `{from}`'s schema into `{to}`, publish every table on `{from}` and subscribe `{to}` to it"
    )]
}

/// What `move cutover` would do.
pub fn cutover_plan(from: &str, to: &str, drain_secs: u64) -> Vec<String> {
    vec![format!(
        "would set `{from}` read-only (sessions ended after {drain_secs} s), wait for `{to}` to catch up, copy sequences, compare every table and drop the subscription"
    )]
}

/// What `move abort` would do.
pub fn abort_plan(from: &str, to: &str) -> Vec<String> {
    vec![format!(
        "would drop the subscription on `{to}`, the replication slot and the publication on `{from}` (the source stays writable; `{to}` keeps what was copied)"
    )]
}

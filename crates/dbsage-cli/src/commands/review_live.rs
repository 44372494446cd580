//! `dbsage review --env E`: the change judged against E's live schema, not the replayed
//! history, so a table made by hand in production counts as existing.
//!
//! E's catalog is read through the protected read path (reading is not a change: no gate)
//! and rebuilt on a throwaway cluster by the diff engine, the one `dbsage pull` and
//! `dbsage diff` prove; the proposed files then run there. Not `pg_dump --schema-only`:
//! that needs client programs of E's major or newer and its own TLS/password plumbing, and
//! a managed platform's dump does not restore elsewhere (ownership of its own objects),
//! whereas the rebuild uses dbsage's connection, leaves managed schemas out, and says what
//! the copy lacks instead of failing on it.

use dbsage_catalog::{Catalog, DiffKind, ReadOptions};
use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::Error;
use dbsage_diff::sides::{ensure_roles, read_options, throwaway, Opened};
use dbsage_review::LiveEvidence;

use crate::output::Out;

/// A throwaway copy of E's schema, the evidence read from E, and how to read the copy.
pub struct LiveCopy {
    pub copy: Opened,
    pub evidence: LiveEvidence,
    pub options: ReadOptions,
}

pub fn copy_of(project: &Project, name: &str, out: &Out) -> dbsage_core::Result<LiveCopy> {
    let target = Target::resolve(project, Some(name))?;
    super::announce(out, &target);
    let options = read_options(project);
    let (live, mut evidence) = {
        let (mut client, _) = target.connect_protected(project, "dbsage review")?;
        let live = Catalog::read(&mut client, &options)
            .map_err(|e| Error::db(format!("reading the schema of `{name}`"), e))?;
        let evidence = dbsage_review::live::gather(&mut client, &live)
            .map_err(|e| Error::db(format!("reading evidence from `{name}`"), e))?;
        (live, evidence)
    };
    let mut copy = throwaway(project)?;
    let proof = (|| {
        ensure_roles(&mut copy.client, &[&live])?;
        let empty = Catalog::read(&mut copy.client, &options)
            .map_err(|e| Error::db("reading the empty throwaway database", e))?;
        let build = dbsage_diff::plan(&empty, &live, &dbsage_diff::PlanOptions::default());
        dbsage_diff::prove(&mut copy.client, &build, &live, &options)
            .map_err(|e| Error::db(format!("reading the copy of `{name}`"), e))
    })();
    let proof = match proof {
        Ok(proof) => proof,
        Err(e) => {
            copy.close();
            return Err(e);
        }
    };
    if let Some(failure) = proof.failure {
        copy.close();
        // The build runs in one transaction: after a failure the copy holds nothing of E.
        return Err(Error::Failed {
            message: format!(
                "the schema of `{name}` could not be rebuilt on a throwaway copy to review against: statement {} failed: {}\n  {}",
                failure.statement + 1,
                failure.error,
                failure.sql.trim()
            ),
            hint: format!(
                "review against the replayed history instead (without --env); `dbsage diff --from {name} --to migrations` shows the same plan"
            ),
        });
    }
    for difference in proof.not_handled {
        let what = match difference.kind {
            DiffKind::Added => "has",
            DiffKind::Removed => "lacks",
            DiffKind::Changed => "differs on",
        };
        evidence.notes.push(format!(
            "the throwaway copy of `{name}` {what} {}: the review judges the change without it",
            difference.object
        ));
    }
    Ok(LiveCopy {
        copy,
        evidence,
        options,
    })
}

//! `unsupported-reg-types`: a column of a `reg*` type that stores an OID `pg_upgrade` cannot
//! carry over (`regcollation`, `regconfig`, `regdictionary`, `regnamespace`, `regoper`,
//! `regoperator`, `regproc`, `regprocedure`).
//!
//! Why it matters: such a column blocks upgrading the database to a new major version
//! (`regclass`, `regrole` and `regtype` are fine). Fix: store the name as `text` instead.

use super::{finding, Check, Context, Severity};
use crate::sqltext::{qualified, quote_ident};

pub(crate) const CHECK: Check = Check {
    id: "unsupported-reg-types",
    automatic: false,
    run,
};

const UNSUPPORTED: &[&str] = &[
    "regcollation",
    "regconfig",
    "regdictionary",
    "regnamespace",
    "regoper",
    "regoperator",
    "regproc",
    "regprocedure",
];

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    let mut findings = Vec::new();
    for table in ctx
        .catalog
        .tables
        .iter()
        .filter(|t| !ctx.is_managed(&t.schema))
    {
        let name = qualified(&table.schema, &table.name);
        for column in &table.columns {
            let base = column.data_type.trim_end_matches("[]");
            if !UNSUPPORTED.contains(&base) {
                continue;
            }
            let col = quote_ident(&column.name);
            findings.push(
                finding(
                    CHECK.id,
                    Severity::Warning,
                    format!("column {name}.{col}"),
                    format!(
                        "{name}.{col} is of type {}, which pg_upgrade cannot carry to a new major version: the upgrade refuses to run",
                        column.data_type
                    ),
                    Some(format!(
                        "alter table {name} alter column {col} type text using {col}::text;"
                    )),
                )
                .with_evidence(serde_json::json!({"type": column.data_type})),
            );
        }
    }
    findings
}

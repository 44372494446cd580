//! The idempotency check's advice: what to change so a statement survives a second run. It is
//! decided from the failing statement's parse tree and the SQLSTATE (never from the message
//! text): the same SQLSTATE needs different fixes (a missing table after a RENAME wants a
//! catalog guard, after a DROP wants IF EXISTS).

use dbsage_sql::pg_query::protobuf::AlterTableType;
use dbsage_sql::NodeEnum;

use crate::error::hint_for_sqlstate;

const ON_CONFLICT: &str = "a re-run INSERT hits a unique key: use ON CONFLICT DO NOTHING (or ON CONFLICT … DO UPDATE to refresh the row)";
const IF_EXISTS: &str = "the second run finds it already dropped: add IF EXISTS";
const DROP_COLUMN_IF_EXISTS: &str =
    "the column is already dropped on the second run: use DROP COLUMN IF EXISTS";
const RENAME_GUARD: &str = "a RENAME cannot run twice and has no IF NOT EXISTS form: guard it with a catalog check (a DO block testing information_schema/pg_catalog for the old name before renaming)";
const UNIQUE_WRITE: &str = "a re-run write hits a unique key: make it conditional (ON CONFLICT DO NOTHING, or WHERE NOT EXISTS)";
const GONE_ON_RERUN: &str = "the second run no longer finds what the first run changed or removed: guard the statement with IF EXISTS or a catalog check";

/// SQLSTATEs of "does not exist" errors a re-run meets.
fn is_missing(sqlstate: &str) -> bool {
    matches!(sqlstate, "42P01" | "42703" | "42704" | "42883" | "3F000")
}

/// Advice for `statement_text` failing with `sqlstate` when applied a second time.
pub fn rerun_hint(statement_text: &str, sqlstate: &str) -> Option<&'static str> {
    let node = dbsage_sql::parse(statement_text)
        .ok()
        .and_then(|p| p.statements.into_iter().next())
        .map(|s| s.node);
    match (&node, sqlstate) {
        (Some(NodeEnum::InsertStmt(_)), "23505") => Some(ON_CONFLICT),
        (_, "23505") => Some(UNIQUE_WRITE),
        (Some(NodeEnum::RenameStmt(_)), _) => Some(RENAME_GUARD),
        (Some(NodeEnum::DropStmt(d)), s) if !d.missing_ok && is_missing(s) => Some(IF_EXISTS),
        (Some(NodeEnum::AlterTableStmt(a)), s) if is_missing(s) => {
            let drops_column = a.cmds.iter().any(|c| match &c.node {
                Some(NodeEnum::AlterTableCmd(cmd)) => {
                    cmd.subtype == AlterTableType::AtDropColumn as i32 && !cmd.missing_ok
                }
                _ => false,
            });
            Some(if drops_column {
                DROP_COLUMN_IF_EXISTS
            } else {
                GONE_ON_RERUN
            })
        }
        (_, s) if is_missing(s) => Some(GONE_ON_RERUN),
        // "already exists": CREATE … IF NOT EXISTS and friends.
        (_, s) => hint_for_sqlstate(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_rerun_failure_gets_its_own_advice() {
        assert_eq!(
            rerun_hint("insert into plans (slug) values ('free')", "23505"),
            Some(ON_CONFLICT)
        );
        assert_eq!(rerun_hint("drop table legacy", "42P01"), Some(IF_EXISTS));
        assert_eq!(
            rerun_hint("alter table t drop column c", "42703"),
            Some(DROP_COLUMN_IF_EXISTS)
        );
        assert_eq!(
            rerun_hint("alter table t rename column a to b", "42703"),
            Some(RENAME_GUARD)
        );
        assert_eq!(
            rerun_hint("alter table t rename to u", "42P01"),
            Some(RENAME_GUARD)
        );
        assert!(rerun_hint("create table t (a int)", "42P07")
            .unwrap()
            .contains("IF NOT EXISTS"));
    }
}

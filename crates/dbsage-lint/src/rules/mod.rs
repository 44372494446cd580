//! The rules. One rule = one file holding its id, default severity, documentation, check and
//! tests; this module lists them and holds the few readers several rules share.
//!
//! Default severities follow one principle: what will fail at run time or lose data is an
//! `error`; everything else (risk, style, review checklist) is a `warning`.

use dbsage_sql::pg_query::protobuf::{self, AlterTableType, ColumnDef, ConstrType};
use dbsage_sql::NodeEnum;

use crate::ast::{self, QualifiedName};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;
use crate::parse::Unit;

/// A lint rule.
pub(crate) struct Rule {
    /// Stable kebab-case id: part of the interface (config, suppressions, CI).
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// What it checks, why it matters, a bad and a good example, the fix.
    pub doc: &'static str,
    pub check: fn(&FileContext, &mut Vec<Hit>),
}

/// For rules reported by the engine itself rather than by a check.
pub(crate) fn no_check(_: &FileContext, _: &mut Vec<Hit>) {}

macro_rules! rules {
    ($($module:ident),* $(,)?) => {
        $(pub(crate) mod $module;)*
        /// Every rule, in documentation order.
        pub(crate) static ALL: &[&Rule] = &[$(&$module::RULE),*];
    };
}

rules!(
    // The file itself.
    syntax_error,
    migration_filename,
    explicit_transaction_control,
    concurrently_in_transaction,
    // Idempotency.
    non_idempotent_create,
    non_idempotent_add_column,
    non_idempotent_policy,
    non_idempotent_constraint,
    non_idempotent_drop,
    // Security.
    rls_not_enabled,
    rls_enabled_no_policy,
    policy_per_row_auth_call,
    policy_always_true,
    security_definer_search_path,
    security_definer_view,
    grant_all_to_anon,
    // Schema quality.
    foreign_key_without_index,
    foreign_key_without_on_delete,
    missing_timestamps,
    missing_table_comment,
    missing_primary_key,
    prefer_timestamptz,
    prefer_text_over_varchar,
    prefer_bigint_id,
    prefer_identity,
    ban_char,
    // Destructive.
    destructive_statement,
    // Locking on existing tables.
    index_not_concurrent,
    drop_index_not_concurrent,
    constraint_not_valid,
    validate_in_same_transaction,
    set_not_null_existing,
    add_required_column,
    add_column_volatile_default,
    column_type_change,
    unique_constraint_existing,
    rename_breaks_clients,
    vacuum_full_or_cluster,
    refresh_matview_blocking,
    // Suppressions.
    unused_ignore,
    ignore_without_reason,
    // PL/pgSQL bodies (last: the SARIF rule indexes of the others stay as they were).
    plpgsql_syntax_error,
    // The target PostgreSQL version (after the others: SARIF rule indexes stay as they were).
    requires_newer_postgres,
);

/// Rules that judge the file as a whole (the end-of-file model and [`crate::model::FileChanges`])
/// rather than its statements: a file checked in chunks runs them once, not once per chunk.
pub(crate) static FILE_LEVEL: &[&Rule] = &[
    &rls_not_enabled::RULE,
    &rls_enabled_no_policy::RULE,
    &foreign_key_without_index::RULE,
    &missing_timestamps::RULE,
    &missing_table_comment::RULE,
    &missing_primary_key::RULE,
];

pub(crate) fn find(id: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.id == id)
}

/// The `ALTER TABLE` commands of a statement with their table, e.g. to find `ADD COLUMN`.
pub(crate) fn alter_table_cmds(unit: &Unit) -> Vec<(QualifiedName, &protobuf::AlterTableCmd)> {
    let NodeEnum::AlterTableStmt(alter) = &unit.node else {
        return Vec::new();
    };
    if alter.objtype != protobuf::ObjectType::ObjectTable as i32 {
        return Vec::new();
    }
    let Some(relation) = &alter.relation else {
        return Vec::new();
    };
    let table = QualifiedName::of(relation);
    alter
        .cmds
        .iter()
        .filter_map(|c| match &c.node {
            Some(NodeEnum::AlterTableCmd(cmd)) => Some((table.clone(), cmd.as_ref())),
            _ => None,
        })
        .collect()
}

pub(crate) fn is_cmd(cmd: &protobuf::AlterTableCmd, kind: AlterTableType) -> bool {
    cmd.subtype == kind as i32
}

/// The node inside an `ALTER TABLE` command (`ColumnDef`, `Constraint`, …).
pub(crate) fn cmd_def(cmd: &protobuf::AlterTableCmd) -> Option<&NodeEnum> {
    cmd.def.as_deref().and_then(|d| d.node.as_ref())
}

/// Every column definition a statement writes: CREATE TABLE columns, ADD COLUMN, and the new
/// type of ALTER COLUMN TYPE (with the column name, which `ColumnDef` leaves empty there).
pub(crate) fn column_definitions(unit: &Unit) -> Vec<(&str, &ColumnDef)> {
    let mut out = Vec::new();
    match &unit.node {
        NodeEnum::CreateStmt(create) => {
            for element in &create.table_elts {
                if let Some(NodeEnum::ColumnDef(c)) = &element.node {
                    out.push((c.colname.as_str(), c.as_ref()));
                }
            }
        }
        NodeEnum::AlterTableStmt(_) => {
            for (_, cmd) in alter_table_cmds(unit) {
                if let Some(NodeEnum::ColumnDef(c)) = cmd_def(cmd) {
                    let name = if c.colname.is_empty() {
                        cmd.name.as_str()
                    } else {
                        c.colname.as_str()
                    };
                    out.push((name, c));
                }
            }
        }
        _ => {}
    }
    out
}

/// The column's type name as the catalog spells it (`int4`, `varchar`, `timestamp`).
pub(crate) fn column_type(column: &ColumnDef) -> String {
    column
        .type_name
        .as_ref()
        .map(ast::type_name)
        .unwrap_or_default()
}

/// Every constraint a statement adds: table constraints, column constraints and `ADD CONSTRAINT`.
pub(crate) fn added_constraints(unit: &Unit) -> Vec<&protobuf::Constraint> {
    let mut out = Vec::new();
    match &unit.node {
        NodeEnum::CreateStmt(create) => {
            for element in &create.table_elts {
                match &element.node {
                    Some(NodeEnum::ColumnDef(c)) => out.extend(ast::constraints(&c.constraints)),
                    Some(NodeEnum::Constraint(c)) => out.push(c.as_ref()),
                    _ => {}
                }
            }
        }
        NodeEnum::AlterTableStmt(_) => {
            for (_, cmd) in alter_table_cmds(unit) {
                match cmd_def(cmd) {
                    Some(NodeEnum::ColumnDef(c)) => out.extend(ast::constraints(&c.constraints)),
                    Some(NodeEnum::Constraint(c)) => out.push(c.as_ref()),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    out
}

/// How a finding names a table constraint, after a space: `` `name` (a, b)``, the columns
/// alone when unnamed, nothing for an unnamed CHECK.
pub(crate) fn constraint_label(c: &protobuf::Constraint) -> String {
    let keys = if c.fk_attrs.is_empty() {
        &c.keys
    } else {
        &c.fk_attrs
    };
    let columns = ast::strings(keys).join(", ");
    match (c.conname.is_empty(), columns.is_empty()) {
        (false, false) => format!(" `{}` ({columns})", c.conname),
        (false, true) => format!(" `{}`", c.conname),
        (true, false) => format!(" ({columns})"),
        (true, true) => String::new(),
    }
}

pub(crate) fn has_constraint(column: &ColumnDef, kind: ConstrType) -> bool {
    ast::constraints(&column.constraints).any(|c| ast::is_constraint(c, kind))
}

/// The file offset of a node location inside `unit` (locations count from where the parsed
/// text started: the file, a chunk of it, or a statement inside a DO block).
pub(crate) fn absolute_location(unit: &Unit, location: i32) -> usize {
    if location < 0 {
        return unit.offset;
    }
    let absolute = unit.location_base + location as usize;
    if absolute >= unit.offset && absolute <= unit.offset + unit.len {
        absolute
    } else {
        unit.offset
    }
}

/// A finding at a column definition (its name up to the next comma), or at the statement when
/// the parser gives no location.
pub(crate) fn at_column(
    cx: &FileContext,
    unit: &Unit,
    column: &ColumnDef,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Hit {
    let offset = absolute_location(unit, column.location);
    if offset == unit.offset {
        return Hit::at(unit, message, fix);
    }
    let len = element_text(cx, unit, offset).trim_end().len();
    Hit::span(offset, len, message, fix)
}

/// The text of one element of a comma-separated list starting at `offset` (a column or
/// constraint definition), up to the next comma or closing parenthesis at depth zero.
pub(crate) fn element_text<'a>(cx: &FileContext<'a>, unit: &Unit, offset: usize) -> &'a str {
    let end_of_unit = (unit.offset + unit.len).min(cx.text.len());
    let text = cx.text.get(offset..end_of_unit).unwrap_or("");
    let mut depth = 0i32;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return &text[..i],
            ')' => depth -= 1,
            ',' if depth == 0 => return &text[..i],
            _ => {}
        }
    }
    text
}

#[cfg(test)]
pub(crate) mod testing {
    //! Lints SQL as the last of a list of migration files and keeps one rule's findings.

    use crate::{lint, Finding, LintConfig, SourceFile};

    pub fn run_with(rule: &str, history: &[&str], sql: &str, config: &LintConfig) -> Vec<Finding> {
        let mut files: Vec<SourceFile> = history
            .iter()
            .enumerate()
            .map(|(i, text)| SourceFile {
                path: format!(
                    "migrations/{}_history_{i}.sql",
                    20240101000000u64 + i as u64
                )
                .into(),
                text: text.to_string(),
            })
            .collect();
        let under_test: std::path::PathBuf = "migrations/20250101000000_under_test.sql".into();
        files.push(SourceFile {
            path: under_test.clone(),
            text: sql.to_string(),
        });
        let config = LintConfig {
            threads: 1,
            ..config.clone()
        };
        lint(&files, &config)
            .unwrap()
            .into_iter()
            .filter(|f| f.rule == rule && f.file == under_test)
            .collect()
    }

    /// Findings of `rule` for `sql` as the only migration.
    pub fn run(rule: &str, sql: &str) -> Vec<Finding> {
        run_with(rule, &[], sql, &LintConfig::default())
    }

    /// Findings of `rule` for `sql` after the `history` migrations ran.
    pub fn run_after(rule: &str, history: &[&str], sql: &str) -> Vec<Finding> {
        run_with(rule, history, sql, &LintConfig::default())
    }

    /// A table that exists before the migration under test.
    pub const EXISTING: &str = "create table if not exists t (id bigint generated always as identity primary key, a text, b int);";
}

//! Functions and procedures: `pg_get_functiondef` is already a complete `CREATE OR REPLACE`;
//! what `OR REPLACE` cannot change (result type, argument names, kind) is dropped and created.

use dbsage_catalog::{Catalog, Function, FunctionKind};

use crate::builder::{Builder, Phase};
use crate::hazard::Hazard::*;
use crate::sql::{mentions, qualified};

/// `function public.f(integer)` as catalog keys name it.
pub(crate) fn key(f: &Function) -> String {
    format!(
        "{} {}.{}({})",
        f.kind.as_str(),
        f.schema,
        f.name,
        f.argument_types
    )
}

/// `FUNCTION public.f(integer)`, for DROP, GRANT, COMMENT and OWNER statements.
pub(crate) fn signature(f: &Function) -> String {
    let word = match f.kind {
        FunctionKind::Procedure => "PROCEDURE",
        FunctionKind::Aggregate => "AGGREGATE",
        _ => "FUNCTION",
    };
    // An aggregate of no arguments (`count(*)`-like) is spelled with `*`.
    let arguments = if f.kind == FunctionKind::Aggregate && f.argument_types.is_empty() {
        "*"
    } else {
        &f.argument_types
    };
    format!("{word} {}({arguments})", qualified(&f.schema, &f.name))
}

/// The routine in GRANT position: GRANT has no `ON AGGREGATE`, aggregates are functions there.
pub(crate) fn grant_signature(f: &Function) -> String {
    match f.kind {
        FunctionKind::Aggregate => signature(f).replacen("AGGREGATE", "FUNCTION", 1),
        _ => signature(f),
    }
}

fn find<'a>(catalog: &'a Catalog, f: &Function) -> Option<&'a Function> {
    catalog.functions.iter().find(|x| key(x) == key(f))
}

pub(crate) fn plan(b: &mut Builder, before: &mut Catalog, to: &Catalog) {
    let mut recreated = Vec::new();
    for old in &before.functions {
        let Some(new) = find(to, old) else {
            // One taking or returning a row type goes before its table; an aggregate before
            // the functions it calls.
            let phase = if old.kind == FunctionKind::Aggregate || uses_a_table_type(old, before) {
                Phase::DropRoutinesChanged
            } else {
                Phase::DropRoutines
            };
            b.push(
                phase,
                key(old),
                format!("DROP {}", signature(old)),
                &[NotReversible],
            );
            continue;
        };
        if old.definition != new.definition
            && (old.kind != new.kind || old.result != new.result || old.arguments != new.arguments)
        {
            b.push(
                Phase::DropRoutinesChanged,
                key(old),
                format!("DROP {}", signature(old)),
                &[NotReversible],
            );
            recreated.push(key(old));
        }
    }
    for new in &to.functions {
        let old = find(before, new).filter(|o| !recreated.contains(&key(o)));
        if old.is_some_and(|o| o.definition == new.definition) {
            continue;
        }
        let Some(definition) = &new.definition else {
            continue;
        };
        // An aggregate calls functions of the plan: after them. A SQL-standard body is parsed
        // when created (check_function_bodies does not apply): after the tables it reads.
        let phase = if new.kind == FunctionKind::Aggregate
            || uses_a_table_type(new, to)
            || has_sql_standard_body(new)
        {
            Phase::CreateRoutinesLate
        } else {
            Phase::CreateRoutines
        };
        b.push(phase, key(new), definition.trim_end().to_string(), &[]);
    }
    before.functions.retain(|f| !recreated.contains(&key(f)));
}

/// Functions with a SQL-standard body that read a relation whose columns change (`changed`):
/// PostgreSQL records what such a body reads and refuses to alter it underneath, so they are
/// dropped before the tables change and created after, as views are. Returns them, as
/// changed relations, for the views that call them.
pub(crate) fn plan_readers(
    b: &mut Builder,
    before: &mut Catalog,
    to: &Catalog,
    changed: &[(String, String)],
) -> Vec<(String, String)> {
    let (mut readers, mut dropped) = (Vec::new(), Vec::new());
    for old in before.functions.iter().filter(|f| has_sql_standard_body(f)) {
        let Some(definition) = old.definition.as_deref() else {
            continue;
        };
        let reads_changed = changed
            .iter()
            .any(|(schema, name)| crate::sql::reads(definition, &old.schema, schema, name));
        let Some(new) = find(to, old).filter(|_| reads_changed) else {
            continue;
        };
        b.push(
            Phase::DropRoutinesChanged,
            key(old),
            format!("DROP {}", signature(old)),
            &[],
        );
        // A changed definition is already created by [`plan`], after the tables.
        if new.definition == old.definition {
            b.push(
                Phase::CreateRoutinesLate,
                key(new),
                definition.trim_end().to_string(),
                &[],
            );
        }
        readers.push((old.schema.clone(), old.name.clone()));
        dropped.push(key(old));
    }
    // Dropped and created again: their grants, owner and comment come back.
    before.functions.retain(|f| !dropped.contains(&key(f)));
    readers
}

/// Functions the plan drops and creates again, as `(schema, name)`: in `from` and `to`, but
/// taken out of the planner's copy `before`.
pub(crate) fn recreated(from: &Catalog, before: &Catalog, to: &Catalog) -> Vec<(String, String)> {
    let keys = |catalog: &Catalog| -> std::collections::HashSet<String> {
        catalog.functions.iter().map(key).collect()
    };
    let (kept, wanted) = (keys(before), keys(to));
    from.functions
        .iter()
        .filter(|f| {
            let key = key(f);
            !kept.contains(&key) && wanted.contains(&key)
        })
        .map(|f| (f.schema.clone(), f.name.clone()))
        .collect()
}

/// `BEGIN ATOMIC ... END` or `RETURN expression` (PostgreSQL 14+) rather than a quoted body.
fn has_sql_standard_body(f: &Function) -> bool {
    f.language == "sql"
        && f.definition.as_deref().is_some_and(|definition| {
            definition
                .lines()
                .any(|line| line.starts_with("BEGIN ATOMIC") || line.starts_with("RETURN "))
        })
}

/// A function taking or returning a table's row type must wait for the table.
fn uses_a_table_type(f: &Function, to: &Catalog) -> bool {
    let signature = format!("{} {}", f.arguments, f.result.as_deref().unwrap_or(""));
    to.tables
        .iter()
        .map(|t| &t.name)
        .chain(to.views.iter().map(|v| &v.name))
        .any(|name| mentions(&signature, name))
}

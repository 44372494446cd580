//! COMMENT ON for every object that carries one.

use dbsage_catalog::Catalog;

use crate::builder::{Builder, Phase};
use crate::routines::{key as routine_key, signature};
use crate::sql::{ident, literal, qualified};

fn comment(
    b: &mut Builder,
    object: String,
    target: String,
    old: Option<&Option<String>>,
    new: &Option<String>,
) {
    let old = old.and_then(|c| c.as_ref());
    if old == new.as_ref() {
        return;
    }
    let value = new.as_deref().map(literal).unwrap_or_else(|| "NULL".into());
    b.push(
        Phase::Comments,
        format!("comment {object}"),
        format!("COMMENT ON {target} IS {value}"),
        &[],
    );
}

pub(crate) fn plan(b: &mut Builder, before: &Catalog, to: &Catalog) {
    for new in &to.schemas {
        let old = before.schemas.iter().find(|s| s.name == new.name);
        comment(
            b,
            format!("schema {}", new.name),
            format!("SCHEMA {}", ident(&new.name)),
            old.map(|o| &o.comment),
            &new.comment,
        );
    }
    for new in &to.enums {
        let old = before.enum_type(&new.schema, &new.name);
        comment(
            b,
            format!("enum {}.{}", new.schema, new.name),
            format!("TYPE {}", qualified(&new.schema, &new.name)),
            old.map(|o| &o.comment),
            &new.comment,
        );
    }
    for new in &to.domains {
        let old = before
            .domains
            .iter()
            .find(|d| d.schema == new.schema && d.name == new.name);
        comment(
            b,
            format!("domain {}.{}", new.schema, new.name),
            format!("DOMAIN {}", qualified(&new.schema, &new.name)),
            old.map(|o| &o.comment),
            &new.comment,
        );
    }
    for new in &to.composite_types {
        let old = before
            .composite_types
            .iter()
            .find(|d| d.schema == new.schema && d.name == new.name);
        comment(
            b,
            format!("type {}.{}", new.schema, new.name),
            format!("TYPE {}", qualified(&new.schema, &new.name)),
            old.map(|o| &o.comment),
            &new.comment,
        );
    }
    for new in &to.sequences {
        let old = before.sequence(&new.schema, &new.name);
        comment(
            b,
            format!("sequence {}.{}", new.schema, new.name),
            format!("SEQUENCE {}", qualified(&new.schema, &new.name)),
            old.map(|o| &o.comment),
            &new.comment,
        );
    }
    for new in &to.functions {
        let old = before
            .functions
            .iter()
            .find(|f| routine_key(f) == routine_key(new));
        comment(
            b,
            routine_key(new),
            signature(new),
            old.map(|o| &o.comment),
            &new.comment,
        );
    }
    let old_tables = crate::sql::tables_by_name(before);
    for new in &to.tables {
        let old = old_tables
            .get(&(new.schema.as_str(), new.name.as_str()))
            .copied();
        let relation = format!("{}.{}", new.schema, new.name);
        let name = qualified(&new.schema, &new.name);
        comment(
            b,
            format!("table {relation}"),
            format!("TABLE {name}"),
            old.map(|o| &o.comment),
            &new.comment,
        );
        for column in &new.columns {
            let was = old.and_then(|t| t.columns.iter().find(|c| c.name == column.name));
            comment(
                b,
                format!("column {relation}.{}", column.name),
                format!("COLUMN {name}.{}", ident(&column.name)),
                was.map(|c| &c.comment),
                &column.comment,
            );
        }
        for constraint in &new.constraints {
            let was = old.and_then(|t| {
                t.constraints
                    .iter()
                    .find(|c| c.name == constraint.name && c.definition == constraint.definition)
            });
            comment(
                b,
                format!("constraint {relation}.{}", constraint.name),
                format!("CONSTRAINT {} ON {name}", ident(&constraint.name)),
                was.map(|c| &c.comment),
                &constraint.comment,
            );
        }
        for index in &new.indexes {
            let was = old.and_then(|t| {
                t.indexes
                    .iter()
                    .find(|i| i.name == index.name && i.definition == index.definition)
            });
            comment(
                b,
                format!("index {}.{}", new.schema, index.name),
                format!("INDEX {}", qualified(&new.schema, &index.name)),
                was.map(|i| &i.comment),
                &index.comment,
            );
        }
        for trigger in &new.triggers {
            let was = old.and_then(|t| {
                t.triggers
                    .iter()
                    .find(|x| x.name == trigger.name && x.definition == trigger.definition)
            });
            comment(
                b,
                format!("trigger {relation}.{}", trigger.name),
                format!("TRIGGER {} ON {name}", ident(&trigger.name)),
                was.map(|t| &t.comment),
                &trigger.comment,
            );
        }
    }
    for new in &to.views {
        let old = before.view(&new.schema, &new.name);
        let kind = if new.materialized {
            "materialized view"
        } else {
            "view"
        };
        let relation = format!("{}.{}", new.schema, new.name);
        let name = qualified(&new.schema, &new.name);
        comment(
            b,
            format!("{kind} {relation}"),
            format!("{} {name}", kind.to_uppercase()),
            old.map(|o| &o.comment),
            &new.comment,
        );
        for column in &new.columns {
            let was = old.and_then(|t| t.columns.iter().find(|c| c.name == column.name));
            comment(
                b,
                format!("column {relation}.{}", column.name),
                format!("COLUMN {name}.{}", ident(&column.name)),
                was.map(|c| &c.comment),
                &column.comment,
            );
        }
        for index in &new.indexes {
            let was = old.and_then(|t| t.indexes.iter().find(|i| i.name == index.name));
            comment(
                b,
                format!("index {}.{}", new.schema, index.name),
                format!("INDEX {}", qualified(&new.schema, &index.name)),
                was.map(|i| &i.comment),
                &index.comment,
            );
        }
        for trigger in &new.triggers {
            let was = old.and_then(|t| t.triggers.iter().find(|x| x.name == trigger.name));
            comment(
                b,
                format!("trigger {relation}.{}", trigger.name),
                format!("TRIGGER {} ON {name}", ident(&trigger.name)),
                was.map(|t| &t.comment),
                &trigger.comment,
            );
        }
    }
}

//! Schemas, extensions, enums, domains and composite types.

use dbsage_catalog::{Catalog, CompositeType, Domain, EnumType};

use crate::builder::{Builder, Phase};
use crate::hazard::Hazard::*;
use crate::sql::{ident, literal, qualified};

/// Returns the tables whose columns change type with a recreated domain: views reading them
/// must be recreated around the change.
pub(crate) fn plan(b: &mut Builder, before: &mut Catalog, to: &Catalog) -> Vec<(String, String)> {
    schemas_and_extensions(b, before, to);
    for old in &before.enums {
        if to.enum_type(&old.schema, &old.name).is_none() {
            b.push(
                Phase::DropTypes,
                format!("enum {}.{}", old.schema, old.name),
                format!("DROP TYPE {}", qualified(&old.schema, &old.name)),
                &[NotReversible],
            );
        }
    }
    let mut recreated = Vec::new();
    for new in &to.enums {
        match before.enum_type(&new.schema, &new.name) {
            None => create_enum(b, Phase::CreateTypes, new),
            Some(old) if old.labels != new.labels => {
                if !enum_labels_added(b, old, new) {
                    recreate_enum(b, new, before, to);
                    recreated.push((new.schema.clone(), new.name.clone()));
                }
            }
            Some(_) => {}
        }
    }
    before
        .enums
        .retain(|e| !recreated.contains(&(e.schema.clone(), e.name.clone())));
    let retyped = domains(b, before, to);
    // Recreated domains come back without their owner and comment: compare against nothing.
    before.domains.retain(|d| {
        to.domains
            .iter()
            .find(|n| n.schema == d.schema && n.name == d.name)
            .is_none_or(|n| n.base_type == d.base_type && n.collation == d.collation)
    });
    composites(b, before, to);
    retyped
}

fn schemas_and_extensions(b: &mut Builder, before: &Catalog, to: &Catalog) {
    for old in &before.schemas {
        if !to.schemas.iter().any(|s| s.name == old.name) {
            b.push(
                Phase::DropSchemas,
                format!("schema {}", old.name),
                format!("DROP SCHEMA {}", ident(&old.name)),
                &[NotReversible],
            );
        }
    }
    for new in &to.schemas {
        if !before.schemas.iter().any(|s| s.name == new.name) {
            b.push(
                Phase::CreateSchemas,
                format!("schema {}", new.name),
                format!("CREATE SCHEMA {}", ident(&new.name)),
                &[],
            );
        }
    }
    for old in &before.extensions {
        if !to.extensions.iter().any(|e| e.name == old.name) {
            b.push(
                Phase::DropExtensions,
                format!("extension {}", old.name),
                format!("DROP EXTENSION {}", ident(&old.name)),
                &[DeletesData, NotReversible],
            );
        }
    }
    for new in &to.extensions {
        match before.extensions.iter().find(|e| e.name == new.name) {
            None => b.push(
                Phase::CreateExtensions,
                format!("extension {}", new.name),
                format!(
                    "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {} VERSION {}",
                    ident(&new.name),
                    ident(&new.schema),
                    literal(&new.version)
                ),
                &[],
            ),
            Some(old) => {
                if old.schema != new.schema {
                    b.push(
                        Phase::CreateExtensions,
                        format!("extension {}", new.name),
                        format!(
                            "ALTER EXTENSION {} SET SCHEMA {}",
                            ident(&new.name),
                            ident(&new.schema)
                        ),
                        &[],
                    );
                }
                if old.version != new.version {
                    b.push(
                        Phase::CreateExtensions,
                        format!("extension {}", new.name),
                        format!(
                            "ALTER EXTENSION {} UPDATE TO {}",
                            ident(&new.name),
                            literal(&new.version)
                        ),
                        &[NotReversible],
                    );
                }
            }
        }
    }
}

fn create_enum(b: &mut Builder, phase: Phase, new: &EnumType) {
    let labels: Vec<String> = new.labels.iter().map(|l| literal(l)).collect();
    b.push(
        phase,
        format!("enum {}.{}", new.schema, new.name),
        format!(
            "CREATE TYPE {} AS ENUM ({})",
            qualified(&new.schema, &new.name),
            labels.join(", ")
        ),
        &[],
    );
}

/// `ALTER TYPE ... ADD VALUE` for each new label, when the old labels keep their order. False
/// when a label was removed or moved: that needs the type recreated.
fn enum_labels_added(b: &mut Builder, old: &EnumType, new: &EnumType) -> bool {
    let kept: Vec<&String> = new
        .labels
        .iter()
        .filter(|l| old.labels.contains(l))
        .collect();
    if kept.len() != old.labels.len() || kept.iter().zip(&old.labels).any(|(a, b)| *a != b) {
        return false;
    }
    for (position, label) in new.labels.iter().enumerate() {
        if old.labels.contains(label) {
            continue;
        }
        let place = match new.labels[position + 1..]
            .iter()
            .find(|l| old.labels.contains(l))
        {
            Some(next) => format!(" BEFORE {}", literal(next)),
            None => String::new(),
        };
        b.push(
            Phase::AlterTypes,
            format!("enum {}.{}", new.schema, new.name),
            format!(
                "ALTER TYPE {} ADD VALUE IF NOT EXISTS {}{place}",
                qualified(&new.schema, &new.name),
                literal(label)
            ),
            &[NotReversible],
        );
    }
    true
}

/// A removed or reordered label: rename the old type away, create the new one, convert every
/// column through text (rows holding a removed label make it fail: nothing is lost silently).
fn recreate_enum(b: &mut Builder, new: &EnumType, before: &Catalog, to: &Catalog) {
    let object = format!("enum {}.{}", new.schema, new.name);
    let old_name = format!("{}__dbsage_old", new.name);
    b.push(
        Phase::AlterTypes,
        object.clone(),
        format!(
            "ALTER TYPE {} RENAME TO {}",
            qualified(&new.schema, &new.name),
            ident(&old_name)
        ),
        &[NotReversible],
    );
    create_enum(b, Phase::AlterTypes, new);
    convert_columns(b, before, to, (&new.schema, &new.name), "text");
    b.push(
        Phase::AlterTypes,
        object,
        format!("DROP TYPE {}", qualified(&new.schema, &old_name)),
        &[NotReversible],
    );
}

/// Whether a column type as `format_type` prints it is `schema.name` (or an array of it).
pub(crate) fn names_type(data_type: &str, schema: &str, name: &str) -> bool {
    let base = data_type.trim_end_matches("[]");
    base == format!("{schema}.{name}")
        || base == qualified(schema, name)
        || (schema == "public" && (base == name || base == ident(name)))
}

fn domain_sql(domain: &Domain) -> String {
    let mut sql = format!(
        "CREATE DOMAIN {} AS {}",
        qualified(&domain.schema, &domain.name),
        domain.base_type
    );
    if let Some(collation) = &domain.collation {
        sql.push_str(&format!(" COLLATE {collation}"));
    }
    if let Some(default) = &domain.default {
        sql.push_str(&format!(" DEFAULT {default}"));
    }
    if domain.not_null {
        sql.push_str(" NOT NULL");
    }
    for constraint in &domain.constraints {
        sql.push_str(&format!(
            " CONSTRAINT {} {}",
            ident(&constraint.name),
            constraint.definition
        ));
    }
    sql
}

fn domains(b: &mut Builder, before: &Catalog, to: &Catalog) -> Vec<(String, String)> {
    let mut retyped = Vec::new();
    let find = |c: &'_ Catalog, d: &Domain| {
        c.domains
            .iter()
            .find(|x| x.schema == d.schema && x.name == d.name)
            .cloned()
    };
    for old in &before.domains {
        if find(to, old).is_none() {
            b.push(
                Phase::DropTypes,
                format!("domain {}.{}", old.schema, old.name),
                format!("DROP DOMAIN {}", qualified(&old.schema, &old.name)),
                &[NotReversible],
            );
        }
    }
    for new in &to.domains {
        let object = format!("domain {}.{}", new.schema, new.name);
        let name = qualified(&new.schema, &new.name);
        let Some(old) = find(before, new) else {
            b.push(Phase::CreateTypes, object, domain_sql(new), &[]);
            continue;
        };
        if old.base_type != new.base_type || old.collation != new.collation {
            retyped.extend(recreate_domain(b, new, before, to));
            continue;
        }
        if old.default != new.default {
            let sql = match &new.default {
                Some(default) => format!("ALTER DOMAIN {name} SET DEFAULT {default}"),
                None => format!("ALTER DOMAIN {name} DROP DEFAULT"),
            };
            b.push(Phase::AlterTypes, object.clone(), sql, &[]);
        }
        if old.not_null != new.not_null {
            let sql = if new.not_null {
                format!("ALTER DOMAIN {name} SET NOT NULL")
            } else {
                format!("ALTER DOMAIN {name} DROP NOT NULL")
            };
            b.push(Phase::AlterTypes, object.clone(), sql, &[]);
        }
        for constraint in &old.constraints {
            if !new.constraints.contains(constraint) {
                b.push(
                    Phase::AlterTypes,
                    object.clone(),
                    format!(
                        "ALTER DOMAIN {name} DROP CONSTRAINT {}",
                        ident(&constraint.name)
                    ),
                    &[],
                );
            }
        }
        for constraint in &new.constraints {
            if !old.constraints.contains(constraint) {
                b.push(
                    Phase::AlterTypes,
                    object.clone(),
                    format!(
                        "ALTER DOMAIN {name} ADD CONSTRAINT {} {}",
                        ident(&constraint.name),
                        constraint.definition
                    ),
                    &[],
                );
            }
        }
    }
    retyped
}

/// A domain whose base type or collation changes: no ALTER DOMAIN does that. The old one is
/// renamed away, the new one created, every column converted through the new base type
/// (a value that does not fit makes it fail: nothing is lost silently), the old one dropped.
fn recreate_domain(
    b: &mut Builder,
    new: &Domain,
    before: &Catalog,
    to: &Catalog,
) -> Vec<(String, String)> {
    let object = format!("domain {}.{}", new.schema, new.name);
    let old_name = format!("{}__dbsage_old", new.name);
    let type_name = qualified(&new.schema, &new.name);
    b.push(
        Phase::AlterTypes,
        object.clone(),
        format!("ALTER DOMAIN {type_name} RENAME TO {}", ident(&old_name)),
        &[NotReversible],
    );
    b.push(Phase::AlterTypes, object.clone(), domain_sql(new), &[]);
    let retyped = convert_columns(b, before, to, (&new.schema, &new.name), &new.base_type);
    b.push(
        Phase::AlterTypes,
        object,
        format!("DROP DOMAIN {}", qualified(&new.schema, &old_name)),
        &[NotReversible],
    );
    retyped
}

/// Every column of type `schema.name` (or an array of it) in both catalogs converted to the
/// recreated type through `through` (rows that do not fit make it fail: nothing is lost
/// silently); returns the tables changed.
fn convert_columns(
    b: &mut Builder,
    before: &Catalog,
    to: &Catalog,
    (schema, name): (&str, &str),
    through: &str,
) -> Vec<(String, String)> {
    let type_name = qualified(schema, name);
    let mut converted = Vec::new();
    for table in &to.tables {
        let Some(old_table) = before.table(&table.schema, &table.name) else {
            continue;
        };
        if table.partition_of.is_some() {
            continue;
        }
        for column in &table.columns {
            let existed = old_table
                .columns
                .iter()
                .any(|c| c.name == column.name && names_type(&c.data_type, schema, name));
            if !existed || !names_type(&column.data_type, schema, name) {
                continue;
            }
            let array = if column.data_type.ends_with("[]") {
                "[]"
            } else {
                ""
            };
            let col = ident(&column.name);
            let mut sql = format!("ALTER TABLE {} ", qualified(&table.schema, &table.name));
            if column.default.is_some() {
                sql.push_str(&format!("ALTER COLUMN {col} DROP DEFAULT, "));
            }
            sql.push_str(&format!(
                "ALTER COLUMN {col} TYPE {type_name}{array} USING {col}::{through}{array}::{type_name}{array}"
            ));
            if let Some(default) = &column.default {
                sql.push_str(&format!(", ALTER COLUMN {col} SET DEFAULT {default}"));
            }
            b.push(
                Phase::AlterTypes,
                format!("column {}.{}.{}", table.schema, table.name, column.name),
                sql,
                &[
                    DeletesData,
                    RewritesTable,
                    AccessExclusiveLock,
                    NotReversible,
                ],
            );
            converted.push((table.schema.clone(), table.name.clone()));
        }
    }
    converted
}

fn composites(b: &mut Builder, before: &Catalog, to: &Catalog) {
    let find = |c: &'_ Catalog, t: &CompositeType| {
        c.composite_types
            .iter()
            .find(|x| x.schema == t.schema && x.name == t.name)
            .cloned()
    };
    for old in &before.composite_types {
        if find(to, old).is_none() {
            b.push(
                Phase::DropTypes,
                format!("type {}.{}", old.schema, old.name),
                format!("DROP TYPE {}", qualified(&old.schema, &old.name)),
                &[NotReversible],
            );
        }
    }
    for new in &to.composite_types {
        let object = format!("type {}.{}", new.schema, new.name);
        let name = qualified(&new.schema, &new.name);
        let Some(old) = find(before, new) else {
            let attributes: Vec<String> = new
                .attributes
                .iter()
                .map(|a| format!("{} {}", ident(&a.name), a.data_type))
                .collect();
            b.push(
                Phase::CreateTypes,
                object,
                format!("CREATE TYPE {name} AS ({})", attributes.join(", ")),
                &[],
            );
            continue;
        };
        let mut actions = Vec::new();
        for attribute in &old.attributes {
            if !new.attributes.iter().any(|a| a.name == attribute.name) {
                actions.push(format!("DROP ATTRIBUTE {}", ident(&attribute.name)));
            }
        }
        for attribute in &new.attributes {
            match old.attributes.iter().find(|a| a.name == attribute.name) {
                None => actions.push(format!(
                    "ADD ATTRIBUTE {} {}",
                    ident(&attribute.name),
                    attribute.data_type
                )),
                Some(a) if a.data_type != attribute.data_type => actions.push(format!(
                    "ALTER ATTRIBUTE {} TYPE {}",
                    ident(&attribute.name),
                    attribute.data_type
                )),
                Some(_) => {}
            }
        }
        if !actions.is_empty() {
            b.push(
                Phase::AlterTypes,
                object,
                format!("ALTER TYPE {name} {}", actions.join(", ")),
                &[NotReversible],
            );
        }
    }
}

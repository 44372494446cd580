//! Tables, views and materialized views, assembled from one query for the relations and one
//! per kind of part (columns, constraints, indexes, policies, triggers). The first query
//! decides which relations count; the part queries fetch the parts of exactly those, by OID.
//! Parts are joined to their relation here, in memory, and the OIDs are then dropped.

use std::collections::HashMap;

use postgres::{Error, GenericClient};

use super::acl::parse_acl;
use super::column_names::ColumnNames;
use super::index_definition::DefinitionWriter;
use super::sql::{acl_items, comment_join, not_extension_member, VISIBLE_NAMESPACE};
use super::{columns, constraints, indexes, policies, triggers};
use crate::model::{Table, TableKind, View};

/// The tables and views of a database, each sorted by schema and name.
pub(super) struct Relations {
    pub tables: Vec<Table>,
    pub views: Vec<View>,
    /// The names of these relations and their columns, by OID and column number.
    pub names: ColumnNames,
}

/// Where the relation with a given OID landed.
#[derive(Clone, Copy)]
enum Slot {
    Table(usize),
    View(usize),
}

pub(super) fn read(
    client: &mut impl GenericClient,
    excluded: &[String],
) -> Result<Relations, Error> {
    let mut relations = Relations {
        tables: Vec::new(),
        views: Vec::new(),
        names: ColumnNames::default(),
    };
    let slots = super::timed("relations", || {
        read_relations(client, excluded, &mut relations)
    })?;
    let slot = |oid: &u32| slots.get(oid).copied();
    let all: Vec<u32> = slots.keys().copied().collect();
    let tables: Vec<u32> = slots
        .iter()
        .filter(|(_, slot)| matches!(slot, Slot::Table(_)))
        .map(|(oid, _)| *oid)
        .collect();

    let read_columns = super::timed("columns", || columns::read(client, &all))?;
    let relation_names: HashMap<u32, (String, String)> = slots
        .iter()
        .map(|(oid, slot)| {
            let (schema, name) = match *slot {
                Slot::Table(i) => (&relations.tables[i].schema, &relations.tables[i].name),
                Slot::View(i) => (&relations.views[i].schema, &relations.views[i].name),
            };
            (*oid, (schema.clone(), name.clone()))
        })
        .collect();
    let names = ColumnNames::new(relation_names, &read_columns);
    let writer = DefinitionWriter::read(client)?;
    for read in read_columns {
        match slot(&read.relation) {
            Some(Slot::Table(i)) => relations.tables[i].columns.push(read.column),
            Some(Slot::View(i)) => relations.views[i].columns.push(read.column),
            None => {}
        }
    }
    for (oid, constraint) in super::timed("constraints", || {
        constraints::read(client, &tables, &names, &writer)
    })? {
        if let Some(Slot::Table(i)) = slot(&oid) {
            relations.tables[i].constraints.push(constraint);
        }
    }
    for (oid, index) in super::timed("indexes", || indexes::read(client, &all, &names, &writer))? {
        match slot(&oid) {
            Some(Slot::Table(i)) => relations.tables[i].indexes.push(index),
            Some(Slot::View(i)) => relations.views[i].indexes.push(index),
            None => {}
        }
    }
    for (oid, policy) in super::timed("policies", || policies::read(client, &tables))? {
        if let Some(Slot::Table(i)) = slot(&oid) {
            relations.tables[i].policies.push(policy);
        }
    }
    for (oid, trigger) in super::timed("triggers", || triggers::read(client, &all))? {
        match slot(&oid) {
            Some(Slot::Table(i)) => relations.tables[i].triggers.push(trigger),
            Some(Slot::View(i)) => relations.views[i].triggers.push(trigger),
            None => {}
        }
    }

    // Columns arrive in attnum order; everything else is put in name order.
    for table in &mut relations.tables {
        table.constraints.sort_by(|a, b| a.name.cmp(&b.name));
        table.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        table.policies.sort_by(|a, b| a.name.cmp(&b.name));
        table.triggers.sort_by(|a, b| a.name.cmp(&b.name));
    }
    for view in &mut relations.views {
        view.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        view.triggers.sort_by(|a, b| a.name.cmp(&b.name));
    }
    relations
        .tables
        .sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    relations
        .views
        .sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    relations.names = names;
    Ok(relations)
}

/// Reads the relations themselves (without parts) and returns where each OID went.
fn read_relations(
    client: &mut impl GenericClient,
    excluded: &[String],
    relations: &mut Relations,
) -> Result<HashMap<u32, Slot>, Error> {
    let sql = format!(
        "SELECT c.oid, n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind, \
                pg_get_userbyid(c.relowner)::text AS owner, c.relpersistence = 'u' AS unlogged, \
                c.relrowsecurity, c.relforcerowsecurity, c.reltuples, \
                coalesce(c.reloptions, '{{}}') AS options, \
                CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key, \
                CASE WHEN c.relispartition THEN \
                    (SELECT pn.nspname || '.' || pc.relname FROM pg_inherits inh \
                       JOIN pg_class pc ON pc.oid = inh.inhparent \
                       JOIN pg_namespace pn ON pn.oid = pc.relnamespace \
                      WHERE inh.inhrelid = c.oid) \
                END AS partition_of, \
                pg_get_expr(c.relpartbound, c.oid) AS partition_bound, \
                CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS view_definition, \
                {grants} AS grants, \
                d.description AS comment \
         FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         {comment} \
         WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND {VISIBLE_NAMESPACE} AND {not_member}",
        grants = acl_items("c.relacl", Some(("r", "c.relowner"))),
        comment = comment_join("d", "pg_class", "c.oid", "0"),
        not_member = not_extension_member("pg_class", "c.oid"),
    );
    let rows = super::query_excluding(client, &sql, excluded)?;
    let mut slots = HashMap::with_capacity(rows.len());
    for row in &rows {
        let oid: u32 = row.try_get("oid")?;
        let grants = parse_acl(&row.try_get::<_, Vec<String>>("grants")?);
        let kind = match row.try_get::<_, &str>("kind")? {
            "p" => TableKind::Partitioned,
            "f" => TableKind::Foreign,
            "r" => TableKind::Table,
            materialized => {
                let mut options: Vec<String> = row.try_get("options")?;
                options.sort();
                slots.insert(oid, Slot::View(relations.views.len()));
                relations.views.push(View {
                    schema: row.try_get("schema")?,
                    name: row.try_get("name")?,
                    materialized: materialized == "m",
                    definition: row.try_get("view_definition")?,
                    options,
                    owner: row.try_get("owner")?,
                    columns: Vec::new(),
                    indexes: Vec::new(),
                    triggers: Vec::new(),
                    grants,
                    comment: row.try_get("comment")?,
                });
                continue;
            }
        };
        let reltuples: f32 = row.try_get("reltuples")?;
        slots.insert(oid, Slot::Table(relations.tables.len()));
        relations.tables.push(Table {
            schema: row.try_get("schema")?,
            name: row.try_get("name")?,
            kind,
            owner: row.try_get("owner")?,
            unlogged: row.try_get("unlogged")?,
            columns: Vec::new(),
            constraints: Vec::new(),
            indexes: Vec::new(),
            rls_enabled: row.try_get("relrowsecurity")?,
            rls_forced: row.try_get("relforcerowsecurity")?,
            policies: Vec::new(),
            triggers: Vec::new(),
            grants,
            comment: row.try_get("comment")?,
            partition_key: row.try_get("partition_key")?,
            partition_of: row.try_get("partition_of")?,
            partition_bound: row.try_get("partition_bound")?,
            // PostgreSQL 14+ stores -1 until the first VACUUM or ANALYZE.
            estimated_rows: (reltuples >= 0.0).then_some(f64::from(reltuples)),
        });
    }
    Ok(slots)
}

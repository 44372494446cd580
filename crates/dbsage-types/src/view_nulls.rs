//! Which view columns can never be NULL, proven from the view's query: a column is non-null
//! when it is a plain reference (possibly cast) to a NOT NULL column of a table, or to a
//! proven column of another view, through a relation that no outer join can null out.
//! Everything else (expressions, aggregates, subqueries, set operations, CTEs, grouping sets,
//! the nullable side of an outer join) stays nullable: nothing is claimed that is not proven.

use std::collections::{BTreeMap, BTreeSet};

use dbsage_catalog::{Catalog, View};
use dbsage_sql::pg_query::protobuf::{JoinType, SelectStmt, SetOperation};
use dbsage_sql::NodeEnum;

/// `(schema, view)` → the names of its columns proven non-null.
pub type ProvenColumns = BTreeMap<(String, String), BTreeSet<String>>;

/// Proves what it can for every view of `catalog`.
pub fn prove(catalog: &Catalog) -> ProvenColumns {
    let mut proven = ProvenColumns::new();
    for view in &catalog.views {
        prove_view(catalog, view, &mut proven, &mut Vec::new());
    }
    proven
}

fn prove_view(
    catalog: &Catalog,
    view: &View,
    proven: &mut ProvenColumns,
    visiting: &mut Vec<(String, String)>,
) {
    let key = (view.schema.clone(), view.name.clone());
    if proven.contains_key(&key) || visiting.contains(&key) {
        return;
    }
    visiting.push(key.clone());
    let columns = non_null_outputs(catalog, view, proven, visiting).unwrap_or_default();
    visiting.pop();
    proven.insert(key, columns);
}

/// A relation in the view's FROM clause.
struct Source {
    /// The name columns are qualified with: the alias, or the relation's own name.
    reference: String,
    schema: String,
    name: String,
    /// On the nullable side of an outer join.
    nullable: bool,
}

fn non_null_outputs(
    catalog: &Catalog,
    view: &View,
    proven: &mut ProvenColumns,
    visiting: &mut Vec<(String, String)>,
) -> Option<BTreeSet<String>> {
    let parsed = dbsage_sql::pg_query::parse(&view.definition, 0).ok()?;
    let stmt = parsed
        .protobuf
        .stmts
        .first()?
        .stmt
        .as_ref()?
        .node
        .as_ref()?;
    let NodeEnum::SelectStmt(select) = stmt else {
        return None;
    };
    if !is_simple(select) {
        return None;
    }
    // Unqualified column references are resolved only when every FROM item is a relation.
    let mut sources = Vec::new();
    let mut only_relations = true;
    for item in &select.from_clause {
        collect_sources(
            catalog,
            item.node.as_ref()?,
            false,
            &mut sources,
            &mut only_relations,
        );
    }
    let mut result = BTreeSet::new();
    for (position, target) in select.target_list.iter().enumerate() {
        let Some(NodeEnum::ResTarget(target)) = target.node.as_ref() else {
            continue;
        };
        let Some(fields) = column_ref(target.val.as_deref()) else {
            continue;
        };
        let Some(output) = view.columns.get(position) else {
            continue;
        };
        let expected_name = if target.name.is_empty() {
            fields.last().cloned().unwrap_or_default()
        } else {
            target.name.clone()
        };
        if output.name != expected_name {
            // The parse does not line up with the catalog's columns: prove nothing.
            return None;
        }
        if column_is_proven(catalog, &sources, only_relations, &fields, proven, visiting) {
            result.insert(output.name.clone());
        }
    }
    Some(result)
}

/// A single SELECT with no set operation, CTE, VALUES or grouping sets.
fn is_simple(select: &SelectStmt) -> bool {
    let setop_none =
        select.op == SetOperation::SetopNone as i32 || select.op == SetOperation::Undefined as i32;
    let grouping_sets = select
        .group_clause
        .iter()
        .any(|g| matches!(g.node, Some(NodeEnum::GroupingSet(_))));
    setop_none && select.with_clause.is_none() && select.values_lists.is_empty() && !grouping_sets
}

fn collect_sources(
    catalog: &Catalog,
    node: &NodeEnum,
    nullable: bool,
    sources: &mut Vec<Source>,
    only_relations: &mut bool,
) {
    match node {
        NodeEnum::RangeVar(range) => {
            let schema = if range.schemaname.is_empty() {
                unqualified_schema(catalog, &range.relname)
            } else {
                Some(range.schemaname.clone())
            };
            let Some(schema) = schema else {
                *only_relations = false;
                return;
            };
            let reference = range
                .alias
                .as_ref()
                .map(|a| a.aliasname.clone())
                .unwrap_or_else(|| range.relname.clone());
            sources.push(Source {
                reference,
                schema,
                name: range.relname.clone(),
                nullable,
            });
        }
        NodeEnum::JoinExpr(join) => {
            if join.alias.is_some() || join.join_using_alias.is_some() {
                // Columns could be referenced through the join's alias: not followed.
                *only_relations = false;
            }
            let (left_nullable, right_nullable) = match JoinType::try_from(join.jointype) {
                Ok(JoinType::JoinLeft) => (false, true),
                Ok(JoinType::JoinRight) => (true, false),
                Ok(JoinType::JoinFull) => (true, true),
                Ok(JoinType::JoinInner) => (false, false),
                _ => (true, true),
            };
            for (side, side_nullable) in [(&join.larg, left_nullable), (&join.rarg, right_nullable)]
            {
                match side.as_deref().and_then(|n| n.node.as_ref()) {
                    Some(inner) => collect_sources(
                        catalog,
                        inner,
                        nullable || side_nullable,
                        sources,
                        only_relations,
                    ),
                    None => *only_relations = false,
                }
            }
        }
        _ => *only_relations = false,
    }
}

/// The schema of an unqualified relation name in a view definition: `pg_get_viewdef` leaves a
/// name unqualified only when it is visible on the search path, so `public` first, then the
/// only schema that has a relation of that name.
fn unqualified_schema(catalog: &Catalog, name: &str) -> Option<String> {
    let mut schemas: Vec<&String> = catalog
        .tables
        .iter()
        .filter(|t| t.name == name)
        .map(|t| &t.schema)
        .chain(
            catalog
                .views
                .iter()
                .filter(|v| v.name == name)
                .map(|v| &v.schema),
        )
        .collect();
    if schemas.iter().any(|s| *s == "public") {
        return Some("public".into());
    }
    schemas.sort();
    schemas.dedup();
    (schemas.len() == 1).then(|| schemas[0].clone())
}

/// The fields of a column reference, seen through type casts: `a.email::text` → [a, email].
fn column_ref(node: Option<&dbsage_sql::pg_query::protobuf::Node>) -> Option<Vec<String>> {
    match node?.node.as_ref()? {
        NodeEnum::ColumnRef(column) => column
            .fields
            .iter()
            .map(|f| match f.node.as_ref() {
                Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                _ => None,
            })
            .collect(),
        NodeEnum::TypeCast(cast) => column_ref(cast.arg.as_deref()),
        _ => None,
    }
}

fn column_is_proven(
    catalog: &Catalog,
    sources: &[Source],
    only_relations: bool,
    fields: &[String],
    proven: &mut ProvenColumns,
    visiting: &mut Vec<(String, String)>,
) -> bool {
    let (source, column) = match fields {
        [column] => {
            if !only_relations {
                return false;
            }
            let mut having = sources
                .iter()
                .filter(|s| relation_has_column(catalog, s, column));
            match (having.next(), having.next()) {
                (Some(source), None) => (source, column),
                _ => return false,
            }
        }
        [reference, column] => {
            let mut named = sources.iter().filter(|s| &s.reference == reference);
            match (named.next(), named.next()) {
                (Some(source), None) => (source, column),
                _ => return false,
            }
        }
        [schema, table, column] => {
            let mut named = sources
                .iter()
                .filter(|s| &s.schema == schema && &s.name == table && &s.reference == table);
            match (named.next(), named.next()) {
                (Some(source), None) => (source, column),
                _ => return false,
            }
        }
        _ => return false,
    };
    if source.nullable {
        return false;
    }
    if let Some(table) = catalog.table(&source.schema, &source.name) {
        return table
            .columns
            .iter()
            .any(|c| &c.name == column && c.not_null);
    }
    if let Some(view) = catalog.view(&source.schema, &source.name) {
        prove_view(catalog, view, proven, visiting);
        return proven
            .get(&(view.schema.clone(), view.name.clone()))
            .is_some_and(|columns| columns.contains(column));
    }
    false
}

fn relation_has_column(catalog: &Catalog, source: &Source, column: &str) -> bool {
    if let Some(table) = catalog.table(&source.schema, &source.name) {
        return table.columns.iter().any(|c| c.name == column);
    }
    if let Some(view) = catalog.view(&source.schema, &source.name) {
        return view.columns.iter().any(|c| c.name == column);
    }
    // Unknown relation: it might have the column, so the reference is ambiguous.
    true
}

//! User-defined types: enums, domains and composite types (one query each).

use postgres::{Error, GenericClient};

use super::json::Json;
use super::sql::{comment_of, not_extension_member, VISIBLE_NAMESPACE};
use crate::model::{CompositeType, Domain, EnumType};

/// The `FROM` and `WHERE` clauses shared by the type queries: the type `t` and its namespace
/// `n`, plus `extra_join`.
fn type_source(extra_join: &str) -> String {
    format!(
        "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace {extra_join} \
         WHERE {VISIBLE_NAMESPACE} AND {not_member}",
        not_member = not_extension_member("pg_type", "t.oid"),
    )
}

/// The comment on the type `t`.
fn type_comment() -> String {
    comment_of("pg_type", "t.oid", "0")
}

/// Reads enum types with their labels in sort order, sorted by schema and name.
pub(super) fn read_enums(
    client: &mut impl GenericClient,
    excluded: &[String],
) -> Result<Vec<EnumType>, Error> {
    let sql = format!(
        "SELECT n.nspname::text AS schema, t.typname::text AS name, \
                ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid \
                      ORDER BY e.enumsortorder) AS labels, \
                pg_get_userbyid(t.typowner)::text AS owner, {comment} AS comment \
         {source} AND t.typtype = 'e'",
        comment = type_comment(),
        source = type_source(""),
    );
    let mut enums = super::query_excluding(client, &sql, excluded)?
        .iter()
        .map(|row| {
            Ok(EnumType {
                schema: row.try_get("schema")?,
                name: row.try_get("name")?,
                labels: row.try_get("labels")?,
                owner: row.try_get("owner")?,
                comment: row.try_get("comment")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    enums.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    Ok(enums)
}

/// Reads domains with their CHECK constraints, sorted by schema and name.
pub(super) fn read_domains(
    client: &mut impl GenericClient,
    excluded: &[String],
) -> Result<Vec<Domain>, Error> {
    let sql = format!(
        "SELECT n.nspname::text AS schema, t.typname::text AS name, \
                format_type(t.typbasetype, t.typtypmod) AS base_type, t.typnotnull, \
                pg_get_expr(t.typdefaultbin, 0) AS default_expr, \
                CASE WHEN t.typcollation <> bt.typcollation THEN \
                    (SELECT quote_ident(co.collname) FROM pg_collation co WHERE co.oid = t.typcollation) \
                END AS collation, \
                (SELECT coalesce(json_agg(json_build_object('name', con.conname, \
                            'definition', pg_get_constraintdef(con.oid, true)) \
                        ORDER BY con.conname COLLATE \"C\"), '[]') \
                   FROM pg_constraint con WHERE con.contypid = t.oid AND con.contype = 'c') AS constraints, \
                pg_get_userbyid(t.typowner)::text AS owner, {comment} AS comment \
         {source} AND t.typtype = 'd'",
        comment = type_comment(),
        source = type_source("JOIN pg_type bt ON bt.oid = t.typbasetype"),
    );
    let mut domains = super::query_excluding(client, &sql, excluded)?
        .iter()
        .map(|row| {
            let Json(constraints) = row.try_get("constraints")?;
            Ok(Domain {
                schema: row.try_get("schema")?,
                name: row.try_get("name")?,
                base_type: row.try_get("base_type")?,
                not_null: row.try_get("typnotnull")?,
                default: row.try_get("default_expr")?,
                collation: row.try_get("collation")?,
                constraints,
                owner: row.try_get("owner")?,
                comment: row.try_get("comment")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    domains.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    Ok(domains)
}

/// Reads stand-alone composite types (not the row types every table has), sorted by schema
/// and name.
pub(super) fn read_composites(
    client: &mut impl GenericClient,
    excluded: &[String],
) -> Result<Vec<CompositeType>, Error> {
    let sql = format!(
        "SELECT n.nspname::text AS schema, t.typname::text AS name, \
                (SELECT coalesce(json_agg(json_build_object('name', a.attname, \
                            'data_type', format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum), '[]') \
                   FROM pg_attribute a \
                  WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) AS attributes, \
                pg_get_userbyid(t.typowner)::text AS owner, {comment} AS comment \
         {source} AND t.typtype = 'c' \
           AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'",
        comment = type_comment(),
        source = type_source(""),
    );
    let mut composites = super::query_excluding(client, &sql, excluded)?
        .iter()
        .map(|row| {
            let Json(attributes) = row.try_get("attributes")?;
            Ok(CompositeType {
                schema: row.try_get("schema")?,
                name: row.try_get("name")?,
                attributes,
                owner: row.try_get("owner")?,
                comment: row.try_get("comment")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    composites.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    Ok(composites)
}

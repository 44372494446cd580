//! Reading a live database into the model: one query per object kind straight from
//! `pg_catalog` (never `information_schema`, which is slow and hides what the current role
//! may not see), so the cost does not grow with round trips per table.

mod acl;
mod columns;
mod constraints;
mod default_privileges;
mod functions;
mod indexes;
mod json;
mod parameters;
mod policies;
mod relations;
mod schemas;
mod sequences;
mod sql;
mod triggers;
mod types;

use postgres::types::Type;
use postgres::{Error, GenericClient, Row};

use crate::{Catalog, ReadOptions};

pub(crate) fn read_catalog(
    client: &mut impl GenericClient,
    options: &ReadOptions,
) -> Result<Catalog, Error> {
    let excluded = options.exclude_schemas.as_slice();
    let relations = relations::read(client, excluded)?;
    Ok(Catalog {
        schemas: schemas::read_schemas(client, excluded)?,
        tables: relations.tables,
        views: relations.views,
        functions: functions::read(client, excluded)?,
        sequences: sequences::read(client, excluded)?,
        enums: types::read_enums(client, excluded)?,
        domains: types::read_domains(client, excluded)?,
        composite_types: types::read_composites(client, excluded)?,
        extensions: schemas::read_extensions(client)?,
        default_privileges: default_privileges::read(client, excluded)?,
    })
}

/// Runs a top-level query, whose `$1` is the list of excluded schemas.
///
/// `query_typed` sends parse, bind and execute at once: one round trip instead of the two of
/// a prepared statement, which matters when the whole read is a dozen small queries.
fn query_excluding(
    client: &mut impl GenericClient,
    sql: &str,
    excluded: &[String],
) -> Result<Vec<Row>, Error> {
    client.query_typed(sql, &[(&excluded, Type::TEXT_ARRAY)])
}

/// Runs a query for the parts of relations, whose `$1` is the relations' OIDs.
fn query_for(
    client: &mut impl GenericClient,
    sql: &str,
    relations: &[u32],
) -> Result<Vec<Row>, Error> {
    client.query_typed(sql, &[(&relations, Type::OID_ARRAY)])
}

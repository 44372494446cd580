//! Reading a live database into the model: one query per object kind straight from
//! `pg_catalog` (never `information_schema`, which is slow and hides what the current role
//! may not see), so the cost does not grow with round trips per table.

mod acl;
mod casts;
mod column_names;
mod columns;
mod constraints;
mod default_privileges;
mod event_triggers;
mod foreign_servers;
mod functions;
mod index_definition;
mod indexes;
mod json;
mod parameters;
mod policies;
mod publications;
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
        schemas: timed("schemas", || schemas::read_schemas(client, excluded))?,
        tables: relations.tables,
        views: relations.views,
        functions: timed("functions", || functions::read(client, excluded))?,
        sequences: timed("sequences", || {
            sequences::read(client, excluded, &relations.names)
        })?,
        enums: timed("enums", || types::read_enums(client, excluded))?,
        domains: timed("domains", || types::read_domains(client, excluded))?,
        composite_types: timed("composite types", || {
            types::read_composites(client, excluded)
        })?,
        extensions: timed("extensions", || schemas::read_extensions(client))?,
        default_privileges: timed("default privileges", || {
            default_privileges::read(client, excluded)
        })?,
        publications: timed("publications", || publications::read(client, excluded))?,
        event_triggers: timed("event triggers", || event_triggers::read(client, excluded))?,
        casts: timed("casts", || casts::read(client, excluded))?,
        foreign_servers: timed("foreign servers", || foreign_servers::read(client))?,
    })
}

/// Runs one part of the read; with `DBSAGE_CATALOG_TIMINGS` set, says on stderr how long it
/// took (to see where a slow read spends its time).
fn timed<T>(what: &str, read: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    if std::env::var_os("DBSAGE_CATALOG_TIMINGS").is_none() {
        return read();
    }
    let started = std::time::Instant::now();
    let result = read();
    eprintln!(
        "catalog read: {what}: {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    result
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

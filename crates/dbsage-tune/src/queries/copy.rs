//! A throwaway copy of the tables a statement reads: a local cluster with the same schemas,
//! columns and indexes, and a sample of each table's rows (COPY out of the source, COPY in),
//! analysed. Candidates are built and timed there, never on the source.

use std::io::{Read, Write};

use dbsage_cluster::Cluster;
use postgres::Client;

use super::candidates::Table;
use super::error::{db, Result};

pub struct ThrowawayCopy {
    pub cluster: Cluster,
    pub client: Client,
    /// Rows copied per table.
    pub rows: Vec<(Table, i64)>,
    /// Indexes of the source that could not be recreated (an extension's operator class).
    pub skipped_indexes: Vec<String>,
}

/// Columns with types the copy can create: built-in types as they are, domains over built-in
/// types as their base type, anything else (enums, extension types) as text.
const COLUMNS: &str = "\
SELECT a.attname::text,
       CASE WHEN tn.nspname = 'pg_catalog' THEN format_type(a.atttypid, a.atttypmod)
            WHEN t.typtype = 'd' AND EXISTS (SELECT 1 FROM pg_type b JOIN pg_namespace bn ON bn.oid = b.typnamespace
                                             WHERE b.oid = t.typbasetype AND bn.nspname = 'pg_catalog')
              THEN format_type(t.typbasetype, t.typtypmod)
            ELSE 'text' END
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_namespace tn ON tn.oid = t.typnamespace
WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum";

/// Copies `tables` from `source` with at most `sample_rows` rows each.
pub fn make(source: &mut Client, tables: &[Table], sample_rows: i64) -> Result<ThrowawayCopy> {
    let cluster = Cluster::start()?;
    let mut client = cluster.connect("postgres")?;
    // Unqualified names in the statement resolve on the copy as they do on the source.
    let search_path: String = source
        .query_one("SELECT current_setting('search_path')", &[])
        .map_err(db("reading the search path"))?
        .get(0);
    client
        .batch_execute(&format!("SET search_path = {search_path}"))
        .map_err(db("setting the search path on the throwaway copy"))?;
    let mut rows = Vec::new();
    let mut skipped_indexes = Vec::new();
    for table in tables {
        let regclass = table.sql();
        let columns = source
            .query(COLUMNS, &[&regclass])
            .map_err(db(&format!("reading the columns of {table}")))?;
        let definitions: Vec<String> = columns
            .iter()
            .map(|c| {
                let name: String = c.get(0);
                let ty: String = c.get(1);
                format!("{} {ty}", dbsage_sql::quote_ident(&name))
            })
            .collect();
        let names: Vec<String> = columns
            .iter()
            .map(|c| dbsage_sql::quote_ident(&c.get::<_, String>(0)))
            .collect();
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {}; CREATE TABLE {regclass} ({})",
                dbsage_sql::quote_ident(&table.schema),
                definitions.join(", ")
            ))
            .map_err(db(&format!("creating {table} on the throwaway copy")))?;
        let estimate: f64 = source
            .query_one(
                "SELECT greatest(reltuples, 0)::float8 FROM pg_class WHERE oid = $1::text::regclass",
                &[&regclass],
            )
            .map_err(db(&format!("reading the size of {table}")))?
            .get(0);
        // A random sample when the table is larger than the sample, the whole table otherwise.
        let sample = if estimate > sample_rows as f64 {
            let percent = (100.0 * sample_rows as f64 / estimate * 1.2).min(100.0);
            format!(" TABLESAMPLE BERNOULLI ({percent})")
        } else {
            String::new()
        };
        let mut data = Vec::new();
        source
            .copy_out(&format!(
                "COPY (SELECT {} FROM {regclass}{sample} LIMIT {sample_rows}) TO STDOUT",
                names.join(", ")
            ))
            .map_err(db(&format!("copying a sample of {table}")))?
            .read_to_end(&mut data)
            .map_err(|e| super::error::QueriesError::BadInput(format!("reading {table}: {e}")))?;
        let mut writer = client
            .copy_in(&format!("COPY {regclass} FROM STDIN"))
            .map_err(db(&format!("loading {table} on the throwaway copy")))?;
        writer
            .write_all(&data)
            .map_err(|e| super::error::QueriesError::BadInput(format!("loading {table}: {e}")))?;
        let copied = writer
            .finish()
            .map_err(db(&format!("loading {table} on the throwaway copy")))?;
        rows.push((table.clone(), copied as i64));
        let indexes = source
            .query(
                "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = $1::text::regclass AND indisvalid",
                &[&regclass],
            )
            .map_err(db(&format!("reading the indexes of {table}")))?;
        for index in indexes {
            let definition: String = index.get(0);
            if client.batch_execute(&definition).is_err() {
                skipped_indexes.push(definition);
            }
        }
        client
            .batch_execute(&format!("ANALYZE {regclass}"))
            .map_err(db(&format!("analysing {table} on the throwaway copy")))?;
    }
    Ok(ThrowawayCopy {
        cluster,
        client,
        rows,
        skipped_indexes,
    })
}

//! `unindexed-foreign-key`: a foreign key whose columns lead no valid, non-partial index.
//!
//! Why: every DELETE or key UPDATE on the referenced table looks for referencing rows, and
//! without an index that is a sequential scan of this table per row (and joins along the key
//! scan too). Bad: `orders.customer_id references customers` with no index on it. Good: an
//! index whose first columns are the key's. Fix: `CREATE INDEX CONCURRENTLY` on the columns
//! (safe to automate: `--write` includes it).

use postgres::Client;
use serde_json::json;

use super::{finding, Check, Context, Finding, Severity};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "unindexed-foreign-key",
    run,
};

pub(crate) const QUERY: &str = concat!(
    "select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as table_name,
       c.relname::text as bare_table, co.conname::text as constraint_name,
       co.confrelid::regclass::text as referenced,
       array(select quote_ident(a.attname) from unnest(co.conkey) with ordinality k(attnum, ord)
              join pg_catalog.pg_attribute a on a.attrelid = co.conrelid and a.attnum = k.attnum
             order by k.ord) as columns,
       array(select a.attname::text from unnest(co.conkey) with ordinality k(attnum, ord)
              join pg_catalog.pg_attribute a on a.attrelid = co.conrelid and a.attnum = k.attnum
             order by k.ord) as bare_columns,
       greatest(c.reltuples, 0)::float8 as rows, c.relpages::int8 * current_setting('block_size')::int8 as size_bytes
  from pg_catalog.pg_constraint co
  join pg_catalog.pg_class c on c.oid = co.conrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
 where co.contype = 'f' and c.relkind in ('r', 'p') and ",
    project_relation!(),
    "
   and not exists (
       select 1 from pg_catalog.pg_index i
        where i.indrelid = co.conrelid and i.indisvalid and i.indpred is null
          and (i.indkey::int2[])[0:cardinality(co.conkey) - 1] operator(pg_catalog.@>) co.conkey
          and (i.indkey::int2[])[0:cardinality(co.conkey) - 1] operator(pg_catalog.<@) co.conkey)
 order by 1, 3"
);

fn run(client: &mut Client, _ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    let rows = client
        .query(QUERY, &[])
        .map_err(TuneError::db("reading foreign keys without an index"))?;
    Ok(rows
        .iter()
        .map(|r| {
            let table: String = r.get("table_name");
            let bare_table: String = r.get("bare_table");
            let constraint: String = r.get("constraint_name");
            let columns: Vec<String> = r.get("columns");
            let bare_columns: Vec<String> = r.get("bare_columns");
            let referenced: String = r.get("referenced");
            let rows: f64 = r.get("rows");
            let size: i64 = r.get("size_bytes");
            let index_name = index_name(&bare_table, &bare_columns);
            finding(
                CHECK.id,
                Severity::Warning,
                format!("table {table}"),
                format!(
                    "foreign key {constraint} ({}) → {referenced} has no index: every delete or key update on {referenced} scans {table} ({rows:.0} rows) to find referencing rows",
                    columns.join(", ")
                ),
                json!({
                    "constraint": constraint,
                    "columns": bare_columns,
                    "referenced_table": referenced,
                    "table_rows": rows as i64,
                    "table_bytes": size,
                }),
                Some(format!(
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS {index_name} ON {table} ({});",
                    columns.join(", ")
                )),
            )
        })
        .collect())
}

/// `orders_customer_id_idx`, quoted when needed and kept under PostgreSQL's 63 bytes.
fn index_name(table: &str, columns: &[String]) -> String {
    let mut name = format!("{table}_{}_idx", columns.join("_"));
    if name.len() > 63 {
        let mut cut = 59;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
        name.push_str("_idx");
    }
    let plain = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        name
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

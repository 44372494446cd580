//! Every index of the project's tables, read once for `unused-index`, `duplicate-index`,
//! `redundant-index` and `invalid-index`.

use postgres::Client;

use crate::TuneError;

pub(crate) const QUERY: &str = concat!(
    "select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as table_name,
       quote_ident(n.nspname) || '.' || quote_ident(ic.relname) as index_name,
       i.indexrelid::int8 as index_oid, i.indrelid::int8 as table_oid, am.amname,
       i.indnkeyatts::int4 as key_count,
       (i.indkey::int2[])::int4[] as columns,
       (i.indclass::oid[])::int8[] as opclasses,
       (i.indcollation::oid[])::int8[] as collations,
       (i.indoption::int2[])::int4[] as options,
       coalesce(pg_catalog.pg_get_expr(i.indexprs, i.indrelid), '') as expressions,
       coalesce(pg_catalog.pg_get_expr(i.indpred, i.indrelid), '') as predicate,
       i.indisunique, i.indisprimary, i.indisexclusion, i.indisvalid,
       exists (select 1 from pg_catalog.pg_constraint co
                where co.conindid = i.indexrelid and co.conrelid = i.indrelid
                  and co.contype in ('p', 'u', 'x')) as backs_constraint,
       i.indexrelid in (select p.index_relid from pg_catalog.pg_stat_progress_create_index p) as being_built,
       -- pages as of the last vacuum or analyse: no file is opened per index
       ic.relpages::int8 * current_setting('block_size')::int8 as size_bytes,
       -- the statistics function itself, not the pg_stat_all_indexes view joined per index
       pg_catalog.pg_stat_get_numscans(i.indexrelid) as scans
  from pg_catalog.pg_index i
  join pg_catalog.pg_class ic on ic.oid = i.indexrelid
  join pg_catalog.pg_class c on c.oid = i.indrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  join pg_catalog.pg_am am on am.oid = ic.relam
 where c.relkind in ('r', 'm', 'p') and ",
    project_relation!(),
    "
 order by 1, 2"
);

#[derive(Debug, Clone)]
pub(crate) struct IndexFacts {
    pub table: String,
    pub name: String,
    pub oid: i64,
    pub table_oid: i64,
    pub method: String,
    pub key_count: usize,
    /// Table column numbers, key columns first then INCLUDE ones; 0 for an expression.
    pub columns: Vec<i32>,
    pub opclasses: Vec<i64>,
    pub collations: Vec<i64>,
    pub options: Vec<i32>,
    pub expressions: String,
    pub predicate: String,
    pub unique: bool,
    pub primary: bool,
    pub exclusion: bool,
    pub valid: bool,
    pub backs_constraint: bool,
    pub being_built: bool,
    pub size_bytes: i64,
    pub scans: i64,
}

impl IndexFacts {
    /// A primary key, unique or exclusion index, or one a constraint uses: dropping it changes
    /// what the database guarantees, so no check proposes it.
    pub fn enforces_something(&self) -> bool {
        self.primary || self.unique || self.exclusion || self.backs_constraint
    }

    /// The same index in every respect that changes what it can serve.
    pub fn same_shape(&self, other: &IndexFacts) -> bool {
        self.table_oid == other.table_oid
            && self.method == other.method
            && self.key_count == other.key_count
            && self.columns == other.columns
            && self.opclasses == other.opclasses
            && self.collations == other.collations
            && self.options == other.options
            && self.expressions == other.expressions
            && self.predicate == other.predicate
    }

    /// `CREATE INDEX …` as the server prints it; read per reported index, not for all of them.
    pub fn definition(&self, client: &mut Client) -> Result<String, TuneError> {
        client
            .query_one(
                "select pg_catalog.pg_get_indexdef($1::int8::oid)",
                &[&self.oid],
            )
            .map(|r| r.get(0))
            .map_err(TuneError::db(format!(
                "reading the definition of {}",
                self.name
            )))
    }

    pub fn drop_sql(&self) -> String {
        format!("DROP INDEX CONCURRENTLY IF EXISTS {};", self.name)
    }
}

/// The indexes grouped by table (the pairwise checks compare within a table only).
pub(crate) fn by_table(indexes: &[IndexFacts]) -> Vec<Vec<&IndexFacts>> {
    let mut groups: std::collections::BTreeMap<i64, Vec<&IndexFacts>> = Default::default();
    for i in indexes {
        groups.entry(i.table_oid).or_default().push(i);
    }
    groups.into_values().collect()
}

pub(crate) fn read(client: &mut Client) -> Result<Vec<IndexFacts>, TuneError> {
    let rows = client
        .query(QUERY, &[])
        .map_err(TuneError::db("reading the indexes"))?;
    Ok(rows
        .iter()
        .map(|r| IndexFacts {
            table: r.get("table_name"),
            name: r.get("index_name"),
            oid: r.get("index_oid"),
            table_oid: r.get("table_oid"),
            method: r.get("amname"),
            key_count: r.get::<_, i32>("key_count") as usize,
            columns: r.get("columns"),
            opclasses: r.get("opclasses"),
            collations: r.get("collations"),
            options: r.get("options"),
            expressions: r.get("expressions"),
            predicate: r.get("predicate"),
            unique: r.get("indisunique"),
            primary: r.get("indisprimary"),
            exclusion: r.get("indisexclusion"),
            valid: r.get("indisvalid"),
            backs_constraint: r.get("backs_constraint"),
            being_built: r.get("being_built"),
            size_bytes: r.get("size_bytes"),
            scans: r.get("scans"),
        })
        .collect())
}

//! What the backup records about each table, read in the dump's own snapshot: exact row counts,
//! a content checksum for the small tables, RLS flags and policy counts. The same queries run
//! on the restored copy, so both sides are computed alike.

use postgres::Client;

use crate::manifest::TableEntry;

/// Output settings that make a row's text the same on every server (dates, floats, bytea).
pub const STABLE_OUTPUT: &str = "SET datestyle = 'ISO, YMD'; SET intervalstyle = 'postgres'; \
    SET timezone = 'UTC'; SET extra_float_digits = 3; SET bytea_output = 'hex'";

/// A table as the catalog describes it.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    pub bytes: i64,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    pub policies: i64,
    /// The current role has SELECT (directly, or through pg_read_all_data).
    pub selectable: bool,
    /// Row security filters what the current role reads (not superuser/BYPASSRLS, not the
    /// owner of an unforced table).
    pub rls_applies: bool,
}

impl TableInfo {
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// Ordinary tables whose data pg_dump writes: no system schemas, no `excluded` schemas, no
/// extension members; partitions are listed themselves (their parents hold no rows).
pub fn tables(client: &mut Client, excluded: &[String]) -> Result<Vec<TableInfo>, postgres::Error> {
    let rows = client.query(
        "select c.oid, n.nspname::text, c.relname::text, pg_table_size(c.oid),
                c.relrowsecurity, c.relforcerowsecurity,
                (select count(*) from pg_policy p where p.polrelid = c.oid),
                has_table_privilege(c.oid, 'SELECT'),
                c.relrowsecurity
                  and not (select rolsuper or rolbypassrls from pg_roles where rolname = current_user)
                  and (c.relforcerowsecurity or not pg_has_role(c.relowner, 'USAGE'))
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind = 'r'
            and n.nspname not in ('pg_catalog', 'information_schema')
            and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
            and n.nspname <> all($1)
            and not exists (select 1 from pg_depend d
                             where d.classid = 'pg_class'::regclass and d.objid = c.oid
                               and d.deptype = 'e')
          order by 2, 3",
        &[&excluded],
    )?;
    Ok(rows
        .iter()
        .map(|r| TableInfo {
            oid: r.get(0),
            schema: r.get(1),
            name: r.get(2),
            bytes: r.get(3),
            rls_enabled: r.get(4),
            rls_forced: r.get(5),
            policies: r.get(6),
            selectable: r.get(7),
            rls_applies: r.get(8),
        })
        .collect())
}

/// Refuses before dumping when the role cannot read every table: pg_dump would stop midway
/// (RLS makes it fail rather than dump a filtered table).
pub fn check_readable(tables: &[TableInfo], role: &str) -> dbsage_core::Result<()> {
    let filtered: Vec<String> = tables
        .iter()
        .filter(|t| t.rls_applies)
        .map(TableInfo::qualified)
        .collect();
    let denied: Vec<String> = tables
        .iter()
        .filter(|t| !t.selectable)
        .map(TableInfo::qualified)
        .collect();
    if filtered.is_empty() && denied.is_empty() {
        return Ok(());
    }
    let mut message =
        format!("role `{role}` cannot read every table, so the backup would be incomplete:");
    if !filtered.is_empty() {
        message.push_str(&format!(
            "\n  row-level security hides rows of: {}",
            filtered.join(", ")
        ));
    }
    if !denied.is_empty() {
        message.push_str(&format!(
            "\n  no SELECT privilege on: {}",
            denied.join(", ")
        ));
    }
    Err(crate::failed(
        message,
        format!("back up as a role that reads everything: `ALTER ROLE {role} BYPASSRLS` (row-level security) and `GRANT pg_read_all_data TO {role}` (privileges), or use the owner/superuser"),
    ))
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub fn qualified_sql(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

pub fn row_count(client: &mut Client, schema: &str, name: &str) -> Result<i64, postgres::Error> {
    let sql = format!("select count(*) from only {}", qualified_sql(schema, name));
    Ok(client.query_one(&sql, &[])?.get(0))
}

/// md5 of every row's text, ordered by the primary key (collatable key columns in "C", so the
/// order does not depend on the database's collation); tables without one are ordered by the
/// row's text.
pub fn content_checksum(
    client: &mut Client,
    schema: &str,
    name: &str,
) -> Result<String, postgres::Error> {
    let sql = format!(
        "select {} from only {} t",
        checksum_expression(client, schema, name)?,
        qualified_sql(schema, name)
    );
    Ok(client.query_one(&sql, &[])?.get(0))
}

/// The exact row count and, when `with_checksum`, [`content_checksum`]'s value, in one scan of
/// the table (both are read from the same rows, so a table is read once, not twice).
pub fn count_and_checksum(
    client: &mut Client,
    schema: &str,
    name: &str,
    with_checksum: bool,
) -> Result<(i64, Option<String>), postgres::Error> {
    if !with_checksum {
        return Ok((row_count(client, schema, name)?, None));
    }
    let sql = format!(
        "select count(*), {} from only {} t",
        checksum_expression(client, schema, name)?,
        qualified_sql(schema, name)
    );
    let row = client.query_one(&sql, &[])?;
    Ok((row.get(0), Some(row.get(1))))
}

/// `md5(string_agg(t::text …))` over the rows of alias `t`, in primary-key order.
fn checksum_expression(
    client: &mut Client,
    schema: &str,
    name: &str,
) -> Result<String, postgres::Error> {
    let key = client.query(
        "select a.attname::text, a.attcollation <> 0
           from pg_index i
           cross join unnest(i.indkey) with ordinality k(attnum, ord)
           join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
          where i.indrelid = $1::text::regclass and i.indisprimary
          order by k.ord",
        &[&qualified_sql(schema, name)],
    )?;
    let order = if key.is_empty() {
        "t::text collate \"C\"".to_string()
    } else {
        key.iter()
            .map(|r| {
                let column = format!("t.{}", quote_ident(r.get::<_, &str>(0)));
                if r.get::<_, bool>(1) {
                    format!("{column} collate \"C\"")
                } else {
                    column
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(format!(
        "md5(coalesce(string_agg(t::text, E'\\n' order by {order}), ''))"
    ))
}

/// The manifest entries: counts (unless schema-only) and checksums (tables up to
/// `checksum_max_bytes`).
pub fn describe(
    client: &mut Client,
    tables: &[TableInfo],
    with_data: bool,
    checksum_max_bytes: i64,
) -> Result<Vec<TableEntry>, postgres::Error> {
    let mut entries = Vec::with_capacity(tables.len());
    for t in tables {
        let (rows, checksum) = if with_data {
            let (rows, checksum) =
                count_and_checksum(client, &t.schema, &t.name, t.bytes <= checksum_max_bytes)?;
            (Some(rows), checksum)
        } else {
            (None, None)
        };
        entries.push(TableEntry {
            schema: t.schema.clone(),
            name: t.name.clone(),
            rows,
            checksum,
            bytes: t.bytes,
            rls_enabled: t.rls_enabled,
            rls_forced: t.rls_forced,
            policies: t.policies,
        });
    }
    Ok(entries)
}

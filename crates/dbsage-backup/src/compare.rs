//! A restored database against its manifest: every table present with the same row count and
//! content checksum, the same RLS flags and policy counts; every foreign key holds (orphans
//! counted); every btree index passes `amcheck`'s `bt_index_check`.

use postgres::Client;

use crate::manifest::Manifest;
use crate::snapshot;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    /// `missing-table`, `rows`, `checksum`, `rls`, `policies`, `foreign-key`, `index`.
    pub kind: &'static str,
    pub object: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Comparison {
    pub tables: usize,
    pub rows: i64,
    pub checksums: usize,
    pub foreign_keys: usize,
    pub indexes: usize,
    /// Why indexes were not checked, when they were not (amcheck not installed).
    pub amcheck_note: Option<String>,
    pub problems: Vec<Problem>,
}

/// Tables on `client`, foreign keys and indexes on `other` at the same time (two sessions on
/// the same database: the checks are independent and each is one core's work).
pub fn compare(
    client: &mut Client,
    other: &mut Client,
    manifest: &Manifest,
) -> Result<Comparison, postgres::Error> {
    let (tables, structure) = std::thread::scope(|scope| {
        let structure = scope.spawn(move || {
            let mut c = Comparison::default();
            check_foreign_keys(other, &mut c)?;
            check_indexes(other, &mut c)?;
            Ok::<_, postgres::Error>(c)
        });
        let tables = compare_tables(client, manifest);
        (
            tables,
            structure
                .join()
                .expect("the structure check does not panic"),
        )
    });
    let mut c = tables?;
    let structure = structure?;
    c.foreign_keys = structure.foreign_keys;
    c.indexes = structure.indexes;
    c.amcheck_note = structure.amcheck_note;
    c.problems.extend(structure.problems);
    Ok(c)
}

fn compare_tables(client: &mut Client, manifest: &Manifest) -> Result<Comparison, postgres::Error> {
    client.batch_execute(snapshot::STABLE_OUTPUT)?;
    let mut c = Comparison::default();
    for table in &manifest.tables {
        let name = table.qualified();
        let flags = client.query_opt(
            "select c.relrowsecurity, c.relforcerowsecurity,
                    (select count(*) from pg_policy p where p.polrelid = c.oid)
               from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = $1 and c.relname = $2 and c.relkind = 'r'",
            &[&table.schema, &table.name],
        )?;
        let Some(flags) = flags else {
            c.problems.push(Problem {
                kind: "missing-table",
                object: name.clone(),
                message: format!(
                    "table {name} is in the manifest but not in the restored database"
                ),
            });
            continue;
        };
        c.tables += 1;
        let (rls, forced, policies): (bool, bool, i64) = (flags.get(0), flags.get(1), flags.get(2));
        if (rls, forced) != (table.rls_enabled, table.rls_forced) {
            c.problems.push(Problem {
                kind: "rls",
                object: name.clone(),
                message: format!(
                    "table {name}: row-level security enabled={rls} forced={forced} after restore, the backup had enabled={} forced={}",
                    table.rls_enabled, table.rls_forced
                ),
            });
        }
        if policies != table.policies {
            c.problems.push(Problem {
                kind: "policies",
                object: name.clone(),
                message: format!(
                    "table {name}: {policies} policies after restore, the backup had {}",
                    table.policies
                ),
            });
        }
        if let Some(expected) = table.rows {
            let rows = snapshot::row_count(client, &table.schema, &table.name)?;
            c.rows += rows;
            if rows != expected {
                c.problems.push(Problem {
                    kind: "rows",
                    object: name.clone(),
                    message: format!(
                        "table {name}: {rows} rows after restore, the manifest counted {expected}"
                    ),
                });
                continue;
            }
        }
        if let Some(expected) = &table.checksum {
            c.checksums += 1;
            let checksum = snapshot::content_checksum(client, &table.schema, &table.name)?;
            if &checksum != expected {
                c.problems.push(Problem {
                    kind: "checksum",
                    object: name.clone(),
                    message: format!("table {name}: the rows' content differs from the backup's (checksum {checksum}, manifest {expected})"),
                });
            }
        }
    }
    Ok(c)
}

pub(crate) const USER_SCHEMAS: &str = "n.nspname not in ('pg_catalog', 'information_schema') \
    and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'";

/// Orphan rows per foreign key (MATCH SIMPLE: a row with a null key column references nothing).
/// A validated constraint was checked row by row by the server when pg_restore added it (a
/// failing one is a restore error), so only `NOT VALID` ones, which the server never checked,
/// are scanned again here.
fn check_foreign_keys(client: &mut Client, c: &mut Comparison) -> Result<(), postgres::Error> {
    let fks = client.query(
        &format!(
            "select co.conname::text, co.conrelid::regclass::text, co.confrelid::regclass::text,
                    array(select quote_ident(a.attname) from unnest(co.conkey) with ordinality k(n, o)
                            join pg_attribute a on a.attrelid = co.conrelid and a.attnum = k.n order by k.o),
                    array(select quote_ident(a.attname) from unnest(co.confkey) with ordinality k(n, o)
                            join pg_attribute a on a.attrelid = co.confrelid and a.attnum = k.n order by k.o),
                    co.convalidated
               from pg_constraint co join pg_namespace n on n.oid = co.connamespace
              where co.contype = 'f' and co.conparentid = 0 and {USER_SCHEMAS}
              order by 2, 1"
        ),
        &[],
    )?;
    for fk in fks {
        let (name, child, parent): (String, String, String) = (fk.get(0), fk.get(1), fk.get(2));
        let (from, to): (Vec<String>, Vec<String>) = (fk.get(3), fk.get(4));
        c.foreign_keys += 1;
        if fk.get::<_, bool>(5) {
            continue;
        }
        let not_null: Vec<String> = from
            .iter()
            .map(|col| format!("c.{col} is not null"))
            .collect();
        let joined: Vec<String> = from
            .iter()
            .zip(&to)
            .map(|(f, t)| format!("p.{t} = c.{f}"))
            .collect();
        let sql = format!(
            "select count(*) from {child} c where {} and not exists (select 1 from {parent} p where {})",
            not_null.join(" and "),
            joined.join(" and ")
        );
        let orphans: i64 = client.query_one(&sql, &[])?.get(0);
        if orphans > 0 {
            c.problems.push(Problem {
                kind: "foreign-key",
                object: format!("{child}.{name}"),
                message: format!(
                    "foreign key {name} on {child}: {orphans} rows reference no row of {parent}"
                ),
            });
        }
    }
    Ok(())
}

/// `bt_index_check` on every valid btree index; amcheck is created for the check and dropped
/// again when the database did not have it.
pub(crate) fn check_indexes(
    client: &mut Client,
    c: &mut Comparison,
) -> Result<(), postgres::Error> {
    let had_amcheck: bool = client
        .query_one(
            "select exists (select 1 from pg_extension where extname = 'amcheck')",
            &[],
        )?
        .get(0);
    if !had_amcheck {
        if let Err(e) = client.batch_execute("create extension amcheck") {
            c.amcheck_note = Some(format!(
                "indexes not checked: amcheck is not available ({})",
                dbsage_pgerror::headline(&e)
            ));
            return Ok(());
        }
    }
    let indexes = client.query(
        &format!(
            "select ci.oid, ci.oid::regclass::text
               from pg_index i join pg_class ci on ci.oid = i.indexrelid
               join pg_am am on am.oid = ci.relam join pg_namespace n on n.oid = ci.relnamespace
              where am.amname = 'btree' and i.indisvalid and i.indisready and ci.relpersistence <> 't'
                and {USER_SCHEMAS}
              order by 2"
        ),
        &[],
    )?;
    for index in indexes {
        let (oid, name): (u32, String) = (index.get(0), index.get(1));
        c.indexes += 1;
        if let Err(e) = client.execute("select bt_index_check($1::oid::regclass)", &[&oid]) {
            c.problems.push(Problem {
                kind: "index",
                object: name.clone(),
                message: format!(
                    "index {name} fails amcheck: {}",
                    dbsage_pgerror::headline(&e)
                ),
            });
        }
    }
    if !had_amcheck {
        client.batch_execute("drop extension amcheck")?;
    }
    Ok(())
}

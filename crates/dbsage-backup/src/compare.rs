//! A restored database against its manifest: every table present with the same row count and
//! content checksum, the same RLS flags and policy counts; every foreign key holds (orphans
//! counted); every btree index passes `amcheck`'s `bt_index_check`.

use std::collections::HashMap;

use postgres::Client;

use crate::manifest::{Manifest, TableEntry};
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

/// One unit of the comparison: each reads one relation, so two sessions can share them.
enum Check<'m> {
    /// Row count (and checksum, when the manifest has one) of a table the restore has.
    Table(&'m TableEntry),
    /// Orphans behind a `NOT VALID` foreign key.
    ForeignKey(ForeignKey),
    /// `bt_index_check` of a btree index.
    Index { oid: u32, name: String },
}

/// The checks on two sessions of the restored database at once, largest relation first, each
/// session taking the next check when it is free: the restored copy is read by two cores, as
/// `pg_restore -j2` wrote it. Problems are reported in the manifest's order whatever session
/// found them.
pub fn compare(
    client: &mut Client,
    other: &mut Client,
    manifest: &Manifest,
) -> Result<Comparison, postgres::Error> {
    let mut c = Comparison::default();
    let present = table_flags(client, manifest, &mut c)?;
    let fks = foreign_keys(client)?;
    c.foreign_keys = fks.len();
    let indexes = match prepare_amcheck(client)? {
        Ok(had_amcheck) => Some((had_amcheck, btree_indexes(client)?)),
        Err(note) => {
            c.amcheck_note = Some(note);
            None
        }
    };
    let mut checks: Vec<(i64, Check)> = present
        .into_iter()
        .filter(|t| t.rows.is_some() || t.checksum.is_some())
        .map(|t| (t.bytes, Check::Table(t)))
        .collect();
    checks.extend(
        fks.into_iter()
            .filter(|fk| !fk.validated)
            .map(|fk| (fk.child_bytes, Check::ForeignKey(fk))),
    );
    if let Some((_, list)) = &indexes {
        c.indexes = list.len();
        checks.extend(list.iter().map(|(oid, name, bytes)| {
            (
                *bytes,
                Check::Index {
                    oid: *oid,
                    name: name.clone(),
                },
            )
        }));
    }
    // Report order is the list's order; work order is by size, largest first.
    let mut schedule: Vec<usize> = (0..checks.len()).collect();
    schedule.sort_by_key(|&i| std::cmp::Reverse(checks[i].0));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let run = |session: &mut Client| -> Result<Vec<(usize, Outcome)>, postgres::Error> {
        session.batch_execute(snapshot::STABLE_OUTPUT)?;
        let mut done = Vec::new();
        loop {
            let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&i) = schedule.get(at) else {
                return Ok(done);
            };
            done.push((i, run_check(session, &checks[i].1)?));
        }
    };
    let (mine, theirs) = std::thread::scope(|scope| {
        let theirs = scope.spawn(|| run(other));
        let mine = run(client);
        (
            mine,
            theirs.join().expect("a comparison session does not panic"),
        )
    });
    let mut outcomes: Vec<(usize, Outcome)> = mine?;
    outcomes.extend(theirs?);
    outcomes.sort_by_key(|(i, _)| *i);
    for (_, outcome) in outcomes {
        c.rows += outcome.rows;
        c.checksums += outcome.checksums;
        c.problems.extend(outcome.problem);
    }
    if let Some((false, _)) = indexes {
        client.batch_execute("drop extension amcheck")?;
    }
    Ok(c)
}

/// What one check found.
#[derive(Default)]
struct Outcome {
    rows: i64,
    checksums: usize,
    problem: Option<Problem>,
}

fn run_check(client: &mut Client, check: &Check) -> Result<Outcome, postgres::Error> {
    let mut outcome = Outcome::default();
    match check {
        Check::Table(table) => {
            let name = table.qualified();
            let (rows, checksum) = snapshot::count_and_checksum(
                client,
                &table.schema,
                &table.name,
                table.checksum.is_some(),
            )?;
            outcome.rows = rows;
            if let Some(expected) = table.rows.filter(|&expected| expected != rows) {
                outcome.problem = Some(Problem {
                    kind: "rows",
                    object: name.clone(),
                    message: format!(
                        "table {name}: {rows} rows after restore, the manifest counted {expected}"
                    ),
                });
                return Ok(outcome);
            }
            if let (Some(expected), Some(checksum)) = (&table.checksum, checksum) {
                outcome.checksums = 1;
                if &checksum != expected {
                    outcome.problem = Some(Problem {
                        kind: "checksum",
                        object: name.clone(),
                        message: format!("table {name}: the rows' content differs from the backup's (checksum {checksum}, manifest {expected})"),
                    });
                }
            }
        }
        Check::ForeignKey(fk) => outcome.problem = orphans(client, fk)?,
        Check::Index { oid, name } => outcome.problem = check_index(client, *oid, name),
    }
    Ok(outcome)
}

/// RLS flags and policy counts of every manifest table, read in one query; the tables the
/// restored database has (a missing one is a problem, and is not counted).
fn table_flags<'m>(
    client: &mut Client,
    manifest: &'m Manifest,
    c: &mut Comparison,
) -> Result<Vec<&'m TableEntry>, postgres::Error> {
    let rows = client.query(
        "select n.nspname::text, c.relname::text, c.relrowsecurity, c.relforcerowsecurity,
                (select count(*) from pg_policy p where p.polrelid = c.oid)
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind = 'r'",
        &[],
    )?;
    let restored: HashMap<(String, String), (bool, bool, i64)> = rows
        .iter()
        .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3), r.get(4))))
        .collect();
    let mut present = Vec::new();
    for table in &manifest.tables {
        let name = table.qualified();
        let Some(&(rls, forced, policies)) =
            restored.get(&(table.schema.clone(), table.name.clone()))
        else {
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
        present.push(table);
    }
    Ok(present)
}

pub(crate) const USER_SCHEMAS: &str = "n.nspname not in ('pg_catalog', 'information_schema') \
    and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'";

/// A foreign key of the restored database.
struct ForeignKey {
    name: String,
    child: String,
    parent: String,
    from: Vec<String>,
    to: Vec<String>,
    validated: bool,
    child_bytes: i64,
}

/// Every foreign key. A validated constraint was checked row by row by the server when
/// pg_restore added it (a failing one is a restore error), so only `NOT VALID` ones, which the
/// server never checked, are scanned again for orphans.
fn foreign_keys(client: &mut Client) -> Result<Vec<ForeignKey>, postgres::Error> {
    let rows = client.query(
        &format!(
            "select co.conname::text, co.conrelid::regclass::text, co.confrelid::regclass::text,
                    array(select quote_ident(a.attname) from unnest(co.conkey) with ordinality k(n, o)
                            join pg_attribute a on a.attrelid = co.conrelid and a.attnum = k.n order by k.o),
                    array(select quote_ident(a.attname) from unnest(co.confkey) with ordinality k(n, o)
                            join pg_attribute a on a.attrelid = co.confrelid and a.attnum = k.n order by k.o),
                    co.convalidated, pg_relation_size(co.conrelid)
               from pg_constraint co join pg_namespace n on n.oid = co.connamespace
              where co.contype = 'f' and co.conparentid = 0 and {USER_SCHEMAS}
              order by 2, 1"
        ),
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| ForeignKey {
            name: r.get(0),
            child: r.get(1),
            parent: r.get(2),
            from: r.get(3),
            to: r.get(4),
            validated: r.get(5),
            child_bytes: r.get(6),
        })
        .collect())
}

/// Orphan rows behind one foreign key (MATCH SIMPLE: a row with a null key column references
/// nothing).
fn orphans(client: &mut Client, fk: &ForeignKey) -> Result<Option<Problem>, postgres::Error> {
    let not_null: Vec<String> = fk
        .from
        .iter()
        .map(|col| format!("c.{col} is not null"))
        .collect();
    let joined: Vec<String> = fk
        .from
        .iter()
        .zip(&fk.to)
        .map(|(f, t)| format!("p.{t} = c.{f}"))
        .collect();
    let sql = format!(
        "select count(*) from {} c where {} and not exists (select 1 from {} p where {})",
        fk.child,
        not_null.join(" and "),
        fk.parent,
        joined.join(" and ")
    );
    let orphans: i64 = client.query_one(&sql, &[])?.get(0);
    Ok((orphans > 0).then(|| Problem {
        kind: "foreign-key",
        object: format!("{}.{}", fk.child, fk.name),
        message: format!(
            "foreign key {} on {}: {orphans} rows reference no row of {}",
            fk.name, fk.child, fk.parent
        ),
    }))
}

/// Creates amcheck when the database does not have it: `Ok(had_it)`, or why indexes cannot be
/// checked.
fn prepare_amcheck(client: &mut Client) -> Result<Result<bool, String>, postgres::Error> {
    let had_amcheck: bool = client
        .query_one(
            "select exists (select 1 from pg_extension where extname = 'amcheck')",
            &[],
        )?
        .get(0);
    if !had_amcheck {
        if let Err(e) = client.batch_execute("create extension amcheck") {
            return Ok(Err(format!(
                "indexes not checked: amcheck is not available ({})",
                dbsage_pgerror::headline(&e)
            )));
        }
    }
    Ok(Ok(had_amcheck))
}

/// Every valid btree index: oid, name, size.
fn btree_indexes(client: &mut Client) -> Result<Vec<(u32, String, i64)>, postgres::Error> {
    Ok(client
        .query(
            &format!(
                "select ci.oid, ci.oid::regclass::text, pg_relation_size(ci.oid)
                   from pg_index i join pg_class ci on ci.oid = i.indexrelid
                   join pg_am am on am.oid = ci.relam join pg_namespace n on n.oid = ci.relnamespace
                  where am.amname = 'btree' and i.indisvalid and i.indisready and ci.relpersistence <> 't'
                    and {USER_SCHEMAS}
                  order by 2"
            ),
            &[],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

fn check_index(client: &mut Client, oid: u32, name: &str) -> Option<Problem> {
    let failed = client
        .execute("select bt_index_check($1::oid::regclass)", &[&oid])
        .err()?;
    Some(Problem {
        kind: "index",
        object: name.to_string(),
        message: format!(
            "index {name} fails amcheck: {}",
            dbsage_pgerror::headline(&failed)
        ),
    })
}

/// `bt_index_check` on every valid btree index; amcheck is created for the check and dropped
/// again when the database did not have it.
pub(crate) fn check_indexes(
    client: &mut Client,
    c: &mut Comparison,
) -> Result<(), postgres::Error> {
    let had_amcheck = match prepare_amcheck(client)? {
        Ok(had) => had,
        Err(note) => {
            c.amcheck_note = Some(note);
            return Ok(());
        }
    };
    for (oid, name, _) in btree_indexes(client)? {
        c.indexes += 1;
        c.problems.extend(check_index(client, oid, &name));
    }
    if !had_amcheck {
        client.batch_execute("drop extension amcheck")?;
    }
    Ok(())
}

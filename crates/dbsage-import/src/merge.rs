//! Step 4: the merge, one statement inside the import's single transaction.
//!
//! Upsert is `MERGE … WHEN MATCHED AND (old) IS DISTINCT FROM (new) THEN UPDATE … WHEN NOT
//! MATCHED THEN INSERT` ([`Merge::merge_joined`]): the planner joins the rows with the target (a
//! hash join for a bulk load) instead of probing the key's index row by row, and a row whose
//! values did not change is not touched at all (no dead tuple, no trigger, not even a row lock),
//! so a re-run reports 0 updated. That is what makes it faster than `\copy` + `INSERT … ON
//! CONFLICT`. Where MERGE cannot be used, `INSERT … ON CONFLICT (key) DO UPDATE … WHERE
//! (changed)` does the same, with `RETURNING (xmax = 0)` telling inserted rows from updated ones.
//! The same counts are computed without writing (a join against the target) for dry runs and
//! for imports refused by the error budget.

use postgres::Transaction;

use crate::catalog::{Column, Table};
use crate::error::{db, ImportError};
use crate::ident::{literal, quote};
use crate::load::Layout;
use crate::options::Mode;
use crate::validate::ROWS;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

pub struct Merge<'a> {
    pub table: &'a Table,
    pub layout: &'a Layout,
    pub key: Option<&'a [String]>,
    pub mode: Mode,
    /// Rows that passed validation (the typed rows table's size).
    pub valid_rows: u64,
    /// A query giving the typed rows in place of the typed rows table (the direct merge from
    /// staging, see [`crate::validate::Validator::direct_rows`]); its columns in `present` order.
    pub rows_query: Option<String>,
}

impl Merge<'_> {
    fn present(&self) -> Vec<&Column> {
        self.layout
            .columns(self.table)
            .into_iter()
            .map(|(_, c)| c)
            .collect()
    }

    /// Columns an upsert updates: present, not part of the key, and writable by UPDATE.
    fn updated_columns(&self) -> Vec<&Column> {
        let key = self.key.unwrap_or(&[]);
        self.present()
            .into_iter()
            .filter(|c| !key.contains(&c.name) && c.identity != "a")
            .collect()
    }

    /// `(t.a, t.b) IS DISTINCT FROM (s.a, s.b)`, comparing text forms for types without `=`.
    fn changed(&self, old: &str, new: &str) -> String {
        let side = |alias: &str| {
            self.updated_columns()
                .iter()
                .map(|c| {
                    if c.comparable {
                        format!("{alias}.{}", quote(&c.name))
                    } else {
                        format!("{alias}.{}::text", quote(&c.name))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!("ROW({}) IS DISTINCT FROM ROW({})", side(old), side(new))
    }

    fn key_list(&self) -> String {
        self.key
            .unwrap_or(&[])
            .iter()
            .map(|k| quote(k))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Writes the rows into the target and returns what happened.
    pub fn apply(&self, tx: &mut Transaction<'_>) -> Result<Counts, ImportError> {
        let columns = self
            .present()
            .iter()
            .map(|c| quote(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let overriding = if self.present().iter().any(|c| c.identity == "a") {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        let rows = match &self.rows_query {
            Some(query) => query.clone(),
            None => format!("SELECT {columns} FROM {ROWS}"),
        };
        let insert = format!(
            "INSERT INTO {} AS t ({columns}){overriding} {rows}",
            self.table.qualified
        );
        let what = format!("merging into {}", self.table.display);
        let (inserted, updated) = match self.mode {
            Mode::Insert => (tx.execute(&insert, &[]).map_err(db(&what))?, 0),
            Mode::SkipExisting => (
                tx.execute(
                    &format!("{insert} ON CONFLICT ({}) DO NOTHING", self.key_list()),
                    &[],
                )
                .map_err(db(&what))?,
                0,
            ),
            Mode::Upsert if self.updated_columns().is_empty() => (
                tx.execute(
                    &format!("{insert} ON CONFLICT ({}) DO NOTHING", self.key_list()),
                    &[],
                )
                .map_err(db(&what))?,
                0,
            ),
            Mode::Upsert => match self.merge_joined(tx, &rows, &columns, overriding)? {
                Some(counts) => counts,
                None => self.on_conflict_update(tx, &insert)?,
            },
        };
        Ok(Counts {
            inserted,
            updated,
            unchanged: self.valid_rows - inserted - updated,
        })
    }

    /// The upsert as `INSERT … ON CONFLICT DO UPDATE … WHERE (changed)`: the fallback where
    /// [`merge_joined`](Self::merge_joined) cannot be used.
    fn on_conflict_update(
        &self,
        tx: &mut Transaction<'_>,
        insert: &str,
    ) -> Result<(u64, u64), ImportError> {
        let what = format!("merging into {}", self.table.display);
        let set = self
            .updated_columns()
            .iter()
            .map(|c| format!("{n} = EXCLUDED.{n}", n = quote(&c.name)))
            .collect::<Vec<_>>()
            .join(", ");
        let row = tx
            .query_one(
                &format!(
                    "WITH merged AS ({insert} ON CONFLICT ({}) DO UPDATE SET {set} WHERE {}
                         RETURNING (t.xmax = 0) AS inserted)
                     SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
                     FROM merged",
                    self.key_list(),
                    self.changed("t", "EXCLUDED")
                ),
                &[],
            )
            .map_err(db(&what))?;
        Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64))
    }

    /// The upsert as one `MERGE`, in a savepoint. PostgreSQL 15's MERGE has no RETURNING, so
    /// the counts come from this transaction's own statistics counters for the target (and its
    /// partitions; a row moved to another partition counts as a delete and an insert), read
    /// before and after and checked against the statement's row count. `None` (rolled back)
    /// when they disagree (a trigger writing the same table, `track_counts` off) or the server
    /// does not support MERGE on this table (rules): the caller then runs `ON CONFLICT`.
    fn merge_joined(
        &self,
        tx: &mut Transaction<'_>,
        rows: &str,
        columns: &str,
        overriding: &str,
    ) -> Result<Option<(u64, u64)>, ImportError> {
        let key = self.key.unwrap_or(&[]);
        let on = key
            .iter()
            .map(|k| format!("t.{k} = s.{k}", k = quote(k)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let set = self
            .updated_columns()
            .iter()
            .map(|c| format!("{n} = s.{n}", n = quote(&c.name)))
            .collect::<Vec<_>>()
            .join(", ");
        let values = self
            .present()
            .iter()
            .map(|c| format!("s.{}", quote(&c.name)))
            .collect::<Vec<_>>()
            .join(", ");
        let statement = format!(
            "MERGE INTO {table} AS t USING ({rows}) AS s ({columns}) ON {on}
             WHEN MATCHED AND {changed} THEN UPDATE SET {set}
             WHEN NOT MATCHED THEN INSERT ({columns}){overriding} VALUES ({values})",
            table = self.table.qualified,
            changed = self.changed_from_source(),
        );
        let target = literal(&self.table.qualified);
        let counters = format!(
            "SELECT coalesce(sum(pg_stat_get_xact_tuples_inserted(relid)), 0)::int8,
                    coalesce(sum(pg_stat_get_xact_tuples_updated(relid)), 0)::int8,
                    coalesce(sum(pg_stat_get_xact_tuples_deleted(relid)), 0)::int8
             FROM (SELECT {target}::regclass AS relid
                   UNION SELECT relid FROM pg_partition_tree({target}::regclass)) r"
        );
        let what = format!("merging into {}", self.table.display);
        let read = |tx: &mut Transaction<'_>| -> Result<[i64; 3], ImportError> {
            let row = tx.query_one(&counters, &[]).map_err(db(&what))?;
            Ok([row.get(0), row.get(1), row.get(2)])
        };
        let mut savepoint = tx.savepoint("dbsage_import_join").map_err(db(&what))?;
        let before = read(&mut savepoint)?;
        let affected = match savepoint.execute(&statement, &[]) {
            Ok(n) => n as i64,
            Err(e) if e.code() == Some(&postgres::error::SqlState::FEATURE_NOT_SUPPORTED) => {
                savepoint.rollback().map_err(db(&what))?;
                return Ok(None);
            }
            Err(e) => return Err(db(&what)(e)),
        };
        let after = read(&mut savepoint)?;
        let [inserts, updates, deletes] = [0, 1, 2].map(|i| after[i] - before[i]);
        let (inserted, updated) = (inserts - deletes, updates + deletes);
        if inserted < 0 || updated < 0 || inserted + updated != affected {
            savepoint.rollback().map_err(db(&what))?;
            return Ok(None);
        }
        savepoint.commit().map_err(db(&what))?;
        Ok(Some((inserted as u64, updated as u64)))
    }

    /// [`changed`](Self::changed) between the target row `t` and a MERGE source row `s`, whose
    /// values are not yet assigned to the column: a typmod'd value is compared as the column
    /// will store it, so a value rounded on the way in does not count as a change on a re-run.
    fn changed_from_source(&self) -> String {
        let columns = self.updated_columns();
        let side = |source: bool| {
            columns
                .iter()
                .map(|c| {
                    let mut value =
                        format!("{}.{}", if source { "s" } else { "t" }, quote(&c.name));
                    if source && c.has_typmod {
                        value = format!("{value}::{}", c.full_type);
                    }
                    if !c.comparable {
                        value.push_str("::text");
                    }
                    value
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!("ROW({}) IS DISTINCT FROM ROW({})", side(false), side(true))
    }

    /// What [`apply`](Self::apply) would do, without writing.
    pub fn plan(&self, tx: &mut Transaction<'_>) -> Result<Counts, ImportError> {
        let key = match (self.mode, self.key) {
            (Mode::Insert, _) | (_, None) => {
                return Ok(Counts {
                    inserted: self.valid_rows,
                    ..Counts::default()
                })
            }
            (_, Some(key)) => key,
        };
        let join = key
            .iter()
            .map(|k| format!("t.{k} = s.{k}", k = quote(k)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let changed = if self.mode == Mode::Upsert && !self.updated_columns().is_empty() {
            self.changed("t", "s")
        } else {
            "false".to_string()
        };
        let row = tx
            .query_one(
                &format!(
                    "SELECT count(*) FILTER (WHERE t.ctid IS NULL),
                            count(*) FILTER (WHERE t.ctid IS NOT NULL AND {changed})
                     FROM {ROWS} s LEFT JOIN {} t ON {join}",
                    self.table.qualified
                ),
                &[],
            )
            .map_err(db("counting what the merge would change"))?;
        let inserted = row.get::<_, i64>(0) as u64;
        let updated = row.get::<_, i64>(1) as u64;
        Ok(Counts {
            inserted,
            updated,
            unchanged: self.valid_rows - inserted - updated,
        })
    }
}

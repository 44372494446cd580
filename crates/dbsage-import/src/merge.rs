//! Step 4: the merge, one statement inside the import's single transaction.
//!
//! Upsert is `INSERT … ON CONFLICT (key) DO UPDATE … WHERE (old) IS DISTINCT FROM (new)`: a row
//! whose values did not change is not updated at all (no dead tuple, no trigger), so a re-run
//! reports 0 updated. `RETURNING (xmax = 0)` tells inserted rows from updated ones; rows the
//! statement did not return were left unchanged. The same counts are computed without writing
//! (a join against the target) for dry runs and for imports refused by the error budget.

use postgres::Transaction;

use crate::catalog::{Column, Table};
use crate::error::{db, ImportError};
use crate::ident::quote;
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
            Mode::Upsert => {
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
                (row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64)
            }
        };
        Ok(Counts {
            inserted,
            updated,
            unchanged: self.valid_rows - inserted - updated,
        })
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

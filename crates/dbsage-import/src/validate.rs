//! Step 3: validate the staged rows before the target is touched.
//!
//! Fast path first: one `INSERT … SELECT` casts every staged value into a typed table that
//! carries the target's NOT NULL and CHECK constraints. Clean data (the common case) is
//! validated in that single set-based pass, at COPY-like speed. Only when it fails does the
//! slow path run, per column: a column whose values all cast is skipped in one statement, and
//! only a failing column is diagnosed row by row (a PL/pgSQL function that traps the cast
//! error — `pg_input_is_valid` needs PostgreSQL 16). Then come the checks that need the typed
//! rows: duplicate keys inside the file, keys that already exist (insert mode), and foreign
//! keys that point nowhere. Every problem lands in a rejects table with its line, column,
//! value and reason, and rejected rows are removed from the typed rows.

use postgres::Transaction;

use crate::catalog::{Column, Table};
use crate::error::{db, ImportError};
use crate::ident::{literal, quote};
use crate::load::{Layout, LINE, STAGING};
use crate::options::Mode;

pub const ROWS: &str = "pg_temp.dbsage_import_rows";
pub const REJECTS: &str = "pg_temp.dbsage_import_rejects";

/// The cast that turns staged text into the column's value: to the underlying type without
/// any typmod (see [`Column::base_type`]), so the assignment into the typed column then
/// enforces lengths like COPY and INSERT do.
fn cast(staged: &str, column: &Column) -> String {
    if column.full_type == "text" {
        staged.to_string()
    } else {
        format!("{staged}::{}", column.base_type)
    }
}

/// True when `before` (the value cast without typmod) survives the column's typmod unchanged:
/// `1.234` in `numeric(10,2)`, `10:00:00.5` in `time(0)` or `'ab  '` in `varchar(2)` would not.
/// `char(n)` padding compares equal, so it is kept.
fn kept(before: &str, after: &str, column: &Column) -> String {
    if column.comparable || column.is_array {
        format!("({before} IS NOT DISTINCT FROM {after})")
    } else {
        format!("({before}::text IS NOT DISTINCT FROM {after}::text)")
    }
}

/// The typed rows' column that is false for a row whose value the typmod would change.
const KEPT: &str = "dbsage_import_kept";

pub struct Validator<'a> {
    pub table: &'a Table,
    pub layout: &'a Layout,
    /// Key columns, when the mode uses one and the file provides all of them.
    pub key: Option<&'a [String]>,
    pub mode: Mode,
    /// Leave duplicate keys to the merge: the target's unique index finds them anyway while
    /// inserting, inside a savepoint, and [`Validator::late_duplicates`] then diagnoses them.
    /// Saves a full aggregation pass on clean data.
    pub defer_duplicates: bool,
    /// Accept values a numeric or date/time typmod rounds (lengths are still enforced).
    pub allow_rounding: bool,
    /// Staging already holds typed values ([`crate::typed`]): nothing to cast.
    pub typed_staging: bool,
}

impl Validator<'_> {
    /// Creates the (empty) rejects table, which every path reads at the end.
    pub fn prepare(&self, tx: &mut Transaction<'_>) -> Result<(), ImportError> {
        tx.batch_execute(&format!(
            "CREATE TEMP TABLE {REJECTS} (line bigint, col text, val text, reason text) ON COMMIT DROP"
        ))
        .map_err(db("creating the rejects table"))
    }

    /// The typed rows straight from staging, for a merge that skips the typed rows table when
    /// the target's own constraints will refuse whatever validation would reject (see
    /// `lib.rs`). A value its typmod would change raises an error, like a failed cast does;
    /// either sends the import back through the full validation.
    pub fn direct_rows(&self, tx: &mut Transaction<'_>) -> Result<String, ImportError> {
        let present = self.present();
        let checked: Vec<usize> = (0..present.len())
            .filter(|&i| self.checks_kept(present[i].1))
            .collect();
        if checked.is_empty() {
            let casts = present
                .iter()
                .map(|(staged, column)| cast(staged, column))
                .collect::<Vec<_>>()
                .join(", ");
            return Ok(format!("SELECT {casts} FROM {STAGING}"));
        }
        tx.batch_execute(
            "CREATE OR REPLACE FUNCTION pg_temp.dbsage_import_changed(anyelement) RETURNS anyelement \
             LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'a value would change under its type''s \
             modifier'; END$$",
        )
        .map_err(db("creating the typmod guard"))?;
        let mut inner = String::from("SELECT ");
        let mut outer = String::from("SELECT ");
        for (i, (staged, column)) in present.iter().enumerate() {
            if i > 0 {
                inner.push_str(", ");
                outer.push_str(", ");
            }
            inner.push_str(&format!("{} AS v{i}", cast(staged, column)));
            // Typed staging: the guard reads the column itself (no cast to do once below).
            let v = match self.typed_staging {
                true => staged.clone(),
                false => format!("v{i}"),
            };
            if checked.contains(&i) {
                outer.push_str(&format!(
                    "CASE WHEN {} THEN {v} ELSE pg_temp.dbsage_import_changed({v}) END",
                    kept(&v, &format!("{v}::{}", column.full_type), column)
                ));
            } else {
                outer.push_str(&v);
            }
        }
        if self.typed_staging {
            return Ok(format!("{outer} FROM {STAGING}"));
        }
        Ok(format!("{outer} FROM ({inner} FROM {STAGING} OFFSET 0) s"))
    }

    /// Whether the key is unique among the staged rows (compared as typed values); false
    /// also when a key does not even cast.
    pub fn staged_keys_unique(&self, tx: &mut Transaction<'_>) -> Result<bool, ImportError> {
        let Some(key) = self.key else {
            return Ok(true);
        };
        let present = self.present();
        let casts: Vec<String> = key
            .iter()
            .filter_map(|k| present.iter().find(|(_, c)| &c.name == k))
            .map(|(staged, column)| cast(staged, column))
            .collect();
        let not_null = casts
            .iter()
            .map(|c| format!("{c} IS NOT NULL"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let mut sp = tx
            .savepoint("dbsage_import_keys")
            .map_err(db("checking for duplicate keys"))?;
        let unique = sp
            .query_one(
                &format!(
                    "SELECT NOT EXISTS (SELECT 1 FROM {STAGING} WHERE {not_null} GROUP BY {} HAVING count(*) > 1)",
                    casts.join(", ")
                ),
                &[],
            )
            .map(|row| row.get::<_, bool>(0));
        match unique {
            Ok(unique) => {
                sp.commit().map_err(db("checking for duplicate keys"))?;
                Ok(unique)
            }
            Err(e) if e.as_db_error().is_some() => {
                sp.rollback().map_err(db("checking for duplicate keys"))?;
                Ok(false)
            }
            Err(e) => Err(db("checking for duplicate keys")(e)),
        }
    }

    /// Runs every check; returns the number of rejected records.
    pub fn run(&self, tx: &mut Transaction<'_>) -> Result<u64, ImportError> {
        let mut fast = tx
            .savepoint("dbsage_import_fast")
            .map_err(db("starting validation"))?;
        match self.typed_rows(&mut fast, true) {
            Ok(()) => fast.commit().map_err(db("validating rows"))?,
            Err(ImportError::Database { source, .. }) if source.as_db_error().is_some() => {
                fast.rollback().map_err(db("validating rows"))?;
                self.diagnose(tx)?;
            }
            Err(e) => return Err(e),
        }
        self.remove_rejected(tx)?;
        if let Some(key) = self.key {
            if !self.defer_duplicates {
                self.duplicate_keys(tx, key)?;
            }
            if self.mode == Mode::Insert {
                self.existing_keys(tx, key)?;
            }
        }
        self.foreign_keys(tx)?;
        self.remove_rejected(tx)?;
        self.count_rejected(tx)
    }

    /// The deferred duplicate-key check; returns the new number of rejected records.
    pub fn late_duplicates(&self, tx: &mut Transaction<'_>) -> Result<u64, ImportError> {
        if let Some(key) = self.key {
            self.duplicate_keys(tx, key)?;
            self.remove_rejected(tx)?;
        }
        self.count_rejected(tx)
    }

    fn count_rejected(&self, tx: &mut Transaction<'_>) -> Result<u64, ImportError> {
        let row = tx
            .query_one(&format!("SELECT count(DISTINCT line) FROM {REJECTS}"), &[])
            .map_err(db("counting rejects"))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn present(&self) -> Vec<(String, &Column)> {
        self.layout.columns(self.table)
    }

    /// Whether a value must survive the column's typmod unchanged to be accepted.
    fn checks_kept(&self, column: &Column) -> bool {
        column.has_typmod && !(self.allow_rounding && column.rounds)
    }

    /// Creates the typed rows table and fills it from staging (skipping rejected lines).
    /// With `constrained`, it carries NOT NULL and CHECK constraints, so one failing row fails
    /// the statement (the fast path).
    fn typed_rows(&self, tx: &mut Transaction<'_>, constrained: bool) -> Result<(), ImportError> {
        let present = self.present();
        let mut ddl = format!("CREATE TEMP TABLE {ROWS} ({} bigint", quote(LINE));
        for (_, column) in &present {
            ddl.push_str(&format!(", {} {}", quote(&column.name), column.full_type));
            if constrained && column.not_null {
                ddl.push_str(" NOT NULL");
            }
        }
        if constrained {
            for check in self.applicable_checks() {
                ddl.push_str(&format!(", CHECK ({})", check.expression));
            }
        }
        ddl.push_str(") ON COMMIT DROP");
        let checked: Vec<usize> = (0..present.len())
            .filter(|&i| constrained && self.checks_kept(present[i].1))
            .collect();
        let mut insert = format!("INSERT INTO {ROWS} SELECT {}", quote(LINE));
        if checked.is_empty() {
            for (staged, column) in &present {
                insert.push_str(", ");
                insert.push_str(&cast(staged, column));
            }
            insert.push_str(&format!(" FROM {STAGING} s"));
            if !constrained {
                insert.push_str(&format!(
                    " WHERE NOT EXISTS (SELECT 1 FROM {REJECTS} r WHERE r.line = s.{})",
                    quote(LINE)
                ));
            }
        } else {
            // Cast once in a subquery, then compare each checked value with its typmod'd form.
            ddl.insert_str(
                ddl.len() - ") ON COMMIT DROP".len(),
                &format!(", {KEPT} boolean CHECK ({KEPT})"),
            );
            let mut inner = format!("SELECT {}", quote(LINE));
            for (i, (staged, column)) in present.iter().enumerate() {
                inner.push_str(&format!(", {} AS v{i}", cast(staged, column)));
                insert.push_str(&format!(", v{i}"));
            }
            let all_kept = checked
                .iter()
                .map(|&i| {
                    let v = format!("v{i}");
                    kept(
                        &v,
                        &format!("{v}::{}", present[i].1.full_type),
                        present[i].1,
                    )
                })
                .collect::<Vec<_>>()
                .join(" AND ");
            insert.push_str(&format!(
                ", {all_kept} FROM ({inner} FROM {STAGING} OFFSET 0) s"
            ));
        }
        tx.batch_execute(&ddl)
            .map_err(db("creating the typed rows table"))?;
        tx.batch_execute(&insert)
            .map_err(db("converting staged values to the target's types"))?;
        Ok(())
    }

    fn applicable_checks(&self) -> Vec<&crate::catalog::Check> {
        let present: Vec<&str> = self
            .present()
            .iter()
            .map(|(_, c)| c.name.as_str())
            .collect();
        self.table
            .checks
            .iter()
            .filter(|c| c.columns.iter().all(|col| present.contains(&col.as_str())))
            .collect()
    }

    /// The slow path: finds every bad value, NULL in a NOT NULL column and CHECK failure.
    fn diagnose(&self, tx: &mut Transaction<'_>) -> Result<(), ImportError> {
        for (staged, column) in self.present() {
            if column.full_type != "text" && !self.column_casts_cleanly(tx, &staged, column)? {
                self.reject_bad_values(tx, &staged, column)?;
            }
            if column.not_null {
                tx.execute(
                    &format!(
                        "INSERT INTO {REJECTS} SELECT {}, $1, NULL, $2 FROM {STAGING} WHERE {staged} IS NULL",
                        quote(LINE)
                    ),
                    &[
                        &column.name,
                        &format!("null value in column {:?}, which is NOT NULL", column.name),
                    ],
                )
                .map_err(db("checking NOT NULL columns"))?;
            }
        }
        self.typed_rows(tx, false)?;
        for check in self.applicable_checks() {
            let (column, value) = match check.columns.as_slice() {
                [one] => (one.clone(), format!("{}::text", quote(one))),
                many => (
                    many.join(", "),
                    format!(
                        "ROW({})::text",
                        many.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
                    ),
                ),
            };
            tx.execute(
                &format!(
                    "INSERT INTO {REJECTS} SELECT {}, $1, {value}, $2 FROM {ROWS} WHERE ({}) IS FALSE",
                    quote(LINE),
                    check.expression
                ),
                &[
                    &column,
                    &format!(
                        "violates CHECK constraint {:?}: {}",
                        check.name, check.expression
                    ),
                ],
            )
            .map_err(db("checking CHECK constraints"))?;
        }
        Ok(())
    }

    /// One statement that casts the whole column; a typmod or domain still needs the per-row
    /// check because an explicit cast would not enforce it the way assignment does.
    fn column_casts_cleanly(
        &self,
        tx: &mut Transaction<'_>,
        staged: &str,
        column: &Column,
    ) -> Result<bool, ImportError> {
        if column.has_typmod || column.full_type != column.base_type {
            return Ok(false);
        }
        let mut sp = tx
            .savepoint("dbsage_import_column")
            .map_err(db("validating a column"))?;
        let ok = sp
            .batch_execute(&format!(
                "SELECT count({}) FROM {STAGING}",
                cast(staged, column)
            ))
            .is_ok();
        sp.rollback().map_err(db("validating a column"))?;
        Ok(ok)
    }

    /// Row-by-row diagnosis of one column: a temporary PL/pgSQL function assigns each value to
    /// a variable of the column's exact type and returns the error message when that fails.
    fn reject_bad_values(
        &self,
        tx: &mut Transaction<'_>,
        staged: &str,
        column: &Column,
    ) -> Result<(), ImportError> {
        let kept_check = if self.checks_kept(column) {
            let what = if column.rounds {
                "rounded; --allow-rounding accepts that"
            } else {
                "cut short"
            };
            format!(
                "IF NOT {} THEN RETURN format('%s would store this as %s ({what})', {}, x::text); END IF; ",
                kept("b", "x", column),
                literal(&column.full_type),
            )
        } else {
            String::new()
        };
        let body = format!(
            "DECLARE b {}; x {}; BEGIN b := {}; x := b; {kept_check}RETURN NULL; \
             EXCEPTION WHEN others THEN RETURN SQLERRM; END",
            column.base_type,
            column.full_type,
            cast("v", column)
        );
        tx.batch_execute(&format!(
            "CREATE OR REPLACE FUNCTION pg_temp.dbsage_import_cast_error(v text) RETURNS text \
             LANGUAGE plpgsql AS {}",
            literal(&body)
        ))
        .map_err(db("creating the diagnosis function"))?;
        tx.execute(
            &format!(
                "INSERT INTO {REJECTS}
                 SELECT line, $1, left(val, 200), err FROM (
                     SELECT {} AS line, {staged} AS val, pg_temp.dbsage_import_cast_error({staged}) AS err
                     FROM {STAGING} WHERE {staged} IS NOT NULL OFFSET 0) x
                 WHERE err IS NOT NULL",
                quote(LINE)
            ),
            &[&column.name],
        )
        .map_err(db("finding invalid values"))?;
        tx.batch_execute("DROP FUNCTION pg_temp.dbsage_import_cast_error(text)")
            .map_err(db("dropping the diagnosis function"))?;
        Ok(())
    }

    /// Keys that appear more than once in the file: every occurrence is rejected, since the
    /// file does not say which one is right.
    fn duplicate_keys(&self, tx: &mut Transaction<'_>, key: &[String]) -> Result<(), ImportError> {
        let cols = key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ");
        let not_null = key
            .iter()
            .map(|k| format!("{} IS NOT NULL", quote(k)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let any = tx
            .query_one(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM {ROWS} WHERE {not_null} GROUP BY {cols} HAVING count(*) > 1)"
                ),
                &[],
            )
            .map_err(db("checking for duplicate keys"))?;
        if !any.get::<_, bool>(0) {
            return Ok(());
        }
        let template = format!(
            "duplicate key ({})=%s: the file has this key on lines %s",
            key.join(", ").replace('%', "%%")
        );
        tx.execute(
            &format!(
                "INSERT INTO {REJECTS}
                 SELECT line, $1, key_text,
                        format($2, key_text, array_to_string(lines[1:10], ', ')
                               || CASE WHEN cardinality(lines) > 10 THEN ', …' ELSE '' END)
                 FROM (SELECT {line} AS line, ROW({cols})::text AS key_text,
                              array_agg({line}) OVER w AS lines, count(*) OVER w AS n
                       FROM {ROWS} WHERE {not_null}
                       WINDOW w AS (PARTITION BY {cols} ORDER BY {line}
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) d
                 WHERE n > 1",
                line = quote(LINE)
            ),
            &[&key.join(", "), &template],
        )
        .map_err(db("reporting duplicate keys"))?;
        Ok(())
    }

    /// Insert mode never changes existing rows: a key already in the target is a reject.
    fn existing_keys(&self, tx: &mut Transaction<'_>, key: &[String]) -> Result<(), ImportError> {
        let cols = key
            .iter()
            .map(|k| format!("s.{}", quote(k)))
            .collect::<Vec<_>>()
            .join(", ");
        let join = key
            .iter()
            .map(|k| format!("t.{k} = s.{k}", k = quote(k)))
            .collect::<Vec<_>>()
            .join(" AND ");
        tx.execute(
            &format!(
                "INSERT INTO {REJECTS} SELECT s.{}, $1, ROW({cols})::text, $2 FROM {ROWS} s
                 WHERE EXISTS (SELECT 1 FROM {} t WHERE {join})",
                quote(LINE),
                self.table.qualified
            ),
            &[
                &key.join(", "),
                &format!(
                    "key ({}) already exists in {} (--mode insert never changes existing rows; \
                     use --mode upsert or --mode skip-existing)",
                    key.join(", "),
                    self.table.display
                ),
            ],
        )
        .map_err(db("checking for existing keys"))?;
        Ok(())
    }

    /// Foreign keys whose referenced row exists neither in the referenced table nor (for a
    /// self-reference) among the imported rows.
    fn foreign_keys(&self, tx: &mut Transaction<'_>) -> Result<(), ImportError> {
        let present: Vec<String> = self.present().iter().map(|(_, c)| c.name.clone()).collect();
        for fk in &self.table.foreign_keys {
            if !fk.columns.iter().all(|c| present.contains(c)) {
                continue;
            }
            let not_null = fk
                .columns
                .iter()
                .map(|c| format!("s.{} IS NOT NULL", quote(c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let matches = |alias: &str| {
                fk.columns
                    .iter()
                    .zip(&fk.referenced_columns)
                    .map(|(c, r)| format!("{alias}.{} = s.{}", quote(r), quote(c)))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            };
            let mut sql = format!(
                "INSERT INTO {REJECTS} SELECT s.{}, $1, ROW({})::text, $2 FROM {ROWS} s
                 WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM {} r WHERE {})",
                quote(LINE),
                fk.columns
                    .iter()
                    .map(|c| format!("s.{}", quote(c)))
                    .collect::<Vec<_>>()
                    .join(", "),
                fk.referenced_table,
                matches("r")
            );
            if fk.self_referencing && fk.referenced_columns.iter().all(|c| present.contains(c)) {
                sql.push_str(&format!(
                    " AND NOT EXISTS (SELECT 1 FROM {ROWS} r WHERE {})",
                    matches("r")
                ));
            }
            tx.execute(
                &sql,
                &[
                    &fk.columns.join(", "),
                    &format!(
                        "foreign key {:?} points nowhere: {} has no row with ({}) equal to this value",
                        fk.name,
                        fk.referenced_table,
                        fk.referenced_columns.join(", ")
                    ),
                ],
            )
            .map_err(db("checking foreign keys"))?;
        }
        Ok(())
    }

    fn remove_rejected(&self, tx: &mut Transaction<'_>) -> Result<(), ImportError> {
        let any = tx
            .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {REJECTS})"), &[])
            .map_err(db("counting rejects"))?;
        if !any.get::<_, bool>(0) {
            return Ok(());
        }
        tx.batch_execute(&format!(
            "DELETE FROM {ROWS} r WHERE EXISTS (SELECT 1 FROM {REJECTS} x WHERE x.line = r.{})",
            quote(LINE)
        ))
        .map_err(db("removing rejected rows"))
    }
}

//! `--prove`: the winner built for real on the throwaway copy, the statement timed before and
//! after (medians of several runs, parameters sampled from the copied data), and the write cost:
//! a sample of the table's own rows re-inserted before and after, each time rolled back.

use postgres::Client;
use serde::Serialize;

use super::candidates::{Candidate, ResolvedUse};
use super::error::{db, QueriesError, Result};
use super::plan::explain_json;
use super::predicates::{Predicates, UseKind};

/// Runs per median.
const RUNS: usize = 7;
/// Rows re-inserted to measure the write overhead.
const INSERT_SAMPLE: i64 = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    pub sample_rows: i64,
    /// The values the `$n` took, in order.
    pub parameters: Vec<String>,
    pub before_ms: f64,
    pub after_ms: f64,
    /// before / after.
    pub speedup: f64,
    pub inserted_rows: i64,
    pub insert_before_ms: f64,
    pub insert_after_ms: f64,
    /// How much slower the inserts got, in percent.
    pub write_overhead_percent: f64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn execution_ms(plan: &serde_json::Value) -> f64 {
    plan[0]["Execution Time"].as_f64().unwrap_or(f64::NAN)
}

/// A value for each `$n`: from the data for a compared column (any row's value for equality,
/// the 99th / 1st percentile for a lower / upper bound, so the range stays selective), 100 for
/// LIMIT and 0 for OFFSET.
fn parameter_values(
    client: &mut Client,
    predicates: &Predicates,
    uses: &[ResolvedUse],
) -> Result<Vec<String>> {
    let mut values = Vec::new();
    for n in 1..=predicates.max_param {
        let value = if predicates.limit_params.contains(&n) {
            "100".to_string()
        } else if predicates.offset_params.contains(&n) {
            "0".to_string()
        } else {
            let Some(u) = uses.iter().find(|u| u.param == Some(n)) else {
                return Err(QueriesError::BadInput(format!(
                    "${n} is not compared with a column: no value to time the statement with"
                )));
            };
            let column = dbsage_sql::quote_ident(&u.column);
            let table = u.table.sql();
            let pick = match u.kind {
                UseKind::Range { greater: true } => format!(
                    "SELECT (percentile_disc(0.99) WITHIN GROUP (ORDER BY {column}))::text FROM {table}"
                ),
                UseKind::Range { greater: false } => format!(
                    "SELECT (percentile_disc(0.01) WITHIN GROUP (ORDER BY {column}))::text FROM {table}"
                ),
                _ => format!(
                    "SELECT {column}::text FROM {table} WHERE {column} IS NOT NULL \
                     OFFSET floor(random() * (SELECT count(*) FROM {table}))::bigint LIMIT 1"
                ),
            };
            let row = client
                .query_opt(&pick, &[])
                .map_err(db("choosing a parameter value on the throwaway copy"))?;
            row.and_then(|r| r.get::<_, Option<String>>(0))
                .unwrap_or_default()
        };
        values.push(value);
    }
    Ok(values)
}

fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The median execution time of `sql` (with `values`) over [`RUNS`] runs.
fn time_statement(client: &mut Client, sql: &str, values: &[String]) -> Result<f64> {
    let run = if values.is_empty() {
        format!("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}")
    } else {
        client
            .batch_execute(&format!("PREPARE dbsage_prove AS {sql}"))
            .map_err(db("preparing the statement on the throwaway copy"))?;
        let args: Vec<String> = values.iter().map(|v| literal(v)).collect();
        format!(
            "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) EXECUTE dbsage_prove({})",
            args.join(", ")
        )
    };
    let mut times = Vec::new();
    // A write statement runs in a transaction rolled back each time.
    for _ in 0..RUNS {
        client
            .batch_execute("BEGIN")
            .map_err(db("timing on the throwaway copy"))?;
        let plan = explain_json(client, &run);
        client
            .batch_execute("ROLLBACK")
            .map_err(db("timing on the throwaway copy"))?;
        times.push(execution_ms(&plan?));
    }
    if !values.is_empty() {
        client
            .batch_execute("DEALLOCATE dbsage_prove")
            .map_err(db("timing on the throwaway copy"))?;
    }
    Ok(median(times))
}

/// The median time to insert the stashed rows back into the table, rolled back each time.
fn time_inserts(client: &mut Client, table: &str) -> Result<f64> {
    let mut times = Vec::new();
    for _ in 0..RUNS {
        // Each rolled-back run leaves dead rows and index entries with the same keys behind;
        // without a vacuum every run would be slower than the one before.
        client
            .batch_execute(&format!("VACUUM {table}"))
            .and_then(|()| client.batch_execute("BEGIN"))
            .map_err(db("timing inserts on the throwaway copy"))?;
        let plan = explain_json(
            client,
            &format!(
                "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) INSERT INTO {table} SELECT * FROM dbsage_insert_sample"
            ),
        );
        client
            .batch_execute("ROLLBACK")
            .map_err(db("timing inserts on the throwaway copy"))?;
        times.push(execution_ms(&plan?));
    }
    Ok(median(times))
}

/// Builds `winner` on the copy and measures both numbers. The index stays built afterwards.
pub fn prove(
    client: &mut Client,
    sample_rows: i64,
    sql: &str,
    predicates: &Predicates,
    uses: &[ResolvedUse],
    winner: &Candidate,
) -> Result<Proof> {
    let parameters = parameter_values(client, predicates, uses)?;
    let table = winner.table.sql();
    // Rows taken out of the table and kept aside, so putting them back meets the same unique
    // indexes without conflicts.
    client
        .batch_execute(&format!(
            "CREATE TEMP TABLE dbsage_insert_sample AS SELECT * FROM {table} LIMIT 0;
             WITH taken AS (DELETE FROM {table} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {table} LIMIT {INSERT_SAMPLE})) RETURNING *)
             INSERT INTO dbsage_insert_sample SELECT * FROM taken;"
        ))
        .map_err(db("setting aside rows to re-insert"))?;
    let inserted_rows: i64 = client
        .query_one("SELECT count(*) FROM dbsage_insert_sample", &[])
        .map_err(db("counting the rows set aside"))?
        .get(0);
    let before_ms = time_statement(client, sql, &parameters)?;
    let insert_before_ms = time_inserts(client, &table)?;
    client
        .batch_execute(&format!("{}; ANALYZE {table}", winner.create_sql()))
        .map_err(db(&format!(
            "building {} on the throwaway copy",
            winner.describe()
        )))?;
    let after_ms = time_statement(client, sql, &parameters)?;
    let insert_after_ms = time_inserts(client, &table)?;
    client
        .batch_execute(&format!(
            "INSERT INTO {table} SELECT * FROM dbsage_insert_sample; DROP TABLE dbsage_insert_sample"
        ))
        .map_err(db("putting the rows set aside back"))?;
    Ok(Proof {
        sample_rows,
        parameters,
        before_ms,
        after_ms,
        speedup: before_ms / after_ms.max(0.001),
        inserted_rows,
        insert_before_ms,
        insert_after_ms,
        write_overhead_percent: 100.0 * (insert_after_ms - insert_before_ms)
            / insert_before_ms.max(0.001),
    })
}

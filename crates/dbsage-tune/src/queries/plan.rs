//! The planner's plan for a statement as pg_stat_statements records it: parameterised
//! statements (`$1`) get a generic plan (`EXPLAIN (GENERIC_PLAN)` on 16+, a prepared statement
//! under `plan_cache_mode = force_generic_plan` before), never run.

use postgres::{Client, SimpleQueryMessage};
use serde_json::Value;

use super::error::{db, QueriesError, Result};

/// `server_version_num` of the connected server.
pub fn server_version(client: &mut Client) -> Result<i32> {
    let row = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .map_err(db("reading the server version"))?;
    Ok(row.get(0))
}

/// The JSON of `EXPLAIN (FORMAT JSON …)`'s single row: `[{"Plan": …}]`.
pub(crate) fn explain_json(client: &mut Client, explain: &str) -> Result<Value> {
    let messages = client
        .simple_query(explain)
        .map_err(db("explaining the statement"))?;
    let text = messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
        .ok_or_else(|| QueriesError::BadInput("EXPLAIN returned no plan".into()))?;
    serde_json::from_str(&text)
        .map_err(|e| QueriesError::BadInput(format!("EXPLAIN returned unreadable JSON: {e}")))
}

/// The top node's total cost.
pub fn total_cost(plan: &Value) -> f64 {
    plan[0]["Plan"]["Total Cost"].as_f64().unwrap_or(0.0)
}

/// The plan of `sql` (parameters `$1…$max_param` left generic).
pub fn generic_plan(client: &mut Client, sql: &str, max_param: i32, version: i32) -> Result<Value> {
    if max_param == 0 {
        return explain_json(client, &format!("EXPLAIN (FORMAT JSON, VERBOSE) {sql}"));
    }
    if version >= 160000 {
        return explain_json(
            client,
            &format!("EXPLAIN (GENERIC_PLAN, FORMAT JSON, VERBOSE) {sql}"),
        );
    }
    client
        .batch_execute("SET plan_cache_mode = force_generic_plan")
        .map_err(db("asking for a generic plan"))?;
    if let Err(e) = client.batch_execute(&format!("PREPARE dbsage_generic AS {sql}")) {
        // The session goes on (other statements, other candidates): leave it as it was.
        let _ = client.batch_execute("RESET plan_cache_mode");
        return Err(db("preparing the statement for a generic plan")(e));
    }
    let nulls = vec!["NULL"; max_param as usize].join(", ");
    let plan = explain_json(
        client,
        &format!("EXPLAIN (FORMAT JSON, VERBOSE) EXECUTE dbsage_generic({nulls})"),
    );
    client
        .batch_execute("DEALLOCATE dbsage_generic; RESET plan_cache_mode")
        .map_err(db("releasing the prepared statement"))?;
    plan
}

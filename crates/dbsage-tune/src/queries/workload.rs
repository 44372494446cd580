//! The workload: the top statements of this database from pg_stat_statements, or why it cannot
//! be read and how to enable it.

use postgres::Client;
use serde::Serialize;

use super::error::{db, Result};

/// One statement as pg_stat_statements aggregates it.
#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    pub queryid: i64,
    pub query: String,
    pub calls: i64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub rows: i64,
    /// Shared buffer hits / (hits + reads); `None` when it read no blocks.
    pub cache_hit_ratio: Option<f64>,
}

/// How to turn pg_stat_statements on, for the database as it is.
pub const ENABLE_PARAGRAPH: &str = "\
pg_stat_statements records every statement's calls and time; dbsage tune queries reads it.
Self-hosted PostgreSQL: add it to shared_preload_libraries in postgresql.conf
  shared_preload_libraries = 'pg_stat_statements'
restart the server, then in this database run
  CREATE EXTENSION pg_stat_statements;
(the extension ships with PostgreSQL: Debian/Ubuntu postgresql-NN, or postgresql-contrib).
Supabase has it preloaded and created (schema extensions): nothing to do there.
Managed services (RDS, Cloud SQL, Azure) preload it; run CREATE EXTENSION pg_stat_statements.
Then let the application run its usual workload and run dbsage tune queries again.";

pub enum Workload {
    Statements(Vec<Statement>),
    /// The extension is not created here, or not preloaded: the reason, then how to enable it.
    Unavailable {
        reason: String,
    },
}

/// The schema the extension `name` is created in here, if it is.
pub(crate) fn extension_schema(client: &mut Client, name: &str) -> Result<Option<String>> {
    let row = client
        .query_opt(
            "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
             WHERE e.extname = $1",
            &[&name],
        )
        .map_err(db("looking for an extension"))?;
    Ok(row.map(|r| r.get(0)))
}

/// The `limit` statements of the current database with the most total execution time, leaving
/// out utility statements and dbsage's own reads.
pub fn top_statements(client: &mut Client, limit: i64) -> Result<Workload> {
    let Some(schema) = extension_schema(client, "pg_stat_statements")? else {
        return Ok(Workload::Unavailable {
            reason: "the pg_stat_statements extension is not created in this database".into(),
        });
    };
    let sql = format!(
        "SELECT s.queryid, s.query, s.calls, s.total_exec_time, s.mean_exec_time, s.rows, \
                s.shared_blks_hit, s.shared_blks_read \
         FROM {}.pg_stat_statements s \
         WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND s.query ~* '^\\s*(select|with|update|delete|insert)\\M' \
           AND s.query !~* 'pg_stat_statements|pg_catalog\\.|hypopg' \
         ORDER BY s.total_exec_time DESC LIMIT $1",
        dbsage_sql::quote_ident(&schema)
    );
    let rows = match client.query(&sql, &[&limit]) {
        Ok(rows) => rows,
        // 55000: created but not in shared_preload_libraries.
        Err(e) if e.code().map(|c| c.code()) == Some("55000") => {
            return Ok(Workload::Unavailable {
                reason: format!(
                    "pg_stat_statements is created but not loaded: {}",
                    dbsage_pgerror::headline(&e)
                ),
            })
        }
        Err(e) => return Err(db("reading pg_stat_statements")(e)),
    };
    Ok(Workload::Statements(
        rows.iter()
            .map(|r| {
                let hit: i64 = r.get(6);
                let read: i64 = r.get(7);
                Statement {
                    queryid: r.get(0),
                    query: r.get(1),
                    calls: r.get(2),
                    total_ms: r.get(3),
                    mean_ms: r.get(4),
                    rows: r.get(5),
                    cache_hit_ratio: (hit + read > 0).then(|| hit as f64 / (hit + read) as f64),
                }
            })
            .collect(),
    ))
}

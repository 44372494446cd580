//! `invalid_indexes`: indexes left invalid by a failed `CREATE INDEX CONCURRENTLY` (or
//! `REINDEX CONCURRENTLY`): never used by queries, still maintained on every write, and a
//! unique one enforces nothing. A build still in progress is not counted. Each is a warning;
//! `unique = "critical"` by default, as a unique index that enforces nothing lets duplicates in.

use postgres::Client;
use serde::Deserialize;
use serde_json::json;

use super::{finding, quote_qualified, CheckReport, Context, HealthConfig, Metric, Status};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The status of an invalid non-unique index.
    pub status: Status,
    /// The status of an invalid unique index.
    pub unique: Status,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            status: Status::Warning,
            unique: Status::Critical,
        }
    }
}

pub fn check(
    client: &mut Client,
    config: &HealthConfig,
    _context: &Context,
) -> Result<CheckReport, postgres::Error> {
    let config = &config.invalid_indexes;
    let rows = client.query(
        "SELECT n.nspname::text, c.relname::text, t.relname::text, i.indisunique,
                pg_get_indexdef(i.indexrelid)
           FROM pg_index i
           JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_class t ON t.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE NOT i.indisvalid
            AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p
                             WHERE p.index_relid = i.indexrelid)
          ORDER BY 1, 2",
        &[],
    )?;
    let mut findings = Vec::new();
    for row in &rows {
        let (schema, index, table): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        let unique: bool = row.get(3);
        let status = if unique { config.unique } else { config.status };
        let mut f = finding(
            "invalid-index",
            status,
            format!("index {schema}.{index}"),
            format!(
                "{}index {schema}.{index} on {table} is invalid (a failed concurrent build): queries never use it, writes still maintain it{}",
                if unique { "unique " } else { "" },
                if unique { ", and it enforces no uniqueness" } else { "" }
            ),
            json!({"table": format!("{schema}.{table}"), "unique": unique,
                   "definition": row.get::<_, String>(4)}),
        );
        f.fix_sql = Some(format!(
            "-- rebuild it (fix the duplicates first for a unique one), or drop it\nREINDEX INDEX CONCURRENTLY {};",
            quote_qualified(&schema, &index)
        ));
        findings.push(f);
    }
    let count = rows.len();
    Ok(
        CheckReport::from_findings("invalid_indexes", findings, "no invalid index").with_metrics(
            vec![Metric::new(
                "invalid_indexes",
                "Invalid indexes (failed concurrent builds).",
                count as f64,
            )],
        ),
    )
}

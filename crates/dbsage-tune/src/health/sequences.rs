//! `sequences`: how much of its range each (non-cycling) sequence has used. Defaults from
//! check_postgres `sequence`: warning at 85 %, critical at 95 %. A sequence the role may not
//! read is counted and named in the message, not guessed.

use postgres::Client;
use serde::Deserialize;
use serde_json::json;

use super::{finding, quote_qualified, CheckReport, Context, HealthConfig, Metric, Status};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub warning_percent: f64,
    pub critical_percent: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            warning_percent: 85.0,
            critical_percent: 95.0,
        }
    }
}

pub fn check(
    client: &mut Client,
    config: &HealthConfig,
    _context: &Context,
) -> Result<CheckReport, postgres::Error> {
    let config = &config.sequences;
    // Percent of the range used so far, for ascending and descending sequences; NULL when the
    // sequence was never used or the role may not read it (pg_sequences hides last_value).
    let rows = client.query(
        "SELECT schemaname::text, sequencename::text, data_type::text, last_value,
                min_value, max_value, increment_by,
                CASE WHEN increment_by > 0
                     THEN (last_value::numeric - min_value + 1) * 100 / (max_value::numeric - min_value + 1)
                     ELSE (max_value::numeric - last_value + 1) * 100 / (max_value::numeric - min_value + 1)
                END::float8,
                has_sequence_privilege(format('%I.%I', schemaname, sequencename), 'SELECT')
           FROM pg_sequences
          WHERE NOT cycle AND schemaname NOT IN ('pg_catalog', 'information_schema')
          ORDER BY 8 DESC NULLS LAST, 1, 2",
        &[],
    )?;
    let mut findings = Vec::new();
    let mut metrics = Vec::new();
    let mut unreadable = Vec::new();
    let mut highest: Option<(String, f64)> = None;
    for row in &rows {
        let (schema, name): (String, String) = (row.get(0), row.get(1));
        let qualified = format!("{schema}.{name}");
        let readable: bool = row.get(8);
        let Some(percent) = row.get::<_, Option<f64>>(7) else {
            if !readable {
                unreadable.push(qualified);
            }
            continue;
        };
        if highest.is_none() {
            highest = Some((qualified.clone(), percent));
        }
        metrics.push(
            Metric::new(
                "sequence_used_ratio",
                "The share of a sequence's range already used.",
                percent / 100.0,
            )
            .label("sequence", qualified.clone()),
        );
        let status = Status::above(percent, config.warning_percent, config.critical_percent);
        if status == Status::Ok {
            continue;
        }
        let data_type: String = row.get(2);
        let (last, max): (i64, i64) = (row.get(3), row.get(5));
        let mut f = finding(
            "sequence-near-limit",
            status,
            format!("sequence {qualified}"),
            format!(
                "sequence {qualified} ({data_type}) has used {percent:.1} % of its range (last value {last}, max {max}); inserts fail when it runs out"
            ),
            json!({"data_type": data_type, "last_value": last, "min_value": row.get::<_, i64>(4),
                   "max_value": max, "increment_by": row.get::<_, i64>(6), "percent": percent,
                   "warning_percent": config.warning_percent, "critical_percent": config.critical_percent}),
        );
        f.fix_sql = Some(if data_type == "bigint" {
            format!("-- a bigint sequence this far along: check its increment and owner\nSELECT * FROM pg_sequences WHERE schemaname = '{schema}' AND sequencename = '{name}';")
        } else {
            format!(
                "-- widen the sequence (and the columns it fills: ALTER TABLE … ALTER COLUMN … TYPE bigint)\nALTER SEQUENCE {} AS bigint;",
                quote_qualified(&schema, &name)
            )
        });
        findings.push(f);
    }
    let mut ok = match &highest {
        Some((name, percent)) => format!(
            "highest: {name} at {percent:.2} % of its range (warning at {} %)",
            config.warning_percent
        ),
        None => "no sequence in use".into(),
    };
    if !unreadable.is_empty() {
        ok.push_str(&format!(
            "; {} not readable by this role (GRANT SELECT ON SEQUENCE …): {}",
            unreadable.len(),
            unreadable.join(", ")
        ));
    }
    Ok(CheckReport::from_findings("sequences", findings, ok).with_metrics(metrics))
}

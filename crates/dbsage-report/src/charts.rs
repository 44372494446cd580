//! The figures behind the charts, read from the statistics views: table sizes, index usage and
//! (when pg_stat_statements is installed) each statement's share of the total time.

use postgres::Client;

use crate::model::{Bar, BarChart};

const TOP: i64 = 10;

/// The charts this database can feed; a chart whose view is unreadable is left out with why.
pub fn read(client: &mut Client) -> (Vec<BarChart>, Vec<String>) {
    let mut charts = Vec::new();
    let mut notes = Vec::new();
    let queries = [
        (
            "table-sizes",
            "Largest tables",
            "bytes",
            "SELECT format('%I.%I', n.nspname, c.relname),
                    pg_total_relation_size(c.oid)::float8
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p', 'm')
                AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
              ORDER BY pg_total_relation_size(c.oid) DESC, 1 LIMIT $1",
        ),
        (
            "index-usage",
            "Index scans since statistics reset",
            "scans",
            "SELECT format('%I.%I', schemaname, indexrelname), idx_scan::float8
               FROM pg_stat_user_indexes ORDER BY idx_scan DESC, 1 LIMIT $1",
        ),
    ];
    for (id, title, unit, sql) in queries {
        match client.query(sql, &[&TOP]) {
            Ok(rows) => charts.push(readable_sizes(BarChart {
                id: id.into(),
                title: title.into(),
                unit: unit.into(),
                bars: rows
                    .iter()
                    .map(|r| Bar {
                        label: r.get(0),
                        value: r.get(1),
                    })
                    .collect(),
            })),
            Err(e) => notes.push(format!("{title}: {e}")),
        }
    }
    match query_time_share(client) {
        Ok(Some(chart)) => charts.push(chart),
        Ok(None) => notes.push(
            "Query time share: pg_stat_statements is not installed in this database (`CREATE EXTENSION pg_stat_statements` with it in shared_preload_libraries)".into(),
        ),
        Err(e) => notes.push(format!("Query time share: {e}")),
    }
    (charts, notes)
}

/// Bytes shown in kB or MB, whichever keeps the largest bar readable.
fn readable_sizes(mut chart: BarChart) -> BarChart {
    if chart.unit != "bytes" {
        return chart;
    }
    let max = chart.bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let (unit, divisor) = if max >= 10.0 * 1048576.0 {
        ("MB", 1048576.0)
    } else {
        ("kB", 1024.0)
    };
    chart.unit = unit.into();
    for bar in &mut chart.bars {
        bar.value = (bar.value / divisor * 10.0).round() / 10.0;
    }
    chart
}

fn query_time_share(client: &mut Client) -> Result<Option<BarChart>, postgres::Error> {
    let schema: Option<String> = client
        .query_one(
            "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'",
            &[],
        )
        .ok()
        .map(|r| r.get(0));
    let Some(schema) = schema else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 60),
                round((100 * total_exec_time / nullif(sum(total_exec_time) OVER (), 0))::numeric, 1)::float8
           FROM \"{}\".pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1",
        schema.replace('"', "\"\"")
    );
    let rows = client.query(&sql, &[&TOP])?;
    Ok(Some(BarChart {
        id: "query-time".into(),
        title: "Share of total query time".into(),
        unit: "%".into(),
        bars: rows
            .iter()
            .map(|r| Bar {
                label: r.get(0),
                value: r.get::<_, Option<f64>>(1).unwrap_or(0.0),
            })
            .collect(),
    }))
}

//! `dbsage tune queries`: missing indexes from the real workload. The top statements of
//! pg_stat_statements → candidate indexes from each expensive statement's predicates → costed
//! by the planner (hypopg, or real indexes on a throwaway copy) → with `--prove`, the winner
//! built on a throwaway copy with a sample of the data, the statement and the table's inserts
//! timed before and after → `missing-index` findings and a concurrent-index migration.

pub mod candidates;
pub mod copy;
pub mod costing;
pub mod error;
pub mod migration;
pub mod plan;
pub mod predicates;
pub mod prove;
pub mod workload;

use std::collections::HashMap;

use dbsage_catalog::finding::{Finding, Severity};
use postgres::Client;
use serde::Serialize;
use serde_json::json;

use candidates::{Candidate, Table};
use costing::CostedWith;
pub use error::{QueriesError, Result};
use predicates::TableName;
pub use workload::{Statement, ENABLE_PARAGRAPH};

#[derive(Debug, Clone)]
pub struct Options {
    /// How many statements to read (by total time).
    pub top: i64,
    /// Statements faster than this on average are listed, not analysed.
    pub min_mean_ms: f64,
    /// Build and time the winners on a throwaway copy.
    pub prove: bool,
    /// Rows per table in the throwaway copy.
    pub sample_rows: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            top: 20,
            min_mean_ms: 1.0,
            prove: false,
            sample_rows: 100_000,
        }
    }
}

/// One statement of the workload and what the analysis made of it.
#[derive(Debug, Clone, Serialize)]
pub struct AnalysedStatement {
    #[serde(flatten)]
    pub statement: Statement,
    /// `index proposed`, `already indexed`, `no candidate halves its cost`, …
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Why pg_stat_statements cannot be read here (then `enable` says how to fix it).
    pub unavailable: Option<String>,
    pub enable: Option<&'static str>,
    /// How candidates were costed: `hypopg` or `throwaway-copy`.
    pub costed_with: CostedWith,
    pub statements: Vec<AnalysedStatement>,
    pub findings: Vec<Finding>,
    /// The winners, in the order of `findings`.
    #[serde(skip)]
    pub indexes: Vec<Candidate>,
}

/// Reads the workload of the database `client` is connected to and proposes indexes.
pub fn analyse(client: &mut Client, options: &Options) -> Result<Report> {
    let hypopg = costing::hypopg_schema(client)?;
    let costed_with = if hypopg.is_some() {
        CostedWith::Hypopg
    } else {
        CostedWith::ThrowawayCopy
    };
    let mut report = Report {
        unavailable: None,
        enable: None,
        costed_with,
        statements: Vec::new(),
        findings: Vec::new(),
        indexes: Vec::new(),
    };
    let statements = match workload::top_statements(client, options.top)? {
        workload::Workload::Statements(s) => s,
        workload::Workload::Unavailable { reason } => {
            report.unavailable = Some(reason);
            report.enable = Some(ENABLE_PARAGRAPH);
            return Ok(report);
        }
    };
    for statement in statements {
        let verdict = if statement.mean_ms < options.min_mean_ms {
            format!("fast enough (mean under {} ms)", options.min_mean_ms)
        } else {
            match analyse_statement(client, options, hypopg.as_deref(), &statement)? {
                Verdict::Note(note) => note,
                Verdict::Index(candidate, finding) => {
                    if report.indexes.contains(&candidate) {
                        format!("same index as another statement: {}", candidate.describe())
                    } else {
                        report.indexes.push(candidate);
                        report.findings.push(*finding);
                        "index proposed".to_string()
                    }
                }
            }
        };
        report
            .statements
            .push(AnalysedStatement { statement, verdict });
    }
    Ok(report)
}

enum Verdict {
    Note(String),
    Index(Candidate, Box<Finding>),
}

/// The table a statement's name means here (search path applied), unless it is a system table.
fn resolve_table(client: &mut Client, name: &TableName) -> Result<Option<Table>> {
    let text = if name.schema.is_empty() {
        dbsage_sql::quote_ident(&name.name)
    } else {
        format!(
            "{}.{}",
            dbsage_sql::quote_ident(&name.schema),
            dbsage_sql::quote_ident(&name.name)
        )
    };
    let row = client
        .query_opt(
            "SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p', 'm') \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
            &[&text],
        )
        .map_err(error::db("resolving a table name"))?;
    Ok(row.map(|r| Table {
        schema: r.get(0),
        name: r.get(1),
    }))
}

fn column_names(client: &mut Client, table: &Table) -> Result<Vec<String>> {
    let rows = client
        .query(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped",
            &[&table.sql()],
        )
        .map_err(error::db("reading column names"))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The leading columns of the table's valid, non-partial btree indexes.
fn existing_indexes(client: &mut Client, table: &Table) -> Result<Vec<Vec<String>>> {
    let rows = client
        .query(
            "SELECT array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) \
                          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord) \
             FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam \
             WHERE i.indrelid = $1::text::regclass AND i.indisvalid AND i.indpred IS NULL AND am.amname = 'btree'",
            &[&table.sql()],
        )
        .map_err(error::db("reading existing indexes"))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

fn analyse_statement(
    client: &mut Client,
    options: &Options,
    hypopg: Option<&str>,
    statement: &Statement,
) -> Result<Verdict> {
    let Some(predicates) = predicates::read(&statement.query) else {
        return Ok(Verdict::Note(
            "not analysed: not a SELECT, UPDATE or DELETE".into(),
        ));
    };
    let mut names: Vec<TableName> = predicates.tables.clone();
    for u in &predicates.uses {
        names.extend(u.scope.iter().cloned());
    }
    names.sort();
    names.dedup();
    let mut tables: HashMap<TableName, Table> = HashMap::new();
    let mut columns: HashMap<Table, Vec<String>> = HashMap::new();
    for name in names {
        if let Some(table) = resolve_table(client, &name)? {
            if !columns.contains_key(&table) {
                let names = column_names(client, &table)?;
                columns.insert(table.clone(), names);
            }
            tables.insert(name, table);
        }
    }
    let (uses, filters) = candidates::resolve(
        &predicates,
        &mut |name| tables.get(name).cloned(),
        &mut |table, column| {
            columns
                .get(table)
                .is_some_and(|c| c.iter().any(|n| n == column))
        },
    );
    let mut existing: HashMap<Table, Vec<Vec<String>>> = HashMap::new();
    for table in columns.keys() {
        existing.insert(table.clone(), existing_indexes(client, table)?);
    }
    // An index that already starts with the candidate's columns serves it already.
    let all = candidates::generate(&uses, &filters);
    let fresh: Vec<Candidate> = all
        .iter()
        .filter(|c| {
            c.predicate.is_some()
                || !existing
                    .get(&c.table)
                    .is_some_and(|ix| ix.iter().any(|cols| cols.starts_with(&c.columns)))
        })
        .cloned()
        .collect();
    if all.is_empty() {
        return Ok(Verdict::Note(
            "no candidate: no filtered, joined or sorted column".into(),
        ));
    }
    if fresh.is_empty() {
        return Ok(Verdict::Note("already indexed".into()));
    }
    let mut copy_tables: Vec<Table> = columns.keys().cloned().collect();
    copy_tables.sort();
    let mut copy = None;
    let costs = match hypopg {
        Some(_) => costing::cost(
            client,
            CostedWith::Hypopg,
            hypopg,
            &statement.query,
            predicates.max_param,
            &fresh,
        )?,
        None => {
            let made = copy.insert(copy::make(client, &copy_tables, options.sample_rows)?);
            costing::cost(
                &mut made.client,
                CostedWith::ThrowawayCopy,
                None,
                &statement.query,
                predicates.max_param,
                &fresh,
            )?
        }
    };
    let Some(winner) = costing::winner(&costs) else {
        return Ok(Verdict::Note(format!(
            "no candidate halves its plan cost ({} tried)",
            fresh.len()
        )));
    };
    let reduction = 100.0 * (1.0 - winner.cost / costs.before.max(f64::MIN_POSITIVE));
    let mut evidence = json!({
        "queryid": statement.queryid,
        "query": statement.query,
        "calls": statement.calls,
        "mean_ms": round(statement.mean_ms),
        "total_ms": round(statement.total_ms),
        "index": winner.candidate,
        "cost_before": round(costs.before),
        "cost_after": round(winner.cost),
        "cost_reduction_percent": round(reduction),
        "costed_with": if hypopg.is_some() { CostedWith::Hypopg } else { CostedWith::ThrowawayCopy },
        "candidates_tried": fresh.len(),
    });
    let mut message = format!(
        "{} ({} calls, mean {:.1} ms): an index on {} cuts its plan cost {:.0} → {:.0} ({:.0} % less)",
        one_line(&statement.query, 80),
        statement.calls,
        statement.mean_ms,
        winner.candidate.describe(),
        costs.before,
        winner.cost,
        reduction
    );
    if options.prove {
        let made = match copy.as_mut() {
            Some(c) => c,
            None => copy.insert(copy::make(client, &copy_tables, options.sample_rows)?),
        };
        let sample = made
            .rows
            .iter()
            .find(|(t, _)| *t == winner.candidate.table)
            .map(|(_, n)| *n)
            .unwrap_or(0);
        let proof = prove::prove(
            &mut made.client,
            sample,
            &statement.query,
            &predicates,
            &uses,
            &winner.candidate,
        )?;
        message.push_str(&format!(
            "; proven on a {}-row copy: {:.2} ms → {:.2} ms ({:.0}× faster); inserting {} rows {:.2} ms → {:.2} ms ({:+.0} %)",
            proof.sample_rows,
            proof.before_ms,
            proof.after_ms,
            proof.speedup,
            proof.inserted_rows,
            proof.insert_before_ms,
            proof.insert_after_ms,
            proof.write_overhead_percent
        ));
        evidence["proof"] = json!(proof);
    }
    let finding = Finding {
        check: "missing-index".into(),
        severity: Severity::Warning,
        object: format!("table {}", winner.candidate.table),
        message,
        evidence,
        fix_sql: Some(format!("{};", winner.candidate.create_concurrently_sql())),
    };
    Ok(Verdict::Index(winner.candidate.clone(), Box::new(finding)))
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The statement on one line, cut at `max` characters.
pub fn one_line(sql: &str, max: usize) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}…", flat.chars().take(max).collect::<String>())
    }
}

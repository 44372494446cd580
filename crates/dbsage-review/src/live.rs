//! With `--env`: evidence that the existing schema may already be enough or over-built: tables
//! with no rows, and columns no statement in pg_stat_statements mentions.

use std::collections::BTreeSet;

use dbsage_catalog::finding::{Finding, Severity};
use dbsage_catalog::Catalog;
use serde::Serialize;
use serde_json::json;

/// The live evidence and what could not be judged.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveEvidence {
    pub findings: Vec<Finding>,
    /// Why the unreferenced-column check did not run, when it did not.
    pub notes: Vec<String>,
}

/// Schemas that are not the application's (Supabase's own, dbsage's bookkeeping).
const SKIPPED_SCHEMAS: &[&str] = &[
    "dbsage",
    "auth",
    "storage",
    "realtime",
    "extensions",
    "supabase_migrations",
    "graphql",
    "graphql_public",
    "vault",
    "pgsodium",
    "net",
    "cron",
];

fn app_tables(catalog: &Catalog) -> impl Iterator<Item = &dbsage_catalog::Table> {
    catalog
        .tables
        .iter()
        .filter(|t| !SKIPPED_SCHEMAS.contains(&t.schema.as_str()) && t.partition_of.is_none())
}

/// The start of the empty-table probe, left out of the statements read back (it would count
/// as using every table).
const EMPTY_PROBE: &str = "select exists (select from ";

/// Reads the evidence from the environment `client` is connected to (`catalog` is its schema).
pub fn gather(
    client: &mut postgres::Client,
    catalog: &Catalog,
) -> Result<LiveEvidence, postgres::Error> {
    let mut evidence = LiveEvidence::default();
    let statements = statements(client)?;
    for table in app_tables(catalog) {
        let qualified = format!(
            "{}.{}",
            dbsage_sql::quote_ident(&table.schema),
            dbsage_sql::quote_ident(&table.name)
        );
        // An exact answer at the cost of one index or heap page per table, unlike reltuples.
        let has_rows: bool = client
            .query_one(&format!("{EMPTY_PROBE}{qualified})"), &[])?
            .get(0);
        if !has_rows {
            evidence.findings.push(Finding {
                check: "empty-table".into(),
                severity: Severity::Info,
                object: format!("table {}.{}", table.schema, table.name),
                message: format!(
                    "{}.{} has no rows: before adding schema, could the change use it, or is it unused?",
                    table.schema, table.name
                ),
                evidence: json!({ "rows": 0 }),
                fix_sql: None,
            });
        }
    }
    match statements {
        Err(note) => evidence.notes.push(note),
        Ok(texts) => evidence
            .findings
            .extend(unreferenced_columns(catalog, &texts)),
    }
    Ok(evidence)
}

/// The texts of the data statements in pg_stat_statements (DDL names every column it creates:
/// not evidence of use), or why there are none.
fn statements(
    client: &mut postgres::Client,
) -> Result<Result<Vec<String>, String>, postgres::Error> {
    let schema: Option<String> = client
        .query_opt(
            "select n.nspname::text from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_stat_statements'",
            &[],
        )?
        .map(|r| r.get(0));
    let Some(schema) = schema else {
        return Ok(Err("columns never referenced: not checked, pg_stat_statements is not installed in this database (create extension pg_stat_statements, with shared_preload_libraries = 'pg_stat_statements')".into()));
    };
    let query = format!(
        "select query from {}.pg_stat_statements where dbid = (select oid from pg_database where datname = current_database()) and query ~* '^\\s*(select|insert|update|delete|with|merge|values|table)\\M' and query not like '{EMPTY_PROBE}%'",
        dbsage_sql::quote_ident(&schema)
    );
    let rows = match client.query(&query, &[]) {
        Ok(rows) => rows,
        Err(e) => {
            return Ok(Err(format!(
                "columns never referenced: not checked, pg_stat_statements cannot be read: {}",
                dbsage_pgerror::headline(&e)
            )))
        }
    };
    if rows.is_empty() {
        return Ok(Err("columns never referenced: not checked, pg_stat_statements has no data statements for this database yet".into()));
    }
    Ok(Ok(rows.iter().map(|r| r.get(0)).collect()))
}

/// Lower-case identifiers of a statement text (quoted ones unquoted); `*` when it has one.
fn identifiers(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut current = String::new();
    let mut quoted = false;
    for ch in text.chars() {
        if quoted {
            if ch == '"' {
                quoted = false;
                out.insert(std::mem::take(&mut current));
            } else {
                current.extend(ch.to_lowercase());
            }
        } else if ch == '"' {
            quoted = true;
        } else if ch.is_alphanumeric() || ch == '_' || ch == '$' {
            current.extend(ch.to_lowercase());
        } else {
            if !current.is_empty() {
                out.insert(std::mem::take(&mut current));
            }
            if ch == '*' {
                out.insert("*".into());
            }
        }
    }
    if !current.is_empty() {
        out.insert(current);
    }
    out
}

/// Columns whose name no statement mentions; a `*` in a statement naming the table counts as
/// mentioning every column (a multiplication sign too: the check errs towards silence).
fn unreferenced_columns(catalog: &Catalog, texts: &[String]) -> Vec<Finding> {
    let statements: Vec<BTreeSet<String>> = texts.iter().map(|t| identifiers(t)).collect();
    let mut out = Vec::new();
    for table in app_tables(catalog) {
        let touching: Vec<&BTreeSet<String>> = statements
            .iter()
            .filter(|ids| ids.contains(&table.name.to_lowercase()))
            .collect();
        if touching.is_empty() || touching.iter().any(|ids| ids.contains("*")) {
            continue; // an untouched table is the empty-table check's business
        }
        let unused: Vec<&str> = table
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .filter(|c| !statements.iter().any(|ids| ids.contains(&c.to_lowercase())))
            .collect();
        if unused.is_empty() {
            continue;
        }
        out.push(Finding {
            check: "unreferenced-columns".into(),
            severity: Severity::Info,
            object: format!("table {}.{}", table.schema, table.name),
            message: format!(
                "no statement in pg_stat_statements mentions {} of {}.{}: the schema may already hold more than the application uses",
                unused.join(", "),
                table.schema,
                table.name
            ),
            evidence: json!({ "columns": unused, "statements_read": texts.len() }),
            fix_sql: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_of_a_statement() {
        let ids = identifiers("SELECT \"Full Name\", email FROM public.users WHERE id = $1");
        assert!(ids.contains("full name"));
        assert!(ids.contains("email") && ids.contains("users") && ids.contains("$1"));
        assert!(!ids.contains("*"));
    }
}

//! The `plpgsql` check of `migrate --local`: when the `plpgsql_check` extension is available on
//! the throwaway cluster, every PL/pgSQL function the migrations create is checked after the
//! replay (missing columns and tables, type mismatches, …: what PostgreSQL only finds when the
//! function runs), and each problem is located at file:line in the migration that last created
//! or replaced the function.

use dbsage_sql::pg_query::protobuf::FunctionParameterMode;
use dbsage_sql::NodeEnum;
use postgres::Client;

use crate::config::CheckLevel;
use crate::error::{Error, Result};
use crate::local::{CheckFinding, CheckReport, CheckStatus};
use crate::migrations::MigrationFile;

/// The Debian package that provides the extension, named when it is missing.
pub const PACKAGE: &str = "postgresql-15-plpgsql-check";
/// A schema of its own, dropped afterwards, so the extension never shows in the replayed schema.
const SCHEMA: &str = "dbsage_plpgsql_check";

/// Where a migration defines a function: the file and the byte offset where its body starts.
struct Definition<'a> {
    file: &'a MigrationFile,
    schema: Option<String>,
    name: String,
    /// Input arguments (what `pg_proc.pronargs` counts).
    arg_count: usize,
    body_start: Option<usize>,
    statement_start: usize,
}

/// Runs the check on the replayed database behind `client`.
pub fn run(client: &mut Client, files: &[MigrationFile], level: CheckLevel) -> Result<CheckReport> {
    if level == CheckLevel::Off {
        return Ok(report(level, Vec::new(), None));
    }
    let available: bool = client
        .query_one(
            "select exists (select 1 from pg_available_extensions where name = 'plpgsql_check')",
            &[],
        )
        .map_err(|e| Error::db("looking for plpgsql_check", e))?
        .get(0);
    if !available {
        return Ok(skipped(format!(
            "the plpgsql_check extension is not installed: install {PACKAGE} to check PL/pgSQL function bodies"
        )));
    }
    let definitions = definitions(files);
    if definitions.is_empty() {
        return Ok(report(level, Vec::new(), None));
    }
    // The migrations may have installed it themselves: then use it where it is and keep it.
    let existing: Option<String> = client
        .query_opt(
            "select n.nspname::text from pg_extension e join pg_namespace n on n.oid = e.extnamespace \
             where e.extname = 'plpgsql_check'",
            &[],
        )
        .map_err(|e| Error::db("looking for plpgsql_check", e))?
        .map(|r| r.get(0));
    let schema = match &existing {
        Some(s) => s.clone(),
        None => {
            client
                .batch_execute(&format!(
                    "create schema {SCHEMA}; create extension plpgsql_check schema {SCHEMA};"
                ))
                .map_err(|e| Error::db("creating the plpgsql_check extension", e))?;
            SCHEMA.to_string()
        }
    };
    let result = check_functions(client, &definitions, &schema);
    if existing.is_none() {
        client
            .batch_execute(&format!(
                "drop extension plpgsql_check; drop schema {SCHEMA};"
            ))
            .map_err(|e| Error::db("dropping the plpgsql_check extension", e))?;
    }
    let (findings, unchecked) = result?;
    let note = (!unchecked.is_empty()).then(|| {
        format!(
            "trigger function(s) not attached to any table, not checked: {}",
            unchecked.join(", ")
        )
    });
    Ok(report(level, findings, note))
}

/// Errors fail at level `error`; warnings alone only warn.
fn report(level: CheckLevel, findings: Vec<CheckFinding>, note: Option<String>) -> CheckReport {
    let has_error = findings.iter().any(|f| f.message.ends_with("(error)"));
    let status = match level {
        CheckLevel::Off => CheckStatus::Off,
        _ if findings.is_empty() => CheckStatus::Passed,
        CheckLevel::Error if has_error => CheckStatus::Failed,
        _ => CheckStatus::Warned,
    };
    CheckReport {
        status,
        note,
        findings,
        context: Vec::new(),
    }
}

fn skipped(note: String) -> CheckReport {
    CheckReport {
        status: CheckStatus::Skipped,
        note: Some(note),
        findings: Vec::new(),
        context: Vec::new(),
    }
}

/// The PL/pgSQL functions of the replayed database that some migration defines, checked one by
/// one. Returns the findings and the trigger functions no trigger uses (no table to check with).
fn check_functions(
    client: &mut Client,
    definitions: &[Definition],
    schema: &str,
) -> Result<(Vec<CheckFinding>, Vec<String>)> {
    // Functions of extensions are not the migrations' to fix; event triggers have no table.
    let functions = client
        .query(
            "select p.oid, n.nspname::text, p.proname::text, p.pronargs::int, \
                    p.prorettype = 'trigger'::regtype, \
                    (select t.tgrelid from pg_trigger t where t.tgfoid = p.oid order by t.oid limit 1) \
             from pg_proc p join pg_namespace n on n.oid = p.pronamespace \
             join pg_language l on l.oid = p.prolang \
             where l.lanname = 'plpgsql' \
               and p.prorettype <> 'event_trigger'::regtype \
               and n.nspname not in ('pg_catalog', 'information_schema') \
               and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass \
                               and d.objid = p.oid and d.deptype = 'e') \
             order by n.nspname, p.proname, p.oid",
            &[],
        )
        .map_err(|e| Error::db("listing PL/pgSQL functions", e))?;
    let check = format!(
        "select lineno, coalesce(message, ''), coalesce(sqlstate, ''), coalesce(level, ''), detail, hint \
         from {}.plpgsql_check_function_tb($1::oid::regprocedure, relid => $2::oid::regclass, \
              fatal_errors => false, extra_warnings => false)",
        dbsage_sql::quote_ident(schema)
    );
    let mut findings = Vec::new();
    let mut unchecked = Vec::new();
    for row in functions {
        let oid: u32 = row.get(0);
        let nspname: String = row.get(1);
        let proname: String = row.get(2);
        let nargs: i32 = row.get(3);
        let is_trigger: bool = row.get(4);
        let relid: Option<u32> = row.get(5);
        let Some(definition) = definition_of(definitions, &nspname, &proname, nargs as usize)
        else {
            continue;
        };
        if is_trigger && relid.is_none() {
            unchecked.push(format!("{nspname}.{proname}"));
            continue;
        }
        let problems = client
            .query(&check, &[&oid, &relid.unwrap_or(0)])
            .map_err(|e| Error::db(format!("checking {nspname}.{proname}"), e))?;
        for p in problems {
            let lineno: Option<i32> = p.get(0);
            let message: String = p.get(1);
            let sqlstate: String = p.get(2);
            let level: String = p.get(3);
            let detail: Option<String> = p.get(4);
            let hint: Option<String> = p.get(5);
            findings.push(finding(
                definition,
                &format!("{nspname}.{proname}"),
                lineno,
                &level,
                &message,
                detail.as_deref(),
                hint.as_deref(),
                &sqlstate,
            ));
        }
    }
    Ok((findings, unchecked))
}

#[allow(clippy::too_many_arguments)]
fn finding(
    definition: &Definition,
    function: &str,
    lineno: Option<i32>,
    level: &str,
    message: &str,
    detail: Option<&str>,
    hint: Option<&str>,
    sqlstate: &str,
) -> CheckFinding {
    let text = &definition.file.text;
    // The body's line 1 is the line its opening quote is on.
    let (line, column) = match (definition.body_start, lineno) {
        (Some(start), Some(n)) if n > 0 => {
            let line = dbsage_sql::line_col(text, start).line + n as usize - 1;
            let indent = text
                .lines()
                .nth(line - 1)
                .map_or(0, |l| l.len() - l.trim_start().len());
            (line, indent + 1)
        }
        _ => {
            let at = dbsage_sql::line_col(text, definition.statement_start);
            (at.line, at.column)
        }
    };
    let mut message = format!("in function {function}: {message}");
    for (label, extra) in [("detail", detail), ("hint", hint)] {
        if let Some(extra) = extra.filter(|e| !e.is_empty()) {
            message.push_str(&format!(" ({label}: {extra})"));
        }
    }
    message.push_str(if level == "error" {
        " (error)"
    } else {
        " (warning)"
    });
    CheckFinding {
        rule: None,
        version: definition.file.version.clone(),
        name: definition.file.name.clone(),
        message,
        file: Some(definition.file.path.display().to_string()),
        line: Some(line),
        column: Some(column),
        sqlstate: (!sqlstate.is_empty()).then(|| sqlstate.to_string()),
        objects: Vec::new(),
        context: None,
    }
}

/// The migration that last created or replaced the function: the newest definition with its
/// name, schema (when the file names one) and number of input arguments.
fn definition_of<'d, 'a>(
    definitions: &'d [Definition<'a>],
    schema: &str,
    name: &str,
    arg_count: usize,
) -> Option<&'d Definition<'a>> {
    let same = |d: &&Definition| d.name == name && d.schema.as_deref().is_none_or(|s| s == schema);
    definitions
        .iter()
        .rev()
        .filter(same)
        .find(|d| d.arg_count == arg_count)
        .or_else(|| definitions.iter().rev().find(same))
}

/// Every `CREATE [OR REPLACE] FUNCTION … LANGUAGE plpgsql` of the migrations, in order.
fn definitions(files: &[MigrationFile]) -> Vec<Definition<'_>> {
    let mut found = Vec::new();
    for file in files {
        // A file that does not parse did not replay either: nothing to map.
        let _ = dbsage_sql::for_each_statement(&file.text, |statement| {
            let NodeEnum::CreateFunctionStmt(create) = &statement.node else {
                return;
            };
            let mut language = None;
            let mut body = None;
            for option in &create.options {
                let Some(NodeEnum::DefElem(def)) = &option.node else {
                    continue;
                };
                let arg = def.arg.as_ref().and_then(|a| a.node.as_ref());
                match (def.defname.as_str(), arg) {
                    ("language", Some(NodeEnum::String(s))) => language = Some(s.sval.clone()),
                    ("as", Some(NodeEnum::List(list))) => {
                        body = dbsage_sql::string_values(&list.items).into_iter().next()
                    }
                    _ => {}
                }
            }
            if !language.is_some_and(|l| l.eq_ignore_ascii_case("plpgsql")) {
                return;
            }
            let mut names = dbsage_sql::string_values(&create.funcname);
            let Some(name) = names.pop() else { return };
            let arg_count = create
                .parameters
                .iter()
                .filter(|p| match &p.node {
                    Some(NodeEnum::FunctionParameter(fp)) => !matches!(
                        FunctionParameterMode::try_from(fp.mode),
                        Ok(FunctionParameterMode::FuncParamOut
                            | FunctionParameterMode::FuncParamTable)
                    ),
                    _ => false,
                })
                .count();
            let statement_text = statement.text(&file.text);
            let body_start = body
                .filter(|b| !b.is_empty())
                .and_then(|b| {
                    let from = statement.code_start - statement.range.start;
                    statement_text[from..].find(b.as_str()).map(|i| from + i)
                })
                .map(|i| statement.range.start + i);
            found.push(Definition {
                file,
                schema: names.pop(),
                name,
                arg_count,
                body_start,
                statement_start: statement.code_start,
            });
        });
    }
    found
}

//! `dbsage test`: runs pgTAP files on a database without Docker and without pg_prove. Each
//! file runs in a session of its own, as pg_prove runs each file in its own psql, so a `set`
//! or a temp table in one file never reaches the next. Its statements are sent one by one
//! (split by the PostgreSQL parser, psql meta-commands such as `\set` blanked out); every row
//! its SELECTs return is TAP output (`ok 1 - ...`, `not ok 2 - ...`, `1..3`, `# diagnostics`),
//! which is parsed into results. A statement that fails stops its file (as pg_prove's
//! `ON_ERROR_STOP` does), is reported with its line, and fails the file.
//!
//! A run leaves no trace: each file runs in a transaction dbsage opens and rolls back, pgTAP
//! itself is created inside it (so it does not stay installed), and the file's own
//! BEGIN/COMMIT/ROLLBACK run as savepoints in it (see [`crate::file_transaction`]).
//!
//! pgTAP is set up as Supabase has it: in schema `extensions` (so `functions_are('public', …)`
//! sees only the project's functions), with its functions executable by every role a test
//! switches to, even when the project's migrations revoked the default EXECUTE grant.

use std::path::{Path, PathBuf};

use postgres::SimpleQueryMessage;
use regex::Regex;
use serde::Serialize;

use dbsage_sql::NodeEnum;

use crate::error::SecureError;
use crate::file_transaction::{Control, FileTransaction};

/// One assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TapTest {
    pub number: u64,
    pub ok: bool,
    pub description: String,
    /// `SKIP` or `TODO`, with its reason.
    pub directive: Option<String>,
    /// The `#` lines that followed it (pgTAP's "Failed test", "have:", "want:").
    pub diagnostics: Vec<String>,
}

/// The results of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TapFile {
    pub path: String,
    pub planned: Option<u64>,
    pub tests: Vec<TapTest>,
    /// `#` lines before the first test.
    pub diagnostics: Vec<String>,
    /// A statement that failed (the rest of the file did not run), or a bail-out.
    pub error: Option<String>,
    pub passed: usize,
    pub failed: usize,
    /// No failure, no error, and as many tests ran as were planned.
    pub ok: bool,
}

/// The results of every file. `passed`/`failed` count assertions; `files_passed` and
/// `files_failed` count files (a file that errors or misses its plan fails with no failed
/// assertion), so `files_failed == 0` exactly when `ok`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TapReport {
    pub files: Vec<TapFile>,
    pub passed: usize,
    pub failed: usize,
    pub files_passed: usize,
    pub files_failed: usize,
    pub ok: bool,
}

/// The pgTAP files `dbsage test` runs: each root that is a file as it is, each directory's
/// `.sql` files (recursively, sorted), without the `exclude`d ones (`[test] setup` files often
/// sit among the tests, as supabase/tests/setup.sql does: they are not tests).
pub fn test_files(roots: &[PathBuf], exclude: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for root in roots {
        if root.is_file() {
            files.push(root.clone());
        } else {
            collect_sql(root, &mut files);
        }
    }
    files.retain(|f| !exclude.iter().any(|x| same_file(x, f)));
    files
}

fn collect_sql(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect_sql(&p, out);
        } else if p.extension().is_some_and(|e| e == "sql") {
            out.push(p);
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Runs each file in a new session from `open_session`, in a transaction that is rolled back.
pub fn run_pgtap(
    open_session: &mut dyn FnMut() -> Result<postgres::Client, SecureError>,
    files: &[PathBuf],
) -> Result<TapReport, SecureError> {
    let mut results = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|source| SecureError::Io {
            what: format!("reading {}", path.display()),
            source,
        })?;
        let name = path.display().to_string();
        let mut client = open_session()?;
        client
            .batch_execute("begin")
            .map_err(SecureError::db(format!("{name}: begin")))?;
        let result = install_pgtap(&mut client).and_then(|_| run_file(&mut client, &name, &text));
        // Whatever the file did, and pgTAP if this transaction created it, is undone.
        let rolled_back = client.batch_execute("rollback");
        let file = result?;
        rolled_back.map_err(SecureError::db(format!("{name}: rolling back")))?;
        results.push(file);
    }
    Ok(report(results))
}

fn report(files: Vec<TapFile>) -> TapReport {
    let files_passed = files.iter().filter(|f| f.ok).count();
    TapReport {
        passed: files.iter().map(|f| f.passed).sum(),
        failed: files.iter().map(|f| f.failed).sum(),
        files_failed: files.len() - files_passed,
        files_passed,
        ok: files.iter().all(|f| f.ok),
        files,
    }
}

/// Makes pgTAP usable in the file's transaction: created in schema `extensions` when missing
/// (with `extensions` added to this transaction's search_path when it is not on it), its
/// schema usable and its functions executable by everyone. Pre-existing pgTAP that this user
/// may not grant on is left as it is.
fn install_pgtap(client: &mut postgres::Client) -> Result<(), SecureError> {
    client
        .batch_execute(INSTALL_PGTAP)
        .map_err(|e| {
            SecureError::BadInput(format!(
                "cannot create the pgtap extension ({}); install it on the server (Debian: apt-get install postgresql-15-pgtap)",
                dbsage_pgerror::describe(&e)
            ))
        })?;
    client
        .batch_execute("savepoint dbsage_pgtap_grants")
        .map_err(SecureError::db("preparing pgTAP"))?;
    if client.batch_execute(GRANT_PGTAP).is_err() {
        client
            .batch_execute("rollback to savepoint dbsage_pgtap_grants")
            .map_err(SecureError::db("preparing pgTAP"))?;
    }
    client
        .batch_execute("release savepoint dbsage_pgtap_grants")
        .map_err(SecureError::db("preparing pgTAP"))
}

const INSTALL_PGTAP: &str = r#"
do $dbsage$
begin
  if not exists (select 1 from pg_extension where extname = 'pgtap') then
    create schema if not exists extensions;
    create extension pgtap with schema extensions;
  end if;
end
$dbsage$;
select set_config('search_path', current_setting('search_path') || ', ' || quote_ident(n.nspname), true)
  from pg_extension e join pg_namespace n on n.oid = e.extnamespace
 where e.extname = 'pgtap'
   and not (n.nspname = any (current_schemas(false)));
"#;

/// Supabase's default privileges let the API roles run what is in `extensions`; a project's
/// `alter default privileges … revoke execute on functions from public` must not strip pgTAP.
const GRANT_PGTAP: &str = r#"
do $dbsage$
declare
  f regprocedure;
  schema_name name;
begin
  select n.nspname into schema_name
    from pg_extension e join pg_namespace n on n.oid = e.extnamespace
   where e.extname = 'pgtap';
  execute format('grant usage on schema %I to public', schema_name);
  for f in
    select d.objid::regprocedure
      from pg_depend d
     where d.refclassid = 'pg_extension'::regclass
       and d.refobjid = (select oid from pg_extension where extname = 'pgtap')
       and d.classid = 'pg_proc'::regclass
       and d.deptype = 'e'
       and not has_function_privilege('public', d.objid, 'execute')
  loop
    execute format('grant execute on function %s to public', f);
  end loop;
end
$dbsage$;
"#;

/// Blanks psql meta-command lines (`\set ECHO none`), keeping offsets and line numbers.
fn strip_meta_commands(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            if line.trim_start().starts_with('\\') {
                line.chars()
                    .map(|c| if c == '\n' { '\n' } else { ' ' })
                    .collect()
            } else {
                line.to_string()
            }
        })
        .collect()
}

/// Runs one file's statements in the current transaction; see the module documentation.
fn run_file(client: &mut postgres::Client, path: &str, text: &str) -> Result<TapFile, SecureError> {
    let sql = strip_meta_commands(text);
    let mut output = String::new();
    let mut error = None;
    match dbsage_sql::parse(&sql) {
        Err(e) => {
            let line = e
                .offset
                .map(|o| dbsage_sql::line_col(&sql, o).line)
                .unwrap_or(1);
            error = Some(format!("line {line}: syntax error: {}", e.message));
        }
        Ok(parsed) => {
            let mut own_transaction = FileTransaction::default();
            for statement in &parsed.statements {
                let line = dbsage_sql::line_col(&sql, statement.code_start).line;
                let control = match &statement.node {
                    NodeEnum::TransactionStmt(t) => own_transaction.translate(t),
                    _ => Control::AsWritten,
                };
                let to_send = match control {
                    Control::AsWritten => statement.text(&sql).to_string(),
                    Control::Instead(instead) if instead.is_empty() => continue,
                    Control::Instead(instead) => instead,
                    Control::Refused(why) => {
                        error = Some(format!("{path}:{line}: {why}"));
                        break;
                    }
                };
                match client.simple_query(&to_send) {
                    Ok(messages) => {
                        for m in messages {
                            if let SimpleQueryMessage::Row(row) = m {
                                if let Some(value) = row.get(0) {
                                    output.push_str(value);
                                    output.push('\n');
                                }
                            }
                        }
                    }
                    Err(e) if e.as_db_error().is_some() => {
                        error = Some(format!("line {line}: {}", dbsage_pgerror::describe(&e)));
                        break;
                    }
                    Err(e) => return Err(SecureError::db(format!("running {path}"))(e)),
                }
            }
        }
    }
    let mut file = parse_tap(path, &output);
    if error.is_some() {
        file.error = error;
        file.ok = false;
    }
    Ok(file)
}

/// Parses TAP text into a file's results.
pub fn parse_tap(path: &str, text: &str) -> TapFile {
    let test_line =
        Regex::new(r"^(not )?ok\b\s*(\d+)?\s*(?:-\s*)?(.*?)\s*(?:#\s*(?i:(SKIP|TODO))\b\s*(.*))?$")
            .expect("valid regex");
    let plan_line = Regex::new(r"^1\.\.(\d+)").expect("valid regex");
    let mut file = TapFile {
        path: path.to_string(),
        planned: None,
        tests: Vec::new(),
        diagnostics: Vec::new(),
        error: None,
        passed: 0,
        failed: 0,
        ok: false,
    };
    for line in text.lines() {
        let trimmed = line.trim_end();
        if let Some(c) = plan_line.captures(trimmed) {
            file.planned = c[1].parse().ok();
        } else if let Some(c) = test_line.captures(trimmed) {
            let number = c
                .get(2)
                .and_then(|n| n.as_str().parse().ok())
                .unwrap_or(file.tests.len() as u64 + 1);
            let directive = c.get(4).map(|d| {
                let reason = c.get(5).map_or("", |r| r.as_str()).trim();
                format!("{} {reason}", d.as_str().to_uppercase())
                    .trim()
                    .to_string()
            });
            file.tests.push(TapTest {
                number,
                ok: c.get(1).is_none(),
                description: c.get(3).map_or("", |d| d.as_str()).to_string(),
                directive,
                diagnostics: Vec::new(),
            });
        } else if let Some(diag) = trimmed.trim_start().strip_prefix('#') {
            let diag = diag.strip_prefix(' ').unwrap_or(diag).to_string();
            match file.tests.last_mut() {
                Some(t) => t.diagnostics.push(diag),
                None => file.diagnostics.push(diag),
            }
        } else if let Some(reason) = trimmed.strip_prefix("Bail out!") {
            file.error = Some(format!("bail out: {}", reason.trim()));
        }
    }
    let todo = |t: &TapTest| {
        t.directive
            .as_deref()
            .is_some_and(|d| d.starts_with("TODO"))
    };
    file.failed = file.tests.iter().filter(|t| !t.ok && !todo(t)).count();
    file.passed = file.tests.len() - file.failed;
    let plan_ok = file.planned.is_none_or(|p| p == file.tests.len() as u64);
    file.ok = file.failed == 0 && file.error.is_none() && plan_ok && !file.tests.is_empty();
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tap() {
        let f = parse_tap(
            "t.sql",
            "1..4\nok 1 - table exists\nnot ok 2 - policy works\n# Failed test 2: \"policy works\"\n#         have: 3\n#         want: 1\nok 3 # SKIP no data\nnot ok 4 - later # TODO not yet\n",
        );
        assert_eq!(f.planned, Some(4));
        assert_eq!(f.tests.len(), 4);
        assert!(!f.tests[1].ok);
        assert_eq!(f.tests[1].description, "policy works");
        assert_eq!(f.tests[1].diagnostics.len(), 3);
        assert_eq!(f.tests[2].directive.as_deref(), Some("SKIP no data"));
        assert_eq!(f.tests[3].directive.as_deref(), Some("TODO not yet"));
        assert_eq!((f.passed, f.failed), (3, 1));
        assert!(!f.ok);
        let f = parse_tap("t.sql", "1..2\nok 1 - a\n");
        assert!(!f.ok, "plan not met");
    }
}

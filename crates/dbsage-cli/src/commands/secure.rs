use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde_json::json;

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::Error;
use dbsage_secure::SecureError;

use crate::output::{Out, Style};

#[derive(Args, Debug)]
pub struct SecureArgs {
    #[command(subcommand)]
    pub action: SecureAction,
}

/// Where to run: a throwaway database built from the migrations (default), or an environment.
#[derive(Args, Debug, Clone)]
pub struct Where {
    /// Run against this environment instead of a throwaway database built from the migrations.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Allow a protected environment (secure test and explain only ever run in transactions
    /// that are rolled back).
    #[arg(long)]
    pub i_know_this_is_production: bool,
}

#[derive(Subcommand, Debug)]
pub enum SecureAction {
    /// Report RLS and privilege problems in the schema, each with the SQL that fixes it.
    Audit {
        #[command(flatten)]
        place: Where,
        /// Write a new migration with the fixes that are safe to automate; list the rest.
        #[arg(long)]
        fix: bool,
    },
    /// Run the policy tests in tests/rls/*.toml as real users (each case rolled back).
    Test {
        #[command(flatten)]
        place: Where,
        /// Directory (or file) of policy tests.
        #[arg(long, default_value = "tests/rls")]
        tests: PathBuf,
    },
    /// Matrix role × table × command: what policies allow and what tests exercise.
    Coverage {
        #[command(flatten)]
        place: Where,
        /// Directory (or file) of policy tests (default tests/rls; without it every cell is
        /// untested).
        #[arg(long)]
        tests: Option<PathBuf>,
        /// Roles to cover (default: anon and authenticated, when they exist).
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
    },
    /// Run a query as a role and say why rows are missing or the query is denied (exit 1 when
    /// the query fails, with the server's error).
    Explain {
        #[command(flatten)]
        place: Where,
        /// ROLE or ROLE:SUB (the JWT subject, i.e. auth.uid()).
        #[arg(long = "as", value_name = "ROLE[:SUB]")]
        as_role: String,
        /// Custom setting for policies that read current_setting(), e.g. --set app.current_org=42
        /// (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        settings: Vec<String>,
        query: String,
    },
}

#[derive(Args, Debug)]
pub struct TestArgs {
    #[command(flatten)]
    pub place: Where,
    /// pgTAP files or directories (default: supabase/tests and tests/pgtap).
    pub paths: Vec<PathBuf>,
}

fn secure_error(e: SecureError) -> Error {
    // A server error keeps its fields (SQLSTATE, detail, hint) for the error rendering.
    let e = match e {
        SecureError::Database { context, source } => return Error::db(context, source),
        other => other,
    };
    let message = e.to_string();
    match e.exit_code() {
        2 => Error::Config {
            message,
            hint: String::new(),
        },
        _ => Error::Failed {
            message,
            hint: String::new(),
        },
    }
}

/// Runs `work` on the chosen database: a replayed throwaway one, or an environment.
fn on_database<T>(
    project: &Project,
    place: &Where,
    out: &Out,
    rolled_back_only: bool,
    work: impl FnOnce(&mut postgres::Client) -> dbsage_core::Result<T>,
) -> dbsage_core::Result<T> {
    match &place.env {
        Some(name) => {
            let (target, mut client) = connect_env(project, place, out, name, rolled_back_only)?;
            drop(target);
            work(&mut client)
        }
        None => {
            let files = dbsage_core::migrations::discover_project(project)?;
            let (cluster, mut client) = dbsage_core::local::replayed(project, &files)?;
            let result = work(&mut client);
            drop(client);
            cluster.stop();
            result
        }
    }
}

/// Connects to the environment `name`, refusing a protected one for tests unless the user said
/// `--i-know-this-is-production`.
fn connect_env(
    project: &Project,
    place: &Where,
    out: &Out,
    name: &str,
    rolled_back_only: bool,
) -> dbsage_core::Result<(Target, postgres::Client)> {
    let target = Target::resolve(project, Some(name))?;
    super::announce(out, &target);
    let (client, protection) = target.connect_protected(project, "dbsage secure")?;
    if let Some(protection) = protection.filter(|_| rolled_back_only) {
        if !place.i_know_this_is_production {
            return Err(Error::Refused {
                message: format!(
                    "refusing to run tests as other roles on `{}`: {}",
                    target.name,
                    protection.describe()
                ),
                hint: "everything runs in transactions that are rolled back; pass --i-know-this-is-production to go ahead".into(),
            });
        }
    }
    Ok((target, client))
}

fn tests_path(project: &Project, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        project.root.join(path)
    }
}

pub fn run(args: SecureArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    match args.action {
        SecureAction::Audit { place, fix } => {
            let exposure = dbsage_core::exposure::exposed_schemas(&project)?;
            if exposure.is_plain() {
                return Err(Error::Config {
                    message: "secure audit needs the exposed schemas (the ones an API serves): this project has no supabase/config.toml and no [lint] exposed_schemas, so there is nothing to judge row-level security against".into(),
                    hint: dbsage_core::exposure::SET_EXPOSED_SCHEMAS_HINT.into(),
                });
            }
            let options = dbsage_secure::AuditOptions {
                exposed_schemas: exposure.schemas,
            };
            let findings = on_database(&project, &place, out, false, |c| {
                dbsage_secure::audit(c, &options).map_err(secure_error)
            })?;
            let errors = super::findings::any_error(&findings);
            let written = if fix && !findings.is_empty() {
                let (sql, _) = dbsage_secure::fix_migration(&findings);
                if sql.trim().is_empty() {
                    None
                } else {
                    let body = format!("-- Fixes written by `dbsage secure audit --fix`. Review, then `dbsage migrate --local`.\n{sql}");
                    Some(
                        dbsage_core::migrations::create(
                            &project.migrations_dir(),
                            "secure_fixes",
                            false,
                            &body,
                        )?
                        .0,
                    )
                }
            } else {
                None
            };
            if out.json_mode() {
                out.json(&json!(findings));
            } else {
                super::findings::print(out, &findings);
                if let Some(path) = &written {
                    out.status(
                        "Created",
                        &format!(
                            "{} with the fixes safe to automate",
                            super::display_path(path)
                        ),
                    );
                }
            }
            Ok(if errors { 1 } else { 0 })
        }
        SecureAction::Test { place, tests } => {
            let files =
                dbsage_secure::load_tests(&tests_path(&project, &tests)).map_err(secure_error)?;
            let report = on_database(&project, &place, out, true, |c| {
                dbsage_secure::run_tests(c, &files).map_err(secure_error)
            })?;
            if out.json_mode() {
                out.json(&json!(report));
            } else {
                let mut table = Table::new();
                table
                    .load_preset(UTF8_FULL_CONDENSED)
                    .set_header(vec!["", "file", "case", "message"]);
                for c in &report.cases {
                    let mark = if c.passed {
                        out.paint("pass", Style::Good)
                    } else {
                        out.paint("FAIL", Style::Bad)
                    };
                    table.add_row(vec![
                        mark,
                        super::display_path(Path::new(&c.file)),
                        c.name.clone(),
                        c.message.clone(),
                    ]);
                }
                out_line!("{table}");
                out_line!("{} passed, {} failed", report.passed, report.failed);
            }
            Ok(if report.failed > 0 { 1 } else { 0 })
        }
        SecureAction::Coverage {
            place,
            tests,
            roles,
        } => {
            let files = match &tests {
                Some(path) => {
                    dbsage_secure::load_tests(&tests_path(&project, path)).map_err(secure_error)?
                }
                None => {
                    let default = project.root.join("tests/rls");
                    if default.exists() {
                        dbsage_secure::load_tests(&default).map_err(secure_error)?
                    } else {
                        Vec::new()
                    }
                }
            };
            let coverage = on_database(&project, &place, out, true, |c| {
                dbsage_secure::coverage(c, &files, &roles).map_err(secure_error)
            })?;
            if out.json_mode() {
                out.json(&json!(coverage));
            } else {
                let mut table = Table::new();
                table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
                    "role", "table", "select", "insert", "update", "delete",
                ]);
                for role in &coverage.roles {
                    for t in &coverage.tables {
                        let mut row = vec![role.clone(), t.clone()];
                        for cmd in dbsage_secure::COMMANDS {
                            let cell = coverage
                                .cells
                                .iter()
                                .find(|c| &c.role == role && &c.table == t && c.command == *cmd);
                            row.push(match cell {
                                Some(c) => format!(
                                    "{} {}",
                                    if c.allowed { "allowed" } else { "denied" },
                                    if c.tested {
                                        out.paint("tested", Style::Good)
                                    } else {
                                        out.paint("untested", Style::Warn)
                                    }
                                ),
                                None => "-".into(),
                            });
                        }
                        table.add_row(row);
                    }
                }
                out_line!("{table}");
                if !coverage.untested.is_empty() {
                    out_line!("untested ({}):", coverage.untested.len());
                    for u in &coverage.untested {
                        out_line!("  {u}");
                    }
                }
            }
            Ok(0)
        }
        SecureAction::Explain {
            place,
            as_role,
            settings,
            query,
        } => {
            let settings = parse_settings(&settings)?;
            let (role, sub) = match as_role.split_once(':') {
                Some((r, s)) => (r.to_string(), Some(s.to_string())),
                None => (as_role.clone(), None),
            };
            let explanation = on_database(&project, &place, out, true, |c| {
                dbsage_secure::explain_with_settings(c, &role, sub.as_deref(), &settings, &query)
                    .map_err(secure_error)
            })?;
            if out.json_mode() {
                out.json(&json!(explanation));
            } else {
                if let Some(n) = explanation.rows {
                    out_line!("as {role}: {}", dbsage_core::wording::plural(n, "row"));
                }
                if let Some(e) = &explanation.error {
                    // A failed query is an error, never "nothing is hidden".
                    let mut lines = vec![format!(
                        "as {role}, the query failed: {} [SQLSTATE {}]",
                        e.message, e.code
                    )];
                    lines.extend(e.detail.as_ref().map(|d| format!("  detail: {d}")));
                    lines.extend(e.hint.as_ref().map(|h| format!("  server hint: {h}")));
                    err_line!(
                        "{}: {}",
                        out.paint_err("error", Style::Bad),
                        lines.join("\n")
                    );
                } else if explanation.reasons.is_empty() {
                    out_line!("nothing is hidden or denied");
                }
                for r in &explanation.reasons {
                    let table = r
                        .table
                        .as_deref()
                        .map(|t| format!(" on {t}"))
                        .unwrap_or_default();
                    out_line!("- [{}]{table}: {}", r.kind, r.message);
                    if let Some(sql) = &r.fix_sql {
                        out_line!("    {}", out.paint(sql, Style::Dim));
                    }
                }
            }
            Ok(if explanation.error.is_some() { 1 } else { 0 })
        }
    }
}

/// `--set NAME=VALUE` options as a map.
fn parse_settings(settings: &[String]) -> dbsage_core::Result<BTreeMap<String, String>> {
    settings
        .iter()
        .map(|s| match s.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok((name.trim().to_string(), value.to_string()))
            }
            _ => Err(Error::Config {
                message: format!("--set {s}: expected NAME=VALUE"),
                hint: "for example --set app.current_org=42".into(),
            }),
        })
        .collect()
}

pub fn run_pgtap(args: TestArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let roots = if args.paths.is_empty() {
        vec![
            project.root.join("supabase/tests"),
            project.root.join("tests/pgtap"),
        ]
    } else {
        args.paths.clone()
    };
    let setup: Vec<PathBuf> = project
        .config
        .test
        .setup
        .iter()
        .map(|p| project.root.join(p))
        .collect();
    let files = dbsage_secure::test_files(&roots, &setup);
    if files.is_empty() {
        return Err(Error::Config {
            message: "no pgTAP files found (looked in supabase/tests and tests/pgtap)".into(),
            hint: "name files or directories: `dbsage test path/to/tests`".into(),
        });
    }
    let report = run_pgtap_files(&project, &args.place, &files, out)?;
    if out.json_mode() {
        out.json(&json!(report));
    } else {
        for f in &report.files {
            let verdict = if f.ok {
                out.paint("ok", Style::Good)
            } else {
                out.paint("FAILED", Style::Bad)
            };
            out_line!(
                "{} .. {verdict} ({} passed, {} failed)",
                super::display_path(Path::new(&f.path)),
                f.passed,
                f.failed
            );
            for t in f.tests.iter().filter(|t| !t.ok) {
                out_line!("  not ok {} - {}", t.number, t.description);
                for d in &t.diagnostics {
                    out_line!("    {d}");
                }
            }
            if let Some(e) = &f.error {
                out_line!("  {}", out.paint(e, Style::Bad));
            }
        }
        out_line!(
            "{}: {} ok, {} failed; {} passed, {} failed",
            dbsage_core::wording::plural(report.files.len(), "file"),
            report.files_passed,
            report.files_failed,
            dbsage_core::wording::plural(report.passed, "assertion"),
            report.failed
        );
    }
    Ok(if report.ok { 0 } else { 1 })
}

/// Runs the pgTAP files, each in a session of its own: on a throwaway database with the
/// migrations, the seed and `[test] setup` applied, or on an environment.
fn run_pgtap_files(
    project: &Project,
    place: &Where,
    files: &[PathBuf],
    out: &Out,
) -> dbsage_core::Result<dbsage_secure::TapReport> {
    let session_error = |e: Error| SecureError::Session {
        what: "a pgTAP file".into(),
        message: e.to_string(),
    };
    match &place.env {
        Some(name) => {
            let (target, client) = connect_env(project, place, out, name, true)?;
            drop(client);
            if !project.config.test.setup.is_empty() {
                out.warn("[test] setup runs on throwaway databases only, not on an environment");
            }
            let mut open = || {
                target
                    .connect(project, "dbsage test")
                    .map_err(session_error)
            };
            dbsage_secure::run_pgtap(&mut open, files).map_err(secure_error)
        }
        None => {
            let migrations = dbsage_core::migrations::discover_project(project)?;
            let (cluster, mut client) = dbsage_core::local::replayed(project, &migrations)?;
            dbsage_core::test_setup::apply(&mut client, project)?;
            drop(client);
            let mut open = || {
                cluster
                    .connect("postgres")
                    .map_err(|e| session_error(e.into()))
            };
            let report = dbsage_secure::run_pgtap(&mut open, files).map_err(secure_error);
            cluster.stop();
            report
        }
    }
}

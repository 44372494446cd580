//! The `dbsage` binary: argument parsing, prompts and rendering. The workflows themselves live
//! in the library crates (`dbsage-core` and friends), which the tests call directly.

#[macro_use]
mod output;
mod commands;
mod formats;
mod guide;
mod prompt;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use output::Out;

/// mimalloc: linting decodes libpg_query's protobuf trees into millions of small boxed nodes
/// across parser threads and frees them on another; mimalloc made `bench/lint.sh` ~25% faster
/// than glibc malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The package version and the git commit it was built from (build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("DBSAGE_GIT_COMMIT"),
    ")"
);

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  a migration or check failed, or the history is inconsistent
  2  usage or configuration error (unknown environment, missing variable, unreachable host, …)
  3  refused by a gate (protected environment: not confirmed, not tested locally, lint errors)
  130 interrupted (Ctrl-C); local clusters are stopped and nothing is left half-applied, except
      a no-transaction file that was running: it is reported as partial (`dbsage status`)";

/// dbsage: work safely with PostgreSQL. Write a migration, test it on a throwaway local
/// PostgreSQL, then apply it to staging and production with gates. Run `dbsage` alone to be
/// guided through a workflow (`dbsage help workflows` lists them).
#[derive(Parser, Debug)]
#[command(name = "dbsage", version = VERSION, about, after_help = EXIT_CODES, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    /// None: the guided workflows (`guide`).
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Report format: human (default) or json (stable shape, for scripts); `lint` also takes
    /// github and sarif. A format a command does not support is a usage error. Import and export
    /// name their data format with --data-format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Run as if started in this directory.
    #[arg(short = 'C', long = "dir", global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Colour: auto (terminal only, honours NO_COLOR), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    /// GitHub workflow annotations (lint, review).
    Github,
    /// SARIF 2.1.0 for code scanning (lint only).
    Sarif,
    /// Prometheus text exposition format (health only).
    Prometheus,
    /// Deprecated spelling of `import/export --data-format csv`.
    #[value(hide = true)]
    Csv,
    /// Deprecated spelling of `import/export --data-format tsv`.
    #[value(hide = true)]
    Tsv,
    /// Deprecated spelling of `import/export --data-format ndjson`.
    #[value(hide = true)]
    Ndjson,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Set up a project: dbsage.toml, migrations/, .env.example, .gitignore lines, a check.
    Init(commands::init::InitArgs),
    /// Create a new migration file: migrations/<UTC timestamp>_<name>.sql
    New(commands::new::NewArgs),
    /// Apply pending migrations (to the dev database by default), or test them all locally.
    #[command(after_help = EXIT_CODES)]
    Migrate(commands::migrate::MigrateArgs),
    /// The production pipeline: preflight, backup, migrate, smoke tests, post-checks, report.
    #[command(
        after_help = "Exit codes: 0 deployed (or planned, or rehearsed), 1 a step failed (the report says which), 2 usage or configuration error, 3 refused by a gate."
    )]
    Deploy(commands::deploy::DeployArgs),
    /// Load CSV/TSV/NDJSON/JSON into a table: staging, validation, one idempotent merge.
    #[command(
        after_help = "--data-format names the data (csv, tsv, ndjson, json; guessed from the extension, or sniffed on stdin); --format json gives the report as JSON.\nExit codes: 0 merged (or dry run clean), 1 rows rejected over the error budget (nothing merged) or failure, 2 usage error, 3 refused by a gate."
    )]
    Import(commands::import::ImportArgs),
    /// Write a table or a query's rows to CSV, TSV, NDJSON or JSON.
    Export(commands::import::ExportArgs),
    /// Row-level security: audit the schema, test policies as real users, coverage, explain.
    Secure(commands::secure::SecureArgs),
    /// Performance findings (indexes, bloat, statistics, sequences, settings) with the numbers
    /// behind them; --write turns the safe fixes into a migration; `tune queries` proposes
    /// indexes proven on the real workload.
    #[command(
        after_help = "Exit codes: 0 no error-severity finding, 1 errors found (invalid index, sequence near its limit), 2 usage or configuration error."
    )]
    Tune(commands::tune::TuneArgs),
    /// Routine maintenance: ANALYZE, VACUUM, REINDEX CONCURRENTLY, retention in batches.
    Maintain(commands::tune::MaintainArgs),
    /// Run pgTAP tests (supabase/tests, tests/pgtap) on a throwaway database after the migrations.
    Test(commands::secure::TestArgs),
    /// Check migrations against the review checklist: idempotency, RLS, indexes, locking, …
    #[command(
        after_help = "Exit codes: 0 no error-severity finding, 1 errors found, 2 usage or configuration error.\nRules: `dbsage lint --explain RULE` prints a rule's doc; `dbsage lint --rules` lists them."
    )]
    Lint(commands::lint::LintArgs),
    /// Before a schema grows: what a change adds, its red flags, the smallest alternative.
    #[command(after_help = commands::review::EXIT_CODES)]
    Review(commands::review::ReviewArgs),
    /// Show each migration's state: applied, pending, modified or missing.
    Status(commands::status::StatusArgs),
    /// Undo the newest applied migration(s) with their down files, or print reverse guidance.
    Rollback(commands::rollback::RollbackArgs),
    /// Resolve an inconsistent history on purpose (audited): accept an edit, forget a file.
    Repair(commands::repair::RepairArgs),
    /// The audit log, newest last: who applied, rolled back or repaired what, and why; --verify.
    History(commands::history::HistoryArgs),
    /// Open psql on an environment's database (read-only on a protected one unless --write).
    Psql(commands::psql::PsqlArgs),
    /// Monitoring checks with warning/critical thresholds; --format prometheus, --watch, alerts.
    #[command(after_help = commands::health::EXIT_CODES)]
    Health(commands::health::HealthArgs),
    /// The persistent local dev database (no Docker): start, stop, status, url, psql, reset.
    Dev(commands::dev::DevArgs),
    /// A statement's plan as a tree, its costly nodes and what is wrong with it (--analyze, --compare).
    Explain(commands::explain::ExplainArgs),
    /// Take a logical backup (pg_dump -Fd + roles + manifest); `backup list`, `backup verify`.
    Backup(commands::backup::BackupArgs),
    /// Restore a backup into a new database on an environment's server (or --replace), verified.
    Restore(commands::backup::RestoreArgs),
    /// Point-in-time recovery through pgBackRest: setup, backup, restore --to a moment.
    Pitr(commands::pitr::PitrArgs),
    /// PostgreSQL server builds: list what is installed, install a major version into the cache.
    Pg(commands::pg::PgArgs),
    /// Generate code from the schema: `gen types --lang typescript|rust` (--check for CI).
    Gen(commands::gen::GenArgs),
    /// The DDL that turns one schema into another (environment, `migrations` or a .sql file),
    /// with hazards, proven on a throwaway copy; --write makes it a migration.
    #[command(
        after_help = "Exit codes: 0 the plan is proven, 1 something is not handled (listed), 2 usage or configuration error."
    )]
    Diff(commands::diff::DiffArgs),
    /// The live schema of an environment against its migration history (exit 1 on drift).
    Drift(commands::diff::DriftArgs),
    /// A database with no migrations yet: write a baseline migration of its live schema,
    /// proven by replay, recorded as applied there (audited).
    Pull(commands::diff::PullArgs),
    /// Move a whole database to another server: preflight, dump (maintenance window) or
    /// replicate (logical replication, then `move cutover`); `move status`, `preflight`, `abort`.
    Move(commands::move_db::MoveArgs),
    /// One self-contained HTML page: migrations, findings with fixes, RLS coverage, charts, backups.
    Report(commands::report::ReportArgs),
    /// The effective configuration and where each value came from; --check validates it.
    Config(commands::config::ConfigArgs),
    /// A shell completion script (bash, zsh, fish, powershell) on stdout.
    Completions(commands::shell::CompletionsArgs),
    /// The man page (roff) on stdout, or one page per subcommand with --out-dir.
    Man(commands::shell::ManArgs),
    /// JSON Schemas for editors (Taplo, VS Code): `dbsage schema config > dbsage.schema.json`.
    Schema(commands::schema::SchemaArgs),
}

/// The clap definition, for completions and man pages.
fn cli_command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

fn main() -> ExitCode {
    // clap's own `help` subcommand knows commands only; this topic is ours.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if argv.len() == 2 && argv[0] == "help" && argv[1] == "workflows" {
        out_text!("{}", guide::listing());
        return ExitCode::SUCCESS;
    }
    let cli = Cli::parse();
    let out = Out::new(&cli.global);
    install_signal_handler();
    // Whatever a killed run left behind (clusters, initdb scratch dirs) goes now, on any command.
    dbsage_cluster::clean_stale_clusters();
    if let Some(dir) = &cli.global.dir {
        if let Err(e) = std::env::set_current_dir(dir) {
            out.error_text(&format!("cannot enter {}: {e}", dir.display()), None);
            return ExitCode::from(2);
        }
    }
    // A large stack: deeply nested SQL is parsed recursively.
    let code = std::thread::Builder::new()
        .name("dbsage".into())
        .stack_size(256 * 1024 * 1024)
        .spawn(move || match cli.command {
            Some(command) => run(command, &out),
            None => guide::start(&out),
        })
        .expect("spawning the main thread")
        .join()
        .unwrap_or(101);
    if interrupted() {
        // The handler is cleaning up and exits with 130; do not race it.
        std::thread::sleep(std::time::Duration::from_secs(30));
        return ExitCode::from(130);
    }
    ExitCode::from(code as u8)
}

/// Set by the signal handler: whatever fails after it is a consequence of the interruption.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

fn run(command: Command, out: &Out) -> i32 {
    if let Err(e) = formats::check(command_name(&command), out.format) {
        out.error(&e);
        return e.exit_code();
    }
    let result = match command {
        Command::Init(a) => commands::init::run(a, out),
        Command::New(a) => commands::new::run(a, out),
        Command::Migrate(a) => commands::migrate::run(a, out),
        Command::Deploy(a) => commands::deploy::run(a, out),
        Command::Status(a) => commands::status::run(a, out),
        Command::Lint(a) => commands::lint::run(a, out),
        Command::Review(a) => commands::review::run(a, out),
        Command::Secure(a) => commands::secure::run(a, out),
        Command::Test(a) => commands::secure::run_pgtap(a, out),
        Command::Tune(a) => commands::tune::run_tune(a, out),
        Command::Maintain(a) => commands::tune::run_maintain(a, out),
        Command::Import(a) => commands::import::run_import(a, out),
        Command::Export(a) => commands::import::run_export(a, out),
        Command::Rollback(a) => commands::rollback::run(a, out),
        Command::Repair(a) => commands::repair::run(a, out),
        Command::History(a) => commands::history::run(a, out),
        Command::Dev(a) => commands::dev::run(a, out),
        Command::Psql(a) => commands::psql::run(a, out),
        Command::Explain(a) => commands::explain::run(a, out),
        Command::Backup(a) => commands::backup::run(a, out),
        Command::Restore(a) => commands::backup::run_restore(a, out),
        Command::Pg(a) => commands::pg::run(a, out),
        Command::Pitr(a) => commands::pitr::run(a, out),
        Command::Health(a) => commands::health::run(a, out),
        Command::Gen(a) => commands::gen::run(a, out),
        Command::Diff(a) => commands::diff::run(a, out),
        Command::Drift(a) => commands::diff::run_drift(a, out),
        Command::Pull(a) => commands::diff::run_pull(a, out),
        Command::Move(a) => commands::move_db::run(a, out),
        Command::Report(a) => commands::report::run(a, out),
        Command::Config(a) => commands::config::run(a, out),
        Command::Completions(a) => commands::shell::run_completions(a, cli_command()),
        Command::Man(a) => commands::shell::run_man(a, cli_command()),
        Command::Schema(a) => commands::schema::run(a),
    };
    match result {
        Ok(code) => code,
        Err(_) if interrupted() => 130,
        Err(e) => {
            out.error(&e);
            e.exit_code()
        }
    }
}

/// The command's name as typed, for messages about its flags.
fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Init(_) => "init",
        Command::New(_) => "new",
        Command::Migrate(_) => "migrate",
        Command::Deploy(_) => "deploy",
        Command::Status(_) => "status",
        Command::Lint(_) => "lint",
        Command::Review(_) => "review",
        Command::Secure(_) => "secure",
        Command::Test(_) => "test",
        Command::Tune(_) => "tune",
        Command::Maintain(_) => "maintain",
        Command::Import(_) => "import",
        Command::Export(_) => "export",
        Command::Rollback(_) => "rollback",
        Command::Repair(_) => "repair",
        Command::History(_) => "history",
        Command::Dev(_) => "dev",
        Command::Psql(_) => "psql",
        Command::Explain(_) => "explain",
        Command::Backup(_) => "backup",
        Command::Restore(_) => "restore",
        Command::Pg(_) => "pg",
        Command::Pitr(_) => "pitr",
        Command::Health(_) => "health",
        Command::Gen(_) => "gen",
        Command::Diff(_) => "diff",
        Command::Drift(_) => "drift",
        Command::Pull(_) => "pull",
        Command::Move(_) => "move",
        Command::Report(_) => "report",
        Command::Config(_) => "config",
        Command::Completions(_) => "completions",
        Command::Man(_) => "man",
        Command::Schema(_) => "schema",
    }
}

/// Ctrl-C / SIGTERM / SIGHUP: stop every throwaway cluster, then exit. An open remote
/// transaction is rolled back by the server when the connection closes.
fn install_signal_handler() {
    let _ = ctrlc::set_handler(|| {
        if prompt::is_prompting() {
            prompt::cancel();
        }
        INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
        dbsage_cluster::shutdown_live_clusters();
        if let Some(dir) = dbsage_backup::interrupt::abort_in_progress() {
            err_line!(
                "interrupted: the unfinished backup folder {} was removed",
                dir.display()
            );
        }
        if let Some(note) = dbsage_move::interrupt::restore_source() {
            err_line!("interrupted: {note}");
        }
        match dbsage_core::partial::in_progress() {
            Some(partial) => err_line!("interrupted: local clusters stopped; PARTIAL: {partial}"),
            None => err_line!("interrupted: local clusters stopped, nothing half-applied"),
        }
        std::process::exit(130);
    });
}

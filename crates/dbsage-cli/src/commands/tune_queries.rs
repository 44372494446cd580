//! `dbsage tune queries [--env E] [--prove] [--write NAME]`: the workload's top statements and
//! the indexes that would serve them, costed by the planner and, with `--prove`, timed on a
//! throwaway copy. Reads only: every index is built on a copy or hypothetically (hypopg).

use clap::{Args, Subcommand};
use serde_json::json;

use dbsage_core::env::Target;
use dbsage_core::Error;
use dbsage_tune::queries::{self, QueriesError};

use crate::output::{Out, Style};

/// `dbsage tune …`'s subcommands.
#[derive(Subcommand, Debug)]
pub enum TuneCommand {
    /// The workload's top statements (pg_stat_statements) and the indexes proven to serve them.
    Queries(TuneQueriesArgs),
}

#[derive(Args, Debug)]
pub struct TuneQueriesArgs {
    /// Environment: a name from dbsage.toml, `dev` (default), or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Build each proposed index on a throwaway copy with a sample of the data, and time the
    /// statement and the table's inserts before and after.
    #[arg(long)]
    pub prove: bool,
    /// Write the proposed indexes as a migration named NAME (CREATE INDEX CONCURRENTLY).
    #[arg(long, value_name = "NAME")]
    pub write: Option<String>,
    /// How many statements to read from pg_stat_statements (by total time).
    #[arg(long, default_value_t = 20)]
    pub top: i64,
    /// Statements faster than this on average (ms) are listed, not analysed.
    #[arg(long, default_value_t = 1.0, value_name = "MS")]
    pub min_mean_ms: f64,
    /// Rows per table copied to the throwaway copy.
    #[arg(long, default_value_t = 100_000, value_name = "ROWS")]
    pub sample_rows: i64,
}

/// A library error for the CLI's rendering (server errors keep their SQLSTATE and hint).
pub fn queries_error(e: QueriesError) -> Error {
    let code = e.exit_code();
    match e {
        QueriesError::Database { context, source } => Error::db(context, source),
        QueriesError::Cluster(c) => Error::Cluster(c),
        other if code == 2 => Error::Config {
            message: other.to_string(),
            hint: String::new(),
        },
        other => Error::Failed {
            message: other.to_string(),
            hint: String::new(),
        },
    }
}

pub fn run(args: TuneQueriesArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let target = Target::resolve(&project, args.env.as_deref())?;
    let mut client = target.connect(&project, "dbsage tune queries")?;
    super::announce(out, &target);
    if target.is_dev() {
        // The dev cluster preloads pg_stat_statements; the extension is created on first use.
        client
            .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .map_err(|e| Error::db("creating pg_stat_statements on the dev database", e))?;
    }
    let options = queries::Options {
        top: args.top,
        min_mean_ms: args.min_mean_ms,
        prove: args.prove,
        sample_rows: args.sample_rows,
    };
    let report = queries::analyse(&mut client, &options).map_err(queries_error)?;
    let written = match &args.write {
        Some(name) if !report.findings.is_empty() => {
            let body = queries::migration::text(&report.findings);
            let (path, _) =
                dbsage_core::migrations::create(&project.migrations_dir(), name, false, &body)?;
            Some(path)
        }
        _ => None,
    };
    // Like `tune`, exit 1 when there is something to fix: here every finding is an index the
    // workload needs.
    let code = i32::from(!report.findings.is_empty());
    if out.json_mode() {
        let mut value = json!(report);
        value["written"] = json!(written.as_ref().map(|p| p.display().to_string()));
        out.json(&value);
        return Ok(code);
    }
    if let Some(reason) = &report.unavailable {
        out_line!("{}", out.paint(reason, Style::Warn));
        out_line!("");
        out_text!("{}\n", report.enable.unwrap_or_default());
        return Ok(0);
    }
    out_line!(
        "{:>8} {:>10} {:>9} {:>9} {:>6}  statement",
        "calls",
        "total ms",
        "mean ms",
        "rows",
        "hit %"
    );
    for s in &report.statements {
        let hit = s
            .statement
            .cache_hit_ratio
            .map(|r| format!("{:.1}", 100.0 * r))
            .unwrap_or_else(|| "-".into());
        out_line!(
            "{:>8} {:>10.1} {:>9.2} {:>9} {:>6}  {}",
            s.statement.calls,
            s.statement.total_ms,
            s.statement.mean_ms,
            s.statement.rows,
            hit,
            queries::one_line(&s.statement.query, 70)
        );
        out_line!(
            "{:>47}{}",
            "",
            out.paint(&format!("→ {}", s.verdict), Style::Dim)
        );
    }
    out_line!("");
    super::findings::print(out, &report.findings);
    if let Some(path) = &written {
        out_line!(
            "wrote {} (check it with `dbsage migrate --local`)",
            super::paths::from_cwd(path).display()
        );
    } else if args.write.is_some() {
        out_line!("nothing to write: no index proposed");
    }
    Ok(code)
}

//! `dbsage review`: the KISS gate. Replays the history without the proposed files on a
//! throwaway cluster (with `--env`: rebuilds that environment's live schema there instead,
//! see `review_live`), applies them, and hands both catalogs to `dbsage_review`.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use dbsage_catalog::{Catalog, ReadOptions};
use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::migrations::MigrationFile;
use dbsage_core::Error;
use dbsage_review::{ProposedFile, Report, Verdict};

use crate::output::{Out, Style};
use crate::Format;

#[derive(Args, Debug)]
pub struct ReviewArgs {
    /// The proposed migration files (in the migrations folder or anywhere).
    pub files: Vec<PathBuf>,
    /// Review the migrations not yet applied on the environment (--env, else the default one).
    #[arg(long, conflicts_with = "files")]
    pub pending: bool,
    /// Judge the change against this environment's live schema (a throwaway copy of it), with
    /// its evidence: empty tables, columns no statement uses.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Exit 1 when a red flag has no `-- dbsage:justify "…"` (a CI gate).
    #[arg(long)]
    pub strict: bool,
    /// Print a red flag's documentation (why, bad, good, fix) and exit.
    #[arg(long, value_name = "ID")]
    pub explain: Option<String>,
}

pub const EXIT_CODES: &str = "Exit codes: 0 reviewed (with --strict: no unjustified red flag), 1 unjustified red flags under --strict or failure, 2 usage or configuration error.\nFlags: `dbsage review --explain ID` prints a flag's doc.";

pub fn run(args: ReviewArgs, out: &Out) -> dbsage_core::Result<i32> {
    if let Some(id) = &args.explain {
        return explain(id);
    }
    let project = super::project()?;
    let files = dbsage_core::migrations::discover_project(&project)?;
    let (proposed_paths, history) = split(&project, &files, &args)?;
    // GitHub attaches annotations by repository path; people read paths from where they are.
    let paths_from = if out.format == Format::Github {
        super::paths::repository_root()
    } else {
        std::env::current_dir().unwrap_or_default()
    };
    let proposed = read_proposed(&proposed_paths, &paths_from)?;
    // With --env the change goes on a copy of that environment's live schema; else on the
    // history replayed without the proposed files.
    let (opened, live, options, base) = match &args.env {
        Some(name) => {
            let live = super::review_live::copy_of(&project, name, out)?;
            let base = format!("a copy of `{name}`'s schema");
            (live.copy, Some(live.evidence), live.options, base)
        }
        None => {
            let (cluster, client) = dbsage_core::local::replayed(&project, &history)?;
            let opened = dbsage_diff::sides::Opened {
                cluster: Some(cluster),
                client,
            };
            let options = ReadOptions {
                exclude_schemas: vec![project.history_table().schema],
            };
            (opened, None, options, "the replayed schema".to_string())
        }
    };
    let mut client = opened.client;
    let read = |client: &mut postgres::Client| {
        Catalog::read(client, &options).map_err(|e| Error::db(format!("reading {base}"), e))
    };
    let judged = (|| {
        let before = read(&mut client)?;
        dbsage_review::apply(&mut client, &proposed).map_err(|message| Error::Failed {
            message: format!("a proposed file fails on {base}: {message}"),
            hint:
                "fix the file (`dbsage migrate --local` shows the failing statement), then review again"
                    .into(),
        })?;
        Ok::<_, Error>((before, read(&mut client)?))
    })();
    drop(client);
    if let Some(cluster) = opened.cluster {
        cluster.stop();
    }
    let (before, after) = judged?;
    let report = dbsage_review::review(&proposed, &before, &after, live);
    match out.format {
        Format::Json => out.json(&json!(report)),
        Format::Github => print_github(&report),
        _ => print_human(out, &report),
    }
    let unjustified = report.unjustified().count() > 0;
    Ok(if args.strict && unjustified { 1 } else { 0 })
}

fn explain(id: &str) -> dbsage_core::Result<i32> {
    match dbsage_review::flags::doc(id) {
        Some(doc) => {
            out_text!("{}", doc.render());
            Ok(0)
        }
        None => Err(Error::Config {
            message: format!("no red flag `{id}`"),
            hint: format!(
                "the flags are: {}",
                dbsage_review::flags::ALL
                    .iter()
                    .map(|c| c.doc.id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// The proposed files and the history they go on top of.
fn split(
    project: &Project,
    files: &[MigrationFile],
    args: &ReviewArgs,
) -> dbsage_core::Result<(Vec<PathBuf>, Vec<MigrationFile>)> {
    let proposed: Vec<PathBuf> = if args.pending {
        let target = Target::resolve(project, args.env.as_deref())?;
        let (mut client, _) = target.connect_protected(project, "dbsage review")?;
        dbsage_core::migrate::status(&mut client, project, files)?
            .iter()
            .filter(|e| e.state == dbsage_core::migrate::State::Pending)
            .filter_map(|e| files.iter().find(|f| f.version == e.version))
            .map(|f| f.path.clone())
            .collect()
    } else if args.files.is_empty() {
        return Err(Error::Config {
            message: "dbsage review needs the proposed change".into(),
            hint: "name the files (`dbsage review migrations/2026…_add_x.sql`) or pass --pending"
                .into(),
        });
    } else {
        args.files.clone()
    };
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let base = files
        .iter()
        .filter(|f| !proposed.iter().any(|p| same(p, &f.path)))
        .cloned()
        .collect();
    Ok((proposed, base))
}

fn read_proposed(paths: &[PathBuf], base: &Path) -> dbsage_core::Result<Vec<ProposedFile>> {
    paths
        .iter()
        .map(|path| {
            let sql = std::fs::read_to_string(path)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            ProposedFile::parse(
                &super::paths::relative_to(path, base).display().to_string(),
                &sql,
            )
            .map_err(|e| Error::Config {
                message: format!("{e}"),
                hint: "fix the syntax error, then review again".into(),
            })
        })
        .collect()
}

/// `::warning file=…,line=…,col=…,title=…::message` per unjustified red flag.
fn print_github(report: &Report) {
    for flag in report.unjustified() {
        out_line!(
            "::warning file={},line={},col={},title=dbsage review {}::{}",
            flag.file,
            flag.line,
            flag.column,
            flag.finding.check,
            escape_github(&flag.finding.message)
        );
    }
    for finding in &report.evidence {
        out_line!(
            "::notice title=dbsage review {}::{}",
            finding.check,
            escape_github(&finding.message)
        );
    }
}

/// GitHub's workflow-command escaping of a message.
fn escape_github(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn print_human(out: &Out, report: &Report) {
    let adds = &report.adds;
    out_line!("{}", out.paint("What the change adds", Style::Bold));
    if adds.is_empty() {
        out_line!("  nothing to the schema");
    }
    for table in &adds.new_tables {
        let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        out_line!("  table {} ({})", table.name, columns.join(", "));
    }
    for (table, columns) in &adds.new_columns {
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        out_line!("  columns on {table}: {}", names.join(", "));
    }
    if !adds.new_indexes.is_empty() {
        out_line!("  indexes: {}", adds.new_indexes.join(", "));
    }
    if !adds.new_policies.is_empty() {
        out_line!("  policies: {}", adds.new_policies.join(", "));
    }
    if !report.red_flags.is_empty() {
        out_line!("\n{}", out.paint("Red flags", Style::Bold));
    }
    for flag in &report.red_flags {
        let mark = match &flag.justified {
            Some(_) => out.paint("justified", Style::Dim),
            None => out.paint("warning", Style::Warn),
        };
        out_line!(
            "  {mark}[{}] {}:{}:{}: {}",
            flag.finding.check,
            flag.file,
            flag.line,
            flag.column,
            flag.finding.message
        );
        if let Some(reason) = &flag.justified {
            out_line!("      justified: {reason}");
        }
    }
    if !report.evidence.is_empty() || !report.notes.is_empty() {
        out_line!(
            "\n{}",
            out.paint("Evidence from the environment", Style::Bold)
        );
        super::findings::print(out, &report.evidence);
        for note in &report.notes {
            out_line!("  note: {note}");
        }
    }
    let ladder = &report.ladder;
    out_line!(
        "\n{}",
        out.paint("The ladder (smallest first)", Style::Bold)
    );
    for line in &ladder.rungs {
        let marks = match (line.rung == ladder.change, line.rung == ladder.suggestion) {
            (true, true) => "this change, smallest",
            (true, false) => "this change",
            (false, true) => "suggested",
            _ => "",
        };
        out_line!(
            "  {:<32} {:<22} {}",
            line.rung.as_str(),
            marks,
            out.paint(line.trade_off, Style::Dim)
        );
    }
    out_line!("  suggestion: {}", ladder.suggestion_detail);
    let verdict = match report.verdict {
        Verdict::Ok => out.paint("ok", Style::Good),
        Verdict::NeedsJustification => out.paint("needs-justification", Style::Warn),
    };
    out_line!("\nVerdict: {verdict}");
    for item in &report.to_be_ok {
        out_line!("  to be ok: {item}");
    }
}

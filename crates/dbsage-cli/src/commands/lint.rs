use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::lint::Treatment;
use dbsage_core::migrations;
use dbsage_lint::SourceFile;

use crate::output::Out;
use crate::Format;

#[derive(Args, Debug)]
pub struct LintArgs {
    /// Files to lint (default: every migration). Earlier migrations are still read, so rules
    /// know which tables already exist.
    pub files: Vec<PathBuf>,
    /// Only the migrations not yet applied to --env.
    #[arg(long, conflicts_with = "files")]
    pub changed: bool,
    /// Environment for --changed: a name from dbsage.toml, `dev` (default), or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Print a rule's documentation: what it checks, why, a bad and a good example, the fix.
    #[arg(long, value_name = "RULE")]
    pub explain: Option<String>,
    /// List every rule with its default severity.
    #[arg(long)]
    pub rules: bool,
    /// The PostgreSQL major version the migrations will run on (default: DBSAGE_PG_VERSION,
    /// `[local] pg_version`, supabase/config.toml `[db] major_version`, the remembered version
    /// of the default protected environment, else the server local clusters run). Statements it
    /// does not support are `requires-newer-postgres` errors.
    #[arg(long, value_name = "MAJOR", value_parser = clap::value_parser!(u32).range(9..))]
    pub pg_version: Option<u32>,
}

pub fn run(args: LintArgs, out: &Out) -> dbsage_core::Result<i32> {
    if let Some(rule) = &args.explain {
        return match dbsage_lint::explain(rule) {
            Some(doc) if out.json_mode() => {
                out.json(&explain_json(rule, &doc));
                Ok(0)
            }
            Some(doc) => {
                out_line!("{doc}");
                Ok(0)
            }
            None => Err(dbsage_core::Error::Config {
                message: format!("no rule `{rule}`"),
                hint: "`dbsage lint --rules` lists them".into(),
            }),
        };
    }
    if args.rules {
        let rules = dbsage_lint::rules();
        if out.json_mode() {
            out.json(&json!(rules.iter().map(|r| json!({"id": r.id, "severity": r.default_severity.as_str(), "summary": r.summary})).collect::<Vec<_>>()));
        } else {
            for r in rules {
                out_line!(
                    "{:<36} {:<8} {}",
                    r.id,
                    r.default_severity.as_str(),
                    r.summary
                );
            }
        }
        return Ok(0);
    }
    // Outside a project, explicit files are linted with the default configuration.
    let project = match super::project() {
        Ok(p) => p,
        Err(e) if !args.files.is_empty() => {
            let _ = e;
            Project {
                root: std::env::current_dir().unwrap_or_default(),
                config: Default::default(),
            }
        }
        Err(e) => return Err(e),
    };
    let mut unreadable = Vec::new();
    // Baseline context and adopted files' own transactions, judged as `migrate` judges them.
    let mut treatment = Treatment::default();
    let (sources, wanted): (Vec<SourceFile>, Option<Vec<PathBuf>>) = if args.files.is_empty() {
        let files = migrations::discover_project(&project)?;
        let wanted = if args.changed {
            let target = Target::resolve(&project, args.env.as_deref())?;
            super::announce(out, &target);
            let mut client = target.connect(&project, "dbsage lint")?;
            let applied = dbsage_core::history::read(&mut client, &project.history_table())?;
            Some(
                files
                    .iter()
                    .filter(|f| !applied.iter().any(|a| a.version == f.version))
                    .map(|f| f.path.clone())
                    .collect(),
            )
        } else {
            None
        };
        treatment = Treatment::with_context(&project, &files)?;
        let sources = files
            .into_iter()
            .map(|f| SourceFile {
                path: f.path,
                text: f.text,
            })
            .collect();
        (sources, wanted)
    } else {
        // Context first: the project's migrations older than the files named.
        let mut sources: Vec<SourceFile> = Vec::new();
        // Sets, not lists: with every migration named (`dbsage lint migrations/*.sql`), list
        // lookups were quadratic and cost more than linting.
        let canonical_named: Vec<PathBuf> = args
            .files
            .iter()
            .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
            .collect();
        let named: HashSet<&Path> = canonical_named.iter().map(PathBuf::as_path).collect();
        // The named files discovery has just read, by canonical path: not read twice.
        // Kept under discovery's path, the one `treatment` knows the file by.
        let mut already_read: HashMap<PathBuf, (PathBuf, String)> = HashMap::new();
        if let Ok(files) = migrations::discover_project(&project) {
            treatment = Treatment::with_context(&project, &files)?;
            for f in files {
                let canonical = f.path.canonicalize().unwrap_or_else(|_| f.path.clone());
                if named.contains(canonical.as_path()) {
                    already_read.insert(canonical, (f.path, f.text));
                } else {
                    sources.push(SourceFile {
                        path: f.path,
                        text: f.text,
                    });
                }
            }
        }
        let mut wanted = Vec::new();
        let mut named_sources = Vec::new();
        for (path, canonical) in args.files.iter().zip(&canonical_named) {
            let (path, read) = match already_read.remove(canonical) {
                Some((discovered, text)) => (discovered, Ok(Ok(text))),
                None => (path.clone(), std::fs::read(path).map(String::from_utf8)),
            };
            match read {
                Ok(Ok(text)) => {
                    wanted.push(path.clone());
                    named_sources.push(SourceFile { path, text });
                }
                Ok(Err(e)) => unreadable.push(format!(
                    "{}: not valid UTF-8 (invalid byte at offset {}); save it as UTF-8",
                    path.display(),
                    e.utf8_error().valid_up_to()
                )),
                Err(e) => unreadable.push(format!("{}: {e}", path.display())),
            }
        }
        // Keep migration order: context files sort by name with the named ones.
        sources.extend(named_sources);
        sources.sort_by(|a, b| a.path.file_name().cmp(&b.path.file_name()));
        (sources, Some(wanted))
    };
    keep_freed_c_memory();
    let (mut findings, mut context) = treatment.apply(dbsage_core::lint::lint_sources_for(
        &project,
        &sources,
        args.pg_version,
    )?);
    if let Some(wanted) = &wanted {
        let wanted: HashSet<&Path> = wanted.iter().map(PathBuf::as_path).collect();
        findings.retain(|f| wanted.contains(f.file.as_path()));
        context.retain(|(f, _)| wanted.contains(f.file.as_path()));
    }
    for message in &unreadable {
        out.error_text(message, None);
    }
    // Paths as the reader needs them: GitHub attaches annotations by repository path.
    let base = if out.format == Format::Github {
        super::paths::repository_root()
    } else {
        std::env::current_dir().unwrap_or_default()
    };
    for f in findings
        .iter_mut()
        .chain(context.iter_mut().map(|(f, _)| f))
    {
        f.file = super::paths::relative_to(&f.file, &base);
    }
    let sources: Vec<SourceFile> = sources
        .into_iter()
        .map(|s| SourceFile {
            path: super::paths::relative_to(&s.path, &base),
            text: s.text,
        })
        .collect();
    match out.format {
        Format::Json => out_line!("{}", render_json(&findings, &context)),
        Format::Github => out_text!("{}", dbsage_lint::render_github(&findings)),
        Format::Sarif => out_line!("{}", dbsage_lint::render_sarif(&findings)),
        Format::Human | Format::Csv | Format::Tsv | Format::Ndjson | Format::Prometheus => {
            out_text!(
                "{}",
                dbsage_lint::render_human(&findings, &sources, out.color_out())
            );
            out_text!(
                "{}",
                super::lint_context::render(&context, &sources, out.color_out())
            );
            let checked = wanted.as_ref().map_or(sources.len(), |w| w.len());
            err_line!("{} checked", dbsage_core::wording::plural(checked, "file"));
        }
    }
    Ok(
        if dbsage_lint::has_errors(&findings) || !unreadable.is_empty() {
            1
        } else {
            0
        },
    )
}

/// The findings as `dbsage_lint::render_json` lists them, then the context findings in the same
/// shape with a `context` field saying why they do not count (as `migrate --local` reports them).
fn render_json(
    findings: &[dbsage_lint::Finding],
    context: &[(dbsage_lint::Finding, String)],
) -> String {
    let mut list: Vec<serde_json::Value> =
        serde_json::from_str(&dbsage_lint::render_json(findings)).expect("findings serialise");
    let context_findings: Vec<dbsage_lint::Finding> =
        context.iter().map(|(f, _)| f.clone()).collect();
    let context_list: Vec<serde_json::Value> =
        serde_json::from_str(&dbsage_lint::render_json(&context_findings))
            .expect("findings serialise");
    for (mut entry, (_, why)) in context_list.into_iter().zip(context) {
        entry["context"] = json!(why);
        list.push(entry);
    }
    serde_json::to_string_pretty(&list).expect("findings serialise")
}

/// `lint --explain RULE --format json`: `{"id", "severity", "summary", "doc"}`, the doc without
/// the heading lines the human text starts with.
fn explain_json(rule: &str, text: &str) -> serde_json::Value {
    let info = dbsage_lint::rules().into_iter().find(|r| r.id == rule);
    let (severity, summary) = info
        .as_ref()
        .map_or(("", ""), |r| (r.default_severity.as_str(), r.summary));
    let heading = format!("{rule} ({severity} by default)\n\n{summary}\n\n");
    let doc = text.strip_prefix(&heading).unwrap_or(text);
    json!({ "id": rule, "severity": severity, "summary": summary, "doc": doc })
}

/// libpg_query allocates each parse's memory with the C allocator (glibc malloc) and frees it
/// all at the end of the parse. On the parser threads glibc's per-thread arenas then hand that
/// memory back to the kernel (madvise) after nearly every file, and the next parse faults it
/// in again: ~31,000 page faults and a fifth of a second of system time for 1,000 files.
/// Keeping freed memory in the process (it is reused by the next parse; peak use is unchanged)
/// avoids that. The mmap threshold is fixed too, so that large parser blocks come from the
/// reused heap rather than from fresh mappings.
fn keep_freed_c_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before the parser threads start.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}

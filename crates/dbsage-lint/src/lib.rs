//! dbsage's migration linter: the review checklists teams apply to migrations (idempotent,
//! RLS with policies, indexed foreign keys, no destructive change without a plan, no lock that
//! takes production down), checked on the real PostgreSQL parser before anything reaches a
//! database.
//!
//! The flow of [`lint`]: parse every file on large-stack threads ([`parse`], [`plpgsql`]),
//! replay the files in migration order into a schema model ([`model`]), run each enabled rule on
//! each file ([`rules`]), then apply the inline suppressions ([`suppress`]). Rendering lives in
//! [`render`].

mod ast;
mod config;
mod context;
mod finding;
mod model;
mod parse;
mod plpgsql;
mod render;
mod rules;
mod suppress;

use std::path::PathBuf;

pub use config::{ConfigError, LintConfig, RuleLevel};
pub use finding::{Finding, RuleInfo, Severity};
pub use render::{render_github, render_human, render_json, render_sarif};

use context::{FileContext, Hit};
use model::Model;
use parse::ParsedFile;

/// A migration file to lint. The caller reads it and reports non-UTF-8 input itself.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// Stack size of the parser threads: PostgreSQL's grammar and our tree walks recurse once per
/// nesting level, and a generated query with thousands of nested parentheses must not crash.
const LARGE_STACK: usize = 256 * 1024 * 1024;

/// Lints `files`, given in migration order (sorted by name): they are replayed in that order
/// into the schema model. Returns the findings of every file, in file then position order.
pub fn lint(files: &[SourceFile], config: &LintConfig) -> Result<Vec<Finding>, ConfigError> {
    config.validate()?;
    let parsed = parse_all(files, config.threads);
    let findings = std::thread::scope(|scope| {
        // Rules walk trees recursively too: run them on a large stack as well.
        std::thread::Builder::new()
            .name("dbsage-lint".into())
            .stack_size(LARGE_STACK)
            .spawn_scoped(scope, || check_all(files, &parsed, config))
            .expect("spawn lint thread")
            .join()
            .expect("lint thread panicked")
    });
    // Trees can be deep: drop them on a large stack too.
    drop_on_large_stack(parsed);
    Ok(findings)
}

/// True when any finding is an error (`dbsage lint` exits 1, `migrate` stops).
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// Every rule: id, default severity and one-line summary.
pub fn rules() -> Vec<RuleInfo> {
    rules::ALL
        .iter()
        .map(|r| RuleInfo {
            id: r.id,
            default_severity: r.severity,
            summary: r.summary,
        })
        .collect()
}

/// The full documentation of a rule, as `dbsage lint --explain RULE` prints it.
pub fn explain(rule_id: &str) -> Option<String> {
    rules::find(rule_id).map(|r| {
        format!(
            "{} ({} by default)\n\n{}\n\n{}",
            r.id,
            r.severity.as_str(),
            r.summary,
            r.doc.trim()
        )
    })
}

fn parse_all(files: &[SourceFile], threads: usize) -> Vec<ParsedFile> {
    let threads = match threads {
        0 => std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(4),
        n => n,
    }
    .clamp(1, files.len().max(1));
    let mut parsed: Vec<Option<ParsedFile>> = (0..files.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                std::thread::Builder::new()
                    .name(format!("dbsage-parse-{worker}"))
                    .stack_size(LARGE_STACK)
                    .spawn_scoped(scope, move || {
                        // Interleaved so that both threads get a similar mix of file sizes.
                        (worker..files.len())
                            .step_by(threads)
                            .map(|i| (i, parse::parse_file(&files[i].text)))
                            .collect::<Vec<_>>()
                    })
                    .expect("spawn parser thread")
            })
            .collect();
        for worker in workers {
            for (i, file) in worker.join().expect("parser thread panicked") {
                parsed[i] = Some(file);
            }
        }
    });
    parsed.into_iter().map(Option::unwrap_or_default).collect()
}

fn drop_on_large_stack(parsed: Vec<ParsedFile>) {
    let handle = std::thread::Builder::new()
        .stack_size(LARGE_STACK)
        .spawn(move || drop(parsed));
    if let Ok(handle) = handle {
        let _ = handle.join();
    }
}

fn check_all(files: &[SourceFile], parsed: &[ParsedFile], config: &LintConfig) -> Vec<Finding> {
    let mut model = Model::default();
    let mut findings = Vec::new();
    for (file, parsed) in files.iter().zip(parsed) {
        let mut file_findings = Vec::new();
        let emit = |rule: &rules::Rule, hit: Hit, out: &mut Vec<Finding>| {
            if let Some(severity) = config.severity_of(rule.id, rule.severity) {
                out.push(to_finding(file, rule.id, severity, hit));
            }
        };
        if let Some(hit) = rules::migration_filename::check_path(&file.path) {
            emit(&rules::migration_filename::RULE, hit, &mut file_findings);
        }
        if let Some(error) = &parsed.error {
            // Nothing else can be said about this file; the model skips it and later files
            // treat whatever it would have created as unknown (existing).
            emit(
                &rules::syntax_error::RULE,
                rules::syntax_error::hit(&file.text, error),
                &mut file_findings,
            );
            findings.extend(file_findings);
            continue;
        }
        let changes = model.replay_file(&parsed.units);
        let directives = suppress::Directives::read(&file.text, &parsed.units);
        let cx = FileContext {
            text: &file.text,
            units: &parsed.units,
            model: &model,
            changes: &changes,
            config,
            no_transaction: dbsage_sql::is_no_transaction(&file.text),
            acknowledged: &directives.acknowledged,
        };
        let mut raw = Vec::new();
        for &rule in rules::ALL.iter() {
            if config.severity_of(rule.id, rule.severity).is_none() {
                continue;
            }
            let mut hits = Vec::new();
            (rule.check)(&cx, &mut hits);
            raw.extend(hits.into_iter().map(|hit| (rule, hit)));
        }
        let kept = directives.apply(raw, config);
        for (rule, hit) in kept {
            emit(rule, hit, &mut file_findings);
        }
        file_findings.sort_by_key(|f| (f.offset, f.rule.clone()));
        findings.extend(file_findings);
    }
    findings
}

fn to_finding(file: &SourceFile, rule: &str, severity: Severity, hit: Hit) -> Finding {
    let position = dbsage_sql::line_col(&file.text, hit.offset);
    Finding {
        rule: rule.to_string(),
        severity,
        file: file.path.clone(),
        line: position.line,
        column: position.column,
        offset: hit.offset,
        len: hit.len,
        message: hit.message,
        fix: hit.fix,
    }
}

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

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

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
    let threads = match config.threads {
        0 => std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(4),
        n => n,
    }
    .clamp(1, files.len().max(1));
    // A pipeline: parser threads take files in order and hand the trees to the checker, which
    // replays them in migration order and drops each file's trees once checked. Only a few
    // files' trees are alive at a time, which keeps memory (and page faults) low.
    let next_file = AtomicUsize::new(0);
    let (sender, receiver) = std::sync::mpsc::channel::<(usize, ParsedFile)>();
    let findings = std::thread::scope(|scope| {
        for worker in 0..threads {
            let sender = sender.clone();
            let next_file = &next_file;
            std::thread::Builder::new()
                .name(format!("dbsage-parse-{worker}"))
                .stack_size(LARGE_STACK)
                .spawn_scoped(scope, move || loop {
                    let i = next_file.fetch_add(1, Ordering::Relaxed);
                    if i >= files.len()
                        || sender.send((i, parse::parse_file(&files[i].text))).is_err()
                    {
                        break;
                    }
                })
                .expect("spawn parser thread");
        }
        drop(sender);
        // Rules walk trees recursively too, and dropping a deep tree recurses: large stack.
        std::thread::Builder::new()
            .name("dbsage-lint".into())
            .stack_size(LARGE_STACK)
            .spawn_scoped(scope, || {
                let mut checker = Checker::new(config);
                let mut waiting: HashMap<usize, ParsedFile> = HashMap::new();
                let mut next = 0;
                for (i, parsed) in receiver {
                    waiting.insert(i, parsed);
                    while let Some(parsed) = waiting.remove(&next) {
                        checker.check_file(&files[next], parsed);
                        next += 1;
                    }
                }
                checker.findings
            })
            .expect("spawn lint thread")
            .join()
            .expect("lint thread panicked")
    });
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

/// Replays files in migration order into the schema model and runs the rules on each.
struct Checker<'c> {
    config: &'c LintConfig,
    model: Model,
    findings: Vec<Finding>,
}

impl<'c> Checker<'c> {
    fn new(config: &'c LintConfig) -> Self {
        Checker {
            config,
            model: Model::default(),
            findings: Vec::new(),
        }
    }

    fn check_file(&mut self, file: &SourceFile, parsed: ParsedFile) {
        let config = self.config;
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
            self.findings.extend(file_findings);
            return;
        }
        let changes = self.model.replay_file(&parsed.units);
        let directives = suppress::Directives::read(&file.text, &parsed.units);
        let cx = FileContext {
            text: &file.text,
            units: &parsed.units,
            model: &self.model,
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
        for (rule, hit) in directives.apply(raw, config) {
            emit(rule, hit, &mut file_findings);
        }
        file_findings.sort_by(|a, b| (a.offset, &a.rule).cmp(&(b.offset, &b.rule)));
        self.findings.extend(file_findings);
    }
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

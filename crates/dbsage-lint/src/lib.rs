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
mod chunked;
mod config;
mod context;
mod facts;
mod feature_prefilter;
mod finding;
mod model;
mod node_walk;
mod parse;
mod pg_features;
mod plpgsql;
mod render;
mod rules;
mod suppress;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use config::{ConfigError, LintConfig, RuleLevel, API_EXPOSURE_RULES};
pub use finding::{Finding, RuleInfo, Severity};
pub use render::{render_github, render_human, render_json, render_sarif};

use context::{FileContext, Hit};
use dbsage_sql::SyntaxError;
use facts::FileFacts;
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
pub(crate) const LARGE_STACK: usize = 256 * 1024 * 1024;

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
    // files' trees are alive at a time, which keeps memory (and page faults) low. A file too
    // large to hold all its trees is sent unparsed (`None`) and checked in chunks.
    let next_file = AtomicUsize::new(0);
    let (sender, receiver) = std::sync::mpsc::channel::<(usize, Option<ParsedFile>)>();
    let findings = std::thread::scope(|scope| {
        for worker in 0..threads {
            let sender = sender.clone();
            let next_file = &next_file;
            std::thread::Builder::new()
                .name(format!("dbsage-parse-{worker}"))
                .stack_size(LARGE_STACK)
                .spawn_scoped(scope, move || loop {
                    let i = next_file.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let parsed = (file.text.len() <= config.chunked_above_bytes)
                        .then(|| parse::parse_file(&file.text));
                    if sender.send((i, parsed)).is_err() {
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
                let mut waiting: HashMap<usize, Option<ParsedFile>> = HashMap::new();
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

    fn check_file(&mut self, file: &SourceFile, parsed: Option<ParsedFile>) {
        let config = self.config;
        let mut file_findings = Vec::new();
        let lines = std::cell::OnceCell::new();
        let emit = |rule: &rules::Rule, hit: Hit, out: &mut Vec<Finding>| {
            if let Some(severity) = config.severity_of(rule.id, rule.severity) {
                let lines = lines.get_or_init(|| LineStarts::of(&file.text));
                out.push(to_finding(file, lines, rule.id, severity, hit));
            }
        };
        if let Some(hit) = rules::migration_filename::check_path(&file.path) {
            emit(&rules::migration_filename::RULE, hit, &mut file_findings);
        }
        let checked = match parsed {
            Some(parsed) => self.check_parsed(file, parsed),
            None => chunked::check(&mut self.model, file, config),
        };
        match checked {
            // Nothing else can be said about this file; the model skips it and later files
            // treat whatever it would have created as unknown (existing).
            Err(error) => emit(
                &rules::syntax_error::RULE,
                rules::syntax_error::hit(&file.text, &error),
                &mut file_findings,
            ),
            Ok(hits) => {
                for (rule, hit) in hits {
                    emit(rule, hit, &mut file_findings);
                }
            }
        }
        file_findings.sort_by(|a, b| (a.offset, &a.rule).cmp(&(b.offset, &b.rule)));
        self.findings.extend(file_findings);
    }

    /// Replays a file parsed whole and runs every rule on it, suppressions applied.
    fn check_parsed(
        &mut self,
        file: &SourceFile,
        parsed: ParsedFile,
    ) -> Result<Vec<(&'static rules::Rule, Hit)>, SyntaxError> {
        if let Some(error) = parsed.error {
            return Err(error);
        }
        let changes = self.model.replay_file(&parsed.units);
        let mut facts = FileFacts::default();
        for unit in &parsed.units {
            facts.observe(unit);
        }
        let spans: Vec<(usize, usize)> = parsed.units.iter().map(|u| (u.offset, u.len)).collect();
        let directives = suppress::Directives::read(&file.text, &spans);
        let cx = FileContext {
            text: &file.text,
            units: &parsed.units,
            model: &self.model,
            changes: &changes,
            facts: &facts,
            config: self.config,
            no_transaction: dbsage_sql::is_no_transaction(&file.text),
            acknowledged: &directives.acknowledged,
        };
        let mut raw = Vec::new();
        run_rules(&cx, rules::ALL.iter().copied(), &mut raw);
        Ok(directives.apply(raw, self.config))
    }
}

/// Runs the enabled `rules` on `cx`, appending their hits to `raw` rule by rule.
fn run_rules<'r>(
    cx: &FileContext,
    rules: impl Iterator<Item = &'r rules::Rule>,
    raw: &mut Vec<(&'r rules::Rule, Hit)>,
) {
    for rule in rules {
        if cx.config.severity_of(rule.id, rule.severity).is_none() {
            continue;
        }
        let mut hits = Vec::new();
        (rule.check)(cx, &mut hits);
        raw.extend(hits.into_iter().map(|hit| (rule, hit)));
    }
}

/// Byte offsets where the lines of a file start: line:column of each finding without scanning
/// the file from its start each time (quadratic on a large file with many findings).
struct LineStarts(Vec<usize>);

impl LineStarts {
    fn of(text: &str) -> LineStarts {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1));
        LineStarts(starts.collect())
    }

    /// The same answer as `dbsage_sql::line_col`.
    fn line_col(&self, text: &str, offset: usize) -> dbsage_sql::LineCol {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.0.partition_point(|&start| start <= offset);
        let line_start = self.0[line - 1];
        let column = text[line_start..offset].chars().count() + 1;
        dbsage_sql::LineCol { line, column }
    }
}

fn to_finding(
    file: &SourceFile,
    lines: &LineStarts,
    rule: &str,
    severity: Severity,
    hit: Hit,
) -> Finding {
    let position = lines.line_col(&file.text, hit.offset);
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

#[cfg(test)]
mod tests {
    use super::LineStarts;

    #[test]
    fn line_starts_agree_with_line_col() {
        let text = "ab\ncdé f\n\nlast";
        let lines = LineStarts::of(text);
        for offset in 0..=text.len() + 2 {
            assert_eq!(
                lines.line_col(text, offset),
                dbsage_sql::line_col(text, offset),
                "{offset}"
            );
        }
    }
}

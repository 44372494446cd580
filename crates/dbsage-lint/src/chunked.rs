//! Large files, checked without holding every parse tree: decoded trees take about 100× the
//! text, so a 50 MB migration parsed whole needs gigabytes.
//!
//! Pass 1 parses one statement at a time (`dbsage_sql::for_each_statement`), replays it into
//! the model and records what the rules need from the rest of the file ([`FileChanges`],
//! [`FileFacts`], statement spans for the directives), dropping each tree. Pass 2 re-parses
//! the file a chunk of statements at a time and runs the statement rules on each chunk with the
//! end-of-file model; the file-level rules ([`rules::FILE_LEVEL`]) run once. Findings are the
//! same as when the file is checked whole.

use dbsage_sql::SyntaxError;

use crate::context::{FileContext, Hit};
use crate::facts::FileFacts;
use crate::model::{FileChanges, Model};
use crate::rules::{self, Rule};
use crate::{parse, run_rules, suppress, LintConfig, SourceFile};

/// Replays `file` into `model` and runs the rules on it, suppressions applied. On a syntax
/// error the model is left as it was, as for a file checked whole. Needs a large stack.
pub(crate) fn check(
    model: &mut Model,
    file: &SourceFile,
    config: &LintConfig,
) -> Result<Vec<(&'static Rule, Hit)>, SyntaxError> {
    let text = &file.text;
    let before = model.clone();
    let mut changes = FileChanges::default();
    let mut facts = FileFacts::default();
    let mut spans = Vec::new();
    // Where each top-level statement's parsed text starts: chunks start there.
    let mut statement_starts: Vec<usize> = Vec::new();
    let scanned = dbsage_sql::for_each_statement(text, |statement| {
        if statement_starts.last() != Some(&statement.location_base) {
            statement_starts.push(statement.location_base);
        }
        let units = parse::statement_units(
            text,
            statement.range.start,
            statement.range.end,
            statement.node,
            statement.location_base,
            spans.len(),
        );
        for unit in &units {
            model.apply(unit, &mut changes);
            facts.observe(unit);
            spans.push((unit.offset, unit.len));
        }
    });
    if let Err(error) = scanned {
        *model = before;
        return Err(error);
    }
    drop(before);
    let directives = suppress::Directives::read(text, &spans);
    drop(spans);
    let whole_file = FileContext {
        text,
        units: &[],
        model,
        changes: &changes,
        facts: &facts,
        config,
        no_transaction: dbsage_sql::is_no_transaction(text),
        acknowledged: &directives.acknowledged,
    };
    let mut raw = Vec::new();
    run_rules(&whole_file, rules::FILE_LEVEL.iter().copied(), &mut raw);
    let statement_rules: Vec<&'static Rule> = rules::ALL
        .iter()
        .copied()
        .filter(|rule| !rules::FILE_LEVEL.iter().any(|f| f.id == rule.id))
        .collect();
    let per_chunk = config.chunk_statements.max(1);
    let mut next_index = 0;
    for (i, &start) in statement_starts.iter().enumerate().step_by(per_chunk) {
        let end = statement_starts
            .get(i + per_chunk)
            .copied()
            .unwrap_or(text.len());
        // Pass 1 parsed these statements already: an error here cannot happen.
        let units = parse::chunk_units(text, start, end, next_index)?;
        next_index += units.len();
        let cx = FileContext {
            units: &units,
            ..whole_file
        };
        run_rules(&cx, statement_rules.iter().copied(), &mut raw);
    }
    Ok(directives.apply(raw, config))
}

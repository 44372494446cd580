//! Large files, checked without holding every parse tree: decoded trees take about 100× the
//! text, so a 50 MB migration parsed whole needs gigabytes.
//!
//! The file is cut into chunks of whole statements where PostgreSQL's scanner ends them. Pass 1
//! parses the chunks (on several threads, a bounded window ahead), replays them in order into
//! the model and records what the rules need from the rest of the file ([`FileChanges`],
//! [`FileFacts`], statement spans for the directives), dropping each chunk's trees. Pass 2
//! re-parses the chunks (on several threads again) and runs the statement rules on each with
//! the end-of-file model; the file-level rules ([`rules::FILE_LEVEL`]) run once. Findings are
//! the same as when the file is checked whole. A file the cut does not fit (a statement that
//! only parses whole across a scanner cut, or a syntax error) is checked one statement at a
//! time instead ([`check_sequentially`]), which also finds the error's exact position.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

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
    let per_chunk = config.chunk_statements.max(1);
    let Some(chunks) = chunk_ranges(text, per_chunk) else {
        return check_sequentially(model, file, config);
    };
    let threads = worker_threads(config, chunks.len());
    let before = model.clone();
    let mut changes = FileChanges::default();
    let mut facts = FileFacts::default();
    let mut spans = Vec::new();
    // The index of each chunk's first unit, for pass 2.
    let mut first_units = Vec::with_capacity(chunks.len());
    let failed = AtomicBool::new(false);
    let mut parsed_all = true;
    in_order(
        chunks.len(),
        threads,
        |i| {
            if failed.load(Ordering::Relaxed) {
                return None;
            }
            let (start, end) = chunks[i];
            let units = parse::chunk_units(text, start, end, 0).ok();
            if units.is_none() {
                failed.store(true, Ordering::Relaxed);
            }
            units
        },
        |_, units| {
            let Some(mut units) = units.filter(|_| parsed_all) else {
                parsed_all = false;
                return;
            };
            first_units.push(spans.len());
            for unit in &mut units {
                unit.index += first_units[first_units.len() - 1];
                model.apply(unit, &mut changes);
                facts.observe(unit);
                spans.push((unit.offset, unit.len));
            }
        },
    );
    if !parsed_all {
        *model = before;
        return check_sequentially(model, file, config);
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
    let statement_rules = statement_rules();
    let whole_file = &whole_file;
    in_order(
        chunks.len(),
        threads,
        |i| {
            let (start, end) = chunks[i];
            // Pass 1 parsed this chunk already: an error here cannot happen.
            let units = parse::chunk_units(text, start, end, first_units[i]).unwrap_or_default();
            let cx = FileContext {
                units: &units,
                ..*whole_file
            };
            let mut hits = Vec::new();
            run_rules(&cx, statement_rules.iter().copied(), &mut hits);
            hits
        },
        |_, hits| raw.extend(hits),
    );
    Ok(directives.apply(raw, config))
}

/// Every rule but the file-level ones.
fn statement_rules() -> Vec<&'static Rule> {
    rules::ALL
        .iter()
        .copied()
        .filter(|rule| !rules::FILE_LEVEL.iter().any(|f| f.id == rule.id))
        .collect()
}

/// `(start, end)` of runs of `per_chunk` statements as PostgreSQL's scanner ends them (at a
/// semicolon outside quotes and comments), covering the whole text. `None` when the scanner
/// fails or the text has a NUL byte.
fn chunk_ranges(text: &str, per_chunk: usize) -> Option<Vec<(usize, usize)>> {
    if text.contains('\0') {
        return None;
    }
    let pieces = dbsage_sql::pg_query::split_with_scanner(text).ok()?;
    let mut ranges = Vec::with_capacity(pieces.len() / per_chunk + 1);
    let mut start = 0;
    for chunk in pieces.chunks(per_chunk) {
        let last = chunk[chunk.len() - 1];
        let end = last.as_ptr() as usize - text.as_ptr() as usize + last.len();
        ranges.push((start, end));
        start = end;
    }
    match ranges.last_mut() {
        Some(last) => last.1 = text.len(),
        None => ranges.push((0, text.len())),
    }
    Some(ranges)
}

/// Threads for the chunks of one file: as many as the configuration allows (one per core, at
/// most 4, when it says 0), never more than there are chunks.
fn worker_threads(config: &LintConfig, chunks: usize) -> usize {
    match config.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
        n => n,
    }
    .clamp(1, chunks.max(1))
}

/// Runs `work` on chunks `0..count` on `threads` large-stack threads and hands each result to
/// `consume` in chunk order. A thread waits rather than run more than `2 × threads` chunks
/// ahead of `consume`, so only a few chunks' trees are alive at a time.
fn in_order<T: Send>(
    count: usize,
    threads: usize,
    work: impl Fn(usize) -> T + Sync,
    mut consume: impl FnMut(usize, T),
) {
    if threads <= 1 {
        (0..count).for_each(|i| consume(i, work(i)));
        return;
    }
    let window = 2 * threads;
    let next = AtomicUsize::new(0);
    let consumed = (Mutex::new(0usize), Condvar::new());
    let (sender, receiver) = std::sync::mpsc::channel::<(usize, T)>();
    std::thread::scope(|scope| {
        for worker in 0..threads {
            let (sender, next, consumed, work) = (sender.clone(), &next, &consumed, &work);
            std::thread::Builder::new()
                .name(format!("dbsage-chunk-{worker}"))
                .stack_size(crate::LARGE_STACK)
                .spawn_scoped(scope, move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let mut done = consumed.0.lock().unwrap_or_else(|e| e.into_inner());
                    while i >= *done + window {
                        done = consumed.1.wait(done).unwrap_or_else(|e| e.into_inner());
                    }
                    drop(done);
                    if sender.send((i, work(i))).is_err() {
                        break;
                    }
                })
                .expect("spawn chunk thread");
        }
        drop(sender);
        let mut waiting = HashMap::new();
        let mut expected = 0;
        for (i, result) in receiver {
            waiting.insert(i, result);
            while let Some(result) = waiting.remove(&expected) {
                consume(expected, result);
                expected += 1;
                *consumed.0.lock().unwrap_or_else(|e| e.into_inner()) = expected;
                consumed.1.notify_all();
            }
        }
    });
}

/// The one-statement-at-a-time check, for the files [`chunk_ranges`] does not fit.
fn check_sequentially(
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
    let statement_rules = statement_rules();
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

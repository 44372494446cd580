//! Turning a migration file into the statements the rules look at.
//!
//! Two things happen here that the rest of the linter relies on:
//! - A fast path around `pg_query::parse`: that function walks every tree it returns to build
//!   table and function lists the linter never reads, which doubles the parse time of a large
//!   migration set. We call libpg_query's protobuf parser ourselves (as `dbsage-sql` already does
//!   for error positions) and decode the tree once, without copies. Errors are re-derived with
//!   `dbsage_sql::parse` so that every dbsage command reports a syntax error at the same place.
//! - DO blocks are opened with the PL/pgSQL parser (see [`crate::plpgsql`]) so that the
//!   statements they run are linted too, and those behind a catalog check count as guarded.

use dbsage_sql::pg_query::protobuf;
use dbsage_sql::{NodeEnum, SyntaxError};

/// One statement the rules see: a top-level statement, or one run by a DO block.
#[derive(Debug)]
pub(crate) struct Unit {
    pub node: NodeEnum,
    /// Byte offset of the statement's first token.
    pub offset: usize,
    /// Byte length from `offset` to the end of the statement (without the semicolon).
    pub len: usize,
    /// Runs only when a catalog check says it is needed (`IF NOT EXISTS (SELECT … FROM pg_…)`)
    /// or its failure is caught (`EXCEPTION WHEN duplicate_object`): re-running it is safe.
    pub guarded: bool,
    /// Runs inside a DO block.
    pub in_do: bool,
    /// Position among the file's units (0-based): "earlier in the file" for the rules.
    pub index: usize,
    /// Byte offset that `location` fields inside `node` count from (the text that was parsed
    /// started there; a DO block's statements are parsed on their own, from `offset`).
    pub location_base: usize,
    /// For a DO block: what in its body PostgreSQL would reject.
    pub body_errors: Vec<crate::plpgsql::BodyError>,
}

#[derive(Debug, Default)]
pub(crate) struct ParsedFile {
    pub units: Vec<Unit>,
    pub error: Option<SyntaxError>,
}

/// Parses a whole file. Must run on a thread with a large stack (see [`crate::LARGE_STACK`]).
pub(crate) fn parse_file(sql: &str) -> ParsedFile {
    let statements = match parse_statements(sql) {
        Ok(statements) => statements,
        Err(error) => {
            return ParsedFile {
                error: Some(error),
                ..ParsedFile::default()
            }
        }
    };
    let mut parsed = ParsedFile::default();
    for (start, end, node) in statements {
        let first_index = parsed.units.len();
        parsed
            .units
            .extend(statement_units(sql, start, end, node, 0, first_index));
    }
    parsed
}

/// The units of one top-level statement spanning `start..end` of `sql`: the statement, then
/// those its DO block runs. `location_base` is where the parsed text started; indexes count
/// from `first_index`.
pub(crate) fn statement_units(
    sql: &str,
    start: usize,
    end: usize,
    node: NodeEnum,
    location_base: usize,
    first_index: usize,
) -> Vec<Unit> {
    let code_start = dbsage_sql::skip_trivia(sql, start).min(end);
    let block = match &node {
        NodeEnum::DoStmt(do_stmt) => crate::plpgsql::expand_do_block(sql, code_start, end, do_stmt),
        _ => crate::plpgsql::DoBlock::default(),
    };
    let inner = block.statements;
    let mut units = Vec::with_capacity(1 + inner.len());
    units.push(Unit {
        node,
        offset: code_start,
        len: end - code_start,
        guarded: false,
        in_do: false,
        index: first_index,
        location_base,
        body_errors: block.errors,
    });
    for statement in inner {
        units.push(Unit {
            node: statement.node,
            offset: statement.offset,
            len: statement.len,
            guarded: statement.guarded,
            in_do: true,
            index: first_index + units.len(),
            location_base: statement.offset,
            body_errors: Vec::new(),
        });
    }
    units
}

/// The units of `sql[start..end]`, a run of whole top-level statements of `sql` (a chunk of a
/// large file): parsed together, with ranges and locations in `sql`'s offsets. Must run on a
/// thread with a large stack.
pub(crate) fn chunk_units(
    sql: &str,
    start: usize,
    end: usize,
    first_index: usize,
) -> Result<Vec<Unit>, SyntaxError> {
    let mut units = Vec::new();
    for (s, e, node) in parse_statements(&sql[start..end])? {
        let index = first_index + units.len();
        units.extend(statement_units(
            sql,
            start + s,
            start + e,
            node,
            start,
            index,
        ));
    }
    Ok(units)
}

/// `(start, end, node)` of each top-level statement.
pub(crate) fn parse_statements(sql: &str) -> Result<Vec<(usize, usize, NodeEnum)>, SyntaxError> {
    match raw_parse(sql) {
        Some(Ok(result)) => Ok(owned_statements(sql, 0, result)),
        Some(Err(decode_error)) => parse_one_by_one(sql, decode_error),
        // The parser failed (or the text has a NUL byte): let dbsage-sql find the position.
        None => match dbsage_sql::parse(sql) {
            Err(error) => Err(error),
            Ok(parsed) => Ok(parsed
                .statements
                .into_iter()
                .map(|s| (s.range.start, s.range.end, s.node))
                .collect()),
        },
    }
}

fn owned_statements(
    sql: &str,
    base: usize,
    result: protobuf::ParseResult,
) -> Vec<(usize, usize, NodeEnum)> {
    let text_len = sql.len();
    result
        .stmts
        .into_iter()
        .filter_map(|raw| {
            let start = base + raw.stmt_location.max(0) as usize;
            let end = if raw.stmt_len == 0 {
                text_len
            } else {
                start + raw.stmt_len as usize
            };
            let node = raw.stmt?.node?;
            Some((start.min(text_len), end.min(text_len), node))
        })
        .collect()
}

/// A tree too deep for the protobuf decoder's recursion limit: parse statement by statement so
/// that only the offending statement is left out, and say so if every statement failed.
fn parse_one_by_one(
    sql: &str,
    decode_error: String,
) -> Result<Vec<(usize, usize, NodeEnum)>, SyntaxError> {
    let pieces = dbsage_sql::pg_query::split_with_parser(sql).map_err(|e| SyntaxError {
        message: e.to_string(),
        offset: None,
    })?;
    let mut out = Vec::new();
    for piece in pieces {
        let base = piece.as_ptr() as usize - sql.as_ptr() as usize;
        if let Some(Ok(result)) = raw_parse(piece) {
            out.extend(owned_statements(&sql[..base + piece.len()], base, result));
        }
    }
    if out.is_empty() && !sql.trim().is_empty() {
        return Err(SyntaxError {
            message: format!("statement too deeply nested to analyse ({decode_error})"),
            offset: None,
        });
    }
    Ok(out)
}

/// libpg_query's protobuf parser. `None` when it reports an error; `Some(Err)` when the tree
/// could not be decoded (nesting deeper than the decoder's recursion limit).
fn raw_parse(sql: &str) -> Option<Result<protobuf::ParseResult, String>> {
    use prost::Message;
    use std::ffi::{c_char, c_int, c_void, CString};

    #[repr(C)]
    struct PgQueryProtobuf {
        len: usize,
        data: *mut c_char,
    }
    #[repr(C)]
    struct PgQueryProtobufParseResult {
        parse_tree: PgQueryProtobuf,
        stderr_buffer: *mut c_char,
        error: *mut c_void,
    }
    extern "C" {
        // Provided by libpg_query, which the pg_query crate links statically.
        fn pg_query_parse_protobuf_opts(
            input: *const c_char,
            options: c_int,
        ) -> PgQueryProtobufParseResult;
        fn pg_query_free_protobuf_parse_result(result: PgQueryProtobufParseResult);
    }

    let input = CString::new(sql).ok()?;
    // SAFETY: a plain C call on a NUL-terminated string; the buffer is only read before the
    // result is freed, exactly once.
    unsafe {
        let result = pg_query_parse_protobuf_opts(input.as_ptr(), 0);
        let outcome = if result.error.is_null() {
            let bytes = std::slice::from_raw_parts(
                result.parse_tree.data as *const u8,
                result.parse_tree.len,
            );
            Some(protobuf::ParseResult::decode(bytes).map_err(|e| e.to_string()))
        } else {
            None
        };
        pg_query_free_protobuf_parse_result(result);
        outcome
    }
}

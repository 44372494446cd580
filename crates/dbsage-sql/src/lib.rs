//! SQL text handling shared by every workflow: splitting a file into statements with the real
//! PostgreSQL parser (`pg_query`), mapping byte offsets to line:column, and reading dbsage's
//! comment directives.
//!
//! Why a crate of its own: the migration engine, the linter and rollback guidance all need the
//! same answer to "where does statement N start in this file", and a syntax error must point at
//! the same line and column whichever of them found it.

use std::ops::Range;

pub use pg_query;
pub use pg_query::NodeEnum;

mod names;
mod position;
pub use names::{quote_ident, string_values};
pub use position::{char_pos_to_byte, line_col, LineCol};

/// One top-level statement of a SQL text.
#[derive(Debug, Clone)]
pub struct Statement {
    /// Byte range in the source, as PostgreSQL reports it: it may start with the comments and
    /// white space that precede the statement, and excludes the terminating semicolon.
    pub range: Range<usize>,
    /// Byte offset of the statement's first token (after leading comments and white space).
    pub code_start: usize,
    /// The parsed statement.
    pub node: NodeEnum,
    /// Byte offset the `location` fields inside `node` count from: 0 for [`parse`], the start
    /// of the piece that was parsed for [`for_each_statement`].
    pub location_base: usize,
}

impl Statement {
    /// The statement's text exactly as sent to the server.
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        &source[self.range.clone()]
    }
}

/// A SQL text split into statements.
#[derive(Debug, Clone)]
pub struct ParsedSql {
    pub statements: Vec<Statement>,
}

/// A syntax error found before anything is sent to a server (SQLSTATE 42601).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    pub message: String,
    /// Byte offset in the source where the parser stopped, when it knows.
    pub offset: Option<usize>,
}

/// Parses `sql` into statements. Dollar quotes, `E''` strings, nested comments and DO blocks
/// are handled by the PostgreSQL grammar itself.
pub fn parse(sql: &str) -> Result<ParsedSql, SyntaxError> {
    if sql.contains('\0') {
        let offset = sql.find('\0');
        return Err(SyntaxError {
            message: "the file contains a NUL byte".into(),
            offset,
        });
    }
    let result = match pg_query::parse(sql, pg_query::ParserOptions::DEFAULT) {
        Ok(r) => r,
        Err(pg_query::Error::Parse(message)) => {
            return Err(SyntaxError {
                message,
                offset: syntax_error_cursor(sql).map(|pos| char_pos_to_byte(sql, pos)),
            })
        }
        Err(other) => {
            return Err(SyntaxError {
                message: other.to_string(),
                offset: None,
            })
        }
    };
    let mut statements = Vec::with_capacity(result.protobuf.stmts.len());
    for raw in &result.protobuf.stmts {
        let start = raw.stmt_location.max(0) as usize;
        let end = if raw.stmt_len == 0 {
            sql.len()
        } else {
            start + raw.stmt_len as usize
        };
        let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.clone()) else {
            continue;
        };
        statements.push(Statement {
            range: start..end,
            code_start: skip_trivia(sql, start),
            node,
            location_base: 0,
        });
    }
    Ok(ParsedSql { statements })
}

/// Hands each statement of `sql` to `visit`, parsing one statement at a time and dropping its
/// tree afterwards: memory stays bounded for very large files, where [`parse`] keeps every
/// tree (about 100× the text). Boundaries come from the scanner; a piece that does not parse
/// alone (a `BEGIN ATOMIC` body split at its semicolons) is joined with the next ones. Ranges
/// and `code_start` are those of [`parse`]; `location` fields inside the trees count from each
/// statement's `location_base` (the start of its piece). A syntax error is reported exactly as [`parse`] reports it.
pub fn for_each_statement(sql: &str, mut visit: impl FnMut(Statement)) -> Result<(), SyntaxError> {
    /// How many scanner pieces one statement may span before the file is declared invalid.
    const MAX_JOINED: usize = 256;
    let whole_file_error = || match parse(sql) {
        Err(e) => Err(e),
        // Pieces that fail alone but not together: impossible in practice; say where.
        Ok(_) => Err(SyntaxError {
            message: "could not split the file into statements".into(),
            offset: None,
        }),
    };
    if sql.contains('\0') {
        return whole_file_error();
    }
    let Ok(pieces) = pg_query::split_with_scanner(sql) else {
        return whole_file_error();
    };
    // Each piece runs from the end of the previous one (so nothing the scanner skipped is lost)
    // to its own end; the last one to the end of the text.
    let mut cuts: Vec<usize> = pieces
        .iter()
        .map(|p| p.as_ptr() as usize - sql.as_ptr() as usize + p.len())
        .collect();
    drop(pieces);
    cuts.pop();
    cuts.push(sql.len());
    let mut start = 0;
    let mut i = 0;
    while i < cuts.len() {
        let mut joined = 0;
        let result = loop {
            let end = cuts[i + joined];
            match pg_query::parse(&sql[start..end], pg_query::ParserOptions::DEFAULT) {
                Ok(result) => break Some((end, result)),
                Err(_) if joined < MAX_JOINED && i + joined + 1 < cuts.len() => joined += 1,
                Err(_) => break None,
            }
        };
        let Some((end, result)) = result else {
            return whole_file_error();
        };
        for raw in result.protobuf.stmts {
            let stmt_start = start + raw.stmt_location.max(0) as usize;
            let stmt_end = if raw.stmt_len == 0 {
                end
            } else {
                stmt_start + raw.stmt_len as usize
            };
            let Some(node) = raw.stmt.and_then(|n| n.node) else {
                continue;
            };
            visit(Statement {
                range: stmt_start..stmt_end,
                code_start: skip_trivia(sql, stmt_start),
                node,
                location_base: start,
            });
        }
        start = end;
        i += joined + 1;
    }
    Ok(())
}

/// The 1-based character position of a parse error, which the `pg_query` crate does not expose.
fn syntax_error_cursor(sql: &str) -> Option<usize> {
    use std::ffi::{c_char, c_int, CString};
    #[repr(C)]
    struct PgQueryError {
        message: *mut c_char,
        funcname: *mut c_char,
        filename: *mut c_char,
        lineno: c_int,
        cursorpos: c_int,
        context: *mut c_char,
    }
    #[repr(C)]
    struct PgQuerySplitResult {
        stmts: *mut std::ffi::c_void,
        n_stmts: c_int,
        stderr_buffer: *mut c_char,
        error: *mut PgQueryError,
    }
    extern "C" {
        // Provided by libpg_query, which the pg_query crate links statically.
        fn pg_query_split_with_parser(input: *const c_char) -> PgQuerySplitResult;
        fn pg_query_free_split_result(result: PgQuerySplitResult);
    }
    let input = CString::new(sql).ok()?;
    // SAFETY: plain C call on a NUL-terminated string; the result is freed exactly once.
    unsafe {
        let result = pg_query_split_with_parser(input.as_ptr());
        let pos = if result.error.is_null() {
            None
        } else {
            let p = (*result.error).cursorpos;
            (p > 0).then_some(p as usize)
        };
        pg_query_free_split_result(result);
        pos
    }
}

/// Skips white space, `--` comments and (nested) `/* */` comments from `pos`.
pub fn skip_trivia(sql: &str, mut pos: usize) -> usize {
    let b = sql.as_bytes();
    loop {
        while pos < b.len() && b[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if b[pos..].starts_with(b"--") {
            while pos < b.len() && b[pos] != b'\n' {
                pos += 1;
            }
        } else if b[pos..].starts_with(b"/*") {
            let mut depth = 0usize;
            while pos < b.len() {
                if b[pos..].starts_with(b"/*") {
                    depth += 1;
                    pos += 2;
                } else if b[pos..].starts_with(b"*/") {
                    depth -= 1;
                    pos += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    pos += 1;
                }
            }
        } else {
            return pos.min(sql.len());
        }
    }
}

/// A `-- dbsage:NAME argument` comment line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub argument: String,
    /// Byte offset of the `--`.
    pub offset: usize,
}

/// All `-- dbsage:` directives in a text, in order.
pub fn directives(sql: &str) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in sql.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("--") {
            if let Some(body) = rest.trim_start().strip_prefix("dbsage:") {
                let body = body.trim_end();
                let (name, argument) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
                out.push(Directive {
                    name: name.to_string(),
                    argument: argument.trim().to_string(),
                    offset: offset + (line.len() - trimmed.len()),
                });
            }
        }
        offset += line.len();
    }
    out
}

/// True when the comment header (the comment lines before the first statement) carries
/// `-- dbsage:no-transaction`.
pub fn is_no_transaction(sql: &str) -> bool {
    let header_end = skip_trivia(sql, 0);
    directives(&sql[..header_end])
        .iter()
        .any(|d| d.name == "no-transaction")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_statement_at_a_time_matches_the_whole_file_parse() {
        let sql = "-- header\ncreate table t(a text default E'it\\'s; ok');\n\
                   /* outer /* nested; */ still comment; */\n\
                   do $$ begin perform 1; end $$;;\n\
                   create function g() returns int language sql begin atomic select 1; select 2; end;\n\
                   create function f() returns int language sql as $body$ select 1; $body$;\n\
                   select ';' -- trailing";
        let whole = parse(sql).unwrap().statements;
        let mut streamed = Vec::new();
        for_each_statement(sql, |s| streamed.push(s)).unwrap();
        // Locations inside the trees are relative to each piece: compare the node kinds.
        let kind = |s: &Statement| {
            format!("{:?}", s.node)
                .split('(')
                .next()
                .unwrap()
                .to_string()
        };
        let key = |s: &Statement| (s.range.clone(), s.code_start, kind(s));
        assert_eq!(
            streamed.iter().map(key).collect::<Vec<_>>(),
            whole.iter().map(key).collect::<Vec<_>>()
        );
        assert_eq!(streamed.len(), 5);
        let error = for_each_statement("select 1;\nselect from from;", |_| {}).unwrap_err();
        assert_eq!(
            error.offset,
            parse("select 1;\nselect from from;").unwrap_err().offset
        );
    }

    #[test]
    fn splits_tricky_statements() {
        let sql = "create table t(a text default E'it\\'s; ok');\n\
                   /* outer /* nested; */ still comment; */\n\
                   do $$ begin perform 1; end $$;\n\
                   create function f() returns int language sql as $body$ select 1; $body$;\n\
                   select ';'";
        let parsed = parse(sql).unwrap();
        assert_eq!(parsed.statements.len(), 4);
        let texts: Vec<&str> = parsed
            .statements
            .iter()
            .map(|s| s.text(sql).trim())
            .collect();
        assert!(texts[0].starts_with("create table"));
        assert!(texts[1].ends_with("end $$"), "{:?}", texts[1]);
        assert!(texts[3].starts_with("select"));
        let do_start = parsed.statements[1].code_start;
        assert_eq!(&sql[do_start..do_start + 2], "do");
    }

    #[test]
    fn syntax_error_has_exact_position() {
        let sql = "select 1;\ncreate table t (a int,, b int);\n";
        let err = parse(sql).unwrap_err();
        let offset = err.offset.unwrap();
        assert_eq!(
            line_col(sql, offset),
            LineCol {
                line: 2,
                column: 23
            }
        );
        assert!(err.message.contains("syntax error"), "{}", err.message);
    }

    #[test]
    fn syntax_error_position_counts_characters_not_bytes() {
        let sql = "select 'héllo' frm t;";
        let err = parse(sql).unwrap_err();
        let offset = err.offset.unwrap();
        assert_eq!(&sql[offset..offset + 1], "t");
    }

    #[test]
    fn empty_and_comment_only_texts_have_no_statements() {
        assert!(parse("").unwrap().statements.is_empty());
        assert!(parse("-- nothing\n/* here */\n")
            .unwrap()
            .statements
            .is_empty());
    }

    #[test]
    fn reads_directives_in_the_header_only() {
        assert!(is_no_transaction(
            "-- a comment\n-- dbsage:no-transaction\ncreate index concurrently i on t(a);"
        ));
        assert!(!is_no_transaction(
            "select 1;\n-- dbsage:no-transaction\nselect 2;"
        ));
        let d = directives("select 1; -- not a line start\n  -- dbsage:ignore rule-a why\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].name, "ignore");
        assert_eq!(d[0].argument, "rule-a why");
    }

    #[test]
    fn nul_byte_is_a_clear_error() {
        let err = parse("select 1;\0").unwrap_err();
        assert_eq!(err.offset, Some(9));
    }
}

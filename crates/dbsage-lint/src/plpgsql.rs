//! Opening DO blocks with PostgreSQL's PL/pgSQL parser.
//!
//! Teams make migrations re-runnable by wrapping statements in
//! `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_… ) THEN … END IF; END $$` or in a block with
//! `EXCEPTION WHEN duplicate_object THEN NULL`. A linter that sees only "a DO statement" can
//! neither credit that guard nor check what the block does, so the block body is parsed and each
//! SQL statement inside becomes a statement of its own, marked guarded when it is behind such a
//! check.

use dbsage_sql::pg_query::protobuf::DoStmt;
use dbsage_sql::NodeEnum;
use serde_json::Value;

/// A statement found inside a DO block.
pub(crate) struct InnerStatement {
    pub node: NodeEnum,
    pub offset: usize,
    pub len: usize,
    pub guarded: bool,
}

/// PL/pgSQL that PostgreSQL would reject: the body itself, or static SQL it runs.
#[derive(Debug, Clone)]
pub(crate) struct BodyError {
    pub offset: usize,
    pub len: usize,
    pub message: String,
}

/// What a DO block runs, and what in it PostgreSQL would reject.
#[derive(Default)]
pub(crate) struct DoBlock {
    pub statements: Vec<InnerStatement>,
    pub errors: Vec<BodyError>,
}

const WRAPPER_TAG: &str = "$__dbsage_do$";

/// The statements a PL/pgSQL DO block runs and its syntax errors (nothing for other
/// languages). Statements in a body that does not parse are not linted: the error says why.
pub(crate) fn expand_do_block(sql: &str, code_start: usize, end: usize, block: &DoStmt) -> DoBlock {
    let mut body = None;
    let mut language = "plpgsql".to_string();
    for arg in &block.args {
        if let Some(NodeEnum::DefElem(def)) = &arg.node {
            let value = match def.arg.as_deref().and_then(|a| a.node.as_ref()) {
                Some(NodeEnum::String(s)) => s.sval.as_str(),
                _ => continue,
            };
            match def.defname.as_str() {
                "as" => body = Some(value),
                "language" => language = value.to_ascii_lowercase(),
                _ => {}
            }
        }
    }
    let Some(body) = body else {
        return DoBlock::default();
    };
    if language != "plpgsql" || body.contains(WRAPPER_TAG) {
        return DoBlock::default();
    }
    let statement_text = &sql[code_start..end];
    // Where the body sits in the file, so inner findings point at the inner statement. A body
    // written with '' escapes is not found verbatim; findings then point at the DO keyword.
    let body_offset = statement_text.find(body).map(|i| code_start + i);
    let wrapper = format!(
        "create function __dbsage_do() returns void language plpgsql as {WRAPPER_TAG}{body}{WRAPPER_TAG}"
    );
    let fallback = (code_start, end - code_start);
    let tree = match dbsage_sql::pg_query::parse_plpgsql(&wrapper) {
        Ok(tree) => tree,
        Err(dbsage_sql::pg_query::Error::Parse(message)) => {
            let (offset, len) = body_offset.map_or(fallback, |o| (o, body.len()));
            return DoBlock {
                statements: Vec::new(),
                errors: vec![BodyError {
                    offset,
                    len,
                    message,
                }],
            };
        }
        // The body parsed but libpg_query's JSON of it did not decode: nothing to report.
        Err(_) => return DoBlock::default(),
    };
    let mut walker = Walker {
        body,
        body_offset,
        cursor: 0,
        fallback,
        out: DoBlock::default(),
    };
    if let Some(functions) = tree.as_array() {
        for function in functions {
            if let Some(action) = function.pointer("/PLpgSQL_function/action") {
                walker.statement(action, false);
            }
        }
    }
    walker.out
}

struct Walker<'a> {
    body: &'a str,
    body_offset: Option<usize>,
    /// Search position in `body`: statements appear in source order.
    cursor: usize,
    fallback: (usize, usize),
    out: DoBlock,
}

impl Walker<'_> {
    fn statements(&mut self, list: Option<&Value>, guarded: bool) {
        if let Some(list) = list.and_then(Value::as_array) {
            for statement in list {
                self.statement(statement, guarded);
            }
        }
    }

    fn statement(&mut self, statement: &Value, guarded: bool) {
        let Some((kind, fields)) = statement.as_object().and_then(|o| o.iter().next()) else {
            return;
        };
        match kind.as_str() {
            "PLpgSQL_stmt_block" => {
                let catches = fields.get("exceptions").is_some_and(catches_already_exists);
                self.statements(fields.get("body"), guarded || catches);
            }
            "PLpgSQL_stmt_if" => {
                let checks = expression(fields.get("cond")).is_some_and(is_catalog_check);
                let inner = guarded || checks;
                self.statements(fields.get("then_body"), inner);
                if let Some(elsifs) = fields.get("elsif_list").and_then(Value::as_array) {
                    for elsif in elsifs {
                        let elsif = elsif.get("PLpgSQL_if_elsif").unwrap_or(elsif);
                        let checks = expression(elsif.get("cond")).is_some_and(is_catalog_check);
                        self.statements(elsif.get("stmts"), guarded || checks);
                    }
                }
                self.statements(fields.get("else_body"), inner);
            }
            "PLpgSQL_stmt_loop"
            | "PLpgSQL_stmt_while"
            | "PLpgSQL_stmt_fori"
            | "PLpgSQL_stmt_fors"
            | "PLpgSQL_stmt_foreach_a"
            | "PLpgSQL_stmt_forc"
            | "PLpgSQL_stmt_dynfors" => {
                self.statements(fields.get("body"), guarded);
            }
            "PLpgSQL_stmt_execsql" => {
                if let Some(query) = expression(fields.get("sqlstmt")) {
                    self.sql(query, query, guarded);
                }
            }
            "PLpgSQL_stmt_dynexecute" => {
                if let Some(query) = expression(fields.get("query")) {
                    if let Some(literal) = string_literal(query) {
                        self.sql(&literal, query, guarded);
                    }
                }
            }
            _ => {}
        }
    }

    /// Parses SQL run by the block; `located_as` is the text to look for in the body.
    fn sql(&mut self, sql: &str, located_as: &str, guarded: bool) {
        let (offset, len) = match (self.body_offset, self.body[self.cursor..].find(located_as)) {
            (Some(body_offset), Some(i)) => {
                let start = self.cursor + i;
                self.cursor = start + located_as.len();
                (body_offset + start, located_as.len())
            }
            _ => self.fallback,
        };
        let statements = match crate::parse::parse_statements(sql) {
            Ok(statements) => statements,
            Err(error) => {
                self.out.errors.push(BodyError {
                    offset,
                    len,
                    message: error.message,
                });
                return;
            }
        };
        for (_, _, node) in statements {
            self.out.statements.push(InnerStatement {
                node,
                offset,
                len,
                guarded,
            });
        }
    }
}

/// The syntax error of a `CREATE FUNCTION … LANGUAGE plpgsql` statement's body, if any (a
/// body that parses but whose JSON libpg_query garbles is not an error).
pub(crate) fn function_body_error(statement: &str) -> Option<String> {
    match dbsage_sql::pg_query::parse_plpgsql(statement) {
        Err(dbsage_sql::pg_query::Error::Parse(message)) => Some(message),
        _ => None,
    }
}

fn expression(value: Option<&Value>) -> Option<&str> {
    value?.pointer("/PLpgSQL_expr/query")?.as_str()
}

/// `NOT EXISTS (SELECT … FROM pg_… / information_schema…)`, `to_regclass(…) IS NULL` and the
/// like: the condition asks the catalog whether the object is there.
pub(crate) fn is_catalog_check(condition: &str) -> bool {
    let c = condition.to_ascii_lowercase();
    let asks = c.contains("exists")
        || c.contains("to_reg")
        || c.contains("is null")
        || c.contains("count(");
    let catalog = c.contains("pg_") || c.contains("information_schema") || c.contains("to_reg");
    asks && catalog
}

/// An exception handler that swallows "already exists" / "does not exist" errors.
fn catches_already_exists(exceptions: &Value) -> bool {
    const CONDITIONS: [&str; 6] = [
        "duplicate_",
        "others",
        "undefined_",
        "unique_violation",
        "invalid_table_definition",
        "42",
    ];
    let mut found = false;
    visit_condnames(exceptions, &mut |name| {
        if CONDITIONS.iter().any(|c| name.starts_with(c)) {
            found = true;
        }
    });
    found
}

fn visit_condnames(value: &Value, f: &mut dyn FnMut(&str)) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("condname", Value::String(s)) | ("sqlstate", Value::String(s)) => f(s),
                    _ => visit_condnames(v, f),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| visit_condnames(v, f)),
        _ => {}
    }
}

/// `'create index …'` → `create index …` (EXECUTE of a constant string).
fn string_literal(expression: &str) -> Option<String> {
    let inner = expression.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    // A lone quote left means the expression was a concatenation, not one literal.
    (!inner.replace("''", "").contains('\'')).then(|| inner.replace("''", "'"))
}

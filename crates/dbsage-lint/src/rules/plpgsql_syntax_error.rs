//! `plpgsql-syntax-error`: a DO block or PL/pgSQL function that PostgreSQL would reject.

use dbsage_sql::NodeEnum;

use super::Rule;
use crate::ast;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "plpgsql-syntax-error",
    severity: Severity::Error,
    summary: "A DO block or PL/pgSQL function body does not parse, or runs SQL that does not.",
    doc: r#"
## What it checks
The body of every `DO` block and `CREATE FUNCTION/PROCEDURE … LANGUAGE plpgsql`, parsed with
PostgreSQL's PL/pgSQL parser (libpg_query), and the static SQL statements a DO block runs,
parsed with the SQL grammar. The SQL parser sees a body as one string, so without this check
a typo inside it only shows up when the migration runs (a DO block) or when the function is
first called (a function: PostgreSQL checks little more than the block structure at CREATE).

## Why it matters
A DO block that fails aborts the migration on the server; a function that fails breaks the
application at run time, long after the migration passed review.

## Example
```sql
do $$ begin
  if not exists (select 1 from pg_type where typname = 'mood') then
    create type mood as enum ('happy', 'sad'
  end if;
end $$;
```
Use instead:
```sql
do $$ begin
  if not exists (select 1 from pg_type where typname = 'mood') then
    create type mood as enum ('happy', 'sad');
  end if;
end $$;
```

## Fix
Correct the body at the reported statement. For deeper checks (unknown columns, wrong types),
`dbsage migrate --local` runs the `plpgsql_check` extension when it is installed. Default
severity: error (it will fail).
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        for error in &unit.body_errors {
            hits.push(Hit::span(
                error.offset,
                error.len,
                format!("DO block: {}", error.message),
                "Correct the DO block's body: PostgreSQL rejects it when the migration runs.",
            ));
        }
        let NodeEnum::CreateFunctionStmt(function) = &unit.node else { continue };
        let language = ast::option(&function.options, "language")
            .and_then(|d| d.arg.as_deref())
            .map(|arg| ast::list_names(arg).join(""))
            .unwrap_or_default();
        if !language.eq_ignore_ascii_case("plpgsql") || unit.in_do {
            continue;
        }
        let Some(text) = cx.text.get(unit.offset..unit.offset + unit.len) else { continue };
        if let Some(message) = crate::plpgsql::function_body_error(text) {
            let name = ast::strings(&function.funcname).join(".");
            hits.push(Hit::at(
                unit,
                format!("function `{name}`: {message}"),
                "Correct the function body: PostgreSQL rejects it at CREATE or at the first call.",
            ));
        }
    }
}

//! `syntax-error`: the file does not parse.

use dbsage_sql::SyntaxError;

use super::Rule;
use crate::context::Hit;
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "syntax-error",
    severity: Severity::Error,
    summary: "The file is not valid PostgreSQL SQL.",
    doc: r#"
## What it checks
That the file parses with the PostgreSQL grammar (the real parser, via libpg_query). The finding
points at the exact line and column where the parser stopped. Other files are still linted.

## Why it matters
The migration would fail on the server. Finding it before deploying saves a failed release and,
for files run outside a transaction, a half-applied migration.

## Example
```sql
create table users (id bigint,, email text);
```
Use instead:
```sql
create table users (id bigint, email text);
```

## Fix
Correct the SQL at the reported position. Default severity: error (it will fail).
"#,
    check: super::no_check,
};

pub(crate) fn hit(text: &str, error: &SyntaxError) -> Hit {
    let offset = error.offset.unwrap_or(0).min(text.len());
    Hit::span(
        offset,
        0,
        error.message.clone(),
        "Correct the SQL at this position; nothing in this file was checked further.",
    )
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    #[test]
    fn reports_the_exact_position() {
        let f = run("syntax-error", "select 1;\ncreate table t (a int,, b int);\n");
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].line, f[0].column), (2, 23));
        assert!(f[0].message.contains("syntax error"));
    }

    #[test]
    fn valid_sql_and_empty_files_are_clean() {
        assert!(run("syntax-error", "create table if not exists t (a int);").is_empty());
        assert!(run("syntax-error", "").is_empty());
        assert!(run("syntax-error", "-- only a comment\n").is_empty());
    }

    #[test]
    fn other_files_are_still_linted() {
        let f = run_after("non-idempotent-create", &["create table (;"], "create table t (a int);");
        assert_eq!(f.len(), 1);
    }
}

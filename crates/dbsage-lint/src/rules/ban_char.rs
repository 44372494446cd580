//! `ban-char`: `char(n)` columns.

use super::{at_column, column_definitions, column_type, Rule};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "ban-char",
    severity: Severity::Warning,
    summary: "Column of type char(n) / character(n).",
    doc: r#"
## What it checks
Columns declared `char`, `char(n)`, `character(n)` or `bpchar`.

## Why it matters
`char(n)` pads values with spaces to `n` characters, and the padding is ignored or kept
depending on the operation (`'a'::char(3) = 'a  '` but `length()` and `LIKE` disagree). It is
never faster than `text` in PostgreSQL.

## Example
```sql
create table if not exists countries (code char(2) primary key);
```
Use instead:
```sql
create table if not exists countries (code text primary key check (char_length(code) = 2));
```

## Fix
Use `text` (with a `CHECK` constraint on the length if needed). Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        for (name, column) in column_definitions(unit) {
            if column_type(column) == "bpchar" {
                hits.push(at_column(
                    cx,
                    unit,
                    column,
                    format!("column `{name}` is `char(n)`: values are blank-padded"),
                    "Use `text` with a `CHECK (char_length(…) = n)` constraint.",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "ban-char";

    #[test]
    fn triggers_on_char() {
        assert_eq!(run(RULE, "create table t (a char(2), b character(3), c char);").len(), 3);
    }

    #[test]
    fn clean_on_text_and_varchar() {
        assert!(run(RULE, "create table t (a text, b varchar(3), c \"char\");").is_empty());
    }
}

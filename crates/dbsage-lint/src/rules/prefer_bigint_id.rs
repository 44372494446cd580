//! `prefer-bigint-id`: 32-bit (or 16-bit) integer id columns.

use dbsage_sql::pg_query::protobuf::ConstrType;

use super::{at_column, column_definitions, column_type, has_constraint, Rule};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "prefer-bigint-id",
    severity: Severity::Warning,
    summary: "id / *_id / primary key column of type integer, smallint or serial.",
    doc: r#"
## What it checks
Columns named `id` or ending in `_id`, and column-level primary keys, declared as `integer`,
`smallint`, `serial` or `smallserial`.

## Why it matters
A 32-bit key runs out at 2,147,483,647; tables with inserts and deletes get there sooner than
planned, and widening the column later rewrites the table (and every referencing table) under
an ACCESS EXCLUSIVE lock. `bigint` costs 4 extra bytes a row.

## Example
```sql
create table if not exists events (id serial primary key, user_id integer);
```
Use instead:
```sql
create table if not exists events (
  id bigint generated always as identity primary key,
  user_id bigint
);
```

## Fix
Use `bigint` (and `bigint generated … as identity` instead of `serial`). Default severity:
warning.
"#,
    check,
};

const NARROW: &[&str] = &["int4", "int2", "int", "integer", "smallint", "serial", "serial4", "smallserial", "serial2"];

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        for (name, column) in column_definitions(unit) {
            let key_like = is_key_name(name) || has_constraint(column, ConstrType::ConstrPrimary);
            let type_name = column_type(column);
            if key_like && NARROW.contains(&type_name.as_str()) {
                hits.push(at_column(
                    cx,
                    unit,
                    column,
                    format!("key column `{name}` is `{type_name}`: 32-bit keys run out"),
                    "Use `bigint` (for a generated key: `bigint generated always as identity`).",
                ));
            }
        }
    }
}

/// `id`, `user_id`, and the camelCase `userId` / `userID` (not `paid`, `valid` nor `UUID`).
fn is_key_name(name: &str) -> bool {
    if name.eq_ignore_ascii_case("id") || name.to_ascii_lowercase().ends_with("_id") {
        return true;
    }
    let Some(before) = name.len().checked_sub(2).and_then(|i| name[..i].chars().last()) else {
        return false;
    };
    (name.ends_with("Id") && before.is_alphanumeric())
        || (name.ends_with("ID") && (before.is_lowercase() || before.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "prefer-bigint-id";

    #[test]
    fn triggers_on_narrow_keys() {
        assert_eq!(run(RULE, "create table t (id integer primary key, user_id int, code smallint primary key);").len(), 3);
        assert_eq!(run(RULE, "create table t (id serial);").len(), 1);
    }

    #[test]
    fn clean_on_bigint_and_non_key_columns() {
        assert!(run(RULE, "create table t (id bigint primary key, user_id uuid, qty integer);").is_empty());
    }
}

//! `unused-ignore`: a suppression that suppresses nothing.

use super::Rule;
use crate::finding::Severity;

pub(crate) const FIX: &str = "Remove the comment, or fix the rule id.";

pub(crate) const RULE: Rule = Rule {
    id: "unused-ignore",
    severity: Severity::Warning,
    summary: "A `-- dbsage:ignore` comment that suppresses no finding (or names no rule).",
    doc: r#"
## What it checks
`-- dbsage:ignore rule-id reason` comments whose next statement has no `rule-id` finding,
`-- dbsage:ignore-file rule-id reason` comments with no such finding in the file, and ids that
name no rule. Rules turned off in the configuration are not reported.

## Why it matters
A stale suppression hides the next real problem of that kind in that place, and a misspelled id
suppresses nothing while looking like it does.

## Example
```sql
-- dbsage:ignore missing-table-coment legacy table
create table if not exists legacy (id bigint primary key);
```
Use instead:
```sql
-- dbsage:ignore missing-table-comment legacy table, documented in the wiki
create table if not exists legacy (id bigint primary key);
```

## Fix
Remove the comment, or correct the rule id. Default severity: warning.
"#,
    check: super::no_check,
};

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "unused-ignore";

    #[test]
    fn reports_ignores_that_match_nothing() {
        let f = run(RULE, "-- dbsage:ignore destructive-statement not needed\nselect 1;");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].line, 1);
        assert!(!run(RULE, "-- dbsage:ignore no-such-rule typo\nselect 1;").is_empty());
        assert_eq!(run(RULE, "select 1;\n-- dbsage:ignore destructive-statement at the end\n").len(), 1);
        assert_eq!(run(RULE, "-- dbsage:ignore-file ban-char none here\nselect 1;").len(), 1);
    }

    #[test]
    fn used_ignores_are_not_reported_and_suppress() {
        let sql = "-- dbsage:ignore destructive-statement table replaced by t2\ndrop table if exists t;";
        assert!(run(RULE, sql).is_empty());
        assert!(run("destructive-statement", sql).is_empty());
        let two = "-- dbsage:ignore destructive-statement, non-idempotent-drop replaced\ndrop table t;";
        assert!(run(RULE, two).is_empty());
        assert!(run("non-idempotent-drop", two).is_empty());
        let file = "-- dbsage:ignore-file ban-char fixed-width codes from the bank\ncreate table if not exists a (c char(2));\ncreate table if not exists b (c char(3));";
        assert!(run(RULE, file).is_empty());
        assert!(run("ban-char", file).is_empty());
    }

    #[test]
    fn an_ignore_applies_to_the_next_statement_only() {
        let sql = "-- dbsage:ignore ban-char codes\ncreate table if not exists a (c char(2));\ncreate table if not exists b (c char(3));";
        assert_eq!(run("ban-char", sql).len(), 1);
    }
}

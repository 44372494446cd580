//! `ignore-without-reason`: a suppression or acknowledgement that does not say why.

use super::Rule;
use crate::finding::Severity;

pub(crate) const FIX: &str = "Add the reason after the rule ids, e.g. `-- dbsage:ignore rule-id legacy table, see #123`.";

pub(crate) const RULE: Rule = Rule {
    id: "ignore-without-reason",
    severity: Severity::Warning,
    summary: "`-- dbsage:ignore`, `ignore-file` or `destructive` without a reason.",
    doc: r#"
## What it checks
`-- dbsage:ignore rule-id`, `-- dbsage:ignore-file rule-id` and `-- dbsage:destructive` comments
with nothing after the rule ids. The suppression still applies.

## Why it matters
The reason is what the reviewer, and whoever touches the file next, needs: without it every
suppression has to be re-investigated.

## Example
```sql
-- dbsage:ignore rls-not-enabled
create table if not exists internal_jobs (id bigint primary key);
```
Use instead:
```sql
-- dbsage:ignore rls-not-enabled only the worker role reads it; anon has no grant
create table if not exists internal_jobs (id bigint primary key);
```

## Fix
Write the reason after the rule ids. Default severity: warning.
"#,
    check: super::no_check,
};

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "ignore-without-reason";

    #[test]
    fn reports_reasonless_directives_but_still_suppresses() {
        let sql = "-- dbsage:ignore destructive-statement\ndrop table if exists t;";
        assert_eq!(run(RULE, sql).len(), 1);
        assert!(run("destructive-statement", sql).is_empty());
        assert_eq!(run(RULE, "-- dbsage:destructive\ndrop table if exists t;").len(), 1);
    }

    #[test]
    fn clean_with_reason() {
        assert!(run(RULE, "-- dbsage:ignore destructive-statement replaced by t2\ndrop table if exists t;").is_empty());
        assert!(run(RULE, "-- dbsage:destructive replaced by t2\ndrop table if exists t;").is_empty());
    }
}

//! `missing-timestamps`: new tables without the team's timestamp columns.

use super::Rule;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "missing-timestamps",
    severity: Severity::Warning,
    summary: "A new table lacks the configured timestamp columns (default created_at, updated_at).",
    doc: r#"
## What it checks
Each table created by the file has, by the end of the file, every column listed in
`[lint] timestamp_columns` (default `["created_at", "updated_at"]`), or every column of one of
the sets in `[lint] timestamp_pairs` (default `[["createdAt", "updatedAt"]]`, as camelCase
ORMs name them).

## Why it matters
"When was this row created / last changed" is the first question of every incident and every
sync job; adding the columns later leaves the history empty.

## Example
```sql
create table if not exists notes (id bigint primary key, body text);
```
Use instead:
```sql
create table if not exists notes (
  id bigint primary key,
  body text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
```

## Fix
Add the columns (`timestamptz not null default now()`). Configure the names with
`[lint] timestamp_columns` and `[lint] timestamp_pairs`, or turn the rule off. Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    let accepted = std::iter::once(&cx.config.timestamp_columns).chain(&cx.config.timestamp_pairs);
    for (name, table) in cx.new_tables() {
        // Judged against the accepted set with the fewest missing columns (the first on a tie).
        let mut best: Option<Vec<&str>> = None;
        for set in accepted.clone() {
            let missing: Vec<&str> = set
                .iter()
                .filter(|c| !table.has_column(c))
                .map(String::as_str)
                .collect();
            if best.as_ref().is_none_or(|b| missing.len() < b.len()) {
                best = Some(missing);
            }
        }
        let Some(missing) = best.filter(|m| !m.is_empty()) else {
            continue;
        };
        hits.push(Hit::span(
            table.created_at.0,
            table.created_at.1,
            format!("table `{name}` has no {} column", missing.join(" / ")),
            format!(
                "Add {}.",
                missing
                    .iter()
                    .map(|c| format!("`{c} timestamptz not null default now()`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;
    use crate::LintConfig;

    const RULE: &str = "missing-timestamps";

    #[test]
    fn triggers_when_columns_are_missing() {
        let f = run(RULE, "create table t (id int, created_at timestamptz);");
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("updated_at"));
    }

    #[test]
    fn clean_when_present_or_added_in_the_same_file_or_configured() {
        assert!(run(RULE, "create table t (id int, created_at timestamptz, updated_at timestamptz);").is_empty());
        assert!(run(RULE, "create table t (id int, created_at timestamptz);\nalter table t add column updated_at timestamptz;").is_empty());
        // Existing tables are not judged again.
        assert!(run_after(RULE, &["create table t (id int);"], "alter table t add column x int;").is_empty());
        let config = LintConfig {
            timestamp_columns: vec!["inserted_at".into()],
            ..LintConfig::default()
        };
        assert!(run_with(RULE, &[], "create table t (id int, inserted_at timestamptz);", &config).is_empty());
    }
}

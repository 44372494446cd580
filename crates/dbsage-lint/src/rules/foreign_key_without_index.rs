//! `foreign-key-without-index`: a foreign key whose columns no index starts with.

use super::Rule;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "foreign-key-without-index",
    severity: Severity::Warning,
    summary: "Foreign key columns not covered by an index at the end of the file.",
    doc: r#"
## What it checks
Each foreign key this file adds must have an index (or primary key / unique constraint) whose
leading columns are the foreign key's columns, by the end of the file.

## Why it matters
Without it, every `DELETE` or key `UPDATE` on the referenced table scans the referencing table
(under a lock), and joins along the relationship scan too. It is the most common missing index
(Supabase's advisor: `unindexed_foreign_keys`).

## Example
```sql
create table if not exists orders (
  id bigint generated always as identity primary key,
  user_id bigint not null references users (id) on delete cascade
);
```
Use instead:
```sql
create table if not exists orders (
  id bigint generated always as identity primary key,
  user_id bigint not null references users (id) on delete cascade
);
create index if not exists orders_user_id_idx on orders (user_id);
```

## Fix
Create an index on the foreign key columns in the same file (`CONCURRENTLY`, in a
`-- dbsage:no-transaction` file, for an existing large table). Default severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for fk in &cx.changes.foreign_keys {
        let Some(table) = cx.model.table(&fk.table) else { continue };
        if fk.columns.is_empty() || table.has_index_leading_with(&fk.columns) {
            continue;
        }
        let columns = fk.columns.join(", ");
        hits.push(Hit::span(
            fk.offset,
            fk.len,
            format!(
                "foreign key `{}`({columns}){} has no index starting with its columns",
                fk.table,
                fk.references.as_ref().map(|r| format!(" → `{r}`")).unwrap_or_default()
            ),
            format!(
                "Add `CREATE INDEX IF NOT EXISTS {}_{}_idx ON {} ({columns});`.",
                fk.table.name,
                fk.columns.join("_"),
                fk.table
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "foreign-key-without-index";
    const PARENT: &str = "create table if not exists p (id bigint primary key);";

    #[test]
    fn triggers_without_index() {
        let f = run_after(RULE, &[PARENT], "create table c (id bigint primary key,\n  p_id bigint references p (id));");
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].line, f[0].column), (2, 15), "points at `references`");
        // Added to an existing table.
        let f = run_after(RULE, &[PARENT, EXISTING], "alter table t add constraint t_b_fk foreign key (b) references p (id);");
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn clean_with_index_in_the_same_file() {
        let sql = "create table c (id bigint primary key, p_id bigint references p (id));\ncreate index c_p_id_idx on c (p_id, id);";
        assert!(run_after(RULE, &[PARENT], sql).is_empty());
        // The FK column is the primary key's first column.
        let sql = "create table c (p_id bigint references p (id), n int, primary key (p_id, n));";
        assert!(run_after(RULE, &[PARENT], sql).is_empty());
        // Index built in a guarded DO block counts.
        let sql = "create table c (id bigint primary key, p_id bigint references p (id));\ndo $$ begin if not exists (select 1 from pg_indexes where indexname = 'c_p') then create index c_p on c (p_id); end if; end $$;";
        assert!(run_after(RULE, &[PARENT], sql).is_empty());
    }

    #[test]
    fn an_index_in_a_later_file_is_too_late() {
        let files = [PARENT, "create table c (id bigint primary key, p_id bigint references p (id));"];
        assert_eq!(run_after(RULE, &[files[0]], files[1]).len(), 1);
    }
}

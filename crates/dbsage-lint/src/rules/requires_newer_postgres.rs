//! `requires-newer-postgres`: the statement needs a newer server than the target version.

use dbsage_sql::pg_query::protobuf::{AlterTableType, ConstrType};
use dbsage_sql::NodeEnum;

use super::{absolute_location, alter_table_cmds, cmd_def, has_constraint, is_cmd, Rule};
use crate::context::{FileContext, Hit};
use crate::finding::Severity;
use crate::{feature_prefilter, pg_features};

pub(crate) const RULE: Rule = Rule {
    id: "requires-newer-postgres",
    severity: Severity::Error,
    summary: "Syntax or a built-in function newer than the target PostgreSQL version (MERGE … RETURNING on 15).",
    doc: r#"
## What it checks
Each statement against the target PostgreSQL major version (`--pg-version`, `DBSAGE_PG_VERSION`,
`[local] pg_version` in dbsage.toml, `[db] major_version` in supabase/config.toml, else the newest
server installed). The linter's parser is PostgreSQL 18's and accepts everything up to 18; this
rule reports, at the exact line and column, what an older server rejects and the version that
introduced it:
- 15: `MERGE`, `NULLS NOT DISTINCT`, the view option `security_invoker`, `regexp_count()`…
- 16: a subquery in FROM without an alias, `SYSTEM_USER`, `any_value()`, `IS JSON`,
  `JSON_ARRAY()`/`JSON_OBJECT()` and their aggregates, `GRANT … WITH INHERIT/SET/ADMIN TRUE|FALSE`,
  `REVOKE INHERIT/SET OPTION FOR`, `0x1F`/`0o17`/`0b101` literals, `1_000_000`, `COPY … (DEFAULT …)`,
  `random_normal()`, `date_add()`…
- 17: `MERGE … RETURNING`, `MERGE … WHEN NOT MATCHED BY SOURCE`, `JSON_TABLE`, `JSON_QUERY()`,
  `JSON_VALUE()`, `JSON_EXISTS()`, `JSON()`, `JSON_SCALAR()`, `JSON_SERIALIZE()`,
  `COPY … (ON_ERROR …, LOG_VERBOSITY …)`, `ALTER COLUMN … SET EXPRESSION`, adding an identity
  column to a table that has partitions, the MAINTAIN privilege, `random(min, max)`, `to_bin()`…
- 18: virtual generated columns (`GENERATED ALWAYS AS (…)` without STORED, or `VIRTUAL`),
  `NOT NULL … NOT VALID` and table constraints `NOT NULL col`, `RETURNING old.*/new.*`,
  `uuidv7()`, `uuidv4()`, `WITHOUT OVERLAPS`, `PERIOD` foreign keys, `NOT ENFORCED`,
  `COPY … (REJECT_LIMIT …)`, `casefold()`…

A function the migrations create themselves (a `uuidv7()` polyfill on 15) is not reported.
Without a target version (the linter used as a library) the rule says nothing.

## Why it matters
The migration passes review and the linter, then fails on the server it runs on, often only
in production when the local database runs a newer version than production.

## Example
On PostgreSQL 15:
```sql
merge into stock s using deliveries d on s.sku = d.sku
when matched then update set qty = s.qty + d.qty
returning s.sku, s.qty;
```
Use instead:
```sql
merge into stock s using deliveries d on s.sku = d.sku
when matched then update set qty = s.qty + d.qty;
select s.sku, s.qty from stock s join deliveries d using (sku);
```

## Fix
Rewrite with what the target supports (each finding says how), or, when production really runs
the newer version, say so: `[local] pg_version = 17` in dbsage.toml (or `--pg-version 17`).
Default severity: error (the server rejects it).
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    // On the parser's own version nothing is newer: skip the tree walk.
    let Some(target) = cx.config.target_major.filter(|&t| t < pg_features::NEWEST) else {
        return;
    };
    for unit in cx.units {
        let parsed_text = cx.text.get(unit.location_base..).unwrap_or("");
        let user_function = |name: &str| cx.model.volatile_functions.contains_key(name);
        let statement = cx.text.get(unit.offset..unit.offset + unit.len).unwrap_or(parsed_text);
        let features = if feature_prefilter::may_use_new_features(&unit.node, statement) {
            pg_features::features(&unit.node, parsed_text, &user_function)
        } else {
            Vec::new()
        };
        for feature in features {
            if feature.since <= target {
                continue;
            }
            let message = format!(
                "{} needs PostgreSQL {} or later; the target is PostgreSQL {target}",
                feature.what, feature.since
            );
            let fix = format!(
                "Instead: {}. Or, if production runs PostgreSQL {}+, set `[local] pg_version = {}` in dbsage.toml.",
                feature.instead, feature.since, feature.since
            );
            hits.push(match feature.location {
                Some(location) if absolute_location(unit, location) != unit.offset => {
                    Hit::span(absolute_location(unit, location), 1, message, fix)
                }
                _ => Hit::at(unit, message, fix),
            });
        }
        if target < 17 {
            identity_on_partitioned(cx, unit, target, hits);
        }
    }
}

/// Before 17, `ADD COLUMN … GENERATED … AS IDENTITY` fails on a table with partitions (adding
/// identity to an existing column does not): the tree alone cannot tell, the schema model can.
fn identity_on_partitioned(cx: &FileContext, unit: &crate::parse::Unit, target: u32, hits: &mut Vec<Hit>) {
    for (table, cmd) in alter_table_cmds(unit) {
        let adds_identity = is_cmd(cmd, AlterTableType::AtAddColumn)
            && matches!(cmd_def(cmd), Some(NodeEnum::ColumnDef(c)) if has_constraint(c, ConstrType::ConstrIdentity));
        if adds_identity && cx.model.table(&table).is_some_and(|t| t.has_children) {
            hits.push(Hit::at(
                unit,
                format!("an identity column on `{table}`, which has partitions, needs PostgreSQL 17 or later; the target is PostgreSQL {target}"),
                "Instead: use a sequence default (`default nextval('…')`). Or, if production runs PostgreSQL 17+, set `[local] pg_version = 17` in dbsage.toml.",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;
    use crate::LintConfig;

    const RULE: &str = "requires-newer-postgres";

    fn on(major: u32, sql: &str) -> Vec<crate::Finding> {
        let config = LintConfig {
            target_major: Some(major),
            ..LintConfig::default()
        };
        run_with(RULE, &[], sql, &config)
    }

    #[test]
    fn merge_returning_is_17() {
        let sql = "merge into t using s on t.id = s.id when matched then delete returning t.id;";
        assert_eq!(on(15, sql).len(), 1);
        assert!(on(17, sql).is_empty());
    }

    #[test]
    fn silent_without_a_target() {
        assert!(run(RULE, "select uuidv7();").is_empty());
    }

    #[test]
    fn user_polyfill_is_not_reported() {
        let sql = "create function uuidv7() returns uuid language sql as 'select gen_random_uuid()';\ncreate table t (id uuid default uuidv7());";
        assert!(on(15, sql).is_empty());
    }
}

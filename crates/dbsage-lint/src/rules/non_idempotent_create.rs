//! `non-idempotent-create`: CREATE statements that fail when run twice.

use dbsage_sql::NodeEnum;

use super::Rule;
use crate::ast::QualifiedName;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "non-idempotent-create",
    severity: Severity::Warning,
    summary: "CREATE without IF NOT EXISTS / OR REPLACE / a catalog guard.",
    doc: r#"
## What it checks
- `CREATE TABLE / INDEX / SCHEMA / EXTENSION / SEQUENCE / MATERIALIZED VIEW` without
  `IF NOT EXISTS`;
- `CREATE VIEW / FUNCTION / PROCEDURE / TRIGGER` without `OR REPLACE`;
- `CREATE TYPE` and `CREATE DOMAIN` (which have no `IF NOT EXISTS`) outside a guarded DO block.

A statement inside `DO $$ BEGIN IF NOT EXISTS (SELECT … FROM pg_… / information_schema…) THEN …
END IF; END $$`, or in a block with `EXCEPTION WHEN duplicate_object`, counts as guarded.

## Why it matters
A migration that fails when re-run turns every partial failure, restore or environment rebuild
into manual surgery. Idempotent migrations can simply be run again.

## Example
```sql
create table orders (id bigint primary key);
create type order_status as enum ('open', 'paid');
```
Use instead:
```sql
create table if not exists orders (id bigint primary key);
do $$ begin
  if not exists (select 1 from pg_type where typname = 'order_status') then
    create type order_status as enum ('open', 'paid');
  end if;
end $$;
```

## Fix
Add `IF NOT EXISTS` or `OR REPLACE`, or wrap the statement in a guarded DO block. Default
severity: warning.
"#,
    check,
};

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    // `DROP TRIGGER IF EXISTS tr ON t; CREATE TRIGGER tr …` re-runs fine (and is the only
    // idempotent form before PostgreSQL 14's CREATE OR REPLACE TRIGGER).
    for unit in cx.units.iter().filter(|u| !u.guarded) {
        if let NodeEnum::DropStmt(_) = &unit.node {
            continue;
        }
        if let NodeEnum::CreateTrigStmt(t) = &unit.node {
            let table = t.relation.as_ref().map(QualifiedName::of);
            if table.is_some_and(|table| cx.facts.trigger_dropped_before(&table, &t.trigname, unit.index)) {
                continue;
            }
        }
        let (what, fix) = match &unit.node {
            NodeEnum::CreateStmt(c) if !c.if_not_exists => {
                if c.relation.as_ref().is_some_and(|r| r.relpersistence == "t") {
                    continue;
                }
                ("CREATE TABLE", "IF NOT EXISTS")
            }
            NodeEnum::IndexStmt(i) if !i.if_not_exists => ("CREATE INDEX", "IF NOT EXISTS"),
            NodeEnum::CreateSchemaStmt(s) if !s.if_not_exists => ("CREATE SCHEMA", "IF NOT EXISTS"),
            NodeEnum::CreateExtensionStmt(e) if !e.if_not_exists => ("CREATE EXTENSION", "IF NOT EXISTS"),
            NodeEnum::CreateSeqStmt(s) if !s.if_not_exists => ("CREATE SEQUENCE", "IF NOT EXISTS"),
            NodeEnum::CreateTableAsStmt(s) if !s.if_not_exists && !s.is_select_into => {
                ("CREATE TABLE AS / MATERIALIZED VIEW", "IF NOT EXISTS")
            }
            NodeEnum::ViewStmt(v) if !v.replace => ("CREATE VIEW", "OR REPLACE"),
            NodeEnum::CreateFunctionStmt(f) if !f.replace => ("CREATE FUNCTION", "OR REPLACE"),
            NodeEnum::CreateTrigStmt(t) if !t.replace => ("CREATE TRIGGER", "OR REPLACE"),
            NodeEnum::CompositeTypeStmt(_) | NodeEnum::CreateEnumStmt(_) | NodeEnum::CreateRangeStmt(_) => {
                ("CREATE TYPE", "a guard")
            }
            NodeEnum::CreateDomainStmt(_) => ("CREATE DOMAIN", "a guard"),
            _ => continue,
        };
        let fix = if fix == "a guard" {
            "Wrap it in `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = '…') THEN … END IF; END $$`.".to_string()
        } else {
            format!("Write `{what}` with `{fix}`.")
        };
        hits.push(Hit::at(unit, format!("{what} fails if the object already exists"), fix));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "non-idempotent-create";

    #[test]
    fn triggers_on_plain_creates() {
        for sql in [
            "create table t (a int);",
            "create index i on t (a);",
            "create schema s;",
            "create extension pgcrypto;",
            "create sequence s;",
            "create view v as select 1;",
            "create function f() returns int language sql as 'select 1';",
            "create trigger tr before update on t for each row execute function f();",
            "drop trigger if exists other on t; create trigger tr before update on t for each row execute function f();",
            "create type mood as enum ('ok');",
            "create domain d as text;",
            "create materialized view mv as select 1;",
        ] {
            assert_eq!(run(RULE, sql).len(), 1, "{sql}");
        }
    }

    #[test]
    fn idempotent_forms_are_clean() {
        for sql in [
            "create table if not exists t (a int);",
            "create index if not exists i on t (a);",
            "create or replace view v as select 1;",
            "create or replace function f() returns int language sql as 'select 1';",
            "create temporary table tmp (a int);",
            "drop trigger if exists tr on public.t;\ncreate trigger tr before update on public.t for each row execute function f();",
        ] {
            assert!(run(RULE, sql).is_empty(), "{sql}");
        }
    }

    #[test]
    fn guarded_do_blocks_count_as_idempotent() {
        let guarded = "do $$ begin\n  if not exists (select 1 from pg_type where typname = 'mood') then\n    create type mood as enum ('ok');\n  end if;\nend $$;";
        assert!(run(RULE, guarded).is_empty());
        let caught = "do $$ begin create type mood as enum ('ok'); exception when duplicate_object then null; end $$;";
        assert!(run(RULE, caught).is_empty());
        let unguarded = "do $$ begin\n  create type mood as enum ('ok');\nend $$;";
        let f = run(RULE, unguarded);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].line, f[0].column), (2, 3), "points inside the block");
    }
}

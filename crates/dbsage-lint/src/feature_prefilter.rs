//! A cheap look at a statement before [`crate::pg_features`] walks its tree: most migration
//! statements (tables, indexes, policies, seeds) cannot use any feature newer than 15, and
//! their text shows it. False only when the statement certainly uses none; a false "maybe"
//! costs a walk, never a verdict (test `prefilter_never_hides_a_feature`).

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use dbsage_sql::pg_query::protobuf::{AlterTableType, ConstrType, Node};
use dbsage_sql::NodeEnum;

/// Words one of the checks needs in the text (case-insensitive, at the start of a word):
/// the new functions' names, the new syntax's keywords. `u&` because a Unicode-escaped
/// identifier can spell any of them.
const KEYWORDS: &[&str] = &[
    // functions (pg_features::NEW_FUNCTIONS; `random(min, max)`, `SYSTEM_USER`)
    "regexp_",
    "any_value",
    "system_user",
    "random",
    "array_sample",
    "array_shuffle",
    "date_add",
    "date_subtract",
    "pg_input_",
    "erf",
    "to_bin",
    "to_oct",
    "uuid_extract_",
    "uuidv7",
    "uuidv4",
    "casefold",
    "array_sort",
    "array_reverse",
    "crc32",
    "gamma",
    "lgamma",
    // syntax
    "json",
    "merge",
    "returning",
    "maintain",
    "expression",
    "generated",
    "valid",
    "overlaps",
    "period",
    "enforced",
    "nulls",
    "security_invoker",
    "u&",
];

static MATCHER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .build(KEYWORDS)
        .expect("the keywords build a matcher")
});

/// Could `node` (whose text is `text`) use a feature newer than some PostgreSQL version?
pub(crate) fn may_use_new_features(node: &NodeEnum, text: &str) -> bool {
    match node {
        // Nothing in them is an expression, a literal, a constraint or an option a check reads.
        NodeEnum::TransactionStmt(_)
        | NodeEnum::VariableShowStmt(_)
        | NodeEnum::CheckPointStmt(_)
        | NodeEnum::DiscardStmt(_)
        | NodeEnum::ListenStmt(_)
        | NodeEnum::UnlistenStmt(_)
        | NodeEnum::LoadStmt(_)
        | NodeEnum::DeallocateStmt(_)
        | NodeEnum::ClosePortalStmt(_) => false,
        // Their new options are ordinary words (`WITH INHERIT TRUE`, `ON_ERROR`), or they hold
        // whole CREATE TABLEs: always walked (all rare in migrations).
        NodeEnum::GrantRoleStmt(_) | NodeEnum::CopyStmt(_) | NodeEnum::CreateSchemaStmt(_) => true,
        _ => {
            has_keyword(text)
                || may_have_new_numeric_literal(text)
                || may_have_subquery_in_from(text)
                || has_not_null_table_constraint(node)
        }
    }
}

fn has_keyword(text: &str) -> bool {
    let bytes = text.as_bytes();
    MATCHER.find_overlapping_iter(text).any(|m| {
        let word_start = m.start() == 0 || !is_ident_byte(bytes[m.start() - 1]);
        word_start
            && match KEYWORDS[m.pattern().as_usize()] {
                // `jsonb`, `jsonb_build_object`: not the SQL/JSON syntax.
                "json" => !bytes
                    .get(m.end())
                    .is_some_and(|b| b.is_ascii_alphanumeric()),
                // `generated_at` is a column; `generated always as identity` no generated column.
                "generated" => {
                    !bytes.get(m.end()).copied().is_some_and(is_ident_byte)
                        && !is_identity(&text[m.end()..])
                }
                _ => true,
            }
    })
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `GENERATED ALWAYS|BY DEFAULT AS IDENTITY` (what follows `generated`): not a generated
/// column. Anything else (a comment in between) counts as one.
fn is_identity(after: &str) -> bool {
    let mut words = after
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    let mut next = || words.next().map(str::to_ascii_lowercase);
    let first = next();
    let as_word = match first.as_deref() {
        Some("always") => next(),
        Some("by") if next().as_deref() == Some("default") => next(),
        _ => return false,
    };
    as_word.as_deref() == Some("as")
        && next().is_some_and(|w| {
            w.strip_prefix("identity")
                .is_some_and(|rest| !rest.bytes().next().is_some_and(is_ident_byte))
        })
}

/// A token that starts like a number and has `_` or a `0x`/`0o`/`0b` prefix: what
/// `pg_features` checks at each numeric constant's location.
fn may_have_new_numeric_literal(text: &str) -> bool {
    let bytes = text.as_bytes();
    (0..bytes.len()).any(|i| {
        let starts = (bytes[i].is_ascii_digit() || bytes[i] == b'.')
            && (i == 0 || !is_ident_byte(bytes[i - 1]));
        if !starts {
            return false;
        }
        let token: Vec<u8> = bytes[i..]
            .iter()
            .copied()
            .take_while(|&b| is_ident_byte(b) || b == b'.')
            .collect();
        let prefixed = token.len() >= 2
            && token[0] == b'0'
            && matches!(token[1].to_ascii_lowercase(), b'x' | b'o' | b'b');
        prefixed || token.contains(&b'_')
    })
}

/// `(` + SELECT/VALUES/WITH/TABLE right after FROM, JOIN, LATERAL, a comma or a DELETE's
/// USING (with more `(` between): where a subquery in FROM can be. Comments nearby count as a
/// maybe. A policy's `using ((select auth.uid()) …)` does not.
fn may_have_subquery_in_from(text: &str) -> bool {
    let bytes = text.as_bytes();
    let deletes = has_word(text, "delete");
    bytes.iter().enumerate().any(|(i, &b)| {
        if b != b'(' {
            return false;
        }
        let rest = text[i + 1..].trim_start();
        let opens_query = ["select", "values", "with", "table"].iter().any(|k| {
            rest.get(..k.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(k))
                && !rest
                    .as_bytes()
                    .get(k.len())
                    .copied()
                    .is_some_and(is_ident_byte)
        });
        let commented = rest.starts_with("--") || rest.starts_with("/*");
        (opens_query || commented) && follows_from_item_start(&text[..i], deletes)
    })
}

/// `word` on its own (`deleted` is not `delete`), in any case.
fn has_word(text: &str, word: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(word.len()).enumerate().any(|(i, w)| {
        w.eq_ignore_ascii_case(word.as_bytes())
            && (i == 0 || !is_ident_byte(bytes[i - 1]))
            && !bytes
                .get(i + word.len())
                .copied()
                .is_some_and(is_ident_byte)
    })
}

/// Whether the text before a `(` ends (past whitespace and other `(`) where a FROM item starts.
fn follows_from_item_start(before: &str, deletes: bool) -> bool {
    let trimmed = before.trim_end_matches(|c: char| c.is_ascii_whitespace() || c == '(');
    match trimmed.as_bytes().last() {
        None => false,
        Some(b',' | b'/') => true,
        Some(&b) if is_ident_byte(b) => {
            let word_start = trimmed
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |p| p + 1);
            let word = &trimmed[word_start..];
            let line = &trimmed[trimmed[..word_start].rfind('\n').map_or(0, |p| p + 1)..];
            ["from", "join", "lateral"]
                .iter()
                .any(|k| word.eq_ignore_ascii_case(k))
                || (deletes && word.eq_ignore_ascii_case("using"))
                || line.contains("--")
        }
        Some(_) => false,
    }
}

/// A table constraint `NOT NULL col` (18+): the only new constraint form without a keyword of
/// its own. Table constraints sit at the top of CREATE TABLE / ALTER TABLE … ADD.
fn has_not_null_table_constraint(node: &NodeEnum) -> bool {
    let is_not_null_of_columns = |n: &Node| {
        matches!(&n.node, Some(NodeEnum::Constraint(c))
            if c.contype == ConstrType::ConstrNotnull as i32 && !c.keys.is_empty())
    };
    match node {
        NodeEnum::CreateStmt(s) => s.table_elts.iter().any(is_not_null_of_columns),
        NodeEnum::CreateForeignTableStmt(s) => s
            .base_stmt
            .as_ref()
            .is_some_and(|s| s.table_elts.iter().any(is_not_null_of_columns)),
        NodeEnum::AlterTableStmt(s) => s.cmds.iter().any(|cmd| match &cmd.node {
            Some(NodeEnum::AlterTableCmd(c))
                if c.subtype == AlterTableType::AtAddConstraint as i32 =>
            {
                c.def.as_deref().is_some_and(is_not_null_of_columns)
            }
            _ => false,
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::may_use_new_features;
    use crate::pg_features::features;

    /// Every statement the walk finds a feature in passes the prefilter, however it is written.
    #[test]
    fn prefilter_never_hides_a_feature() {
        let samples = [
            "SELECT * FROM (SELECT 1);",
            "select * from t, (values (1), (2));",
            "select * from t join lateral (select 1) on true;",
            "select * from -- rows\n (select 1);",
            "select * from /* rows */ (select 1);",
            "select * from ((select 1) join t on true);",
            "delete from t using (select 1 as id) where t.id = 1;",
            "select 0X1F, 1_000;",
            "select .5_0;",
            "select -0b101;",
            "create table t (a int, constraint a_nn not null a);",
            "alter table t add constraint a_nn not null a;",
            "create table t (a int, b int GENERATED ALWAYS AS (a * 2));",
            "create table t (a int, b int generated always as (a * 2) virtual);",
            "alter table t add constraint a_nn not null a not valid;",
            "select UUIDV7();",
            "select pg_catalog.uuidv7();",
            "select \"uuidv7\"();",
            "select U&\"uuid\\0076\\0037\"();",
            "select Random(1, 10);",
            "select json_Table.* from json_table('[]'::jsonb, '$[*]' columns (a int path '$.a')) json_table;",
            "select '{}' is json;",
            "select json('{}' with unique keys);",
            "update t set a = 1 returning old.a;",
            "merge into t using s on t.id = s.id when matched then delete;",
            "grant maintain on t to app;",
            "alter table t alter column b set expression as (a * 3);",
            "create unique index i on t (a) nulls not distinct;",
            "create view v with (security_invoker) as select 1;",
            "create table r (id int, valid_at daterange, primary key (id, valid_at without overlaps));",
            "alter table t add constraint c check (a > 0) not enforced;",
            "copy t from stdin with (on_error ignore);",
            "grant app_reader to app_writer with inherit true;",
        ];
        for sql in samples {
            let statement = &dbsage_sql::parse(sql).expect(sql).statements[0];
            let found = features(&statement.node, sql, &|_| false);
            assert!(!found.is_empty(), "the walk finds a feature in `{sql}`");
            assert!(
                may_use_new_features(&statement.node, sql),
                "the prefilter lets `{sql}` through"
            );
        }
    }

    #[test]
    fn ordinary_migration_statements_are_skipped() {
        let samples = [
            "create table users (id bigint generated always as identity primary key, email text not null, generated_at timestamptz default now(), attrs jsonb);",
            "create index users_email_idx on users (lower(email));",
            "create policy p on users for select using ((select auth.uid()) = id and status <> 'deleted');",
            "insert into users (email) values ('a@b.c'), ('d@e.f');",
            "alter table users add column team_id bigint references teams (id) on delete cascade;",
            "comment on table users is 'people (select from the list)';",
            "select id from users where id in (select user_id from orders_2024_01);",
        ];
        for sql in samples {
            let statement = &dbsage_sql::parse(sql).expect(sql).statements[0];
            assert!(
                !may_use_new_features(&statement.node, sql),
                "`{sql}` needs no walk"
            );
        }
    }
}

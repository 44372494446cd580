//! Large files are checked a chunk of statements at a time (bounded memory) and must give
//! exactly the findings of a whole-file check: same rules, places, messages and suppressions,
//! including rules that look across statements and chunk boundaries.

use std::collections::BTreeSet;

use dbsage_lint::{lint, Finding, LintConfig, SourceFile};

/// One block of statements that trips many rules, several of them across statements: an
/// earlier `DROP … IF EXISTS`, a later `ALTER FUNCTION/VIEW` fix, `NOT VALID` then `VALIDATE`,
/// DO blocks, directives (used, unused, without reason, destructive acknowledgements).
fn block(i: usize) -> String {
    let prev = i.saturating_sub(1);
    format!(
        r#"
-- dbsage:ignore missing-table-comment legacy table {i}
create table t_{i} (id serial primary key, name varchar(20), created_at timestamp, code char(2),
  parent_id int references t_{prev}(id), owner uuid);
alter table t_{i} enable row level security;
drop policy if exists "p_{i}" on t_{i};
create policy "p_{i}" on t_{i} for update to anon using (true);
create policy "q_{i}" on t_{i} using (auth.uid() = owner);
alter table existing add constraint c_{i} check (b > 0) not valid;
alter table existing validate constraint c_{i};
alter table existing drop constraint if exists d_{i}, add constraint d_{i} unique (a);
alter table existing add constraint e_{i} foreign key (b) references t_{i}(id);
create function f_{i}() returns int language sql security definer as $$ select 1 $$;
alter function f_{i}() set search_path = '';
create function g_{i}() returns int language sql security definer as $$ select 2 $$;
create view public.v_{i} as select 1 as x;
alter view public.v_{i} set (security_invoker = true);
create view public.w_{i} as select 1 as x;
drop trigger if exists tr_{i} on t_{i};
create trigger tr_{i} before update on t_{i} for each row execute function f_{i}();
create trigger tr2_{i} before update on t_{i} for each row execute function f_{i}();
do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'x_{i}') then
    alter table existing add constraint x_{i} check (a > 0);
  end if;
  alter table existing add column y_{i} int not null;
  create index concurrently if not exists i_{i} on existing (a);
end
$$;
-- dbsage:destructive cleanup of column old_{i}
alter table existing drop column if exists old_{i};
alter table existing drop column gone_{i};
begin;
commit;
create index idx_{i} on existing (a);
alter table existing alter column b type bigint, alter column a set not null;
alter table existing add column z_{i} uuid default gen_random_uuid();
-- dbsage:ignore prefer-identity nothing to suppress here {i}
select 1;
-- dbsage:ignore ban-char
create table if not exists u_{i} (code char(3), id bigint generated always as identity primary key);
create table if not exists r_{i} (id bigint generated always as identity primary key, created_at timestamptz, updated_at timestamptz);
comment on table r_{i} is 'rows';
alter table r_{i} enable row level security;
create table if not exists k_{i} (a text);
grant all on t_{i} to anon;
truncate t_{prev};
refresh materialized view m;
vacuum full existing;
alter table existing rename column a to a_{i};
"#
    )
}

/// A file of `blocks` blocks, with fixes at the very end for objects of the first block (so
/// they are in another chunk than what they fix) and a file-wide ignore at the top.
fn big_file(blocks: usize) -> String {
    let mut text = String::from("-- dbsage:ignore-file missing-timestamps generated fixture\n");
    for i in 0..blocks {
        text.push_str(&block(i));
    }
    text.push_str("alter function g_0() set search_path = '';\n");
    text.push_str("alter view public.w_0 set (security_invoker = true);\n");
    text
}

fn files(big: String) -> Vec<SourceFile> {
    vec![
        SourceFile {
            path: "migrations/20240101000000_history.sql".into(),
            text: "create table if not exists existing (id bigint generated always as identity primary key, a int, b int);\n".into(),
        },
        SourceFile {
            path: "migrations/20240102000000_big.sql".into(),
            text: big,
        },
        // Judged with the model the big file left: must be the same whichever way it was read.
        SourceFile {
            path: "migrations/20240103000000_after.sql".into(),
            text: "create index idx_0 on t_1 (name);\nalter table t_2 add column w int not null;\n\
                   alter table t_1 add constraint fk_after foreign key (parent_id) references t_0 (id) on delete cascade;\n"
                .into(),
        },
    ]
}

fn whole() -> LintConfig {
    LintConfig {
        threads: 1,
        chunked_above_bytes: usize::MAX,
        ..LintConfig::default()
    }
}

fn chunked(chunk_statements: usize) -> LintConfig {
    LintConfig {
        chunked_above_bytes: 0,
        chunk_statements,
        ..LintConfig::default()
    }
}

/// The last file's foreign key on `t_1` is judged only when the model knows `t_1`, which the
/// big file created.
fn fk_after_is_reported(findings: &[Finding]) -> bool {
    findings.iter().any(|f| {
        f.rule == "foreign-key-without-index" && f.file.ends_with("20240103000000_after.sql")
    })
}

fn ids(findings: &[Finding]) -> BTreeSet<&str> {
    findings.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn chunked_check_of_a_large_file_gives_the_whole_file_findings() {
    let text = big_file(1_200);
    assert!(text.len() > 2_000_000, "{} bytes", text.len());
    let input = files(text);
    let expected = lint(&input, &whole()).unwrap();

    // Every rule the fixture is meant to trip, so that the comparison means something.
    let fired = ids(&expected);
    for rule in [
        "add-column-volatile-default",
        "add-required-column",
        "ban-char",
        "column-type-change",
        "concurrently-in-transaction",
        "constraint-not-valid",
        "destructive-statement",
        "explicit-transaction-control",
        "foreign-key-without-index",
        "foreign-key-without-on-delete",
        "grant-all-to-anon",
        "ignore-without-reason",
        "index-not-concurrent",
        "missing-primary-key",
        "missing-table-comment",
        "non-idempotent-add-column",
        "non-idempotent-constraint",
        "non-idempotent-create",
        "non-idempotent-drop",
        "non-idempotent-policy",
        "policy-always-true",
        "policy-per-row-auth-call",
        "prefer-bigint-id",
        "prefer-identity",
        "prefer-text-over-varchar",
        "prefer-timestamptz",
        "refresh-matview-blocking",
        "rename-breaks-clients",
        "rls-enabled-no-policy",
        "rls-not-enabled",
        "security-definer-search-path",
        "security-definer-view",
        "set-not-null-existing",
        "unique-constraint-existing",
        "unused-ignore",
        "vacuum-full-or-cluster",
        "validate-in-same-transaction",
    ] {
        assert!(fired.contains(rule), "the fixture does not trip {rule}");
    }
    // The cross-statement facts really apply: the later fixes and earlier drops count.
    let at_block = |rule: &str, name: &str| {
        expected
            .iter()
            .any(|f| f.rule == rule && f.message.contains(name))
    };
    assert!(!at_block("security-definer-search-path", "`g_0`"));
    assert!(at_block("security-definer-search-path", "`g_1`"));
    assert!(!at_block("security-definer-view", "`w_0`"));
    assert!(at_block("security-definer-view", "`w_1`"));
    assert!(!at_block("non-idempotent-policy", "\"p_5\""));
    assert!(at_block("non-idempotent-policy", "\"q_5\""));
    assert!(!at_block("non-idempotent-constraint", "`d_5`"));
    assert!(!expected
        .iter()
        .any(|f| f.rule == "missing-timestamps" && f.file.ends_with("20240102000000_big.sql")));
    assert!(fk_after_is_reported(&expected));
    assert!(expected.len() > 30_000, "{} findings", expected.len());

    // Chunk sizes that cut the file at many different places, the default threshold, and
    // several parser threads with a mix of whole and chunked files. The four lints are
    // independent: they run at once (the slowest test of the crate otherwise holds a core idle).
    let configs = [
        chunked(1),
        chunked(7),
        LintConfig::default(),
        LintConfig {
            threads: 3,
            ..chunked(50)
        },
    ];
    let results: Vec<Vec<Finding>> = std::thread::scope(|scope| {
        let runs: Vec<_> = configs
            .iter()
            .map(|config| scope.spawn(|| lint(&input, config).unwrap()))
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    for (config, got) in configs.iter().zip(&results) {
        let label = format!(
            "chunk of {} statements, {} threads",
            config.chunk_statements, config.threads
        );
        assert_eq!(got.len(), expected.len(), "{label}");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(format!("{g:?}"), format!("{e:?}"), "{label}");
        }
    }
}

#[test]
fn syntax_error_in_a_large_file_leaves_the_model_as_a_whole_file_check_does() {
    // The error sits after many valid statements that pass 1 has already replayed.
    let mut text = big_file(50);
    text.push_str("create table broken (a int,, b int);\n");
    let input = files(text);
    let expected = lint(&input, &whole()).unwrap();
    assert!(ids(&expected).contains("syntax-error"));
    // The file after the broken one does not know t_1: what pass 1 replayed must be undone.
    assert!(!fk_after_is_reported(&expected));
    for config in [chunked(1), chunked(13)] {
        assert_eq!(
            format!("{:?}", lint(&input, &config).unwrap()),
            format!("{expected:?}")
        );
    }
}

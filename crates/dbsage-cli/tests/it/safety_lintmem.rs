//! Safety suite (issue 8, memory): `dbsage lint` of a large migration keeps memory bounded,
//! through the binary.

use crate::common;

use common::{stderr, stdout, TestProject};

const M1: &str = "20260101000000";

#[test]
fn lint_of_a_large_migration_keeps_memory_bounded() {
    let p = TestProject::new();
    // ~8 MB in one file: every parse tree kept alive costs ~100x the text, so a lint that holds
    // the whole file's trees needs far more than the bound below. One table without a comment
    // and one unguarded ADD COLUMN at the end show the file was really checked to the end.
    let mut sql = String::new();
    let mut i = 0;
    while sql.len() < 8_000_000 {
        sql.push_str(&format!(
            "create table if not exists t{i} (id bigint generated always as identity primary key, name text not null default 'x', amount numeric(12, 2), created_at timestamptz not null default now(), updated_at timestamptz not null default now());\ncomment on table t{i} is 'rows';\nalter table t{i} enable row level security;\ndrop policy if exists \"t{i} read\" on t{i};\ncreate policy \"t{i} read\" on t{i} for select to authenticated using ((select auth.uid()) is not null);\ninsert into t{i} (name, amount) values ('a', 1.5), ('b', 2.5), ('c', 3.5);\n"
        ));
        i += 1;
    }
    sql.push_str("alter table t0 add column if not exists extra text;\nalter table t1 add column late text;\n");
    p.migration(M1, "big", &sql);
    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "maxrss_kb=%M", env!("CARGO_BIN_EXE_dbsage"), "lint"])
        .current_dir(p.root())
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let err = stderr(&out);
    let report = stdout(&out);
    assert!(
        report.contains("non-idempotent-add-column"),
        "{report}\n{err}"
    );
    assert_eq!(
        report.matches("[non-idempotent-add-column]").count(),
        1,
        "{report}"
    );
    let kb: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kb="))
        .expect("/usr/bin/time output")
        .trim()
        .parse()
        .unwrap();
    eprintln!("lint of an 8 MB migration: {} MB peak RSS", kb / 1024);
    assert!(
        kb < 300 * 1024,
        "peak RSS {} MB for an 8 MB migration",
        kb / 1024
    );
}

//! `dbsage secure …` and `dbsage test` through the binary (the checks themselves are tested in
//! dbsage-secure).

use crate::common;

use common::{stderr, stdout, TestProject};

const M1: &str = "20260101000000";

fn notes_project() -> TestProject {
    let p = TestProject::with_config("\n[supabase]\nenabled = true\n");
    p.migration(
        M1,
        "notes",
        "create table if not exists public.notes (id bigint primary key, owner uuid not null, body text);\n\
         grant select, insert, update, delete on public.notes to authenticated;\n",
    );
    std::fs::write(
        p.root().join("seed.sql"),
        "insert into public.notes values (1, '11111111-1111-1111-1111-111111111111', 'a'), (2, '22222222-2222-2222-2222-222222222222', 'b');\n",
    )
    .unwrap();
    std::fs::create_dir_all(p.root().join("tests/rls")).unwrap();
    std::fs::write(
        p.root().join("tests/rls/notes.toml"),
        "[[case]]\nname = \"a user reads only their notes\"\nas = { role = \"authenticated\", sub = \"11111111-1111-1111-1111-111111111111\" }\nsql = \"select * from notes\"\nexpect = { rows = 1 }\n\n\
         [[case]]\nname = \"anon reads nothing\"\nas = { role = \"anon\" }\nsql = \"select * from notes\"\nexpect = { denied = true }\n",
    )
    .unwrap();
    p
}

#[test]
fn audit_finds_missing_rls_and_fix_writes_a_migration() {
    let p = notes_project();
    let (json, code) = p.json(&["secure", "audit"]);
    assert_eq!(code, 1, "{json}");
    let checks: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert!(
        checks.contains(&"rls-disabled-in-exposed-schema"),
        "{checks:?}"
    );
    let out = p.run(&["secure", "audit", "--fix"]);
    assert_eq!(out.status.code(), Some(1));
    let fixes: Vec<_> = std::fs::read_dir(p.root().join("migrations"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("secure_fixes"))
        .collect();
    assert_eq!(fixes.len(), 1, "{}", stdout(&out));
    let sql = std::fs::read_to_string(fixes[0].path())
        .unwrap()
        .to_lowercase();
    assert!(sql.contains("enable row level security"), "{sql}");
}

#[test]
fn policy_tests_fail_on_a_leak_and_pass_once_fixed() {
    let p = notes_project();
    // No RLS yet: everyone reads every note (anon too, through Supabase's default grants).
    let (json, code) = p.json(&["secure", "test"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["failed"], 2);
    assert_eq!(json["cases"][0]["passed"], false);
    assert_eq!(json["cases"][1]["passed"], false);
    p.migration(
        "20260102000000",
        "notes_rls",
        "alter table public.notes enable row level security;\n\
         drop policy if exists notes_owner on public.notes;\n\
         create policy notes_owner on public.notes for select to authenticated using (owner = (select auth.uid()));\n",
    );
    let (json, code) = p.json(&["secure", "test"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["passed"], 2);
    let (cov, code) = p.json(&["secure", "coverage"]);
    assert_eq!(code, 0);
    assert!(
        cov["untested"]
            .to_string()
            .contains("authenticated public.notes insert"),
        "{cov}"
    );
    let (why, _) = p.json(&[
        "secure",
        "explain",
        "--as",
        "authenticated",
        "select * from notes",
    ]);
    let kinds = why["reasons"].to_string();
    assert!(
        kinds.contains("uid-null") || kinds.contains("policy-false"),
        "{why}"
    );
}

#[test]
fn tests_refuse_a_protected_environment_without_the_flag() {
    let p = notes_project();
    let url = p.cluster.create_database("prod").unwrap();
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        format!("{toml}\n[environments.prod]\nurl = \"{url}\"\nprotected = true\n"),
    )
    .unwrap();
    let out = p.run(&["secure", "test", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("--i-know-this-is-production"));
}

#[test]
fn pgtap_files_run_without_pg_prove_and_report_failures() {
    let p = notes_project();
    std::fs::create_dir_all(p.root().join("tests/pgtap")).unwrap();
    std::fs::write(
        p.root().join("tests/pgtap/notes.sql"),
        "begin;\nselect plan(2);\nselect has_table('public', 'notes', 'notes exists');\nselect is((select count(*)::int from public.notes), 3, 'three notes');\nselect * from finish();\nrollback;\n",
    )
    .unwrap();
    let (json, code) = p.json(&["test"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["passed"], 1);
    assert_eq!(json["failed"], 1);
    let text = stdout(&p.run(&["test"]));
    assert!(text.contains("not ok 2 - three notes"), "{text}");
}

//! Gaps left in "One consistent CLI": every command that touches a database names it first,
//! every gate override records the person's reason.

use crate::common;

use common::{stderr, stdout, TestProject};

/// A small multi-tenant schema with row-level security, the kind `secure` commands look at.
const PROJECTS_WITH_RLS: &str = "\
create table projects (
    id bigint generated always as identity primary key,
    owner_id uuid not null,
    name text not null
);
alter table projects enable row level security;
create policy projects_owner on projects using (owner_id::text = current_setting('app.user_id', true));
";

fn announces_test_environment(out: &std::process::Output) -> bool {
    stderr(out)
        .lines()
        .any(|l| l.starts_with("→ test (") && !l.contains("password"))
}

#[test]
fn secure_and_test_commands_on_an_environment_name_it_first() {
    let p = TestProject::with_config("\n[lint]\nexposed_schemas = [\"public\"]\n");
    p.migration("20261201000000", "projects", PROJECTS_WITH_RLS);
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::create_dir_all(p.root().join("tests/pgtap")).unwrap();
    std::fs::write(
        p.root().join("tests/pgtap/projects_test.sql"),
        "begin;\nselect plan(1);\nselect has_table('projects');\nselect * from finish();\nrollback;\n",
    )
    .unwrap();
    std::fs::create_dir_all(p.root().join("tests/rls")).unwrap();
    let commands: [&[&str]; 5] = [
        &["secure", "audit", "--env", "test"],
        &["secure", "test", "--env", "test"],
        &["secure", "coverage", "--env", "test"],
        &[
            "secure",
            "explain",
            "--env",
            "test",
            "--as",
            "anon",
            "select * from projects",
        ],
        &["test", "--env", "test"],
    ];
    for args in commands {
        let out = p.run(args);
        assert!(
            announces_test_environment(&out),
            "{args:?} did not name the database first:\n{}",
            stderr(&out)
        );
        // Human output only: JSON stays one document on stdout and nothing extra on stderr.
        let mut json_args = args.to_vec();
        json_args.extend(["--format", "json"]);
        let out = p.run(&json_args);
        assert!(!stderr(&out).contains('→'), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn status_names_its_database_on_stderr_and_keeps_stdout_unchanged() {
    let p = TestProject::new();
    p.migration("20261201000000", "projects", PROJECTS_WITH_RLS);
    let out = p.run(&["status"]);
    assert!(announces_test_environment(&out), "{}", stderr(&out));
    // stdout still starts with the environment's own line, then the table.
    let first = stdout(&out).lines().next().unwrap_or_default().to_string();
    assert!(first.starts_with("test ("), "{}", stdout(&out));
    assert!(!stdout(&out).contains('→'), "{}", stdout(&out));
}

fn recorded_reason(p: &TestProject, event: &str) -> String {
    let events = p.events();
    events
        .iter()
        .rev()
        .find(|(_, e, _)| e == event)
        .and_then(|(_, _, reason)| reason.clone())
        .unwrap_or_else(|| panic!("no {event} event in {events:?}"))
}

#[test]
fn rollback_on_a_protected_environment_records_the_reason_given() {
    let p = TestProject::with_config("protected = true\n");
    p.migration(
        "20261201000000",
        "invoices",
        "create table invoices (id bigint generated always as identity primary key, total_cents bigint not null);\n",
    );
    p.down("20261201000000", "invoices", "drop table invoices;\n");
    let out = p.run(&["migrate", "--yes", "--skip-local-check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let reason = "INC-912: invoices table shipped with the wrong currency column";
    let out = p.run(&["rollback", "--yes", "--reason", reason]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!p.table_exists("invoices"));
    let recorded = recorded_reason(&p, "protected_confirmed");
    assert!(recorded.starts_with(reason), "{recorded}");
    assert!(recorded.contains("--yes"), "{recorded}");
}

#[test]
fn repair_on_a_protected_environment_records_the_reason_with_the_confirmation() {
    let p = TestProject::with_config("protected = true\n");
    let sql = "create table feature_flags (key text primary key, enabled boolean not null default false);\n";
    p.migration("20261201000000", "feature_flags", sql);
    p.client().batch_execute(sql).unwrap();
    let reason = "created by hand in psql during INC-915";
    let out = p.run(&[
        "repair",
        "--mark-applied",
        "20261201000000",
        "--reason",
        reason,
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recorded = recorded_reason(&p, "protected_confirmed");
    assert!(recorded.starts_with(reason), "{recorded}");
    assert!(recorded.contains("--yes"), "{recorded}");
}

#[test]
fn import_into_a_protected_environment_records_the_reason_given() {
    let p = TestProject::with_config("protected = true\n");
    p.client()
        .batch_execute(
            "create table customers (id bigint primary key, email text not null, plan text not null);",
        )
        .unwrap();
    let csv = p.root().join("customers.csv");
    std::fs::write(
        &csv,
        "id,email,plan\n1,ada@example.com,pro\n2,grace@example.com,free\n",
    )
    .unwrap();
    let reason = "backfill of customers lost in the 11-28 restore (INC-920)";
    let out = p.run(&[
        "import",
        csv.to_str().unwrap(),
        "--into",
        "customers",
        "--yes",
        "--reason",
        reason,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recorded = recorded_reason(&p, "imported");
    assert!(recorded.starts_with(reason), "{recorded}");
    assert!(recorded.contains("--yes"), "{recorded}");
}

const CUSTOMERS: &str = "\
create table if not exists customers (
    id bigint generated always as identity primary key,
    email text,
    signed_up_at timestamptz not null default now()
);
";

/// Rows like production's: customers who signed up before email was required.
const LEGACY_CUSTOMERS_FIXTURE: &str = "\
-- dbsage:fixture
-- Customers from the phone-signup era have no email.
insert into customers (email) values ('ada@example.com'), (null), (null);
";

const EMAIL_REQUIRED: &str = "alter table customers alter column email set not null;\n";

#[test]
fn a_fixture_file_in_the_migrations_folder_is_data_for_migrate_local_only() {
    let p = TestProject::new();
    p.migration("20261201000000", "customers", CUSTOMERS);
    p.migration(
        "20261201000100",
        "legacy_customers",
        LEGACY_CUSTOMERS_FIXTURE,
    );
    let required = p.migration("20261201000200", "email_required", EMAIL_REQUIRED);

    // Locally the fixture's NULL emails meet the SET NOT NULL: it fails there, not on staging.
    let out = p.run(&["migrate", "--local"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("20261201000200_email_required.sql"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("23502"), "{}", stderr(&out));

    // The fixture is not a migration: never pending, never applied to an environment.
    let (status, _) = p.json(&["status"]);
    let listed: Vec<String> = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(listed, ["20261201000000", "20261201000200"], "{status}");

    // Fixed the way a team would: backfill, then require. Local passes over the fixture's rows.
    std::fs::write(
        &required,
        format!("update customers set email = 'unknown+' || id || '@example.invalid' where email is null;\n{EMAIL_REQUIRED}"),
    )
    .unwrap();
    let out = p.run(&["migrate", "--local"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(p.history(), vec!["20261201000000", "20261201000200"]);
    let rows: i64 = p
        .client()
        .query_one("select count(*) from customers", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 0, "the fixture's rows reached a real environment");
}

#[test]
fn counts_read_as_english_in_human_output() {
    let p = TestProject::with_config("protected = true\n");
    p.migration(
        "20261201000000",
        "payouts",
        "create table if not exists payouts (id bigint generated always as identity primary key, amount_cents bigint not null);\n",
    );
    // No terminal and no --yes: refused, with the plan printed.
    let out = p.run(&["migrate", "--skip-local-check"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("would apply 1 migration:"), "{err}");
    assert!(err.contains("(transaction, 1 statement; "), "{err}");
    assert!(!err.contains("(s)"), "{err}");

    let out = p.run(&["migrate", "--yes", "--skip-local-check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("applied 1 migration to test"),
        "{}",
        stdout(&out)
    );
    let out = p.run(&["history"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(" events, newest last"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("(s)"), "{}", stdout(&out));
}

//! One consistent CLI: one test per flag rule (report formats, data formats, defaults that make
//! a re-run safe, usage errors).

use crate::common;

use common::{stderr, stdout, TestProject};
use serde_json::Value;

/// The binary in an empty directory: for rules checked before any project or database.
fn dbsage_in_empty_dir(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .args(args)
        .output()
        .unwrap()
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(out), stderr(out)))
}

#[test]
fn a_report_format_the_command_does_not_render_is_a_usage_error_naming_the_supported_ones() {
    let out = dbsage_in_empty_dir(&["status", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("`dbsage status` has no --format sarif: it supports human, json"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());

    let out = dbsage_in_empty_dir(&["migrate", "--format", "github"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // Data formats belong to import/export's --data-format.
    let out = dbsage_in_empty_dir(&["history", "--format", "csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--data-format csv"),
        "{}",
        stderr(&out)
    );
    // lint renders all four: sarif is not refused.
    let out = dbsage_in_empty_dir(&["lint", "--rules", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn lint_explain_with_format_json_gives_json() {
    let out = dbsage_in_empty_dir(&[
        "lint",
        "--explain",
        "foreign-key-without-index",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json_of(&out);
    assert_eq!(doc["id"], "foreign-key-without-index");
    assert!(
        ["error", "warning", "info"].contains(&doc["severity"].as_str().unwrap()),
        "{doc}"
    );
    assert!(!doc["summary"].as_str().unwrap().is_empty(), "{doc}");
    let body = doc["doc"].as_str().unwrap();
    assert!(body.len() > 40, "{doc}");
    assert!(
        !body.starts_with("foreign-key-without-index ("),
        "the heading is in id/severity, not repeated in doc: {doc}"
    );
}

const PEOPLE: &str = "create table people (id bigint primary key, name text not null, city text)";

#[test]
fn import_takes_the_data_format_from_data_format_and_the_report_format_from_format() {
    let p = TestProject::new();
    p.client().batch_execute(PEOPLE).unwrap();
    // A tab-separated export with a neutral extension: neither the name nor a sniff says TSV.
    std::fs::write(
        p.root().join("people.txt"),
        "id\tname\tcity\n1\tAda Lovelace\tLondon\n2\tGrace Hopper\tNew York, NY\n",
    )
    .unwrap();
    let out = p.run(&[
        "import",
        "people.txt",
        "--into",
        "people",
        "--data-format",
        "tsv",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json_of(&out);
    assert_eq!(report["inserted"], 2, "{report}");
    assert_eq!(report["environment"], "test");
    let mut c = p.client();
    let city: String = c
        .query_one("select city from people where id = 2", &[])
        .unwrap()
        .get(0);
    assert_eq!(city, "New York, NY");
}

#[test]
fn import_and_export_keep_the_old_format_spelling_with_a_deprecation_note() {
    let p = TestProject::new();
    p.client().batch_execute(PEOPLE).unwrap();
    let mut child = p
        .cmd()
        .args(["import", "-", "--into", "people", "--format", "ndjson"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"id\": 1, \"name\": \"Ada\", \"city\": \"London\"}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`import --format ndjson` is deprecated")
            && stderr(&out).contains("--data-format ndjson"),
        "{}",
        stderr(&out)
    );

    let out = p.run(&["export", "people", "--format", "tsv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "id\tname\tcity\n1\tAda\tLondon\n");
    assert!(stderr(&out).contains("deprecated"), "{}", stderr(&out));
}

#[test]
fn export_to_a_file_with_format_json_reports_as_json() {
    let p = TestProject::new();
    p.client()
        .batch_execute(&format!(
            "{PEOPLE}; insert into people values (1, 'Ada', 'London'), (2, 'Alan', null)"
        ))
        .unwrap();
    let out = p.run(&[
        "export",
        "people",
        "--to",
        "people.ndjson",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json_of(&out);
    assert_eq!(report["rows"], 2, "{report}");
    assert_eq!(report["data_format"], "ndjson", "{report}");
    assert_eq!(report["file"], "people.ndjson", "{report}");
    let written = std::fs::read_to_string(p.root().join("people.ndjson")).unwrap();
    assert_eq!(written.lines().count(), 2, "{written}");
    assert!(written.starts_with('{'), "{written}");
}

#[test]
fn import_without_key_upserts_on_the_primary_key_so_a_rerun_changes_nothing() {
    let p = TestProject::new();
    p.client().batch_execute(PEOPLE).unwrap();
    std::fs::write(
        p.root().join("people.csv"),
        "id,name,city\n1,Ada,London\n2,Alan,Wilmslow\n3,Grace,Arlington\n",
    )
    .unwrap();
    let import = ["import", "people.csv", "--into", "people"];
    let (first, code) = p.json(&import);
    assert_eq!(code, 0, "{first}");
    assert_eq!(
        (&first["inserted"], &first["mode"], &first["key"]),
        (
            &Value::from(3),
            &Value::from("upsert"),
            &serde_json::json!(["id"])
        ),
        "{first}"
    );
    let (again, code) = p.json(&import);
    assert_eq!(code, 0, "a re-run used to fail on the primary key: {again}");
    assert_eq!(
        (&again["inserted"], &again["updated"], &again["unchanged"]),
        (&Value::from(0), &Value::from(0), &Value::from(3)),
        "{again}"
    );
    // A corrected row is an update, not a duplicate.
    std::fs::write(
        p.root().join("people.csv"),
        "id,name,city\n1,Ada,London\n2,Alan,Manchester\n3,Grace,Arlington\n",
    )
    .unwrap();
    let out = p.run(&import);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .contains("0 inserted, 1 updated, 2 unchanged, 0 rejected; merged (upsert on id)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn import_without_key_into_a_table_without_primary_key_inserts_and_says_so() {
    let p = TestProject::new();
    p.client()
        .batch_execute(
            "create table page_views (path text not null, viewed_at timestamptz not null)",
        )
        .unwrap();
    std::fs::write(
        p.root().join("views.csv"),
        "path,viewed_at\n/,2026-11-30 10:00:00+00\n/pricing,2026-11-30 10:01:00+00\n",
    )
    .unwrap();
    let out = p.run(&["import", "views.csv", "--into", "page_views"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("2 inserted"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("no key to match rows on")
            && stderr(&out).contains("a re-run inserts them again"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&["import", "views.csv", "--into", "page_views"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let count: i64 = p
        .client()
        .query_one("select count(*) from page_views", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 4);
}

#[test]
fn rollback_steps_zero_is_a_usage_error() {
    let out = dbsage_in_empty_dir(&["rollback", "--steps", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("0 rolls nothing back: give 1 or more"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn status_summary_counts_modified_and_missing_migrations() {
    let p = TestProject::new();
    let accounts = p.migration(
        "20261101000000",
        "accounts",
        "create table accounts (id bigint generated always as identity primary key, email text not null);\n",
    );
    let invoices = p.migration(
        "20261102000000",
        "invoices",
        "create table invoices (id bigint generated always as identity primary key, total_cents bigint not null);\n",
    );
    let (r, code) = p.json(&["migrate"]);
    assert_eq!(code, 0, "{r}");
    // Someone edits an applied file, deletes another, and starts a new one.
    std::fs::write(
        &accounts,
        "create table accounts (id bigint generated always as identity primary key, email text not null unique);\n",
    )
    .unwrap();
    std::fs::remove_file(&invoices).unwrap();
    p.migration(
        "20261103000000",
        "notes",
        "create table notes (id bigint generated always as identity primary key, body text);\n",
    );
    let out = p.run(&["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0 applied, 1 pending, 1 modified, 1 missing"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn repair_mark_applied_records_a_file_applied_by_hand_and_audits_why() {
    let p = TestProject::new();
    let sql = "create table feature_flags (key text primary key, enabled boolean not null default false);\n";
    p.migration("20261105000000", "feature_flags", sql);
    // Applied by hand in psql during an incident, before dbsage ever ran here.
    p.client().batch_execute(sql).unwrap();
    let reason = "applied by hand during incident 4711";
    let mark = [
        "repair",
        "--mark-applied",
        "20261105000000",
        "--reason",
        reason,
    ];
    let out = p.run(&mark);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(p.history(), vec!["20261105000000".to_string()]);
    assert!(
        p.events().contains(&(
            Some("20261105000000".into()),
            "marked_applied".into(),
            Some(reason.into())
        )),
        "{:?}",
        p.events()
    );
    // The file is not run again (it would fail: the table exists).
    let (r, code) = p.json(&["migrate"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["applied"], serde_json::json!([]), "{r}");
    // Twice is a usage error, and so is a version without a file.
    let out = p.run(&mark);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("already recorded as applied"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&[
        "repair",
        "--mark-applied",
        "20990101000000",
        "--reason",
        reason,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn migrate_dry_run_sql_prints_the_sql_that_would_run_and_runs_nothing() {
    let p = TestProject::new();
    p.migration(
        "20261110000000",
        "orders",
        "create table orders (id bigint generated always as identity primary key, placed_at timestamptz not null default now());\n",
    );
    let (r, code) = p.json(&["migrate"]);
    assert_eq!(code, 0, "{r}");
    let pending = "alter table orders add column note text;\ncomment on column orders.note is 'free text from the customer';\n";
    p.migration("20261111000000", "order_note", pending);
    let out = p.run(&["migrate", "--dry-run", "--sql"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let script = stdout(&out);
    assert!(
        script.starts_with(
            "-- migrations/20261111000000_order_note.sql (2 statements, in one transaction with its history row)\n"
        ),
        "{script}"
    );
    assert!(script.contains(pending), "{script}");
    assert!(
        !script.contains("create table orders"),
        "applied files are not shown: {script}"
    );
    assert_eq!(p.history(), vec!["20261110000000".to_string()]);
    // --sql only makes sense with --dry-run.
    let out = p.run(&["migrate", "--sql"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn dry_run_counts_one_statement_in_the_singular() {
    let p = TestProject::new();
    p.migration(
        "20261112000000",
        "tags",
        "create table tags (id bigint generated always as identity primary key, label text not null);\n",
    );
    let out = p.run(&["migrate", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("20261112000000_tags (1 statement)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn status_all_shows_every_environment_and_an_unreachable_one_as_such() {
    // Port 1 refuses connections: staging is configured but down.
    let p = TestProject::with_config(
        "\n[environments.staging]\nurl = \"postgres://deploy:s3cret-Pw@127.0.0.1:1/app\"\n",
    );
    p.migration(
        "20261120000000",
        "teams",
        "create table teams (id bigint generated always as identity primary key, name text not null);\n",
    );
    p.migration(
        "20261121000000",
        "team_slug",
        "alter table teams add column slug text;\n",
    );
    let (r, code) = p.json(&["migrate", "--to", "20261120000000"]);
    assert_eq!(code, 0, "{r}");

    let (all, code) = p.json(&["status", "--all"]);
    assert_eq!(code, 0, "an unreachable environment is not fatal: {all}");
    let envs = all["environments"].as_array().unwrap();
    let test = envs.iter().find(|e| e["name"] == "test").unwrap();
    assert_eq!(test["reachable"], true, "{all}");
    assert_eq!(
        (&test["counts"]["applied"], &test["counts"]["pending"]),
        (&Value::from(1), &Value::from(1)),
        "{all}"
    );
    assert_eq!(test["newest_applied"], "20261120000000");
    // The server's version beside each reachable environment, and the local clusters' one.
    let server_version = test["server_version"].as_str().unwrap().to_string();
    assert!(
        server_version
            .split('.')
            .next()
            .unwrap()
            .parse::<u32>()
            .is_ok(),
        "{all}"
    );
    assert!(all["local_pg_version"].is_object(), "{all}");
    let staging = envs.iter().find(|e| e["name"] == "staging").unwrap();
    assert_eq!(staging["reachable"], false, "{all}");
    assert!(!staging["error"].as_str().unwrap().is_empty(), "{all}");

    let out = p.run(&["status", "--all"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("unreachable"), "{table}");
    assert!(table.contains(&server_version), "{table}");
    assert!(table.contains("local PostgreSQL"), "{table}");
    assert!(
        table.contains("staging") && table.contains("test"),
        "{table}"
    );
    assert!(
        !table.contains("s3cret-Pw"),
        "the password is never shown: {table}"
    );
}

#[test]
fn psql_runs_sql_on_the_environment_and_says_which_database_first() {
    let p = TestProject::new();
    let out = p.run(&[
        "psql",
        "-c",
        "select 'plain ' || current_setting('default_transaction_read_only')",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("plain off"), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.starts_with("→ test ("), "{err}");
    // The per-cluster password never shows, neither in the announcement nor elsewhere.
    let password = p.cluster.url("postgres");
    let password = password
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, pw)| pw.to_string())
        .unwrap();
    assert!(!err.contains(&password) && !stdout(&out).contains(&password));
    // psql's failure is the exit code.
    let out = p.run(&["psql", "-c", "select * from no_such_table"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("no_such_table"), "{}", stderr(&out));
}

#[test]
fn psql_on_a_protected_database_is_read_only_unless_write_passes_the_gate() {
    let p = TestProject::with_config("protected = true\n");
    let create = "create table audit_notes (id int)";
    let out = p.run(&["psql", "-c", create]);
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("psql opens read-only"), "{err}");
    assert!(err.contains("read-only transaction"), "{err}");
    assert!(!p.table_exists("audit_notes"));

    let out = p.run(&["psql", "--write", "--yes", "-c", create]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(p.table_exists("audit_notes"));
    assert!(
        p.events().iter().any(|(_, event, _)| event == "psql_write"),
        "{:?}",
        p.events()
    );
}

#[test]
fn commands_that_touch_a_database_name_it_on_stderr_first() {
    let p = TestProject::new();
    p.migration(
        "20261125000000",
        "labels",
        "create table labels (id bigint generated always as identity primary key, name text);\n",
    );
    p.down("20261125000000", "labels", "drop table labels;\n");
    for args in [
        &["migrate"][..],
        &["history"],
        &["rollback", "--steps", "1"],
    ] {
        let out = p.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with("→ test ("),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            !stdout(&out).contains('→'),
            "stdout stays scriptable: {}",
            stdout(&out)
        );
    }
    // JSON output stays quiet on stderr.
    let out = p.run(&["history", "--format", "json"]);
    assert!(!stderr(&out).contains('→'), "{}", stderr(&out));
}

#[test]
fn migrating_a_non_dev_environment_shows_the_pending_files_lint_findings_without_blocking() {
    let p = TestProject::new();
    p.migration(
        "20261126000000",
        "sessions",
        "create table if not exists sessions (id bigint generated always as identity primary key, token text not null);\n",
    );
    let (r, code) = p.json(&["migrate"]);
    assert_eq!(code, 0, "{r}");
    p.migration("20261127000000", "drop_sessions", "drop table sessions;\n");
    let out = p.run(&["migrate"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "not protected: findings do not block: {}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(err.contains("destructive-statement"), "{err}");
    assert!(err.contains("20261127000000_drop_sessions.sql"), "{err}");
    assert!(
        !err.contains("20261126000000_sessions.sql:"),
        "applied files are not reported again: {err}"
    );
    assert!(
        err.contains("`test` is not protected, so they do not block"),
        "{err}"
    );
    assert!(!p.table_exists("sessions"));
}

#[test]
fn history_problems_on_the_dev_database_suggest_dev_reset_first() {
    let p = TestProject::new();
    let file = p.migration(
        "20261128000000",
        "widgets",
        "create table if not exists widgets (id bigint generated always as identity primary key, name text);\n",
    );
    let out = p.run(&["migrate", "--env", "dev"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::write(
        &file,
        "create table if not exists widgets (id bigint generated always as identity primary key, name text not null);\n",
    )
    .unwrap();
    let dev = p.run(&["migrate", "--env", "dev"]);
    // The same edit on a shared database gets no such advice.
    let shared = {
        assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
        std::fs::write(
            &file,
            "create table if not exists widgets (id bigint generated always as identity primary key, name text);\n",
        )
        .unwrap();
        p.run(&["migrate"])
    };
    assert_eq!(p.run(&["dev", "stop"]).status.code(), Some(0));
    assert_eq!(dev.status.code(), Some(1), "{}", stderr(&dev));
    assert!(
        stderr(&dev).contains("this is the dev database: `dbsage dev reset` rebuilds it"),
        "{}",
        stderr(&dev)
    );
    assert_eq!(shared.status.code(), Some(1), "{}", stderr(&shared));
    assert!(
        !stderr(&shared).contains("dev reset"),
        "{}",
        stderr(&shared)
    );
}

#[test]
fn gate_overrides_record_the_reason_given() {
    let p = TestProject::with_config("protected = true\n");
    p.migration(
        "20261129000000",
        "refunds",
        "create table if not exists refunds (id bigint generated always as identity primary key, amount_cents bigint not null);\n",
    );
    let reason = "hotfix approved in INC-77, local run skipped for time";
    let out = p.run(&["migrate", "--yes", "--skip-local-check", "--reason", reason]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let events = p.events();
    let skipped = events
        .iter()
        .find(|(_, event, _)| event == "local_check_skipped")
        .unwrap_or_else(|| panic!("{events:?}"));
    let recorded = skipped.2.as_deref().unwrap_or_default();
    assert!(recorded.starts_with(reason), "{recorded}");
    assert!(recorded.contains("--skip-local-check"), "{recorded}");
}

#[test]
fn lint_paths_are_relative_to_the_current_directory_and_annotations_to_the_repository() {
    // A repository whose dbsage project lives in db/, linted from db/scripts/.
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir(repo.path().join(".git")).unwrap();
    let project = repo.path().join("db");
    std::fs::create_dir_all(project.join("migrations")).unwrap();
    std::fs::create_dir_all(project.join("scripts")).unwrap();
    std::fs::write(
        project.join("dbsage.toml"),
        "[migrate]\ndefault_environment = \"dev\"\n",
    )
    .unwrap();
    std::fs::write(
        project.join("migrations/20261130000000_invoices.sql"),
        "create table invoices (id int);\n",
    )
    .unwrap();
    let lint = |format: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
            .current_dir(project.join("scripts"))
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .args(["lint", "--format", format])
            .output()
            .unwrap()
    };
    let human = stdout(&lint("human"));
    assert!(
        human.contains("--> ../migrations/20261130000000_invoices.sql:1:1"),
        "{human}"
    );
    let json = json_of(&lint("json"));
    let files: Vec<&str> = json
        .as_array()
        .unwrap_or_else(|| json["findings"].as_array().unwrap())
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert!(!files.is_empty(), "{json}");
    assert!(
        files
            .iter()
            .all(|f| *f == "../migrations/20261130000000_invoices.sql"),
        "{files:?}"
    );
    let github = stdout(&lint("github"));
    assert!(
        github.contains("file=db/migrations/20261130000000_invoices.sql,line=1"),
        "{github}"
    );
    assert!(
        !github.contains(&*repo.path().to_string_lossy()),
        "{github}"
    );
}

#[test]
fn init_in_a_project_with_migrations_suggests_testing_them_and_says_it_updated_gitignore() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".gitignore"), "target/\nnode_modules/\n").unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    for (name, sql) in [
        ("20261001000000_customers.sql", "create table if not exists customers (id bigint primary key);\n"),
        ("20261002000000_orders.sql", "create table if not exists orders (id bigint primary key, customer_id bigint references customers);\n"),
    ] {
        std::fs::write(dir.path().join("migrations").join(name), sql).unwrap();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .args(["init", "--no-check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("Updated .gitignore ("), "{err}");
    assert!(!err.contains("Created .gitignore"), "{err}");
    assert!(
        stdout(&out).contains("next: `dbsage migrate --local` tests its 2 migrations"),
        "{}",
        stdout(&out)
    );
    assert!(std::fs::read_to_string(dir.path().join(".gitignore"))
        .unwrap()
        .starts_with("target/\nnode_modules/\n"));
}

#[test]
fn an_empty_migration_file_is_a_warning() {
    let p = TestProject::new();
    p.migration(
        "20261201000000",
        "add_billing_address",
        "-- TODO: add billing_address to customers\n\n",
    );
    let out = p.run(&["migrate", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let warning = "migrations/20261201000000_add_billing_address.sql is empty";
    assert!(stderr(&out).contains(warning), "{}", stderr(&out));
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains(warning), "{}", stderr(&out));
    // A file with SQL gets no such warning.
    p.migration(
        "20261202000000",
        "notes",
        "create table if not exists notes (id bigint primary key);\n",
    );
    let out = p.run(&["migrate"]);
    assert!(!stderr(&out).contains("is empty"), "{}", stderr(&out));
}

#[test]
fn local_fixtures_after_a_version_make_a_set_not_null_over_null_rows_fail_locally() {
    let p = TestProject::new();
    p.migration(
        "20261203000000",
        "customers",
        "create table if not exists customers (id bigint primary key, email text);\ncomment on table customers is 'people who buy';\n",
    );
    p.migration(
        "20261204000000",
        "customers_email_required",
        "alter table customers alter column email set not null;\n",
    );
    // Without data the tightening passes: an empty table has no NULL email.
    let out = p.run(&["migrate", "--local"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );

    std::fs::create_dir_all(p.root().join("tests")).unwrap();
    std::fs::write(
        p.root().join("tests/customers.sql"),
        "insert into customers (id, email) values (1, 'ada@example.com');\ninsert into customers (id, email) values (2, null);\n",
    )
    .unwrap();
    let config = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        format!("{config}\n[local]\nfixtures = [\"tests/customers.sql\"]\nfixtures_after = \"20261203000000\"\n"),
    )
    .unwrap();
    let out = p.run(&["migrate", "--local"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("20261204000000_customers_email_required.sql:1"),
        "{err}"
    );
    assert!(err.contains("23502"), "not null violation expected: {err}");

    // A version that names no file is a configuration error.
    std::fs::write(
        p.root().join("dbsage.toml"),
        format!("{config}\n[local]\nfixtures = [\"tests/customers.sql\"]\nfixtures_after = \"20990101000000\"\n"),
    )
    .unwrap();
    let out = p.run(&["migrate", "--local"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not the version of any migration file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn rollback_guidance_puts_no_heading_over_an_empty_list() {
    let p = TestProject::new();
    p.migration(
        "20261205000000",
        "plans",
        "create table if not exists plans (id bigint primary key, name text);\n",
    );
    p.down("20261205000000", "plans", "drop table if exists plans;\n");
    p.migration(
        "20261206000000",
        "seed_plans",
        "insert into plans (id, name) values (1, 'free'), (2, 'team');\n",
    );
    let (r, code) = p.json(&["migrate"]);
    assert_eq!(code, 0, "{r}");
    let out = p.run(&["rollback"]);
    let text = stdout(&out);
    assert!(
        text.contains("20261206000000_seed_plans has no down file, and no reverse statement could be derived from it."),
        "{text}"
    );
    assert!(
        !text.contains("Reverse statements derived from the migration:"),
        "{text}"
    );
    assert!(text.contains("Cannot be reversed automatically:"), "{text}");
}

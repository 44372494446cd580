//! Extensions, server settings and pgTAP the Supabase way, through the binary: a Supabase
//! project's pgTAP suite under revoked default privileges with `[test] setup`, a pg_cron
//! project, `[local] server_settings`, an extension the machine lacks, `pgrst.db_schemas`.

use crate::common;

use std::path::Path;

use common::{stderr, stdout, TestProject};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/extpgtap")
        .join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A project made of a fixture's files, with `extra` appended to dbsage.toml.
fn project(name: &str, extra: &str) -> TestProject {
    let p = TestProject::with_config(extra);
    copy_dir(&fixture(name), p.root());
    p
}

const TEAMNOTES: &str = "\n[migrations]\ndir = \"supabase/migrations\"\nlayout = \"supabase\"\n\n[test]\nsetup = [\"supabase/tests/setup.sql\"]\n";

fn require(control: &str, package: &str) {
    assert!(
        Path::new(&format!(
            "/usr/share/postgresql/15/extension/{control}.control"
        ))
        .exists(),
        "{control} is not installed: apt-get install -y {package}"
    );
}

#[test]
fn supabase_pgtap_suite_passes_under_revoked_default_execute() {
    require("pgtap", "postgresql-15-pgtap");
    let p = project("teamnotes", TEAMNOTES);
    let (json, code) = p.json(&["test"]);
    assert_eq!(code, 0, "{json:#}");
    let files = json["files"].as_array().unwrap();
    // setup.sql sits in supabase/tests but is not a test file.
    assert_eq!(files.len(), 4, "{json:#}");
    assert!(files
        .iter()
        .all(|f| !f["path"].as_str().unwrap().ends_with("setup.sql")));
    assert_eq!(json["files_passed"], 4);
    assert_eq!(json["files_failed"], 0);
    assert_eq!(json["passed"], 14);
    assert_eq!(json["failed"], 0);

    let out = p.run(&["test"]);
    let text = stdout(&out);
    assert!(
        text.contains("4 files: 4 ok, 0 failed; 14 assertions passed, 0 failed"),
        "{text}"
    );
}

#[test]
fn summary_counts_a_file_that_errors_as_failed() {
    require("pgtap", "postgresql-15-pgtap");
    let p = project("teamnotes", TEAMNOTES);
    std::fs::write(
        p.root().join("supabase/tests/04_reports_test.sql"),
        "begin;\nselect plan(2);\nselect ok(true, 'reports load');\nselect count(*) from public.reports;\nselect ok(true, 'never reached');\nselect * from finish();\nrollback;\n",
    )
    .unwrap();
    let out = p.run(&["test"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("5 files: 4 ok, 1 failed; 15 assertions passed, 0 failed"),
        "{text}"
    );
    assert!(text.contains("04_reports_test.sql .. FAILED"), "{text}");
    assert!(text.contains("line 4:"), "{text}");
}

#[test]
fn a_failing_setup_file_is_located() {
    require("pgtap", "postgresql-15-pgtap");
    let p = project("teamnotes", TEAMNOTES);
    std::fs::write(
        p.root().join("supabase/tests/setup.sql"),
        "create schema if not exists tests;\n\ncreate function tests.broken() returns int\n  language sql as $$ select 1 $$;\nselect tests.missing_helper();\n",
    )
    .unwrap();
    let out = p.run(&["test"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("setup.sql:5:8"), "{err}");
    assert!(err.contains("tests.missing_helper"), "{err}");
}

#[test]
fn pg_cron_migrations_replay_with_the_library_preloaded() {
    require("pg_cron", "postgresql-15-cron");
    let p = project("cron_jobs", "");
    let out = p.run(&["migrate", "--local"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    // `dbsage test` replays on its own throwaway cluster, preloaded the same way.
    std::fs::create_dir_all(p.root().join("tests/pgtap")).unwrap();
    std::fs::write(
        p.root().join("tests/pgtap/jobs.sql"),
        "begin;\nselect plan(2);\nselect is((select count(*)::int from cron.job where jobname = 'purge-expired-sessions'), 1, 'the purge is scheduled');\nselect is((select database from cron.job where jobname = 'purge-expired-sessions'), 'postgres', 'in the migrated database');\nselect * from finish();\nrollback;\n",
    )
    .unwrap();
    let (json, code) = p.json(&["test"]);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["passed"], 2);
}

#[test]
fn local_server_settings_reach_the_throwaway_cluster() {
    let p = TestProject::with_config(
        "\n[local]\nserver_settings = { work_mem = \"12MB\", \"auto_explain.log_min_duration\" = 250, jit = false }\n",
    );
    p.migration(
        "20240601000000",
        "needs_settings",
        "do $$\nbegin\n  if current_setting('work_mem') <> '12MB' or current_setting('jit') <> 'off' then\n    raise exception 'server settings not applied: work_mem=%, jit=%', current_setting('work_mem'), current_setting('jit');\n  end if;\nend\n$$;\n",
    );
    let out = p.run(&["migrate", "--local"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );

    let bad = TestProject::with_config("\n[local]\nserver_settings = { work_mem = [\"12MB\"] }\n");
    let out = bad.run(&["migrate", "--local"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("local.server_settings.work_mem"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_extension_fails_with_file_line_package_and_route() {
    assert!(
        !Path::new("/usr/share/postgresql/15/extension/vector.control").exists(),
        "pgvector is installed here: this test needs an extension the machine lacks"
    );
    let p = project("vector_search", "");
    let out = p.run(&["migrate", "--local"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("20240502120100_embeddings.sql:4:1"), "{err}");
    assert!(
        err.contains("extension \"vector\" is not available"),
        "{err}"
    );
    assert!(err.contains("postgresql-15-pgvector"), "{err}");
    assert!(err.contains("DBSAGE_PG_BIN"), "{err}");
    // citext (line 2) is part of the server: not the one reported.
    let headline = err.lines().next().unwrap();
    assert!(
        headline.contains("vector") && !headline.contains("citext"),
        "{err}"
    );
}

#[test]
fn pgrst_db_schemas_defaults_to_supabases_exposed_schemas() {
    require("pgtap", "postgresql-15-pgtap");
    let p = TestProject::with_config("\n[migrations]\ndir = \"supabase/migrations\"\n");
    std::fs::create_dir_all(p.root().join("supabase/migrations")).unwrap();
    std::fs::create_dir_all(p.root().join("supabase/tests")).unwrap();
    std::fs::write(
        p.root().join("supabase/config.toml"),
        "project_id = \"plain\"\n\n[api]\nport = 54321\n",
    )
    .unwrap();
    std::fs::write(
        p.root().join("supabase/tests/settings_test.sql"),
        "begin;\nselect plan(1);\nselect is(current_setting('pgrst.db_schemas'), 'public,graphql_public', 'Supabase''s default exposed schemas');\nselect * from finish();\nrollback;\n",
    )
    .unwrap();
    let (json, code) = p.json(&["test"]);
    assert_eq!(code, 0, "{json:#}");
}

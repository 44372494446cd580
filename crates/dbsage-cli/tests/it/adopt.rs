//! Supabase projects and adopted layouts through the binary.

use crate::common;

use common::{stderr, TestProject};

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The example Supabase project, copied into a test project whose default environment is the
/// test cluster.
fn supabase_example(p: &TestProject) {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/supabase-saas");
    copy_dir(&example.join("supabase"), &p.root().join("supabase"));
    copy_dir(&example.join("tests"), &p.root().join("tests"));
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        toml.replace(
            "[migrate]\n",
            "[migrations]\ndir = \"supabase/migrations\"\nseed = \"supabase/seed.sql\"\n\n[migrate]\n",
        ),
    )
    .unwrap();
}

#[test]
fn supabase_example_passes_locally_and_keeps_supabase_history() {
    let p = TestProject::new();
    supabase_example(&p);
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["applied"].as_array().unwrap().len(), 3);
    assert_eq!(json["checks"]["lint"]["status"], "passed", "{json}");
    // A real Supabase database has the auth schema; the test cluster gets the layer by hand.
    let mut c = p.client();
    dbsage_supabase::install_compat(&mut c).unwrap();
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = c
        .query(
            "select version, name, cardinality(statements) from supabase_migrations.schema_migrations order by version",
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].get::<_, String>(1), "accounts");
    assert!(rows[0].get::<_, i32>(2) > 3);
}

#[test]
fn adopting_a_dbmate_project_imports_its_history() {
    let p = TestProject::new();
    std::fs::remove_file(p.root().join("dbsage.toml")).unwrap();
    std::fs::create_dir_all(p.root().join("db/migrations")).unwrap();
    std::fs::write(
        p.root().join("db/migrations/20240101000000_create_t.sql"),
        "-- migrate:up\ncreate table if not exists t (id int primary key);\n\n-- migrate:down\ndrop table t;\n",
    )
    .unwrap();
    std::fs::write(
        p.root().join("db/migrations/20240102000000_add_name.sql"),
        "-- migrate:up\nalter table t add column if not exists name text;\n-- migrate:down\nalter table t drop column name;\n",
    )
    .unwrap();
    // dbmate already applied the first one on this database.
    p.client()
        .batch_execute(
            "create table t (id int primary key);
             create table schema_migrations (version varchar(128) primary key);
             insert into schema_migrations values ('20240101000000');",
        )
        .unwrap();
    let (json, code) = p.json(&["init", "--adopt", "--no-check"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["adopted"]["layout"], "dbmate");
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        format!(
            "{}\n[environments.test]\nurl = \"{}\"\n",
            toml.replace(
                "default_environment = \"dev\"",
                "default_environment = \"test\""
            ),
            p.cluster.url("postgres")
        ),
    )
    .unwrap();
    let (json, code) = p.json(&["migrate"]);
    assert_eq!(code, 0, "{json}");
    let applied: Vec<&str> = json["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        applied,
        ["20240102000000"],
        "the migration dbmate applied must not run again"
    );
    assert_eq!(p.history(), ["20240101000000", "20240102000000"]);
    assert!(p.events().iter().any(|e| e.1 == "adopted"));
    // Rollback uses dbmate's down section.
    let (json, code) = p.json(&["rollback"]);
    assert_eq!(code, 0, "{json}");
    let has_name: bool = p
        .client()
        .query_one("select exists (select 1 from information_schema.columns where table_name = 't' and column_name = 'name')", &[])
        .unwrap()
        .get(0);
    assert!(!has_name);
}

#[test]
fn adopt_without_a_known_layout_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
        .current_dir(dir.path())
        .args(["init", "--adopt", "--no-check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(
        "no Supabase, sqlx, dbmate, Flyway, Prisma, Drizzle, diesel or golang-migrate layout"
    ));
}

#[test]
fn versions_the_other_tool_recorded_without_a_file_are_reported_missing() {
    let p = TestProject::new();
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        format!("{toml}\n[supabase]\nenabled = true\n"),
    )
    .unwrap();
    p.migration(
        "20240101000000",
        "one",
        "create table if not exists one (id int);\n",
    );
    let mut c = p.client();
    dbsage_supabase::install_compat(&mut c).unwrap();
    c.batch_execute(
        "insert into supabase_migrations.schema_migrations (version, name) values ('20240101000000', 'one'), ('20231201000000', 'made_in_the_dashboard');
         create table one (id int);",
    )
    .unwrap();
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "20231201000000_made_in_the_dashboard is recorded as applied but its file is missing"
        ),
        "{}",
        stderr(&out)
    );
    let (status, _) = p.json(&["status"]);
    let states: Vec<(&str, &str)> = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["version"].as_str().unwrap(), m["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [("20231201000000", "missing"), ("20240101000000", "applied")]
    );
}

//! Adopted layouts through the binary: each fixture project under `tests/fixtures/layouts/`
//! adopted with `init --adopt`, its history imported, `status` before the first migrate, and the
//! other tool's history kept in step.

use crate::common;

use common::layouts::adopt;
use common::{stderr, TestProject};
use serde_json::Value;

fn applied_versions(json: &Value) -> Vec<String> {
    json["applied"]
        .as_array()
        .unwrap_or_else(|| panic!("no `applied` in {json}"))
        .iter()
        .map(|a| a["version"].as_str().unwrap().to_string())
        .collect()
}

fn states(status: &Value) -> Vec<(String, String)> {
    status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["version"].as_str().unwrap().to_string(),
                m["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn supabase_file_names_follow_the_cli_rule_and_skipped_files_are_noted() {
    let (p, adopted) = adopt("supabase");
    assert_eq!(adopted["layout"], "supabase");
    let out = p.run(&["migrate", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        applied_versions(&json),
        ["20231207111703", "20240105093000"]
    );
    assert_eq!(
        json["applied"][0]["name"], "langchain@embedding_search-1.1.1",
        "{json}"
    );
    let err = stderr(&out);
    assert_eq!(
        err.matches("create_scratch_table.sql").count(),
        1,
        "the skipped file is noted once: {err}"
    );
    assert!(
        err.contains("ignoring 1 file in") && err.contains("Supabase CLI skips too"),
        "{err}"
    );
    assert!(
        !p.table_exists("public.scratch"),
        "a skipped file never runs"
    );
    assert!(p.table_exists("public.recipes"));
}

#[test]
fn prisma_status_before_the_first_migrate_shows_what_prisma_applied() {
    let (p, adopted) = adopt("prisma");
    assert_eq!(adopted["layout"], "prisma");
    assert_eq!(adopted["migrations_dir"], "prisma/migrations");
    prisma_applied_init(&p);
    let (status, code) = p.json(&["status"]);
    assert_eq!(code, 0, "{status}");
    assert_eq!(
        states(&status),
        [
            ("20240110083000".to_string(), "applied".to_string()),
            ("20240112140000".to_string(), "pending".to_string()),
            ("20240115091500".to_string(), "pending".to_string()),
        ]
    );
    assert!(
        status["migrations"][0]["applied_by"]
            .as_str()
            .unwrap()
            .starts_with("Prisma"),
        "{status}"
    );
    assert!(
        !p.table_exists("dbsage.schema_migrations"),
        "status only reads: the import happens on migrate"
    );
}

/// The database as `prisma migrate deploy` leaves it after the first migration, plus a failed
/// and rolled-back attempt at the second one (Prisma keeps such rows).
fn prisma_applied_init(p: &TestProject) {
    let init = std::fs::read_to_string(
        p.root()
            .join("prisma/migrations/20240110083000_init/migration.sql"),
    )
    .unwrap();
    let mut c = p.client();
    c.batch_execute(&init).unwrap();
    c.batch_execute(
        "CREATE TABLE _prisma_migrations (
            id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL,
            finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL, logs TEXT,
            rolled_back_at TIMESTAMPTZ, started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            applied_steps_count INTEGER NOT NULL DEFAULT 0);",
    )
    .unwrap();
    c.execute(
        "insert into _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)
         values (gen_random_uuid()::text, encode(sha256(convert_to($1, 'UTF8')), 'hex'), now(), '20240110083000_init', 1),
                (gen_random_uuid()::text, 'x', null, '20240112140000_add_posts', 0)",
        &[&init],
    )
    .unwrap();
    c.execute(
        "update _prisma_migrations set rolled_back_at = now() where finished_at is null",
        &[],
    )
    .unwrap();
}

#[test]
fn prisma_history_is_imported_and_kept_in_step() {
    let (p, _) = adopt("prisma");
    prisma_applied_init(&p);
    let (json, code) = p.json(&["migrate"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        applied_versions(&json),
        ["20240112140000", "20240115091500"],
        "what Prisma applied must not run again"
    );
    assert_eq!(json["applied"][0]["no_transaction"], false);
    assert_eq!(
        json["applied"][1]["no_transaction"], true,
        "a lone CREATE INDEX CONCURRENTLY runs outside a transaction, as under Prisma"
    );
    let mut c = p.client();
    let valid: bool = c
        .query_one(
            "select indisvalid from pg_index where indexrelid = '\"Post_authorId_idx\"'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(valid);
    // Prisma sees both migrations as applied, with the checksums it would compute itself.
    let rows = c
        .query(
            "select migration_name, checksum, finished_at is not null, applied_steps_count
             from _prisma_migrations where rolled_back_at is null order by migration_name",
            &[],
        )
        .unwrap();
    let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(
        names,
        [
            "20240110083000_init",
            "20240112140000_add_posts",
            "20240115091500_posts_author_index"
        ]
    );
    for (row, folder) in rows.iter().zip(&names) {
        let text = std::fs::read_to_string(
            p.root()
                .join("prisma/migrations")
                .join(folder)
                .join("migration.sql"),
        )
        .unwrap();
        let expected: String = c
            .query_one(
                "select encode(sha256(convert_to($1, 'UTF8')), 'hex')",
                &[&text],
            )
            .unwrap()
            .get(0);
        assert_eq!(row.get::<_, String>(1), expected, "{folder}");
        assert!(row.get::<_, bool>(2));
        assert_eq!(row.get::<_, i32>(3), 1);
    }
    assert_eq!(
        p.history(),
        ["20240110083000", "20240112140000", "20240115091500"]
    );
}

#[test]
fn golang_migrate_history_is_imported_and_kept_in_step() {
    let (p, adopted) = adopt("golang-migrate");
    assert_eq!(adopted["layout"], "golang-migrate");
    assert_eq!(adopted["migrations_dir"], "db/migrations");
    let first =
        std::fs::read_to_string(p.root().join("db/migrations/000001_create_accounts.up.sql"))
            .unwrap();
    let mut c = p.client();
    c.batch_execute(&first).unwrap();
    c.batch_execute(
        "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
         INSERT INTO schema_migrations VALUES (1, false);",
    )
    .unwrap();
    let (status, _) = p.json(&["status"]);
    assert_eq!(
        states(&status),
        [
            ("000001".to_string(), "applied".to_string()),
            ("000002".to_string(), "pending".to_string()),
            ("000003".to_string(), "pending".to_string()),
        ]
    );
    let (json, code) = p.json(&["migrate"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(applied_versions(&json), ["000002", "000003"]);
    let rows: Vec<(i64, bool)> = c
        .query("select version, dirty from schema_migrations", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rows,
        [(3, false)],
        "golang-migrate's single row holds the newest version"
    );
}

#[test]
fn golang_migrate_dirty_version_is_refused() {
    let (p, _) = adopt("golang-migrate");
    p.client()
        .batch_execute(
            "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
             INSERT INTO schema_migrations VALUES (2, true);",
        )
        .unwrap();
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("version 2 dirty") && err.contains("migrate force 2"),
        "{err}"
    );
    assert!(!p.table_exists("accounts"), "nothing ran");
    let out = p.run(&["status"]);
    assert_ne!(out.status.code(), Some(0), "status says it too");
    assert!(stderr(&out).contains("dirty"), "{}", stderr(&out));
}

#[test]
fn diesel_history_is_imported_and_kept_in_step() {
    let (p, adopted) = adopt("diesel");
    assert_eq!(adopted["layout"], "diesel");
    let setup = std::fs::read_to_string(
        p.root()
            .join("migrations/00000000000000_diesel_initial_setup/up.sql"),
    )
    .unwrap();
    let mut c = p.client();
    c.batch_execute(&setup).unwrap();
    c.batch_execute(
        "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
         INSERT INTO __diesel_schema_migrations (version) VALUES ('00000000000000');",
    )
    .unwrap();
    let (json, code) = p.json(&["migrate"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        applied_versions(&json),
        ["20240201101500", "20240203120000"]
    );
    let versions: Vec<String> = c
        .query(
            "select version from __diesel_schema_migrations order by version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        versions,
        ["00000000000000", "20240201101500", "20240203120000"]
    );
    // The diesel trigger from the initial setup is in place on the new table.
    assert!(c
        .query_one(
            "select 1 from pg_trigger where tgname = 'set_updated_at' and tgrelid = 'books'::regclass",
            &[],
        )
        .is_ok());
    // down.sql is the down file.
    let (json, code) = p.json(&["rollback"]);
    assert_eq!(code, 0, "{json}");
    let has_isbn: bool = c
        .query_one(
            "select exists (select 1 from information_schema.columns where table_name = 'books' and column_name = 'isbn')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!has_isbn);
}

#[test]
fn drizzle_history_is_imported_and_kept_in_step() {
    let (p, adopted) = adopt("drizzle");
    assert_eq!(adopted["layout"], "drizzle");
    assert_eq!(adopted["migrations_dir"], "drizzle");
    // drizzle's migrator applied the first entry.
    let first = std::fs::read_to_string(p.root().join("drizzle/0000_brave_sentinel.sql")).unwrap();
    let mut c = p.client();
    c.batch_execute(&first).unwrap();
    c.batch_execute(
        "create schema drizzle;
         create table drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint);",
    )
    .unwrap();
    c.execute(
        "insert into drizzle.__drizzle_migrations (hash, created_at) values (encode(sha256(convert_to($1, 'UTF8')), 'hex'), 1714470000000)",
        &[&first],
    )
    .unwrap();
    let (status, _) = p.json(&["status"]);
    assert_eq!(
        states(&status),
        [
            ("1714470000000".to_string(), "applied".to_string()),
            ("1715079600000".to_string(), "pending".to_string()),
            ("1716289200000".to_string(), "pending".to_string()),
        ]
    );
    let out = p.run(&["migrate", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(applied_versions(&json), ["1715079600000", "1716289200000"]);
    assert!(
        stderr(&out).contains("scratch_backfill.sql"),
        "{}",
        stderr(&out)
    );
    let created: Vec<i64> = c
        .query(
            "select created_at from drizzle.__drizzle_migrations order by id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(created, [1714470000000, 1715079600000, 1716289200000]);
    let role: String = c
        .query_one(
            "select column_default from information_schema.columns where table_name = 'members' and column_name = 'role'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(role.contains("viewer"), "{role}");
}

fn audit_setting(c: &mut postgres::Client, migration: &str) -> Option<String> {
    c.query_one(
        "select nullif(setting, '') from public.audit_settings where migration = $1",
        &[&migration],
    )
    .unwrap()
    .get(0)
}

#[test]
fn adopted_file_with_its_own_begin_end_runs_as_the_tool_runs_it() {
    let (p, _) = adopt("supabase-begin-end");
    let out = p.run(&["migrate", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        applied_versions(&json),
        ["20240301090000", "20240302100000"]
    );
    assert_eq!(json["applied"][1]["no_transaction"], true, "{json}");
    let err = stderr(&out);
    assert!(
        err.contains("warning:")
            && err.contains("BEGIN/COMMIT of their own")
            && err.contains("20240302100000_backfill_status.sql"),
        "{err}"
    );
    // set_config(…, true) lasted until the file's own END, not to the end of the file.
    let mut c = p.client();
    assert_eq!(audit_setting(&mut c, "inside").as_deref(), Some("running"));
    assert_eq!(audit_setting(&mut c, "after"), None);
    // The history rows were written afterwards, in both dbsage's and the Supabase CLI's table.
    assert_eq!(p.history(), ["20240301090000", "20240302100000"]);
    let recorded: i64 = c
        .query_one(
            "select count(*) from supabase_migrations.schema_migrations",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(recorded, 2);
}

#[test]
fn dbsage_native_files_keep_refusing_their_own_begin_end() {
    let p = TestProject::new();
    p.migration(
        "20240302100000",
        "backfill",
        "begin;\nupdate pg_catalog.pg_class set relname = relname where false;\nend;\n",
    );
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("transaction control statement"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_failure_inside_the_files_own_transaction_is_reported_honestly() {
    let (p, _) = adopt("supabase-begin-end");
    std::fs::write(
        p.root()
            .join("supabase/migrations/20240303110000_split_customers.sql"),
        "create table public.customers (name text primary key);\n\
         begin;\n\
         insert into public.customers select distinct customer from public.invoices;\n\
         alter table public.invoices add column customer_name text references public.customerz (name);\n\
         commit;\n",
    )
    .unwrap();
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("customerz")
            && err.contains("own transaction (from statement 2) was rolled back"),
        "{err}"
    );
    assert!(err.contains("1/4") || err.contains("PARTIAL"), "{err}");
    assert!(
        p.table_exists("public.customers"),
        "the statement before BEGIN stays"
    );
    let (status, code) = p.json(&["status"]);
    assert_eq!(code, 1, "{status}");
    let partial = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["version"] == "20240303110000")
        .unwrap();
    assert_eq!(partial["state"], "partial", "{status}");
    assert_eq!(partial["partial"]["statements_done"], 1, "{status}");
    // The session was usable after the failure: the event was recorded.
    assert!(p
        .events()
        .iter()
        .any(|e| e.0.as_deref() == Some("20240303110000") && e.1 == "partial"));
}

#[test]
fn migrate_local_copes_with_an_adopted_file_holding_its_own_transaction() {
    let (p, _) = adopt("supabase-begin-end");
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 0, "{json}");
    let note = json["checks"]["idempotency"]["note"]
        .as_str()
        .unwrap_or_default();
    assert!(
        note.contains("not re-run") && note.contains("20240302100000_backfill_status"),
        "{json}"
    );
}

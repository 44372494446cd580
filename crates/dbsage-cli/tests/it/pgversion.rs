//! Which PostgreSQL major version local clusters run (issue 16), through the binary, on two
//! majors: the system PostgreSQL 15 and a PostgreSQL 17 build in dbsage's cache.
//!
//! Tests that need 17 print why and return when it is not installed (`./x` installs it).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{stderr, stdout, TestProject};
use dbsage_cluster::{Cluster, ClusterOptions, PgInstall};
use serde_json::Value;

/// The PostgreSQL 17 installation, or `None` after saying why the test does not run.
fn postgres_17(test: &str) -> Option<PgInstall> {
    match PgInstall::find_major(Some(17)) {
        Ok(install) => Some(install),
        Err(e) => {
            eprintln!("skipping {test}: PostgreSQL 17 is not installed ({e})");
            None
        }
    }
}

/// `/var/cache/dbsage/pg/17.10.0` for `…/17.10.0/bin`: the server names files under it.
fn install_root(install: &PgInstall) -> String {
    install.bin_dir.parent().unwrap().display().to_string()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pgversion")
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

/// A project in a temp dir: a fixture's files plus `dbsage_toml` (when given).
fn project(fixture_name: Option<&str>, dbsage_toml: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(name) = fixture_name {
        copy_dir(&fixture(name), dir.path());
    }
    if let Some(toml) = dbsage_toml {
        std::fs::write(dir.path().join("dbsage.toml"), toml).unwrap();
    }
    dir
}

/// `dbsage` in `root`, with `DBSAGE_PG_VERSION` set to `version` (unset when `None`).
fn dbsage(root: &Path, version: Option<u32>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dbsage"));
    c.current_dir(root)
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .env_remove("DBSAGE_PG_VERSION");
    if let Some(v) = version {
        c.env("DBSAGE_PG_VERSION", v.to_string());
    }
    c
}

fn run(root: &Path, version: Option<u32>, args: &[&str]) -> Output {
    dbsage(root, version).args(args).output().unwrap()
}

fn json(root: &Path, version: Option<u32>, args: &[&str]) -> (Value, i32, String) {
    let out = dbsage(root, version)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(&out), stderr(&out)));
    (value, out.status.code().unwrap_or(-1), stderr(&out))
}

/// Stops and deletes the dev cluster when the test ends, whatever happens.
struct DevGuard(PathBuf);
impl Drop for DevGuard {
    fn drop(&mut self) {
        if let Ok(mut dev) = dbsage_cluster::DevCluster::open(&self.0) {
            let _ = dev.destroy();
        }
    }
}

#[test]
fn postgres_16_and_17_syntax_passes_on_17_and_is_refused_on_15_at_its_line() {
    let Some(_) = postgres_17("the 16+ syntax test") else {
        return;
    };
    let p = project(Some("modern_syntax"), Some("[local]\npg_version = 17\n"));
    let (report, code, err) = json(p.path(), None, &["migrate", "--local"]);
    assert_eq!(code, 0, "{report:#}\n{err}");
    assert_eq!(report["passed"], true);
    assert_eq!(report["applied"].as_array().unwrap().len(), 4, "{report:#}");
    assert_eq!(report["local_pg_version"]["major"], 17);
    assert_eq!(report["local_pg_version"]["source"]["kind"], "config");
    assert!(report["local_pg_version"]["version"]
        .as_str()
        .unwrap()
        .starts_with("17."));

    // The same set on 15: refused before anything runs, each file at its line, by the lint
    // that knows the target version (the server would refuse the first one with 42601).
    let (report, code, _) = json(p.path(), Some(15), &["migrate", "--local"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["passed"], false);
    assert_eq!(report["local_pg_version"]["major"], 15);
    let refused: Vec<(String, u64)> = report["checks"]["lint"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "requires-newer-postgres")
        .map(|f| {
            let file = f["file"].as_str().unwrap();
            let name = file.rsplit('/').next().unwrap().to_string();
            (name, f["line"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        refused,
        vec![
            ("20250302090000_recent_signups_view.sql".to_string(), 5), // the subquery's `(`
            ("20250303090000_welcome_points.sql".to_string(), 10),
            ("20250304090000_plan_limits.sql".to_string(), 16),
        ],
        "{report:#}"
    );
    let out = run(p.path(), Some(15), &["migrate", "--local"]);
    let text = stderr(&out);
    assert!(
        text.contains(
            "MERGE … RETURNING needs PostgreSQL 17 or later; the target is PostgreSQL 15"
        ),
        "{text}"
    );
}

#[test]
fn a_supabase_project_on_major_version_17_is_replayed_and_tested_on_17() {
    let Some(install) = postgres_17("the Supabase 17 test") else {
        return;
    };
    let p = project(Some("supabase17"), None);
    let (report, code, err) = json(p.path(), None, &["migrate", "--local"]);
    assert_eq!(code, 0, "{report:#}\n{err}");
    assert_eq!(report["local_pg_version"]["major"], 17);
    assert_eq!(report["local_pg_version"]["source"]["kind"], "supabase");
    assert_eq!(
        report["local_pg_version"]["from"],
        "supabase/config.toml [db] major_version"
    );

    // Policy tests replay the migrations (a 16+ view among them) on 17.
    let (report, code, err) = json(p.path(), None, &["secure", "test"]);
    assert_eq!(code, 0, "{report:#}\n{err}");
    assert_eq!(report["passed"], 2);

    // pgTAP asserts the server version itself.
    let out = run(p.path(), None, &["test"]);
    if install.has_extension("pgtap") {
        let (report, code, err) = json(p.path(), None, &["test"]);
        assert_eq!(code, 0, "{report:#}\n{err}");
        assert_eq!(
            (report["passed"].as_u64(), report["failed"].as_u64()),
            (Some(3), Some(0))
        );
    } else {
        eprintln!(
            "pgTAP is not installed for PostgreSQL 17 ({}): checking that `dbsage test` ran on 17 and said so",
            install.extension_dir().display()
        );
        assert_ne!(out.status.code(), Some(0));
        let text = stderr(&out);
        assert!(
            text.contains("pgtap") && text.contains(&install_root(&install)),
            "{text}"
        );
    }

    // The same project told to run 15 is refused at the view, before anything runs.
    let out = run(p.path(), Some(15), &["migrate", "--local"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains("requires-newer-postgres") && text.contains("20250310120000_field_notes.sql"),
        "{text}"
    );
}

#[test]
fn a_version_that_is_not_installed_names_the_command_that_installs_it() {
    let missing = not_installed_major();
    let p = project(
        Some("modern_syntax"),
        Some(&format!("[local]\npg_version = {missing}\n")),
    );
    let out = run(p.path(), None, &["migrate", "--local"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains(&format!("`dbsage pg install {missing}`")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "PostgreSQL {missing} comes from dbsage.toml [local] pg_version"
        )),
        "{text}"
    );
    let (report, code, _) = json(p.path(), None, &["migrate", "--local"]);
    assert_eq!(code, 2);
    assert_eq!(report["error"]["kind"], "local-cluster");
    assert_eq!(report["local_pg_version"]["major"], missing);
    assert_eq!(report["local_pg_version"]["version"], Value::Null);
    // The dev database wants the same version.
    let out = run(p.path(), None, &["dev", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&format!("`dbsage pg install {missing}`")));
    // An unreadable override is a usage error that says what to write.
    let bad = dbsage(p.path(), None)
        .env("DBSAGE_PG_VERSION", "seventeen")
        .args(["migrate", "--local"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("DBSAGE_PG_VERSION=seventeen is not a PostgreSQL major version"));
}

/// A project whose default environment is the dev database, with one migration; the guard
/// removes the dev cluster.
fn dev_project() -> (tempfile::TempDir, DevGuard) {
    let p = project(None, Some("[migrate]\ndefault_environment = \"dev\"\n"));
    let guard = DevGuard(p.path().to_path_buf());
    std::fs::create_dir(p.path().join("migrations")).unwrap();
    std::fs::write(
        p.path().join("migrations/20250401100000_sites.sql"),
        "create table if not exists sites (id bigint generated always as identity primary key, name text not null);\n",
    )
    .unwrap();
    (p, guard)
}

#[test]
fn a_dev_database_of_another_major_is_reported_with_dev_reset() {
    let Some(_) = postgres_17("the dev mismatch test") else {
        return;
    };
    let (p, _guard) = dev_project();
    let out = run(p.path(), Some(15), &["dev", "start"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The project moves to 17: the dev database made on 15 is reported, not used.
    std::fs::write(
        p.path().join("dbsage.toml"),
        "[migrate]\ndefault_environment = \"dev\"\n\n[local]\npg_version = 17\n",
    )
    .unwrap();
    let out = run(p.path(), None, &["dev", "status"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("local PostgreSQL 17.")
            && stdout(&out).contains("dbsage.toml [local] pg_version"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("the dev database was created with PostgreSQL 15, and this project now runs PostgreSQL 17")
            && stderr(&out).contains("`dbsage dev reset`"),
        "{}",
        stderr(&out)
    );
    let (status, code, _) = json(p.path(), None, &["dev", "status"]);
    assert_eq!(code, 1);
    assert_eq!(status["data_pg_version"], 15);
    assert_eq!(status["local_pg_version"]["major"], 17);
    assert_eq!(status["recreate_with"], "dbsage dev reset");

    let out = run(p.path(), None, &["migrate"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`dbsage dev reset`"),
        "{}",
        stderr(&out)
    );

    let out = run(p.path(), None, &["dev", "reset"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (status, code, _) = json(p.path(), None, &["dev", "status"]);
    assert_eq!(code, 0, "{status:#}");
    assert_eq!(status["data_pg_version"], 17);
    assert_eq!(status["recreate_with"], Value::Null);
    assert_eq!(status["applied"], 1);
    assert!(status["postgres_version"]
        .as_str()
        .unwrap()
        .starts_with("17."));

    // Moved on to a version this machine lacks: the running server can still be stopped.
    let missing = not_installed_major();
    std::fs::write(
        p.path().join("dbsage.toml"),
        format!("[migrate]\ndefault_environment = \"dev\"\n\n[local]\npg_version = {missing}\n"),
    )
    .unwrap();
    let out = run(p.path(), None, &["dev", "stop"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Stopped dev database"),
        "{}",
        stderr(&out)
    );
}

/// A major version between 11 and 16 that is not installed (16 on a usual machine here).
fn not_installed_major() -> u32 {
    [16, 14, 13, 12, 11]
        .into_iter()
        .find(|m| PgInstall::find_major(Some(*m)).is_err())
        .expect("a PostgreSQL major between 11 and 16 that is not installed")
}

#[test]
fn status_shows_the_local_version_and_warns_when_production_runs_another() {
    let Some(_) = postgres_17("the production version test") else {
        return;
    };
    let production = Cluster::start_with(&ClusterOptions {
        major: Some(17),
        ..Default::default()
    })
    .unwrap();
    let p = project(
        Some("modern_syntax"),
        Some(&format!(
            "[environments.production]\nurl = \"{}\"\nprotected = true\n",
            production.url("postgres")
        )),
    );
    // Before production was ever reached, nothing asks for a version: the installed one.
    let (report, _, _) = json(p.path(), None, &["migrate", "--local"]);
    assert_eq!(
        report["local_pg_version"]["source"]["kind"], "installed",
        "{report:#}"
    );

    let out = run(p.path(), None, &["status", "--env", "production"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let known: Value = serde_json::from_str(
        &std::fs::read_to_string(p.path().join(".dbsage/server_versions.json")).unwrap(),
    )
    .unwrap();
    let num = known["production"]["server_version_num"].as_u64().unwrap();
    assert!((170000..180000).contains(&num), "{known:#}");
    assert_eq!(known["production"]["protected"], true);
    assert!(
        stdout(&out).contains("local PostgreSQL 17.")
            && stdout(&out).contains("major version from environment production, last reached"),
        "{}",
        stdout(&out)
    );

    // Now local clusters follow production: the 17 syntax passes without any setting.
    let (report, code, err) = json(p.path(), None, &["migrate", "--local"]);
    assert_eq!(code, 0, "{report:#}\n{err}");
    assert_eq!(report["local_pg_version"]["major"], 17);
    assert_eq!(report["local_pg_version"]["source"]["kind"], "environment");
    assert_eq!(report["local_pg_version"]["source"]["name"], "production");

    // Forcing 15 locally is warned about wherever the version is shown.
    let out = run(p.path(), Some(15), &["status", "--env", "production"]);
    assert!(
        stderr(&out).contains("warning: environment production runs PostgreSQL 17")
            && stderr(&out).contains("local clusters run PostgreSQL 15 (from DBSAGE_PG_VERSION)"),
        "{}",
        stderr(&out)
    );
    let (status, _, _) = json(p.path(), Some(15), &["status", "--env", "production"]);
    assert_eq!(status["local_pg_version"]["major"], 15);
    assert_eq!(
        status["environments_differing"][0]["environment"],
        "production"
    );
    assert_eq!(status["environments_differing"][0]["major"], 17);
    let out = run(p.path(), Some(15), &["migrate", "--local"]);
    assert!(
        stderr(&out).contains("warning: environment production runs PostgreSQL 17"),
        "{}",
        stderr(&out)
    );
}

// The core of the suite on PostgreSQL 17 (`DBSAGE_PG_VERSION=17`): migrate --local with its
// checks, policy tests and pgTAP, and the dev database.

fn json17(p: &TestProject, args: &[&str]) -> (Value, i32) {
    let (value, code, _) = json(p.root(), Some(17), args);
    (value, code)
}

#[test]
fn on_17_migrate_local_runs_the_idempotency_and_rollback_checks() {
    let Some(_) = postgres_17("migrate --local on 17") else {
        return;
    };
    let p = TestProject::new();
    p.migration(
        "20260101000000",
        "users",
        "create table if not exists users (id bigint primary key);\n",
    );
    p.down("20260101000000", "users", "drop table if exists users;\n");
    p.migration(
        "20260102000000",
        "email",
        "alter table users add column if not exists email text;\ncreate index if not exists users_email on users (email);\n",
    );
    // Forgets the column: the schema after the down differs.
    p.down(
        "20260102000000",
        "email",
        "drop index if exists users_email;\n",
    );
    let (report, code) = json17(&p, &["migrate", "--local"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["local_pg_version"]["major"], 17);
    assert_eq!(report["checks"]["rollback"]["status"], "failed");
    assert!(report["checks"]["rollback"]["findings"][0]["objects"]
        .to_string()
        .contains("public.users.email"));
    p.down(
        "20260102000000",
        "email",
        "drop index if exists users_email;\nalter table users drop column if exists email;\n",
    );
    let (report, code) = json17(&p, &["migrate", "--local"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["checks"]["rollback"]["status"], "passed");
    assert_eq!(report["checks"]["idempotency"]["status"], "passed");

    // A migration that is not idempotent fails the check at its line, on 17 too.
    p.migration(
        "20260103000000",
        "audit",
        "create table audit (id bigint primary key);\n",
    );
    let (report, code) = json17(&p, &["migrate", "--local"]);
    assert_eq!(code, 1);
    let finding = &report["checks"]["idempotency"]["findings"][0];
    assert_eq!(finding["line"], 1);
    assert_eq!(finding["sqlstate"], "42P07");
}

#[test]
fn on_17_policy_tests_and_pgtap_run_on_the_replayed_database() {
    let Some(install) = postgres_17("secure test on 17") else {
        return;
    };
    let p = TestProject::with_config("\n[supabase]\nenabled = true\n");
    p.migration(
        "20260101000000",
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
        "[[case]]\nname = \"a user reads only their notes\"\nas = { role = \"authenticated\", sub = \"11111111-1111-1111-1111-111111111111\" }\nsql = \"select * from notes\"\nexpect = { rows = 1 }\n",
    )
    .unwrap();
    let (report, code) = json17(&p, &["secure", "test"]);
    assert_eq!(code, 1, "no RLS yet: {report:#}");
    assert_eq!(report["failed"], 1);
    p.migration(
        "20260102000000",
        "notes_rls",
        "alter table public.notes enable row level security;\n\
         drop policy if exists notes_owner on public.notes;\n\
         create policy notes_owner on public.notes for select to authenticated using (owner = (select auth.uid()));\n",
    );
    let (report, code) = json17(&p, &["secure", "test"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["passed"], 1);

    std::fs::create_dir_all(p.root().join("tests/pgtap")).unwrap();
    std::fs::write(
        p.root().join("tests/pgtap/notes.sql"),
        "begin;\nselect plan(2);\nselect ok(current_setting('server_version_num')::int >= 170000, 'on 17');\nselect has_table('public', 'notes', 'notes exists');\nselect * from finish();\nrollback;\n",
    )
    .unwrap();
    let out = run(p.root(), Some(17), &["test"]);
    if install.has_extension("pgtap") {
        let (report, code, err) = json(p.root(), Some(17), &["test"]);
        assert_eq!(code, 0, "{report:#}\n{err}");
        assert_eq!(
            (report["passed"].as_u64(), report["failed"].as_u64()),
            (Some(2), Some(0))
        );
    } else {
        eprintln!("pgTAP is not installed for PostgreSQL 17: checking `dbsage test` said so");
        assert!(
            stderr(&out).contains(&install_root(&install)),
            "{}",
            stderr(&out)
        );
    }
    // On 15 the same pgTAP file fails its version assertion: the version is really switched.
    let out = run(p.root(), Some(15), &["test"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("not ok 1 - on 17"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn on_17_the_dev_database_starts_migrates_and_reports_its_version() {
    let Some(_) = postgres_17("dev on 17") else {
        return;
    };
    let (p, _guard) = dev_project();
    let out = run(p.path(), Some(17), &["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (status, code, _) = json(p.path(), Some(17), &["dev", "status"]);
    assert_eq!(code, 0, "{status:#}");
    assert_eq!(status["running"], true);
    assert_eq!(status["data_pg_version"], 17);
    assert_eq!(status["applied"], 1);
    assert_eq!(status["local_pg_version"]["source"]["kind"], "env_var");
    let out = run(p.path(), Some(17), &["dev", "stop"]);
    assert_eq!(out.status.code(), Some(0));
}

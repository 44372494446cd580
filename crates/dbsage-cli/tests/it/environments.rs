//! Environments, gates, clear errors, rollback and the dev cluster, through the binary.

use crate::common;

use std::time::{Duration, Instant};

use common::{stderr, stdout, TestProject};

const M1: &str = "20260101000000";
const M2: &str = "20260102000000";

/// A project with a protected `prod` environment on a second database of the test cluster.
fn with_prod() -> TestProject {
    let p = TestProject::new();
    let url = p.cluster.create_database("prod").unwrap();
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        format!("{toml}\n[environments.prod]\nurl = \"${{PROD_URL}}\"\nprotected = true\n"),
    )
    .unwrap();
    std::fs::write(p.root().join(".env.local"), format!("PROD_URL={url}\n")).unwrap();
    p.migration(M1, "users", "create table if not exists users (id int);\n");
    p
}

fn prod_history(p: &TestProject) -> Vec<String> {
    let mut c = postgres::Client::connect(&p.cluster.url("prod"), postgres::NoTls).unwrap();
    c.query("select version from dbsage.schema_migrations", &[])
        .map(|rows| rows.iter().map(|r| r.get(0)).collect())
        .unwrap_or_default()
}

#[test]
fn protected_environment_requires_a_local_pass() {
    let p = with_prod();
    let out = p.run(&["migrate", "--env", "prod", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("has not passed `dbsage migrate --local`"));
    assert!(prod_history(&p).is_empty());
    assert_eq!(p.run(&["migrate", "--local"]).status.code(), Some(0));
    let out = p.run(&["migrate", "--env", "prod", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(prod_history(&p), [M1]);
    // A new, untested migration is refused again.
    p.migration(M2, "more", "create table if not exists more (id int);\n");
    assert_eq!(
        p.run(&["migrate", "--env", "prod", "--yes"]).status.code(),
        Some(3)
    );
}

#[test]
fn protected_environment_needs_confirmation_and_audits_overrides() {
    let p = with_prod();
    // No terminal and no --yes: refused, nothing applied.
    let out = p.run(&["migrate", "--env", "prod", "--skip-local-check"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert!(prod_history(&p).is_empty());
    let out = p.run(&["migrate", "--env", "prod", "--skip-local-check", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut c = postgres::Client::connect(&p.cluster.url("prod"), postgres::NoTls).unwrap();
    let skipped: i64 = c
        .query_one(
            "select count(*) from dbsage.migration_events where event = 'local_check_skipped'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(skipped, 1);
    // The audit log is append-only.
    assert!(c
        .batch_execute("delete from dbsage.migration_events")
        .is_err());
    // Dry runs need no gate.
    assert_eq!(
        p.run(&["migrate", "--env", "prod", "--dry-run"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn configuration_errors_are_clear_and_exit_2() {
    let p = TestProject::new();
    let out = p.run(&["migrate", "--env", "staging"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("unknown environment `staging`") && err.contains("known: test"),
        "{err}"
    );
    assert!(err.contains("[environments.staging]"), "{err}");

    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        format!("{toml}\n[environments.staging]\nurl = \"${{STAGING_URL_FOR_TEST}}\"\n"),
    )
    .unwrap();
    let (json, code) = p.json(&["status", "--env", "staging"]);
    assert_eq!(code, 2);
    assert_eq!(json["error"]["kind"], "config");
    assert!(json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("STAGING_URL_FOR_TEST"));

    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
        .current_dir(dir.path())
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("dbsage init"), "{}", stderr(&out));
}

#[test]
fn unreachable_host_fails_fast_names_it_and_hides_the_password() {
    let p = TestProject::new();
    // A port that accepts TCP but never speaks: only the connect timeout ends the wait.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        format!(
            "{toml}\n[environments.closed]\nurl = \"postgresql://app:hunter2secret@127.0.0.1:1/app\"\n\
             [environments.silent]\nurl = \"postgresql://app:hunter2secret@127.0.0.1:{silent_port}/app?connect_timeout=2\"\n"
        ),
    )
    .unwrap();
    let out = p.run(&["migrate", "--env", "closed"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("hunter2secret"), "password printed: {err}");
    let started = Instant::now();
    let (json, code) = p.json(&["status", "--env", "silent"]);
    assert_eq!(code, 2);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(json
        .to_string()
        .contains(&format!("127.0.0.1:{silent_port}")));
    assert!(!json.to_string().contains("hunter2secret"));
}

#[test]
fn database_url_is_an_implicit_environment() {
    let p = TestProject::new();
    p.migration(M1, "users", "create table if not exists users (id int);\n");
    let out = p
        .cmd()
        .args(["migrate", "--env", "DATABASE_URL"])
        .env("DATABASE_URL", p.cluster.url("postgres"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(p.history(), [M1]);
}

#[test]
fn rollback_uses_down_files_then_offers_guidance() {
    let p = TestProject::new();
    p.migration(
        M1,
        "users",
        "create table if not exists users (id int);\ninsert into users values (1);\n",
    );
    p.migration(M2, "posts", "create table if not exists posts (id int);\n");
    p.down(M2, "posts", "drop table if exists posts;\n");
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    let (json, code) = p.json(&["rollback"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["rolled_back"][0]["version"], M2);
    assert_eq!(p.history(), [M1]);
    assert!(!p.table_exists("posts"));
    assert!(p.events().iter().any(|e| e.1 == "rolled_back"));
    // No down file: guidance, nothing changed, exit 1.
    let out = p.run(&["rollback"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("DROP TABLE IF EXISTS users;"), "{text}");
    assert!(text.contains("line 2") && text.contains("backup"), "{text}");
    assert_eq!(p.history(), [M1]);
    // --write saves it as a new forward migration.
    let (json, code) = p.json(&["rollback", "--write"]);
    assert_eq!(code, 0);
    let written = json["guidance"]["written"].as_str().unwrap();
    assert!(written.contains("_revert_users.sql"), "{written}");
    let text = std::fs::read_to_string(written).unwrap();
    assert!(text.contains("DROP TABLE IF EXISTS users;"));
}

#[test]
fn init_is_idempotent_and_keeps_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".gitignore"), "target/\n").unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
            .current_dir(dir.path())
            .args(["init", "--format", "json"])
            .output()
            .unwrap()
    };
    let first: serde_json::Value = serde_json::from_slice(&run().stdout).unwrap();
    assert!(first["created"].to_string().contains("dbsage.toml"));
    assert_eq!(first["checks"][0]["ok"], true, "{first}");
    let second: serde_json::Value = serde_json::from_slice(&run().stdout).unwrap();
    assert!(second["kept"].to_string().contains("dbsage.toml"));
    let gitignore = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
    assert!(gitignore.starts_with("target/\n"));
    assert_eq!(gitignore.matches(".dbsage/").count(), 1);
    let config = std::fs::read_to_string(dir.path().join("dbsage.toml")).unwrap();
    assert!(config.contains("idempotency = \"error\""));
}

/// Stops the dev cluster when the test ends, whatever happens.
struct DevGuard(std::path::PathBuf);
impl Drop for DevGuard {
    fn drop(&mut self) {
        if let Ok(mut dev) = dbsage_cluster::DevCluster::open(&self.0) {
            let _ = dev.destroy();
        }
    }
}

#[test]
fn dev_cluster_is_the_default_environment_and_resets_with_seed() {
    let dir = tempfile::tempdir().unwrap();
    let _guard = DevGuard(dir.path().to_path_buf());
    let dbsage = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    assert_eq!(dbsage(&["init", "--no-check"]).status.code(), Some(0));
    std::fs::write(
        dir.path()
            .join("migrations")
            .join(format!("{M1}_items.sql")),
        "create table if not exists items (id int primary key, name text);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("seed.sql"),
        "insert into items values (1, 'seeded');\n",
    )
    .unwrap();
    let out = dbsage(&["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let url = stdout(&dbsage(&["dev", "url"])).trim().to_string();
    // With the dev cluster's generated password: TCP needs it.
    assert!(url.starts_with("postgresql://postgres:"), "{url}");
    assert!(url.contains("@127.0.0.1:"), "{url}");
    let status: serde_json::Value =
        serde_json::from_slice(&dbsage(&["dev", "status", "--format", "json"]).stdout).unwrap();
    assert_eq!(status["running"], true);
    assert_eq!(status["applied"], 1);
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute("insert into items values (2, 'scratch')")
        .unwrap();
    drop(c);
    let out = dbsage(&["dev", "reset"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let url = stdout(&dbsage(&["dev", "url"])).trim().to_string();
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let names: Vec<String> = c
        .query("select name from items order by id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        names,
        ["seeded"],
        "reset replays migrations and the seed, and drops scratch data"
    );
    drop(c);
    assert_eq!(dbsage(&["dev", "stop"]).status.code(), Some(0));
    let status: serde_json::Value =
        serde_json::from_slice(&dbsage(&["dev", "status", "--format", "json"]).stdout).unwrap();
    assert_eq!(status["running"], false);
}

#[test]
fn rollback_on_a_protected_environment_needs_confirmation() {
    let p = with_prod();
    p.down(M1, "users", "drop table if exists users;\n");
    assert_eq!(
        p.run(&["migrate", "--env", "prod", "--yes", "--skip-local-check"])
            .status
            .code(),
        Some(0)
    );
    let out = p.run(&["rollback", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(
        prod_history(&p),
        [M1],
        "nothing rolled back without confirmation"
    );
    let out = p.run(&["rollback", "--env", "prod", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(prod_history(&p).is_empty());
}

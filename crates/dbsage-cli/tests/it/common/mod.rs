//! Test projects: a temp directory with dbsage.toml whose default environment is a throwaway
//! cluster of the test's own (removed when the test ends).

#![allow(dead_code)]

pub mod fleet;
pub mod layouts;
pub mod pitr;
pub mod pty;
pub mod tls;
pub mod webhook;

use std::path::{Path, PathBuf};
use std::process::Output;

use dbsage_cluster::Cluster;
use serde_json::Value;

pub struct TestProject {
    pub dir: tempfile::TempDir,
    pub cluster: Cluster,
}

impl TestProject {
    /// A project whose default environment `test` is a fresh throwaway cluster.
    pub fn new() -> TestProject {
        Self::with_config("")
    }

    /// Same, with extra TOML appended to dbsage.toml.
    pub fn with_config(extra: &str) -> TestProject {
        Self::on_cluster(
            Cluster::start().expect("starting a throwaway cluster"),
            extra,
        )
    }

    /// Same, on a cluster the test started (with its own server settings).
    pub fn on_cluster(cluster: Cluster, extra: &str) -> TestProject {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("migrations")).unwrap();
        std::fs::write(
            dir.path().join("dbsage.toml"),
            format!(
                "[migrate]\ndefault_environment = \"test\"\nlock_wait_timeout = \"30s\"\n\n[checks]\nidempotency = \"error\"\n\n[environments.test]\nurl = \"{}\"\n{extra}",
                cluster.url("postgres")
            ),
        )
        .unwrap();
        TestProject { dir, cluster }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn migration(&self, version: &str, name: &str, sql: &str) -> PathBuf {
        let path = self
            .root()
            .join("migrations")
            .join(format!("{version}_{name}.sql"));
        std::fs::write(&path, sql).unwrap();
        path
    }

    pub fn down(&self, version: &str, name: &str, sql: &str) -> PathBuf {
        let path = self
            .root()
            .join("migrations")
            .join(format!("{version}_{name}.down.sql"));
        std::fs::write(&path, sql).unwrap();
        path
    }

    pub fn cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"));
        c.current_dir(self.root())
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs with `--format json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> (Value, i32) {
        let out = self
            .cmd()
            .args(args)
            .arg("--format")
            .arg("json")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {text}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (value, out.status.code().unwrap_or(-1))
    }

    pub fn client(&self) -> postgres::Client {
        self.cluster.connect("postgres").unwrap()
    }

    pub fn history(&self) -> Vec<String> {
        let mut c = self.client();
        match c.query(
            "select version from dbsage.schema_migrations order by version",
            &[],
        ) {
            Ok(rows) => rows.iter().map(|r| r.get(0)).collect(),
            Err(_) => Vec::new(),
        }
    }

    pub fn events(&self) -> Vec<(Option<String>, String, Option<String>)> {
        let mut c = self.client();
        c.query(
            "select version, event, reason from dbsage.migration_events order by id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
    }

    pub fn table_exists(&self, name: &str) -> bool {
        let mut c = self.client();
        c.query_one("select to_regclass($1) is not null", &[&name])
            .unwrap()
            .get(0)
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Postmasters whose command line mentions `needle` (a data directory).
pub fn postmasters_under(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains("postgres") && cmd.contains(needle) && cmd.contains("-D") {
            found.push(pid);
        }
    }
    found
}

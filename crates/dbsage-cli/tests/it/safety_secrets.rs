//! No secret leaves dbsage (issue 8, item 2) and stale temporary directories go (item 3), driven
//! through the real binary against real PostgreSQL.

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{stderr, stdout, TestProject};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const PGPASSWORD_VALUE: &str = "pgpassword-must-not-leak-7f3a";
const PRODUCTION_URL: &str = "postgres://u:secret-must-not-leak-91c2@prod.example.com/app";

fn dbsage(root: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dbsage"));
    c.current_dir(root)
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL");
    c
}

fn run_with_secrets(root: &Path, args: &[&str]) -> Output {
    dbsage(root)
        .args(args)
        .env("PGPASSWORD", PGPASSWORD_VALUE)
        .env("PRODUCTION_DATABASE_URL", PRODUCTION_URL)
        .output()
        .unwrap()
}

fn assert_no_secret(text: &str, what: &str) {
    for secret in [
        PGPASSWORD_VALUE,
        "secret-must-not-leak",
        "PRODUCTION_DATABASE_URL",
    ] {
        assert!(!text.contains(secret), "{what} holds {secret}:\n{text}");
    }
}

#[test]
fn dev_start_and_dev_psql_hand_on_no_secret_and_dev_url_works() {
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    std::fs::write(root.join("dbsage.toml"), "").unwrap();
    std::fs::create_dir(root.join("migrations")).unwrap();

    let started = run_with_secrets(root, &["dev", "start"]);
    assert!(started.status.success(), "{}", stderr(&started));
    let status = run_with_secrets(root, &["dev", "status", "--format", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let pid = status["pid"].as_u64().expect("a running dev cluster");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert_no_secret(
        &String::from_utf8_lossy(&environ).replace('\0', "\n"),
        "the dev postmaster's environment",
    );

    // The generated password: 0600 under .dbsage/dev, shown by `dev url` only.
    let password = std::fs::read_to_string(root.join(".dbsage/dev/password")).unwrap();
    let password = password.trim();
    assert!(password.len() >= 32, "a generated password");
    for shown in [&started, &run_with_secrets(root, &["dev", "status"])] {
        let text = format!("{}{}", stdout(shown), stderr(shown));
        assert!(!text.contains(password), "printed the password:\n{text}");
    }
    assert!(!status.to_string().contains(password));
    let url = run_with_secrets(root, &["dev", "url"]);
    let url = stdout(&url).trim().to_string();
    assert!(url.contains(password), "{url}");
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client.batch_execute("select 1").unwrap();
    let without_password = url.replace(&format!(":{password}@"), "@");
    assert!(
        postgres::Client::connect(&without_password, postgres::NoTls).is_err(),
        "the dev cluster let a password-less TCP connection in"
    );

    // psql runs with a cleared environment and the dev password, not PGPASSWORD from ours.
    let mut psql = dbsage(root)
        .args(["dev", "psql"])
        .env("PGPASSWORD", PGPASSWORD_VALUE)
        .env("PRODUCTION_DATABASE_URL", PRODUCTION_URL)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = psql.stdin.take().unwrap();
        writeln!(stdin, "\\! env").unwrap();
        writeln!(stdin, "select 'connected as ' || current_user;").unwrap();
    }
    let psql = psql.wait_with_output().unwrap();
    let text = format!("{}{}", stdout(&psql), stderr(&psql));
    assert!(text.contains("connected as postgres"), "{text}");
    assert_no_secret(&text, "psql's environment");
    let cmdline_check = text.contains("PATH=");
    assert!(
        cmdline_check,
        "`\\! env` printed psql's environment:\n{text}"
    );

    let stopped = run_with_secrets(root, &["dev", "stop"]);
    assert!(stopped.status.success(), "{}", stderr(&stopped));
}

/// "pid starttime" of a process that has exited and been reaped.
fn dead_owner_stamp() -> String {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    // Read while the child is alive or a zombie: after the wait its /proc entry is gone.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    child.wait().unwrap();
    let start = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .to_string();
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    format!("{pid} {start}")
}

fn live_owner_stamp() -> String {
    let pid = std::process::id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let start = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .to_string();
    format!("{pid} {start}")
}

fn owned_dir(parent: &Path, name: &str, owner: &str) -> std::path::PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/PG_VERSION"), "15\n").unwrap();
    std::fs::write(dir.join("owner"), owner).unwrap();
    dir
}

#[test]
fn any_command_removes_temporary_dirs_of_dead_processes() {
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    std::fs::write(root.join("dbsage.toml"), "").unwrap();
    std::fs::create_dir(root.join("migrations")).unwrap();
    let cluster_dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    // SAFETY: geteuid cannot fail.
    let registry_name = format!("dbsage-clusters-{}", unsafe { libc::geteuid() });
    let registry = cluster_dir.path().join(&registry_name);
    let fallback_registry = tmp.path().join(&registry_name);
    let dead = dead_owner_stamp();
    let dead_pid = dead.split_whitespace().next().unwrap().to_string();
    let live = live_owner_stamp();

    let stale = [
        owned_dir(&registry, &format!("{dead_pid}-0"), &dead),
        owned_dir(&fallback_registry, &format!("{dead_pid}-1"), &dead),
        owned_dir(tmp.path(), &format!("dbsage-initdb-{dead_pid}-0-1f"), &dead),
    ];
    let staged = cache
        .path()
        .join(format!("templates/pg15.18-abc.staged-{dead_pid}-0"));
    std::fs::create_dir_all(&staged).unwrap();
    let kept = [
        owned_dir(&registry, "live-0", &live),
        owned_dir(tmp.path(), "dbsage-initdb-live-0-1f", &live),
        // Not dbsage's: no owner stamp it understands.
        owned_dir(tmp.path(), "someone-elses-dir", &dead),
    ];

    let out = dbsage(root)
        .arg("lint")
        .env("DBSAGE_CLUSTER_DIR", cluster_dir.path())
        .env("DBSAGE_CACHE_DIR", cache.path())
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(out.status.code().is_some(), "{}", stderr(&out));
    for dir in stale.iter().chain([&staged]) {
        assert!(!dir.exists(), "{} survived `dbsage lint`", dir.display());
    }
    for dir in &kept {
        assert!(dir.exists(), "{} was removed", dir.display());
    }
}

// ---- redaction: random passwords through every error path ----

/// Percent-encodes all but RFC 3986's unreserved characters.
fn encode(text: &str, upper: bool) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

/// libpq key=value quoting.
fn quote_conninfo(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Every file under `dir`, as text.
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            found.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    found
}

struct Scenario {
    name: &'static str,
    /// DATABASE_URL, or the PROD_URL behind `[environments.prod]`.
    url: String,
    env_name: &'static str,
    pgpassword: Option<String>,
    command: &'static str,
}

#[test]
fn passwords_never_leave_dbsage_on_any_error_path() {
    let p = TestProject::with_config("\n[environments.prod]\nurl = \"${PROD_URL}\"\n");
    p.migration(
        "20260101000000",
        "one",
        "create table if not exists one(a int);",
    );
    let port = p.cluster.port();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    p.client()
        .batch_execute("create role app login superuser")
        .unwrap();

    let password = "[A-Za-z0-9]{4}[@:/?#&% ]{1,3}[A-Za-z0-9@:/?#&% ]{4,12}";
    let mut runner = TestRunner::new(Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&password, |pw| {
            // The password that works, for the paths that get through.
            let mut c = p.client();
            c.execute(
                &format!("alter role app password {}", quote_literal(&pw)),
                &[],
            )
            .unwrap();
            let enc = encode(&pw, true);
            let scenarios = [
                Scenario {
                    name: "URL that fails to parse",
                    url: format!("postgresql://app:{enc}@127.0.0.1:notaport/postgres"),
                    env_name: "DATABASE_URL",
                    pgpassword: None,
                    command: "status",
                },
                Scenario {
                    name: "raw password in a URL that fails to parse",
                    url: format!("postgresql://app:{pw}@127.0.0.1:notaport/postgres"),
                    env_name: "DATABASE_URL",
                    pgpassword: None,
                    command: "status",
                },
                Scenario {
                    // Refused as ambiguous, or connects and shows the target: either way hidden.
                    name: "raw password in a URL, right password",
                    url: format!("postgresql://app:{pw}@127.0.0.1:{port}/postgres"),
                    env_name: "prod",
                    pgpassword: None,
                    command: "status",
                },
                Scenario {
                    name: "raw password in a URL",
                    url: format!("postgresql://postgres:{pw}@127.0.0.1:{port}/postgres"),
                    env_name: "DATABASE_URL",
                    pgpassword: None,
                    command: "status",
                },
                Scenario {
                    name: "connection refused",
                    url: format!("postgresql://app:{enc}@127.0.0.1:{closed_port}/postgres"),
                    env_name: "DATABASE_URL",
                    pgpassword: None,
                    command: "status",
                },
                Scenario {
                    name: "unknown host",
                    url: format!("postgresql://app:{enc}@no-such-host.invalid/postgres"),
                    env_name: "prod",
                    pgpassword: None,
                    command: "status",
                },
                Scenario {
                    name: "wrong password",
                    url: format!("postgresql://postgres:{enc}@127.0.0.1:{port}/postgres"),
                    env_name: "DATABASE_URL",
                    pgpassword: None,
                    command: "status",
                },
                Scenario {
                    name: "TLS required, server without TLS",
                    url: format!(
                        "postgresql://app:{enc}@127.0.0.1:{port}/postgres?sslmode=require"
                    ),
                    env_name: "prod",
                    pgpassword: None,
                    command: "status",
                },
                Scenario {
                    name: "key=value, quoted, wrong password",
                    url: format!(
                        "host=127.0.0.1 port={port} user=postgres dbname=postgres password={}",
                        quote_conninfo(&pw)
                    ),
                    env_name: "DATABASE_URL",
                    pgpassword: None,
                    command: "status",
                },
                Scenario {
                    name: "key=value, unquoted",
                    url: format!("host=127.0.0.1 port={port} password={pw} user=postgres"),
                    env_name: "DATABASE_URL",
                    pgpassword: None,
                    command: "status",
                },
                Scenario {
                    name: "PGPASSWORD, wrong password",
                    url: format!("postgresql://postgres@127.0.0.1:{port}/postgres"),
                    env_name: "DATABASE_URL",
                    pgpassword: Some(pw.clone()),
                    command: "status",
                },
                Scenario {
                    name: "right password: migrate writes audit rows",
                    url: format!("postgresql://app:{enc}@127.0.0.1:{port}/postgres"),
                    env_name: "prod",
                    pgpassword: None,
                    command: "migrate",
                },
            ];
            for s in &scenarios {
                check_scenario(&p, s, &pw)?;
            }
            // Audit rows and files under .dbsage/.
            let rows: Vec<String> = c
                .query(
                    "select t::text from dbsage.migration_events t \
                     union all select t::text from dbsage.schema_migrations t",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            prop_assert!(!rows.is_empty(), "migrate with the right password ran");
            assert_hidden(&pw, &rows.join("\n"), "audit rows")?;
            for (path, text) in files_under(&p.root().join(".dbsage")) {
                assert_hidden(&pw, &text, &path)?;
            }
            Ok(())
        })
        .unwrap();
}

fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn assert_hidden(pw: &str, text: &str, what: &str) -> Result<(), TestCaseError> {
    for form in [pw.to_string(), encode(pw, true), encode(pw, false)] {
        prop_assert!(
            !text.contains(&form),
            "{what} shows the password {form:?}:\n{text}"
        );
    }
    Ok(())
}

fn check_scenario(p: &TestProject, s: &Scenario, pw: &str) -> Result<(), TestCaseError> {
    for json in [false, true] {
        let mut cmd = p.cmd();
        cmd.arg(s.command).args(["--env", s.env_name]);
        if json {
            cmd.args(["--format", "json"]);
        }
        if s.command == "migrate" {
            cmd.arg("--yes");
        }
        cmd.env("PGCONNECT_TIMEOUT", "5").env_remove("PGPASSWORD");
        match s.env_name {
            "prod" => cmd.env("PROD_URL", &s.url),
            _ => cmd.env("DATABASE_URL", &s.url),
        };
        if let Some(pgpassword) = &s.pgpassword {
            cmd.env("PGPASSWORD", pgpassword);
        }
        let out = cmd.output().unwrap();
        let text = format!("{}\n{}", stdout(&out), stderr(&out));
        let what = format!("{} ({}json)", s.name, if json { "" } else { "not " });
        if s.command == "status" && !s.name.ends_with("right password") {
            prop_assert!(!out.status.success(), "{what} succeeded:\n{text}");
        }
        if s.name.starts_with("wrong password") || s.name.starts_with("PGPASSWORD") {
            prop_assert!(
                text.contains("28P01"),
                "{what} is not an auth failure:\n{text}"
            );
        }
        assert_hidden(pw, &text, &what)?;
    }
    Ok(())
}

//! Safety: every error says what the server said (SQLSTATE, message, detail, hint; never the
//! driver's bare "db error"), connection failures say what psql would, and tests run with
//! `--env` leave no trace in the database.

use crate::common;

use common::{stderr, stdout, TestProject};
use serde_json::Value;

const M1: &str = "20260101000000";

/// Adds `[environments.NAME]` with `url` to the project's dbsage.toml.
fn add_env(p: &TestProject, name: &str, url: &str) {
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        format!("{toml}\n[environments.{name}]\nurl = \"{url}\"\n"),
    )
    .unwrap();
}

/// The test cluster's URL for another role (TCP needs its scram password).
fn url_as(p: &TestProject, role: &str) -> String {
    format!(
        "postgresql://{role}:role-pw@127.0.0.1:{}/postgres",
        p.cluster.port()
    )
}

/// Runs `args` twice, human and JSON: returns (exit code, stderr, JSON error object).
fn fails(p: &TestProject, args: &[&str]) -> (i32, String, Value) {
    let out = p.run(args);
    let (json, code) = p.json(args);
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!text.contains("db error"), "{text}");
    assert!(!json.to_string().contains("db error"), "{json}");
    (code, text, json["error"].clone())
}

#[test]
fn status_as_a_role_without_access_to_the_history_shows_the_server_error() {
    let p = TestProject::new();
    p.migration(M1, "one", "create table if not exists one (id int);");
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
    p.client()
        .batch_execute("create role reader login password 'role-pw'")
        .unwrap();
    add_env(&p, "ro", &url_as(&p, "reader"));
    let (code, text, error) = fails(&p, &["status", "--env", "ro"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("permission denied for schema dbsage"),
        "{text}"
    );
    assert!(text.contains("42501"), "{text}");
    assert_eq!(error["sqlstate"], "42501", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("permission denied for schema dbsage"),
        "{error}"
    );
    assert!(error["hint"].as_str().is_some(), "{error}");
}

#[test]
fn migrate_without_create_privilege_shows_the_server_error() {
    let p = TestProject::new();
    p.migration(M1, "one", "create table if not exists one (id int);");
    p.client()
        .batch_execute("create role app login password 'role-pw'")
        .unwrap();
    add_env(&p, "app", &url_as(&p, "app"));
    let (code, text, error) = fails(&p, &["migrate", "--env", "app"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("permission denied for database postgres"),
        "{text}"
    );
    assert_eq!(error["sqlstate"], "42501", "{error}");
    assert!(p.history().is_empty());
}

/// A database with the roles and table the secure commands impersonate, and a role `tester`
/// that may read the table but is not a member of `authenticated`.
fn secure_project() -> TestProject {
    let p = TestProject::new();
    p.client()
        .batch_execute(
            "create role anon nologin; create role authenticated nologin;
             create table public.notes (id bigint primary key, body text);
             insert into public.notes values (1, 'a'), (2, 'b');
             grant select on public.notes to authenticated;
             create role tester login password 'role-pw'; grant select on public.notes to tester;",
        )
        .unwrap();
    std::fs::create_dir_all(p.root().join("tests/rls")).unwrap();
    std::fs::write(
        p.root().join("tests/rls/notes.toml"),
        "[[case]]\nname = \"reads notes\"\nas = { role = \"authenticated\" }\nsql = \"select * from notes\"\nexpect = { rows = 2 }\n",
    )
    .unwrap();
    add_env(&p, "tester", &url_as(&p, "tester"));
    p
}

#[test]
fn set_role_denied_in_secure_explain_and_secure_test_shows_the_server_error() {
    let p = secure_project();
    let (code, text, error) = fails(
        &p,
        &[
            "secure",
            "explain",
            "--env",
            "tester",
            "--as",
            "authenticated",
            "select * from notes",
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("permission denied to set role \"authenticated\""),
        "{text}"
    );
    assert_eq!(error["sqlstate"], "42501", "{error}");

    let (code, text, error) = fails(&p, &["secure", "test", "--env", "tester"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("permission denied to set role \"authenticated\""),
        "{text}"
    );
    assert!(text.contains("notes.toml"), "{text}");
    assert_eq!(error["sqlstate"], "42501", "{error}");
}

#[test]
fn a_query_that_fails_in_secure_explain_is_an_error_not_nothing_hidden() {
    let p = secure_project();
    // Fails when planned (the column does not exist) and when run (division by zero).
    for (query, server_says) in [
        (
            "select no_such_column from notes",
            "column \"no_such_column\" does not exist",
        ),
        ("select 1 / (id - id) from notes", "division by zero"),
    ] {
        let args = [
            "secure",
            "explain",
            "--env",
            "test",
            "--as",
            "authenticated",
            query,
        ];
        let (code, text, _) = fails(&p, &args);
        assert_eq!(code, 1, "{query}: {text}");
        assert!(text.contains(server_says), "{query}: {text}");
        assert!(!text.contains("nothing is hidden"), "{query}: {text}");
    }
}

#[test]
fn lock_timeout_inside_a_do_block_names_the_relation_and_the_holder() {
    let p = TestProject::with_config("");
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        toml.replace("[migrate]\n", "[migrate]\nlock_timeout = \"300ms\"\n"),
    )
    .unwrap();
    p.client()
        .batch_execute("create table busy (id int)")
        .unwrap();
    let mut blocker = postgres::Client::connect(
        &format!("{}?application_name=the_blocker", p.cluster.url("postgres")),
        postgres::NoTls,
    )
    .unwrap();
    blocker
        .batch_execute("begin; lock table busy in access share mode;")
        .unwrap();
    p.migration(
        M1,
        "alter_busy",
        "do $$\nbegin\n  if not exists (select 1 from pg_attribute where attrelid = 'busy'::regclass and attname = 'x') then\n    alter table busy add column x int;\n  end if;\nend $$;\n",
    );
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("55P03"), "{err}");
    assert!(err.contains("busy is locked by pid"), "{err}");
    assert!(err.contains("the_blocker"), "{err}");
    assert!(err.contains("AccessShareLock"), "{err}");
    blocker.batch_execute("rollback").unwrap();
    assert_eq!(p.run(&["migrate"]).status.code(), Some(0));
}

/// Connection failures in psql's words, with the target and never the password.
#[test]
fn connection_failures_say_what_psql_would() {
    let p = TestProject::new();
    let secret = "Pw-that-must-not-show";
    // Something that accepts TCP connections and then never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let refused_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cases = [
        (
            format!("postgresql://postgres:{secret}@127.0.0.1:{refused_port}/postgres?sslmode=disable"),
            vec![
                format!("127.0.0.1:{refused_port}"),
                "Connection refused".to_string(),
                "Is the server running on that host and accepting TCP/IP connections?".to_string(),
            ],
        ),
        (
            format!("postgresql://postgres:{secret}@no-such-host.invalid:5432/postgres"),
            vec!["could not translate host name \"no-such-host.invalid\" to address".to_string()],
        ),
        (
            format!(
                "postgresql://postgres:{secret}@127.0.0.1:{}/postgres?sslmode=require",
                p.cluster.port()
            ),
            vec!["server does not support SSL, but SSL was required".to_string()],
        ),
        (
            format!("postgresql://postgres:{secret}@127.0.0.1:{silent_port}/postgres?sslmode=disable&connect_timeout=1"),
            vec!["timeout expired".to_string(), format!("127.0.0.1:{silent_port}")],
        ),
    ];
    for (i, (url, expected)) in cases.iter().enumerate() {
        let name = format!("broken{i}");
        add_env(&p, &name, url);
        let (code, text, error) = fails(&p, &["status", "--env", &name]);
        assert_eq!(code, 2, "{text}");
        assert_eq!(error["kind"], "connect", "{error}");
        for words in expected {
            assert!(text.contains(words.as_str()), "{url}: {text}");
        }
        assert!(!text.contains("error connecting to server"), "{text}");
        assert!(
            !text.contains(secret) && !error.to_string().contains(secret),
            "{text}"
        );
    }
    drop(silent);
}

/// A database used as an `--env`: what `dbsage test` and `secure test` must leave unchanged.
fn footprint(client: &mut postgres::Client) -> Vec<String> {
    let row = client
        .query_one(
            "select (select count(*) from public.notes)::text,
                    (select string_agg(extname, ',' order by extname) from pg_extension),
                    (select count(*) from pg_proc)::text,
                    (select count(*) from pg_class)::text",
            &[],
        )
        .unwrap();
    (0..row.len()).map(|i| row.get(i)).collect()
}

#[test]
fn dbsage_test_and_secure_test_on_an_env_leave_no_trace() {
    assert!(
        std::path::Path::new("/usr/share/postgresql/15/extension/pgtap.control").exists(),
        "pgTAP is not installed: apt-get install -y postgresql-15-pgtap"
    );
    let p = secure_project();
    let mut client = p.client();
    let before = footprint(&mut client);
    let dir = p.root().join("tests/pgtap");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("1_common.sql"),
        "begin;\nselect plan(1);\ninsert into public.notes values (10, 'x');\nselect is((select count(*) from public.notes), 3::bigint, 'sees its row');\nselect * from finish();\nrollback;\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("2_commits.sql"),
        "begin;\ninsert into public.notes values (11, 'kept?');\ncreate function public.made_by_a_test() returns int language sql as 'select 1';\ncommit;\nselect plan(1);\nselect is((select count(*) from public.notes), 3::bigint, 'sees its committed row');\nselect * from finish();\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("3_inserts.sql"),
        "select plan(1);\ninsert into public.notes values (12, 'y'), (13, 'z');\nselect ok(true, 'inserted');\nselect * from finish();\n",
    )
    .unwrap();
    let out = p.run(&["test", "--env", "test"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(footprint(&mut client), before, "dbsage test left a trace");

    std::fs::write(
        p.root().join("tests/rls/writes.toml"),
        "setup = [\"insert into public.notes values (20, 'from setup')\"]\n\n[[case]]\nname = \"writes\"\nas = { role = \"authenticated\" }\nsql = \"select * from notes\"\nexpect = { rows = 3 }\n",
    )
    .unwrap();
    let out = p.run(&["secure", "test", "--env", "test"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(footprint(&mut client), before, "secure test left a trace");
}

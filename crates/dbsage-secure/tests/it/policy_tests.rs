//! Policy tests run as real users, pass and fail as they should, and never change the database.

use crate::common;

use dbsage_secure::{load_tests, run_tests, SecureError};

const PROJECTS: &str = r#"
setup = ["insert into public.projects (owner, title) values ('22222222-2222-2222-2222-222222222222', 'delta')"]

[[case]]
name = "alice reads her own projects"
as = { role = "authenticated", sub = "11111111-1111-1111-1111-111111111111" }
sql = "select * from projects"
expect = { rows = 2 }

[[case]]
name = "bob sees his two, including the one from setup"
as = { role = "authenticated", claims = { sub = "22222222-2222-2222-2222-222222222222", email = "bob@example.com" } }
sql = "select * from projects"
expect = { rows_at_least = 2 }

[[case]]
name = "anon cannot read projects"
as = { role = "anon" }
sql = "select * from projects"
expect = { error = "42501" }

[[case]]
name = "anon is denied"
role = "anon"
sql = "select * from projects"
expect = { denied = true }

[[case]]
name = "alice cannot insert as bob"
as = { role = "authenticated", sub = "11111111-1111-1111-1111-111111111111" }
sql = "insert into projects (owner, title) values ('22222222-2222-2222-2222-222222222222', 'x')"
expect = { error = "42501" }

[[case]]
name = "alice cannot update bob's projects"
as = { role = "authenticated", sub = "11111111-1111-1111-1111-111111111111" }
sql = "update projects set title = 'pwned' where owner = '22222222-2222-2222-2222-222222222222'"
expect = { denied = true }

[[case]]
name = "alice renames her projects"
as = { role = "authenticated", sub = "11111111-1111-1111-1111-111111111111" }
sql = "update projects set title = upper(title)"
expect = { rows = 2 }
"#;

const LEAKY: &str = r#"
[[case]]
name = "alice reads only her own notes"
as = { role = "authenticated", sub = "11111111-1111-1111-1111-111111111111" }
sql = "select * from notes"
expect = { rows = 1 }
"#;

#[test]
fn cases_pass_and_a_leaky_policy_fails() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(common::APP_SCHEMA).unwrap();
    let (_dir, path) = common::test_dir(&[("projects.toml", PROJECTS), ("notes.toml", LEAKY)]);
    let files = load_tests(&path).unwrap();
    assert_eq!(files.len(), 2);
    let report = run_tests(&mut client, &files).unwrap();
    eprintln!("{report:#?}");
    assert_eq!(report.passed, 7, "{report:#?}");
    assert_eq!(report.failed, 1, "{report:#?}");
    let leak = report.cases.iter().find(|c| !c.passed).unwrap();
    assert_eq!(leak.name, "alice reads only her own notes");
    assert!(leak.file.ends_with("notes.toml"));
    assert_eq!(leak.message, "expected 1 row, got 3 rows");
    let insert = report
        .cases
        .iter()
        .find(|c| c.name == "alice cannot insert as bob")
        .unwrap();
    assert!(
        insert.message.contains("row-level security"),
        "{}",
        insert.message
    );

    // Everything was rolled back: setup rows, updates, role and claims.
    let titles: Vec<String> = client
        .query("select title from public.projects order by id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(titles, ["alpha", "beta", "gamma"]);
    let user: String = client
        .query_one("select current_user::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(user, "postgres");
    let claims: Option<String> = client
        .query_one(
            "select nullif(current_setting('request.jwt.claims', true), '')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(claims, None);

    // The JSON shape is part of the interface.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["passed"], 7);
    assert_eq!(json["failed"], 1);
    let case = json["cases"][0].as_object().unwrap();
    let mut keys: Vec<&str> = case.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["file", "message", "name", "passed"]);
}

#[test]
fn fixing_the_leak_makes_the_test_pass() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(common::APP_SCHEMA).unwrap();
    client
        .batch_execute(
            "alter policy \"everyone reads notes\" on public.notes using (author = (select auth.uid()));",
        )
        .unwrap();
    let (_dir, path) = common::test_dir(&[("notes.toml", LEAKY)]);
    let report = run_tests(&mut client, &load_tests(&path).unwrap()).unwrap();
    assert_eq!((report.passed, report.failed), (1, 0), "{report:#?}");
}

fn error_for(case_toml: &str) -> SecureError {
    let (_cluster, mut client) = common::start();
    client.batch_execute(common::APP_SCHEMA).unwrap();
    let (_dir, path) = common::test_dir(&[("bad.toml", case_toml)]);
    let files = load_tests(&path).unwrap();
    run_tests(&mut client, &files).unwrap_err()
}

#[test]
fn unknown_role_is_a_clear_error() {
    let e = error_for("[[case]]\nname = \"typo\"\nas = { role = \"authenticatd\" }\nsql = \"select 1\"\nexpect = { rows = 1 }\n");
    assert_eq!(e.exit_code(), 2);
    let text = e.to_string();
    assert!(text.contains("bad.toml:1: case \"typo\""), "{text}");
    assert!(
        text.contains("role `authenticatd` does not exist"),
        "{text}"
    );
}

#[test]
fn missing_table_is_a_clear_error() {
    let e = error_for("[[case]]\nname = \"typo\"\nas = \"anon\"\nsql = \"select * from projcts\"\nexpect = { denied = true }\n");
    assert_eq!(e.exit_code(), 2);
    let text = e.to_string();
    assert!(text.contains("case \"typo\""), "{text}");
    assert!(
        text.contains("relation \"projcts\" does not exist"),
        "{text}"
    );
}

#[test]
fn transaction_control_is_refused() {
    let e = error_for("[[case]]\nname = \"sneaky\"\nas = \"anon\"\nsql = \"commit; select 1\"\nexpect = { rows = 1 }\n");
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("rolled back"), "{e}");
    let e = error_for("[[case]]\nname = \"sneaky\"\nas = \"anon\"\nsql = \"reset role; select * from projects\"\nexpect = { rows = 3 }\n");
    assert!(e.to_string().contains("role"), "{e}");
}

#[test]
fn malformed_file_names_file_line_and_key() {
    let (_dir, path) = common::test_dir(&[(
        "broken.toml",
        "[[case]]\nname = \"a\"\nas = \"anon\"\nsql = \"select 1\"\nexpect = { rows = \"two\" }\n",
    )]);
    let e = load_tests(&path).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let text = e.to_string();
    assert!(text.contains("broken.toml:5:"), "{text}");
    assert!(text.contains("key `expect.rows`"), "{text}");

    let (_dir, path) = common::test_dir(&[(
        "typo.toml",
        "[[case]]\nname = \"a\"\nas = \"anon\"\nsql = \"select 1\"\nexpcet = { rows = 2 }\n",
    )]);
    let text = load_tests(&path).unwrap_err().to_string();
    assert!(text.contains("typo.toml:"), "{text}");
    assert!(text.contains("expcet"), "{text}");
}

#[test]
fn missing_directory_is_bad_input() {
    let e = load_tests(std::path::Path::new("/nonexistent/tests/rls")).unwrap_err();
    assert_eq!(e.exit_code(), 2);
}

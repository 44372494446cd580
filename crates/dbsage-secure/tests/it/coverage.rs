//! The coverage matrix: what policies allow, what tests exercise, what is untested.

use crate::common;

use dbsage_secure::{coverage, load_tests};

const TESTS: &str = r#"
[[case]]
name = "alice reads her projects"
as = { role = "authenticated", sub = "11111111-1111-1111-1111-111111111111" }
sql = "select p.title from projects p join notes n on n.author = p.owner"
expect = { rows_at_least = 0 }

[[case]]
name = "alice inserts a project"
as = { role = "authenticated", sub = "11111111-1111-1111-1111-111111111111" }
sql = "insert into projects (owner, title) values ('11111111-1111-1111-1111-111111111111', 'new')"
expect = { rows = 1 }

[[case]]
name = "anon cannot delete notes"
as = { role = "anon" }
sql = "delete from notes"
expect = { denied = true }
"#;

#[test]
fn matrix_marks_allowed_and_tested_combinations() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(common::APP_SCHEMA).unwrap();
    let (_dir, path) = common::test_dir(&[("app.toml", TESTS)]);
    let files = load_tests(&path).unwrap();
    let cov = coverage(&mut client, &files, &[]).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&cov).unwrap());

    assert_eq!(cov.roles, ["anon", "authenticated"]);
    assert!(cov.tables.contains(&"public.projects".to_string()));
    assert!(cov.tables.contains(&"public.notes".to_string()));
    assert!(cov.unanalysed.is_empty(), "{:?}", cov.unanalysed);

    let cell = |role, table, cmd| cov.cell(role, table, cmd).unwrap().clone();

    // Allowed by a policy (and a grant), exercised by a test.
    let c = cell("authenticated", "public.projects", "select");
    assert!(c.granted && c.allowed && c.tested, "{c:?}");
    assert_eq!(c.policies, ["owners read"]);
    assert_eq!(c.tests.len(), 1);
    assert!(c.tests[0].ends_with("app.toml: alice reads her projects"));
    // The join counts the second table too.
    assert!(cell("authenticated", "public.notes", "select").tested);
    let c = cell("authenticated", "public.projects", "insert");
    assert!(c.allowed && c.tested, "{c:?}");
    // Granted but no policy: not allowed, and untested.
    let c = cell("authenticated", "public.projects", "delete");
    assert!(
        c.granted && !c.allowed && !c.tested && c.policies.is_empty(),
        "{c:?}"
    );
    // Update has a policy but no test.
    let c = cell("authenticated", "public.projects", "update");
    assert!(c.allowed && !c.tested, "{c:?}");
    // anon: no grant on projects; the delete on notes is tested (denied, by no policy).
    let c = cell("anon", "public.projects", "select");
    assert!(!c.granted && !c.allowed, "{c:?}");
    let c = cell("anon", "public.notes", "delete");
    assert!(c.granted && !c.allowed && c.tested, "{c:?}");

    assert_eq!(cov.cells.len(), cov.tables.len() * 2 * 4);
    assert!(cov
        .untested
        .contains(&"authenticated public.projects update".to_string()));
    assert!(cov
        .untested
        .contains(&"anon public.projects select".to_string()));
    assert!(!cov
        .untested
        .contains(&"authenticated public.projects select".to_string()));
    assert!(!cov
        .untested
        .contains(&"anon public.notes delete".to_string()));
    assert_eq!(
        cov.untested.len(),
        cov.cells.iter().filter(|c| !c.tested).count()
    );
    assert_eq!(cov.cells.iter().filter(|c| c.tested).count(), 4);
}

#[test]
fn unknown_role_is_a_clear_error() {
    let (_cluster, mut client) = common::start();
    let e = coverage(&mut client, &[], &["nobody".to_string()]).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string().contains("role `nobody` does not exist"),
        "{e}"
    );
}

//! pgTAP files run without pg_prove; results are parsed, failures included.

use crate::common;

use dbsage_secure::run_pgtap;

fn require_pgtap() {
    assert!(
        std::path::Path::new("/usr/share/postgresql/15/extension/pgtap.control").exists(),
        "pgTAP is not installed: apt-get install -y postgresql-15-pgtap"
    );
}

const FILE: &str = r#"
\set QUIET 1
begin;
select plan(4);

select has_table('public', 'projects', 'projects exists');
select policies_are('public', 'projects', array['owners read', 'owners insert', 'owners update']);

set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "11111111-1111-1111-1111-111111111111"}', true);
select is((select count(*) from projects), 2::bigint, 'alice sees her two projects');
select is((select count(*) from notes), 1::bigint, 'alice sees only her note');

select * from finish();
rollback;
"#;

#[test]
fn runs_files_and_parses_a_failing_assertion() {
    require_pgtap();
    let (cluster, mut client) = common::start();
    client.batch_execute(common::APP_SCHEMA).unwrap();
    let (_dir, path) = common::test_dir(&[
        ("rls.sql", FILE),
        ("broken.sql", "select plan(1);\nselect nope();\n"),
    ]);
    let files = vec![path.join("rls.sql"), path.join("broken.sql")];
    let report = run_pgtap(&mut || Ok(cluster.connect("postgres").unwrap()), &files).unwrap();
    eprintln!("{report:#?}");
    let rls = &report.files[0];
    assert_eq!(rls.planned, Some(4));
    assert_eq!(rls.tests.len(), 4);
    assert_eq!((rls.passed, rls.failed), (3, 1));
    let failed = &rls.tests[3];
    assert!(!failed.ok);
    assert_eq!(failed.number, 4);
    assert_eq!(failed.description, "alice sees only her note");
    assert!(
        failed.diagnostics.iter().any(|d| d.contains("have: 3")),
        "{failed:#?}"
    );
    assert!(
        failed.diagnostics.iter().any(|d| d.contains("want: 1")),
        "{failed:#?}"
    );
    assert!(rls.error.is_none());
    assert!(!rls.ok);

    let broken = &report.files[1];
    let error = broken.error.as_deref().unwrap();
    assert!(
        error.starts_with("line 2:") && error.contains("nope"),
        "{error}"
    );
    assert!(!broken.ok);
    assert!(!report.ok);
    assert_eq!((report.passed, report.failed), (3, 1));

    // The connection is usable and nothing leaked from the files' transactions.
    let user: String = client
        .query_one("select current_user::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(user, "postgres");
}

#[test]
fn a_passing_file_is_ok() {
    require_pgtap();
    let (cluster, _client) = common::start();
    let (_dir, path) = common::test_dir(&[(
        "ok.sql",
        "begin;\nselect plan(1);\nselect ok(true, 'truth');\nselect * from finish();\nrollback;\n",
    )]);
    let report = run_pgtap(
        &mut || Ok(cluster.connect("postgres").unwrap()),
        &[path.join("ok.sql")],
    )
    .unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.passed, 1);
}

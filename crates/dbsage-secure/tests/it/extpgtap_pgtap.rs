//! pgTAP the way Supabase runs it: in schema `extensions`, executable by the API roles even
//! under a migration that revokes default EXECUTE, one session per file, and file counts that
//! agree with the per-file verdicts.

use crate::common;

use dbsage_secure::{run_pgtap, SecureError};

fn require_pgtap() {
    assert!(
        std::path::Path::new("/usr/share/postgresql/15/extension/pgtap.control").exists(),
        "pgTAP is not installed: apt-get install -y postgresql-15-pgtap"
    );
}

/// What many Supabase projects put in an early migration: nothing is callable through the API
/// unless granted on purpose.
const LOCK_DOWN: &str = r#"
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from anon, authenticated, service_role;

create function public.owns_project(p_id bigint) returns boolean
  language sql stable security definer set search_path = ''
  as $$ select exists (select 1 from public.projects where id = p_id and owner = (select auth.uid())) $$;
grant execute on function public.owns_project(bigint) to authenticated;
"#;

const AS_AUTHENTICATED: &str = r#"
begin;
select plan(3);
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-1111-1111-111111111111"}';
select ok(true, 'assertions run as authenticated');
select is((select count(*) from public.projects), 2::bigint, 'alice sees her two projects');
select ok(public.owns_project((select min(id) from public.projects)), 'alice owns her first project');
select * from finish();
rollback;
"#;

const AS_ANON_AND_SERVICE: &str = r#"
begin;
select plan(2);
set local role anon;
select throws_ok('select * from public.projects', '42501', 'permission denied for table projects', 'anon is denied');
reset role;
set local role service_role;
select ok(true, 'service_role runs assertions too');
select * from finish();
rollback;
"#;

const PUBLIC_FUNCTIONS: &str = r#"
begin;
select plan(1);
select functions_are('public', array['owns_project'], 'public holds only the project''s functions');
select * from finish();
rollback;
"#;

fn session_opener(
    cluster: &dbsage_cluster::Cluster,
) -> impl FnMut() -> Result<postgres::Client, SecureError> + '_ {
    || Ok(cluster.connect("postgres").unwrap())
}

#[test]
fn assertions_run_as_api_roles_under_revoked_default_execute() {
    require_pgtap();
    let (cluster, mut client) = common::start();
    client.batch_execute(common::APP_SCHEMA).unwrap();
    client.batch_execute(LOCK_DOWN).unwrap();
    let (_dir, path) = common::test_dir(&[
        ("as_authenticated.sql", AS_AUTHENTICATED),
        ("as_anon_and_service.sql", AS_ANON_AND_SERVICE),
        ("public_functions.sql", PUBLIC_FUNCTIONS),
    ]);
    let files = vec![
        path.join("as_authenticated.sql"),
        path.join("as_anon_and_service.sql"),
        path.join("public_functions.sql"),
    ];
    let report = run_pgtap(&mut session_opener(&cluster), &files).unwrap();
    for file in &report.files {
        assert!(file.ok, "{file:#?}");
    }
    assert_eq!((report.passed, report.failed), (6, 0));
    assert_eq!((report.files_passed, report.files_failed), (3, 0));

    // Nothing stays: pgTAP and its grants were made inside the rolled-back transactions.
    let installed: bool = client
        .query_one(
            "select exists (select 1 from pg_extension where extname = 'pgtap')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!installed);
}

#[test]
fn pgtap_installed_by_a_migration_is_made_executable_too() {
    require_pgtap();
    let (cluster, mut client) = common::start();
    client.batch_execute(common::APP_SCHEMA).unwrap();
    client.batch_execute(LOCK_DOWN).unwrap();
    // Created after the revoke, as the project's own migration would: no EXECUTE for anyone.
    client
        .batch_execute("create extension pgtap with schema extensions")
        .unwrap();
    let (_dir, path) = common::test_dir(&[("as_authenticated.sql", AS_AUTHENTICATED)]);
    let report = run_pgtap(
        &mut session_opener(&cluster),
        &[path.join("as_authenticated.sql")],
    )
    .unwrap();
    assert!(report.ok, "{report:#?}");
    // The grants were for the test's transaction only.
    let anon_can: bool = client
        .query_one(
            "select has_function_privilege('authenticated', 'extensions.ok(boolean, text)', 'execute')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!anon_can);
}

#[test]
fn each_file_has_its_own_session() {
    require_pgtap();
    let (cluster, _client) = common::start();
    // Prepared statements survive a rollback: in one shared session the second file would fail
    // with "prepared statement already exists".
    let file = "begin;\nselect plan(1);\nprepare answer as select 42;\nselect results_eq('answer', array[42], 'the answer');\nselect * from finish();\nrollback;\n";
    let (_dir, path) = common::test_dir(&[("a.sql", file), ("b.sql", file)]);
    let mut sessions = 0;
    let mut open = || {
        sessions += 1;
        Ok(cluster.connect("postgres").unwrap())
    };
    let report = run_pgtap(&mut open, &[path.join("a.sql"), path.join("b.sql")]).unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(sessions, 2);
}

#[test]
fn an_erroring_file_counts_as_failed() {
    require_pgtap();
    let (cluster, _client) = common::start();
    let (_dir, path) = common::test_dir(&[
        (
            "passes.sql",
            "begin;\nselect plan(2);\nselect ok(true, 'one');\nselect ok(true, 'two');\nselect * from finish();\nrollback;\n",
        ),
        (
            "errors.sql",
            "begin;\nselect plan(2);\nselect ok(true, 'before the error');\nselect * from public.no_such_table;\nselect ok(true, 'never runs');\nrollback;\n",
        ),
        (
            "short.sql",
            "begin;\nselect plan(3);\nselect ok(true, 'only one of three');\nrollback;\n",
        ),
    ]);
    let files = vec![
        path.join("passes.sql"),
        path.join("errors.sql"),
        path.join("short.sql"),
    ];
    let report = run_pgtap(&mut session_opener(&cluster), &files).unwrap();
    assert!(!report.ok);
    // No assertion failed, yet two files did: the file counts say so.
    assert_eq!((report.passed, report.failed), (4, 0));
    assert_eq!((report.files_passed, report.files_failed), (1, 2));
    let errors = &report.files[1];
    assert!(
        errors.error.as_deref().unwrap().starts_with("line 4:"),
        "{errors:#?}"
    );
    assert_eq!(
        report.files_failed,
        report.files.iter().filter(|f| !f.ok).count()
    );
}

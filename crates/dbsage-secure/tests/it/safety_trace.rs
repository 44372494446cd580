//! Safety: running tests against a database leaves no trace. pgTAP files run in a transaction
//! dbsage controls and rolls back (their own BEGIN/COMMIT/ROLLBACK included), pgTAP is created
//! inside it, and policy test cases are rolled back; rows, extensions and functions are
//! unchanged afterwards.

use crate::common;

use dbsage_secure::{load_tests, run_pgtap, run_tests};

/// What a run must not change: row counts of the app's tables, the installed extensions, the
/// number of functions, relations and roles, and who we are.
fn footprint(client: &mut postgres::Client) -> Vec<String> {
    let row = client
        .query_one(
            "select (select count(*) from public.projects)::text,
                    (select count(*) from public.notes)::text,
                    (select string_agg(extname, ',' order by extname) from pg_extension),
                    (select count(*) from pg_proc)::text,
                    (select count(*) from pg_class)::text,
                    (select count(*) from pg_roles)::text,
                    current_user::text",
            &[],
        )
        .unwrap();
    (0..row.len()).map(|i| row.get(i)).collect()
}

/// The common pgTAP shape.
const ROLLED_BACK: &str = "begin;\nselect plan(1);\ninsert into public.notes (author, body) values ('11111111-1111-1111-1111-111111111111', 'x');\nselect is((select count(*) from public.notes), 4::bigint, 'the new note is visible');\nselect * from finish();\nrollback;\n";

/// A file that commits its fixtures, then checks it can see them.
const COMMITS: &str = "begin;\ninsert into public.projects (owner, title) values ('22222222-2222-2222-2222-222222222222', 'committed');\ncreate function public.made_by_a_test() returns int language sql as 'select 1';\ncommit;\nselect plan(2);\nselect is((select count(*) from public.projects), 4::bigint, 'the committed project is visible');\nselect is(public.made_by_a_test(), 1, 'the committed function works');\nselect * from finish();\n";

/// No transaction control at all: writes, a role change, and an extension of its own.
const AUTOCOMMIT: &str = "select plan(1);\ninsert into public.notes (author, body) values ('22222222-2222-2222-2222-222222222222', 'y');\ncreate extension if not exists pg_trgm;\ncreate role made_by_a_test;\nselect ok(true, 'wrote');\nselect * from finish();\nset role authenticated;\n";

/// Two-phase commit cannot be contained: refused, naming the file and line.
const PREPARES: &str = "begin;\ninsert into public.notes (author, body) values ('22222222-2222-2222-2222-222222222222', 'z');\nprepare transaction 'escape';\n";

#[test]
fn pgtap_files_leave_no_trace_whatever_their_transaction_control() {
    assert!(
        std::path::Path::new("/usr/share/postgresql/15/extension/pgtap.control").exists(),
        "pgTAP is not installed: apt-get install -y postgresql-15-pgtap"
    );
    let (cluster, mut client) = common::start();
    client.batch_execute(common::APP_SCHEMA).unwrap();
    let before = footprint(&mut client);
    assert!(!before[2].contains("pgtap"), "{before:?}");
    let (_dir, path) = common::test_dir(&[
        ("1_rolled_back.sql", ROLLED_BACK),
        ("2_commits.sql", COMMITS),
        ("3_autocommit.sql", AUTOCOMMIT),
        ("4_prepares.sql", PREPARES),
    ]);
    let files: Vec<_> = [
        "1_rolled_back.sql",
        "2_commits.sql",
        "3_autocommit.sql",
        "4_prepares.sql",
    ]
    .iter()
    .map(|f| path.join(f))
    .collect();
    let report = run_pgtap(&mut || Ok(cluster.connect("postgres").unwrap()), &files).unwrap();
    eprintln!("{report:#?}");
    for f in &report.files[..3] {
        assert!(f.ok, "{f:#?}");
    }
    let refused = report.files[3].error.as_deref().unwrap_or_default();
    assert!(
        refused.contains("4_prepares.sql:3") && refused.contains("PREPARE TRANSACTION"),
        "{refused}"
    );
    assert_eq!(footprint(&mut client), before, "the run left a trace");
    let prepared: i64 = client
        .query_one("select count(*) from pg_prepared_xacts", &[])
        .unwrap()
        .get(0);
    assert_eq!(prepared, 0);
}

#[test]
fn policy_tests_leave_no_trace_and_refuse_commit_with_file_and_line() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(common::APP_SCHEMA).unwrap();
    let before = footprint(&mut client);
    let (_dir, path) = common::test_dir(&[(
        "writes.toml",
        "setup = [\"insert into public.notes (author, body) values ('11111111-1111-1111-1111-111111111111', 'from setup')\"]\n\n\
         [[case]]\nname = \"alice inserts her project\"\nas = { role = \"authenticated\", sub = \"11111111-1111-1111-1111-111111111111\" }\n\
         sql = \"insert into public.projects (owner, title) values ('11111111-1111-1111-1111-111111111111', 'new')\"\nexpect = { rows = 1 }\n",
    )]);
    let files = load_tests(&path).unwrap();
    let report = run_tests(&mut client, &files).unwrap();
    assert_eq!(report.passed, 1, "{report:#?}");
    assert_eq!(footprint(&mut client), before, "the run left a trace");

    let (_dir, path) = common::test_dir(&[(
        "commits.toml",
        "[[case]]\nname = \"tries to keep its row\"\nas = { role = \"authenticated\", sub = \"11111111-1111-1111-1111-111111111111\" }\n\
         sql = \"insert into public.projects (owner, title) values ('11111111-1111-1111-1111-111111111111', 'kept'); commit\"\nexpect = { rows = 1 }\n",
    )]);
    let files = load_tests(&path).unwrap();
    let err = run_tests(&mut client, &files).unwrap_err().to_string();
    assert!(
        err.contains("commits.toml:1") && err.contains("transaction control"),
        "{err}"
    );
    assert_eq!(
        footprint(&mut client),
        before,
        "the refused run left a trace"
    );
}

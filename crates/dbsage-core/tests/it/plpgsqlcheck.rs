//! The `plpgsql` check of `migrate --local`: PL/pgSQL bodies checked with the `plpgsql_check`
//! extension after the replay, problems located at file:line (issue 10).

use dbsage_core::config::Project;
use dbsage_core::local::{self, CheckStatus, LocalOptions};
use dbsage_core::migrations::discover_project;

const ORDERS: &str = "create table orders (\n\
    id bigint generated always as identity primary key,\n\
    total_cents bigint not null,\n\
    updated_at timestamptz not null default now()\n\
);\n";

fn run(migrations: &[(&str, &str)]) -> (tempfile::TempDir, local::LocalReport) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dbsage.toml"),
        "[checks]\nidempotency = \"off\"\nrollback = \"off\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    for (name, sql) in migrations {
        std::fs::write(dir.path().join("migrations").join(name), sql).unwrap();
    }
    let project = Project::load(dir.path()).unwrap();
    let files = discover_project(&project).unwrap();
    let report = local::run_local(
        &project,
        &files,
        &LocalOptions { skip_lint: true },
        &mut |_| {},
    )
    .unwrap();
    (dir, report)
}

#[test]
fn a_missing_column_in_a_function_fails_at_its_file_line() {
    let body = "create or replace function order_total(p_id bigint) returns bigint\n\
        language plpgsql stable as $$\n\
        declare\n\
        \x20 v_total bigint;\n\
        begin\n\
        \x20 select nosuchcol into v_total from orders where id = p_id;\n\
        \x20 return v_total;\n\
        end;\n\
        $$;\n";
    let (_dir, report) = run(&[
        ("20260101000000_orders.sql", ORDERS),
        ("20260102000000_order_total.sql", body),
    ]);
    let check = &report.checks["plpgsql"];
    assert_eq!(check.status, CheckStatus::Failed, "{check:#?}");
    assert!(!report.passed);
    let f = &check.findings[0];
    assert_eq!(f.version, "20260102000000");
    assert!(f
        .file
        .as_deref()
        .unwrap()
        .ends_with("20260102000000_order_total.sql"));
    // Line 6 of the file: the select inside the body.
    assert_eq!(f.line, Some(6), "{f:#?}");
    assert_eq!(f.column, Some(3));
    assert!(f.message.contains("nosuchcol"), "{}", f.message);
    assert!(f.message.contains("public.order_total"), "{}", f.message);
    assert_eq!(f.sqlstate.as_deref(), Some("42703"));
}

#[test]
fn a_correct_function_passes() {
    let body = "create function order_total(p_id bigint) returns bigint\n\
        language plpgsql stable as $$\n\
        begin\n\
        \x20 return (select total_cents from orders where id = p_id);\n\
        end;\n\
        $$;\n";
    let (_dir, report) = run(&[
        ("20260101000000_orders.sql", ORDERS),
        ("20260102000000_order_total.sql", body),
    ]);
    let check = &report.checks["plpgsql"];
    assert_eq!(check.status, CheckStatus::Passed, "{check:#?}");
    assert!(report.passed);
}

#[test]
fn a_trigger_function_is_checked_with_its_table() {
    let trigger = "create function touch_orders() returns trigger\n\
        language plpgsql as $$\n\
        begin\n\
        \x20 new.updated_at := now();\n\
        \x20 new.modified_by := current_user;\n\
        \x20 return new;\n\
        end;\n\
        $$;\n\
        \n\
        create trigger orders_touch before update on orders\n\
        \x20 for each row execute function touch_orders();\n";
    let (_dir, report) = run(&[
        ("20260101000000_orders.sql", ORDERS),
        ("20260103000000_touch_orders.sql", trigger),
    ]);
    let check = &report.checks["plpgsql"];
    assert_eq!(check.status, CheckStatus::Failed, "{check:#?}");
    assert_eq!(check.findings.len(), 1, "{check:#?}");
    let f = &check.findings[0];
    assert_eq!(f.line, Some(5), "{f:#?}");
    assert!(f.message.contains("modified_by"), "{}", f.message);
}

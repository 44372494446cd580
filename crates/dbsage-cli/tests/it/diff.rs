//! `dbsage diff` (proof, hazards, --write that lints clean, not handled → exit 1) and
//! `dbsage drift`, through the real binary on throwaway clusters.

use crate::common;

use common::{stderr, stdout, TestProject};
use serde_json::Value;

const HISTORY: &str = "
CREATE TABLE accounts (id bigint PRIMARY KEY, email text, plan text);
CREATE TABLE payments (id bigint PRIMARY KEY, account_id bigint, amount integer NOT NULL);
CREATE VIEW account_totals AS
    SELECT a.id, sum(p.amount) AS total FROM accounts a JOIN payments p ON p.account_id = a.id GROUP BY a.id;
";

/// The schema the team wants: what a hand-written schema file looks like.
const TARGET_SCHEMA: &str = "
CREATE TYPE plan_kind AS ENUM ('free', 'pro');
CREATE TABLE accounts (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    plan text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));
CREATE TABLE payments (
    id bigint PRIMARY KEY,
    account_id bigint REFERENCES accounts (id),
    amount numeric(12,2) NOT NULL
);
CREATE INDEX payments_account_id_idx ON payments (account_id);
CREATE VIEW account_totals AS
    SELECT a.id, sum(p.amount) AS total FROM accounts a JOIN payments p ON p.account_id = a.id GROUP BY a.id;
COMMENT ON TABLE accounts IS 'one per customer';
";

fn project() -> TestProject {
    let p = TestProject::new();
    p.migration("20260101000000", "init", HISTORY);
    std::fs::write(p.root().join("target.sql"), TARGET_SCHEMA).unwrap();
    p
}

fn statements(report: &Value) -> Vec<&Value> {
    report["statements"].as_array().unwrap().iter().collect()
}

#[test]
fn diff_from_migrations_to_a_schema_file_is_proven_and_written_files_lint_clean() {
    let p = project();
    let (report, code) = p.json(&["diff", "--from", "migrations", "--to", "target.sql"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["proof"]["clean"], true);
    let index = statements(&report)
        .into_iter()
        .find(|s| {
            s["sql"]
                .as_str()
                .unwrap()
                .contains("CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key")
        })
        .expect("the index is built concurrently");
    assert_eq!(index["transactional"], false);
    assert_eq!(index["hazards"], serde_json::json!(["builds-index"]));
    let retype = statements(&report)
        .into_iter()
        .find(|s| s["sql"].as_str().unwrap().contains("TYPE numeric(12,2)"))
        .unwrap();
    assert!(retype["hazards"]
        .as_array()
        .unwrap()
        .contains(&Value::from("rewrites-table")));

    let out = p.run(&[
        "diff",
        "--from",
        "migrations",
        "--to",
        "target.sql",
        "--write",
        "billing",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut written: Vec<_> = std::fs::read_dir(p.root().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("billing"))
        .collect();
    written.sort();
    assert_eq!(written.len(), 2, "{written:?}");
    let no_transaction =
        std::fs::read_to_string(p.root().join("migrations").join(&written[1])).unwrap();
    assert!(
        no_transaction.starts_with("-- dbsage:no-transaction\n"),
        "{no_transaction}"
    );
    assert!(no_transaction.contains("CONCURRENTLY"));

    let lint = p.run(&["lint"]);
    assert_eq!(
        lint.status.code(),
        Some(0),
        "{}{}",
        stdout(&lint),
        stderr(&lint)
    );

    // The history with the written files now replays to the target: nothing left to diff.
    let (again, code) = p.json(&["diff", "--from", "migrations", "--to", "target.sql"]);
    assert_eq!(code, 0, "{again:#}");
    assert!(statements(&again).is_empty(), "{again:#}");
}

#[test]
fn diff_from_an_environment_is_proven_on_a_rebuilt_copy() {
    let p = project();
    let mut client = p.client();
    client.batch_execute(HISTORY).unwrap();
    client
        .batch_execute("CREATE ROLE reporting NOLOGIN; GRANT SELECT ON accounts TO reporting;")
        .unwrap();
    let out = p.run(&["diff", "--from", "test", "--to", "target.sql"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(
        text.contains("REVOKE ALL ON TABLE public.accounts FROM reporting;"),
        "{text}"
    );
    assert!(
        stderr(&out).contains("proof: applied on a throwaway copy"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn what_the_engine_cannot_write_is_reported_as_not_handled_and_fails() {
    let p = project();
    std::fs::write(
        p.root().join("target.sql"),
        "CREATE TABLE accounts (id bigint PRIMARY KEY, email text, plan text);
         CREATE TABLE payments (id bigint PRIMARY KEY, account_id bigint, amount integer NOT NULL);
         CREATE EXTENSION postgres_fdw;
         CREATE SERVER ledger FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'ledger');
         CREATE FOREIGN TABLE ledger_entries (id bigint, amount integer) SERVER ledger;",
    )
    .unwrap();
    let (report, code) = p.json(&["diff", "--from", "migrations", "--to", "target.sql"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["proof"]["clean"], false);
    let left: Vec<&str> = report["proof"]["not_handled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["object"].as_str().unwrap())
        .collect();
    assert!(left.contains(&"table public.ledger_entries"), "{left:?}");
    // Nothing is written from an unproven plan.
    let out = p.run(&[
        "diff",
        "--from",
        "migrations",
        "--to",
        "target.sql",
        "--write",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not handled: changed table public.ledger_entries"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_dir(p.root().join("migrations"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn drift_lists_what_differs_and_the_sql_each_way() {
    let p = project();
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (report, code) = p.json(&["drift", "--env", "test"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["drift"], false);

    p.client()
        .batch_execute("ALTER TABLE accounts ADD COLUMN note text; CREATE INDEX payments_amount ON payments (amount);")
        .unwrap();
    let (report, code) = p.json(&["drift", "--env", "test"]);
    assert_eq!(code, 1, "{report:#}");
    let objects: Vec<&str> = report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["object"].as_str().unwrap())
        .collect();
    assert!(
        objects.contains(&"column public.accounts.note"),
        "{objects:?}"
    );
    assert!(
        objects.contains(&"index public.payments_amount"),
        "{objects:?}"
    );
    let sql = |key: &str| -> String {
        report[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["sql"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(sql("to_history").contains("ALTER TABLE public.accounts DROP COLUMN note;"));
    assert!(sql("to_live").contains("ALTER TABLE public.accounts ADD COLUMN note text;"));

    // Applying the reconciling SQL ends the drift.
    let mut client = p.client();
    for statement in report["to_history"].as_array().unwrap() {
        client
            .batch_execute(statement["sql"].as_str().unwrap())
            .unwrap();
    }
    let (_, code) = p.json(&["drift", "--env", "test"]);
    assert_eq!(code, 0);
}

#[test]
fn pull_writes_a_proven_baseline_of_a_hand_built_database_and_records_it() {
    let p = TestProject::new();
    p.client()
        .batch_execute(
            "CREATE ROLE web_anon NOLOGIN;
             CREATE SCHEMA shop;
             CREATE TYPE shop.size AS ENUM ('s', 'm', 'l');
             CREATE TABLE shop.products (id serial PRIMARY KEY, name text NOT NULL, size shop.size);
             CREATE INDEX products_name_idx ON shop.products (name);
             CREATE TABLE shop.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                                       product_id int REFERENCES shop.products (id));
             CREATE VIEW shop.catalogue AS SELECT id, name FROM shop.products;
             ALTER TABLE shop.orders ENABLE ROW LEVEL SECURITY;
             CREATE POLICY orders_read ON shop.orders FOR SELECT TO web_anon USING (true);
             GRANT USAGE ON SCHEMA shop TO web_anon;
             GRANT SELECT ON shop.catalogue TO web_anon;
             COMMENT ON TABLE shop.products IS 'what we sell';",
        )
        .unwrap();
    let out = p.run(&["pull", "--env", "test", "--name", "initial_schema"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let files: Vec<String> = std::fs::read_dir(p.root().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with("_initial_schema.sql"));
    // Recorded as applied (audited): nothing pending, and the history replays to the live schema.
    assert_eq!(p.history().len(), 1);
    let (status, _) = p.json(&["status"]);
    assert!(!status.to_string().contains("\"pending\""), "{status:#}");
    let (drift, code) = p.json(&["drift", "--env", "test"]);
    assert_eq!(code, 0, "{drift:#}");
    let events = p.events();
    assert!(
        events.iter().any(|(_, kind, _)| kind == "marked_applied"),
        "{events:?}"
    );

    // A second pull is refused: the project has migrations now.
    let again = p.run(&["pull", "--env", "test"]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
}

//! `dbsage diff` from a live environment: the proof rebuilds only the part the plan affects,
//! cut into pieces proven side by side, and falls back to the whole schema when that part
//! does not prove clean, so a failure reported is the whole schema's.

use crate::common;

use common::{stderr, TestProject};
use dbsage_cluster::Cluster;
use serde_json::Value;

const SAAS: &str = include_str!("../../../dbsage-diff/tests/fixtures/scope/saas.sql");
const BUDGET_TRIGGER: &str =
    include_str!("../../../dbsage-diff/tests/fixtures/scope/budget_trigger.sql");

/// Twenty archive tables nothing changes: the part a small change affects is then a small
/// part of the schema, as in a real one.
fn with_archives(schema: &str) -> String {
    let archives: String = (1..=20)
        .map(|i| {
            format!(
                "CREATE TABLE archive_{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
                 org_id bigint REFERENCES organizations, body jsonb NOT NULL);\n"
            )
        })
        .collect();
    format!("{schema}\n{archives}")
}

/// Environment `test` (the cluster's `postgres` database) holds `from`; environment `target`
/// (database `target_db` of the same cluster) holds `to`.
fn live_pair(from: &str, to: &str) -> TestProject {
    let cluster = Cluster::start().expect("starting a throwaway cluster");
    let target_url = cluster.url("target_db");
    let p = TestProject::on_cluster(
        cluster,
        &format!("\n[environments.target]\nurl = \"{target_url}\"\n"),
    );
    p.client().batch_execute(from).unwrap();
    p.cluster.create_database("target_db").unwrap();
    p.cluster
        .connect("target_db")
        .unwrap()
        .batch_execute(to)
        .unwrap();
    p
}

fn estimate_in_cents(schema: &str) -> String {
    schema.replace("    estimate integer,", "    estimate numeric(6,2),")
}

#[test]
fn a_live_source_is_proven_on_the_part_the_plan_affects() {
    let from = with_archives(SAAS);
    let to = estimate_in_cents(&from).replace(
        "    total numeric(12,2) NOT NULL\n);",
        "    total numeric(12,2) NOT NULL,\n    due_on date\n);\nCREATE INDEX invoices_due_on_idx ON invoices (due_on);",
    );
    let p = live_pair(&from, &to);
    let (report, code) = p.json(&["diff", "--from", "test", "--to", "target"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["proof"]["clean"], true, "{report:#}");
    let copy = &report["proof"]["copy"];
    assert_eq!(copy["scope"], "affected", "{copy:#}");
    let (objects, of) = (
        copy["objects"].as_u64().unwrap(),
        copy["of"].as_u64().unwrap(),
    );
    // tasks, invoices, what depends on them and what they need; not the archives, settings,
    // memberships or audit_log.
    assert!(objects < of / 2, "{copy:#}");
    assert!(copy["pieces"].as_u64().unwrap() >= 1, "{copy:#}");
    let sql: Vec<&str> = report["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sql"].as_str().unwrap())
        .collect();
    assert!(
        sql.iter()
            .any(|s| s.contains("ALTER COLUMN estimate TYPE numeric(6,2)")),
        "{sql:#?}"
    );
    assert!(
        sql.iter().any(|s| s.contains("invoices_due_on_idx")),
        "{sql:#?}"
    );

    let out = p.run(&["diff", "--from", "test", "--to", "target"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains(&format!(
            "proof: applied on a throwaway copy of environment test (the {objects} of its {of} tables, views, sequences, functions and types the plan affects"
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_part_that_does_not_prove_clean_is_proven_again_whole() {
    // Retyping tasks.estimate means dropping and creating total_estimate() (a SQL-standard
    // body reads it) around the change; a trigger on invoices whose condition calls it forbids
    // the drop (the engine does not recreate triggers for it).
    let from = format!("{}\n{BUDGET_TRIGGER}", with_archives(SAAS));
    let to = estimate_in_cents(&from);
    let p = live_pair(&from, &to);
    let (report, code) = p.json(&["diff", "--from", "test", "--to", "target"]);
    assert_eq!(code, 1, "{report:#}");
    let proof: &Value = &report["proof"];
    assert_eq!(proof["clean"], false);
    assert_eq!(proof["copy"]["scope"], "whole", "{proof:#}");
    assert_eq!(proof["copy"]["objects"], proof["copy"]["of"]);
    let error = proof["failure"]["error"].as_str().unwrap();
    assert!(
        error.contains("cannot drop function total_estimate()"),
        "{proof:#}"
    );
}

//! `dbsage review --env E` judges the change against E's live schema (a throwaway copy built
//! from E's catalog), not the replayed history: a table made by hand in production counts.

use crate::common;

use std::path::{Path, PathBuf};

use common::{stderr, stdout, TestProject};
use dbsage_cluster::Cluster;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The SaaS history in `migrations/`, migrated onto the `live` environment (its own cluster),
/// then `billing_documents` created there by hand; the proposals in `proposals/`.
fn live_with_a_hand_made_table(protected: bool) -> (TestProject, Cluster) {
    let live = Cluster::start().unwrap();
    let p = TestProject::with_config(&format!(
        "\n[environments.live]\nurl = \"{}\"\n",
        live.url("postgres")
    ));
    let history = fixture("review/saas/history");
    for entry in std::fs::read_dir(&history).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(
            &path,
            p.root().join("migrations").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    let out = p.run(&["migrate", "--env", "live"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let by_hand =
        std::fs::read_to_string(fixture("reviewlive/billing_documents_by_hand.sql")).unwrap();
    live.connect("postgres")
        .unwrap()
        .batch_execute(&by_hand)
        .unwrap();
    std::fs::create_dir(p.root().join("proposals")).unwrap();
    for name in ["invoices.sql", "billing_due_date.sql"] {
        std::fs::copy(
            fixture("reviewlive").join(name),
            p.root().join("proposals").join(name),
        )
        .unwrap();
    }
    if protected {
        let config = p.root().join("dbsage.toml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str("protected = true\n");
        std::fs::write(&config, text).unwrap();
    }
    (p, live)
}

fn checks(report: &Value) -> Vec<&str> {
    report["red_flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect()
}

/// The password in a cluster URL (`postgres://user:PASSWORD@…`).
fn password(url: &str) -> String {
    let userinfo = url.split("://").nth(1).unwrap().split('@').next().unwrap();
    userinfo.split(':').nth(1).unwrap().to_string()
}

#[test]
fn a_copy_of_a_hand_made_production_table_is_flagged_with_env_and_not_without() {
    let (p, live) = live_with_a_hand_made_table(false);

    // Against the replayed history billing_documents does not exist: nothing to overlap.
    let (history, code) = p.json(&["review", "proposals/invoices.sql"]);
    assert_eq!(code, 0, "{history:#}");
    assert!(
        !checks(&history).contains(&"overlapping-table"),
        "{history:#}"
    );
    assert_eq!(history["ladder"]["suggestion"], "one-table", "{history:#}");

    let (report, code) = p.json(&["review", "proposals/invoices.sql", "--env", "live"]);
    assert_eq!(code, 0, "{report:#}");
    let overlap = report["red_flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "overlapping-table")
        .unwrap_or_else(|| panic!("no overlapping-table in {report:#}"));
    assert_eq!(overlap["object"], "table public.invoices");
    assert_eq!(
        overlap["evidence"]["existing_table"],
        "public.billing_documents"
    );
    assert_eq!(
        (overlap["file"].as_str(), overlap["line"].as_u64()),
        (Some("proposals/invoices.sql"), Some(2))
    );
    assert_eq!(report["ladder"]["change"], "one-table");
    assert_eq!(report["ladder"]["suggestion"], "no-change");
    let detail = report["ladder"]["suggestion_detail"].as_str().unwrap();
    assert!(
        detail.contains("reuse table public.billing_documents"),
        "{detail}"
    );
    // The copy is complete: nothing of the live schema was left out of the judgement.
    let notes: Vec<&str> = report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes.iter().all(|n| !n.contains("throwaway copy")),
        "{notes:?}"
    );
    // The live database itself is not changed by a review.
    let exists: bool = live
        .connect("postgres")
        .unwrap()
        .query_one("select to_regclass('public.invoices') is not null", &[])
        .unwrap()
        .get(0);
    assert!(
        !exists,
        "review created the proposed table on the environment"
    );

    // Human output names the hand-made table in the ladder, and never the password.
    let out = p.run(&["review", "proposals/invoices.sql", "--env", "live"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("reuse table public.billing_documents instead of creating public.invoices"),
        "{text}"
    );
    let secret = password(&live.url("postgres"));
    assert!(
        !text.contains(&secret) && !stderr(&out).contains(&secret),
        "the password was printed"
    );
}

#[test]
fn a_column_on_a_hand_made_table_reviews_on_a_protected_env_without_a_gate() {
    let (p, live) = live_with_a_hand_made_table(true);

    // The history has no billing_documents: the change cannot even run there.
    let out = p.run(&["review", "proposals/billing_due_date.sql"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("proposals/billing_due_date.sql")
            && err.contains("billing_documents")
            && err.contains("replayed schema"),
        "{err}"
    );

    // On the live schema it is the smallest rung: one column on an existing table. Reading a
    // protected environment asks for no confirmation (stdin is closed) and changes nothing.
    let (report, code) = p.json(&["review", "proposals/billing_due_date.sql", "--env", "live"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["adds"]["new_columns"]["public.billing_documents"][0]["name"], "due_on",
        "{report:#}"
    );
    assert_eq!(report["ladder"]["change"], "one-column");
    assert_eq!(report["verdict"], "ok");
    // Evidence comes from the live database: the hand-made table has no rows yet.
    assert!(
        report["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "empty-table" && f["object"] == "table public.billing_documents"),
        "{report:#}"
    );
    let columns: i64 = live
        .connect("postgres")
        .unwrap()
        .query_one(
            "select count(*) from information_schema.columns where table_name = 'billing_documents' and column_name = 'due_on'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(columns, 0, "review changed the protected environment");
}

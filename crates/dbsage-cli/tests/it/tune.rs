//! `dbsage tune` and `dbsage maintain` through the binary, on a project whose default
//! environment is a throwaway cluster: the report's JSON shape and exit codes, `--write`
//! producing a migration that passes `dbsage lint` and `dbsage migrate --local`, and maintain's
//! dry run, gates and retention rules from dbsage.toml.

use crate::common;

use common::{stderr, stdout, TestProject};
use serde_json::Value;

/// The shop schema as its team wrote it, with the mistakes `tune` exists for: the orders'
/// foreign key without an index, an index created twice, and a prefix of a composite.
const SCHEMA: &str = "\
create table if not exists customers (
  id bigint generated always as identity primary key,
  email text not null unique
);
create table if not exists orders (
  id bigint generated always as identity primary key,
  customer_id bigint not null references customers (id),
  status text not null,
  created_at timestamptz not null default now()
);
create index if not exists orders_status_idx on orders (status);
create index if not exists orders_status_idx1 on orders (status);
create index if not exists orders_status_created_at_idx on orders (status, created_at);
";

fn shop() -> TestProject {
    let p = TestProject::new();
    p.migration("20260101000000", "shop", SCHEMA);
    let out = p.run(&["migrate", "--skip-local-check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    p
}

/// A server configured for its machine (tune's settings findings stay quiet): a quarter of
/// RAM as shared buffers, random_page_cost for the memory throwaway clusters live in.
fn tuned_cluster() -> dbsage_cluster::Cluster {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let ram_kb: i64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    dbsage_cluster::Cluster::start_with(&dbsage_cluster::ClusterOptions {
        settings: vec![
            ("shared_buffers".into(), format!("{}MB", ram_kb / 4 / 1024)),
            ("random_page_cost".into(), "1.1".into()),
        ],
        ..Default::default()
    })
    .expect("start a throwaway cluster")
}

fn checks(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["object"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn tune_write_makes_a_migration_that_passes_lint_and_local_and_fixes_the_findings() {
    let p = shop();
    let (report, code) = p.json(&["tune"]);
    assert_eq!(code, 0, "{report:#}");
    let found = checks(&report);
    for expected in [
        ("unindexed-foreign-key", "table public.orders"),
        ("duplicate-index", "index public.orders_status_idx1"),
        ("redundant-index", "index public.orders_status_idx"),
    ] {
        assert!(
            found.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {found:?}"
        );
    }
    // The one finding shape, with evidence and the fix.
    let f = &report["findings"][0];
    for key in [
        "check", "severity", "object", "message", "evidence", "fix_sql",
    ] {
        assert!(f.get(key).is_some(), "{key} missing in {f:#}");
    }
    assert!(report["statistics"]["since"].is_string());
    assert_eq!(report["written"], Value::Null);

    let out = p.run(&["tune", "--write", "tune_fixes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("with the fixes safe to automate")
            || stdout(&out).contains("with the fixes safe to automate")
    );
    let written: Vec<_> = std::fs::read_dir(p.root().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("_tune_fixes.sql"))
        .collect();
    assert_eq!(written.len(), 1);
    let sql = std::fs::read_to_string(&written[0]).unwrap();
    assert!(sql.starts_with("-- dbsage:no-transaction\n"), "{sql}");
    assert!(sql.contains("CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders (customer_id);"), "{sql}");
    assert!(
        sql.contains("DROP INDEX CONCURRENTLY IF EXISTS public.orders_status_idx1;"),
        "{sql}"
    );
    assert!(
        sql.contains("DROP INDEX CONCURRENTLY IF EXISTS public.orders_status_idx;"),
        "{sql}"
    );
    assert!(sql.find("CREATE INDEX").unwrap() < sql.find("DROP INDEX").unwrap());

    let lint = p.run(&["lint"]);
    assert_eq!(
        lint.status.code(),
        Some(0),
        "{}{}",
        stdout(&lint),
        stderr(&lint)
    );
    let local = p.run(&["migrate", "--local"]);
    assert_eq!(
        local.status.code(),
        Some(0),
        "{}{}",
        stdout(&local),
        stderr(&local)
    );

    // Applied, the findings it fixed are gone.
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (report, _) = p.json(&["tune"]);
    let left = checks(&report);
    assert!(
        left.iter().all(|(c, _)| ![
            "unindexed-foreign-key",
            "duplicate-index",
            "redundant-index"
        ]
        .contains(&c.as_str())),
        "{left:?}"
    );
}

#[test]
fn tune_on_a_healthy_database_is_silent_and_exit_codes_follow_severity() {
    let p = TestProject::on_cluster(tuned_cluster(), "");
    p.migration(
        "20260101000000",
        "accounts",
        "create table if not exists accounts (id bigint generated always as identity primary key, email text not null unique);\n",
    );
    assert_eq!(
        p.run(&["migrate", "--skip-local-check"]).status.code(),
        Some(0)
    );
    let (report, code) = p.json(&["tune"]);
    assert_eq!(code, 0);
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    let human = p.run(&["tune"]);
    assert!(stdout(&human).contains("0 findings"), "{}", stdout(&human));
    assert!(stdout(&human).contains("withheld:"), "{}", stdout(&human));

    // An invalid index is an error: exit 1.
    let mut c = p.client();
    c.batch_execute("insert into accounts (email) values ('x'), ('x')")
        .unwrap_err();
    c.batch_execute("alter table accounts drop constraint accounts_email_key; insert into accounts (email) values ('x'), ('x')").unwrap();
    c.batch_execute("create unique index concurrently accounts_email_uq on accounts (email)")
        .unwrap_err();
    let (report, code) = p.json(&["tune"]);
    assert_eq!(code, 1, "{report:#}");
    assert!(checks(&report).contains(&(
        "invalid-index".into(),
        "index public.accounts_email_uq".into()
    )));

    let bad = p.run(&["tune", "--min-stats-age", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("--min-stats-age \"soon\" is not a duration"),
        "{}",
        stderr(&bad)
    );
    // Young statistics judged on request: the unused index appears.
    c.batch_execute("create index accounts_email_idx on accounts (email)")
        .unwrap();
    let (report, _) = p.json(&["tune", "--min-stats-age", "0"]);
    assert!(
        checks(&report).contains(&(
            "unused-index".into(),
            "index public.accounts_email_idx".into()
        )),
        "{report:#}"
    );
}

const RETENTION: &str = "
[[maintain.retention]]
table = \"public.page_views\"
where = \"viewed_at < now() - interval '1 year'\"
batch_size = 1000

[maintain]
pause_ms = 0
";

fn with_views(p: &TestProject) {
    let mut c = p.client();
    c.batch_execute(
        "create table page_views (id bigint generated always as identity primary key, viewed_at timestamptz not null);
         insert into page_views (viewed_at) select now() - interval '2 years' from generate_series(1, 2500);
         insert into page_views (viewed_at) select now() from generate_series(1, 500);",
    )
    .unwrap();
    c.batch_execute("analyze page_views").unwrap();
}

fn views(p: &TestProject) -> i64 {
    p.client()
        .query_one("select count(*) from page_views", &[])
        .unwrap()
        .get(0)
}

#[test]
fn maintain_dry_run_then_run_with_retention_from_the_config() {
    let p = TestProject::with_config(&RETENTION.replace("[[maintain", "\n[[maintain"));
    with_views(&p);
    let (report, code) = p.json(&["maintain", "--dry-run"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["dry_run"], true);
    let retention = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "retention")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(retention["status"], "planned");
    assert_eq!(retention["rows"], 2500);
    assert_eq!(retention["batches"], 3);
    assert_eq!(views(&p), 3000);

    let out = p.run(&["maintain"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("2500 rows in 3 transactions"),
        "{}",
        stdout(&out)
    );
    assert_eq!(views(&p), 500);
}

#[test]
fn maintain_asks_first_on_a_protected_environment() {
    let p = TestProject::with_config(&format!("protected = true\n{RETENTION}"));
    with_views(&p);
    // No terminal to ask on: refused, nothing deleted, the plan shown.
    let out = p.run(&["maintain"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("DELETE FROM public.page_views"),
        "{}",
        stderr(&out)
    );
    assert_eq!(views(&p), 3000);
    // A dry run needs no confirmation.
    assert_eq!(p.run(&["maintain", "--dry-run"]).status.code(), Some(0));
    // tune reads only: no gate.
    assert_eq!(p.json(&["tune"]).1, 0);
    let out = p.run(&["maintain", "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(views(&p), 500);
}

#[test]
fn maintain_rejects_a_bad_retention_rule() {
    let p = TestProject::with_config(
        "\n[[maintain.retention]]\ntable = \"public.nope\"\nwhere = \"true\"\n",
    );
    let out = p.run(&["maintain", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`public.nope`, which does not exist"),
        "{}",
        stderr(&out)
    );
    let p = TestProject::with_config(
        "\n[[maintain.retention]]\ntable = \"public.t\"\nwhen = \"true\"\n",
    );
    let out = p.run(&["maintain", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("[maintain]"), "{}", stderr(&out));
}

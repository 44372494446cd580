//! Fleet environments through the binary: 20 tenant databases in one throwaway cluster, listed
//! by `urls_file` (or a control database's query), one of them broken.

use crate::common;

use common::fleet::{display, history_of, target, targets, tenant};
use common::{stderr, stdout, TestProject};

const M1: &str = "20260301090000";
const M2: &str = "20260302090000";
const M3: &str = "20260303090000";
const TENANTS: usize = 20;

/// A project whose `tenants` environment lists 20 databases in `tenants.txt` (the password
/// comes from `.env.local`, as a team keeps it out of the committed list).
fn fleet_project(protected: bool) -> TestProject {
    let p = TestProject::with_config(&format!(
        "\n[environments.tenants]\nurls_file = \"tenants.txt\"\nprotected = {protected}\n"
    ));
    let mut list = String::from("# one database per tenant; the password is in .env.local\n\n");
    for i in 1..=TENANTS {
        p.cluster.create_database(&tenant(i)).unwrap();
        list.push_str(&format!(
            "postgresql://postgres:${{FLEET_PG_PASSWORD}}@127.0.0.1:{}/{}\n",
            p.cluster.port(),
            tenant(i)
        ));
        if i == 10 {
            list.push_str("   # the second half moved to the new region in March\n");
        }
    }
    std::fs::write(p.root().join("tenants.txt"), list).unwrap();
    std::fs::write(
        p.root().join(".env.local"),
        format!("FLEET_PG_PASSWORD={}\n", p.cluster.password()),
    )
    .unwrap();
    p.migration(
        M1,
        "accounts",
        "create table accounts (\n  id bigint generated always as identity primary key,\n  name text not null,\n  created_at timestamptz not null default now()\n);\n",
    );
    p.migration(
        M2,
        "invoices",
        "create table invoices (\n  id bigint generated always as identity primary key,\n  account_id bigint not null references accounts (id),\n  total_cents bigint not null check (total_cents >= 0),\n  issued_on date not null\n);\n",
    );
    p.migration(
        M3,
        "invoices_by_account",
        "create index invoices_account_id_idx on invoices (account_id, issued_on);\n",
    );
    p
}

/// A tenant where someone created `invoices` by hand: the second migration fails there.
fn break_tenant(p: &TestProject, i: usize) {
    let mut c = p.cluster.connect(&tenant(i)).unwrap();
    c.batch_execute("create table invoices (id int primary key, note text)")
        .unwrap();
}

#[test]
fn fleet_migrate_continues_past_a_broken_tenant_and_resumes_after_the_fix() {
    let p = fleet_project(false);
    break_tenant(&p, 7);
    let (v, code) = p.json(&["migrate", "--env", "tenants", "--parallel", "4"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(targets(&v).len(), TENANTS);
    assert_eq!(v["summary"]["ok"], 19, "{v:#}");
    assert_eq!(v["summary"]["failed"], 1);
    assert_eq!(v["summary"]["skipped"], 0);
    assert_eq!(v["summary"]["parallel"], 4);
    let broken = target(&v, &display(&p, 7));
    assert_eq!(broken["result"], "failed");
    assert_eq!(broken["error"]["sqlstate"], "42P07", "{broken:#}");
    assert!(
        broken["error"]["file"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{M2}_invoices.sql")),
        "{broken:#}"
    );
    for i in (1..=TENANTS).filter(|i| *i != 7) {
        let t = target(&v, &display(&p, i));
        assert_eq!(t["result"], "ok", "{t:#}");
        assert_eq!(t["version"], M3);
        assert_eq!(t["applied"].as_array().unwrap().len(), 3);
        assert!(t["lock_wait_ms"].is_u64(), "{t:#}");
        assert_eq!(history_of(&p, i), [M1, M2, M3]);
    }
    // Each migration is its own transaction: the first one stays applied on the broken tenant.
    assert_eq!(history_of(&p, 7), [M1]);
    // The order of the list is kept whatever order the workers finished in.
    let names: Vec<String> = targets(&v)
        .iter()
        .map(|t| t["target"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (1..=TENANTS).map(|i| display(&p, i)).collect();
    assert_eq!(names, expected);

    // The hand-made table goes; the re-run does only what each tenant's history lacks.
    p.cluster
        .connect(&tenant(7))
        .unwrap()
        .batch_execute("drop table invoices")
        .unwrap();
    let out = p.run(&["migrate", "--env", "tenants"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    assert!(text.contains("applied 2 migrations"), "{text}");
    assert_eq!(text.matches("up to date").count(), 19, "{text}");
    assert!(
        text.contains("tenants: 20 ok, 0 failed, 0 skipped of 20 databases"),
        "{text}"
    );
    assert_eq!(history_of(&p, 7), [M1, M2, M3]);
}

#[test]
fn a_failing_canary_stops_the_rollout_before_the_other_tenants() {
    let p = fleet_project(false);
    break_tenant(&p, 1);
    let (v, code) = p.json(&["migrate", "--env", "tenants", "--canary", "2"]);
    assert_eq!(code, 1, "{v:#}");
    let first = target(&v, &display(&p, 1));
    assert_eq!(first["result"], "failed");
    assert_eq!(first["canary"], true);
    let second = target(&v, &display(&p, 2));
    assert_eq!(second["result"], "ok");
    assert_eq!(second["canary"], true);
    for i in 3..=TENANTS {
        let t = target(&v, &display(&p, i));
        assert_eq!(t["result"], "skipped", "{t:#}");
        assert_eq!(t["canary"], false);
        assert!(
            t["reason"]
                .as_str()
                .unwrap()
                .contains(&format!("canary {} failed", display(&p, 1))),
            "{t:#}"
        );
        assert!(history_of(&p, i).is_empty(), "tenant {i} was touched");
    }
    assert_eq!(v["summary"]["skipped"], TENANTS - 2);

    // Healthy canaries: the rest follows.
    p.cluster
        .connect(&tenant(1))
        .unwrap()
        .batch_execute("drop table invoices")
        .unwrap();
    let (v, code) = p.json(&["migrate", "--env", "tenants", "--canary", "2"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["summary"]["ok"], TENANTS);
    for i in 1..=TENANTS {
        assert_eq!(history_of(&p, i), [M1, M2, M3], "tenant {i}");
    }
}

#[test]
fn fail_fast_starts_no_tenant_after_a_failure() {
    let p = fleet_project(false);
    break_tenant(&p, 3);
    let (v, code) = p.json(&[
        "migrate",
        "--env",
        "tenants",
        "--parallel",
        "1",
        "--fail-fast",
    ]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(target(&v, &display(&p, 1))["result"], "ok");
    assert_eq!(target(&v, &display(&p, 2))["result"], "ok");
    assert_eq!(target(&v, &display(&p, 3))["result"], "failed");
    for i in 4..=TENANTS {
        let t = target(&v, &display(&p, i));
        assert_eq!(t["result"], "skipped", "{t:#}");
        assert!(
            t["reason"].as_str().unwrap().contains("--fail-fast"),
            "{t:#}"
        );
        assert!(history_of(&p, i).is_empty());
    }
    // Without --fail-fast the same fleet goes on past the broken tenant.
    let (v, code) = p.json(&["migrate", "--env", "tenants", "--parallel", "1"]);
    assert_eq!(code, 1);
    assert_eq!(v["summary"]["ok"], TENANTS - 1, "{v:#}");
    assert_eq!(history_of(&p, TENANTS), [M1, M2, M3]);
}

#[test]
fn status_tune_and_health_report_every_tenant() {
    let p = fleet_project(false);
    break_tenant(&p, 5);
    p.json(&["migrate", "--env", "tenants", "--to", M2]);
    let (v, code) = p.json(&["status", "--env", "tenants"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(targets(&v).len(), TENANTS);
    assert_eq!(target(&v, &display(&p, 5))["pending"], 2);
    assert_eq!(target(&v, &display(&p, 5))["version"], M1);
    assert_eq!(target(&v, &display(&p, 6))["pending"], 1);
    assert_eq!(target(&v, &display(&p, 6))["version"], M2);

    // An edited applied file makes every tenant inconsistent: status fails.
    p.migration(
        M1,
        "accounts",
        "create table accounts (id bigint primary key, name text);\n",
    );
    let (v, code) = p.json(&["status", "--env", "tenants"]);
    assert_eq!(code, 1);
    assert_eq!(target(&v, &display(&p, 6))["result"], "inconsistent");

    let out = p.run(&["tune", "--env", "tenants", "--min-stats-age", "0"]);
    let text = stdout(&out);
    assert!(
        text.contains("tenants: 20 ok, 0 failed, 0 skipped of 20 databases"),
        "{text}\n{}",
        stderr(&out)
    );
    // The foreign key of the second migration has no index yet (the third adds it).
    let (v, _) = p.json(&["tune", "--env", "tenants", "--min-stats-age", "0"]);
    let findings = target(&v, &display(&p, 6))["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["object"]
            .as_str()
            .unwrap_or_default()
            .contains("invoices")),
        "{findings:#?}"
    );

    let (v, code) = p.json(&["health", "--env", "tenants", "--parallel", "8"]);
    assert_eq!(targets(&v).len(), TENANTS);
    let worst = targets(&v)
        .iter()
        .map(|t| t["exit_code"].as_i64().unwrap())
        .max()
        .unwrap();
    assert_eq!(i64::from(code), worst, "{v:#}");
    assert!(targets(&v).iter().all(|t| t["checks"].is_array()));
}

#[test]
fn urls_query_lists_the_tenants_from_a_control_database() {
    let p = TestProject::with_config(
        "\n[environments.control]\nurl = \"${CONTROL_URL}\"\n\n[environments.tenants]\nurls_query = { env = \"control\", sql = \"select url from tenants where active order by id\" }\n",
    );
    let control_url = p.cluster.create_database("control").unwrap();
    let mut control = p.cluster.connect("control").unwrap();
    control
        .batch_execute(
            "create table tenants (id int primary key, url text not null, active bool not null)",
        )
        .unwrap();
    for i in 1..=5 {
        let url = p.cluster.create_database(&tenant(i)).unwrap();
        control
            .execute(
                "insert into tenants values ($1, $2, $3)",
                &[&(i as i32), &url, &(i != 4)],
            )
            .unwrap();
    }
    std::fs::write(
        p.root().join(".env.local"),
        format!("CONTROL_URL={control_url}\n"),
    )
    .unwrap();
    p.migration(
        M1,
        "accounts",
        "create table accounts (id bigint primary key);\n",
    );
    let (v, code) = p.json(&["migrate", "--env", "tenants"]);
    assert_eq!(code, 0, "{v:#}");
    let names: Vec<&str> = targets(&v)
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    let port = p.cluster.port();
    assert_eq!(
        names,
        [1, 2, 3, 5].map(|i| format!("{}@127.0.0.1:{port}", tenant(i)))
    );
    assert!(v["source"]
        .as_str()
        .unwrap()
        .contains("urls_query on `control`"));
    assert!(
        history_of(&p, 4).is_empty(),
        "an inactive tenant was migrated"
    );
    // No password anywhere in the report: targets are named database@host.
    let text = v.to_string();
    assert!(!text.contains(p.cluster.password()), "{text}");

    // The query only reads: one that writes is stopped by the read-only transaction.
    let toml = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
    std::fs::write(
        p.root().join("dbsage.toml"),
        toml.replace(
            "select url from tenants where active order by id",
            "update tenants set active = true returning url",
        ),
    )
    .unwrap();
    let out = p.run(&["status", "--env", "tenants"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("read-only transaction"),
        "{}",
        stderr(&out)
    );
    let inactive: i64 = control
        .query_one("select count(*) from tenants where not active", &[])
        .unwrap()
        .get(0);
    assert_eq!(inactive, 1);
}

#[test]
fn a_protected_fleet_asks_its_gates_once_and_marks_every_tenant() {
    let p = fleet_project(true);
    // No terminal, no --yes: refused before any tenant is written.
    let out = p.run(&["migrate", "--env", "tenants", "--skip-local-check"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("migrate 20 databases of `tenants`"), "{err}");
    assert!(err.contains("would apply 3 migrations"), "{err}");
    for i in 1..=TENANTS {
        assert!(history_of(&p, i).is_empty());
    }
    let (v, code) = p.json(&["migrate", "--env", "tenants", "--skip-local-check", "--yes"]);
    assert_eq!(code, 0, "{v:#}");
    for i in 1..=TENANTS {
        let mut c = p.cluster.connect(&tenant(i)).unwrap();
        let marks: Vec<String> = c
            .query("select environment from dbsage.protection", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(marks, ["tenants"]);
        let events: Vec<String> = c
            .query("select event from dbsage.migration_events", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(
            events.contains(&"protected_confirmed".to_string()),
            "{events:?}"
        );
    }
}

#[test]
fn an_unprotected_fleet_refuses_a_tenant_protected_elsewhere() {
    let p = fleet_project(false);
    // tenant_09 was once migrated through a protected environment of its own.
    let mut c = p.cluster.connect(&tenant(9)).unwrap();
    c.batch_execute(
        "create schema dbsage;
         create table dbsage.protection (environment text primary key, marked_at timestamptz not null default now(), marked_by text not null);
         insert into dbsage.protection (environment, marked_by) values ('acme_production', 'ops');",
    )
    .unwrap();
    let (v, code) = p.json(&["migrate", "--env", "tenants"]);
    assert_eq!(code, 1, "{v:#}");
    let refused = target(&v, &display(&p, 9));
    assert_eq!(refused["error"]["kind"], "refused", "{refused:#}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("protected as `acme_production`"),
        "{refused:#}"
    );
    assert!(history_of(&p, 9).is_empty());
    assert_eq!(v["summary"]["ok"], TENANTS - 1);
}

#[test]
fn fleet_configuration_errors_say_what_to_fix() {
    let p = TestProject::new();
    let write = |extra: &str| {
        let base = std::fs::read_to_string(p.root().join("dbsage.toml")).unwrap();
        let base = base.split("\n# fleet\n").next().unwrap().to_string();
        std::fs::write(
            p.root().join("dbsage.toml"),
            format!("{base}\n# fleet\n{extra}"),
        )
        .unwrap();
    };
    let fails = |args: &[&str], code: i32, needle: &str| {
        let out = p.run(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in {err}"
        );
    };
    write(
        "[environments.tenants]\nurl = \"postgresql://a@h/x\"\nurls = [\"postgresql://a@h/y\"]\n",
    );
    fails(&["status"], 2, "sets url and urls: exactly one");
    write("[environments.tenants]\nprotected = true\n");
    fails(&["status"], 2, "[environments.tenants] names no database");
    write("[environments.tenants]\nurls = []\n");
    fails(&["status"], 2, "urls = [] names no database");
    write("[environments.tenants]\nurls_query = { env = \"contrl\", sql = \"select url from tenants\" }\n");
    fails(
        &["status"],
        2,
        "urls_query.env = \"contrl\" is not an environment",
    );
    write("[environments.tenants]\nurls_file = \"tenants.txt\"\n");
    fails(&["status", "--env", "tenants"], 2, "urls_file: cannot read");
    let url = p.cluster.url("postgres");
    std::fs::write(
        p.root().join("tenants.txt"),
        format!("# tenants\n{url}\n\n{url}\n"),
    )
    .unwrap();
    fails(
        &["status", "--env", "tenants"],
        2,
        "tenants.txt:4 names the same database as tenants.txt:2",
    );
    std::fs::write(p.root().join("tenants.txt"), "${TENANT_NOT_SET_URL}\n").unwrap();
    fails(
        &["status", "--env", "tenants"],
        2,
        "tenants.txt:1 uses ${TENANT_NOT_SET_URL}",
    );
    std::fs::write(p.root().join("tenants.txt"), format!("{url}\n")).unwrap();
    fails(&["rollback", "--env", "tenants"], 2, "`tenants` is a fleet");
    fails(
        &["status", "--parallel", "2"],
        2,
        "apply to fleet environments",
    );
    fails(
        &["migrate", "--local", "--canary", "1"],
        2,
        "cannot be used with",
    );
    let out = p.run(&["status", "--env", "tenants"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_tenant_whose_migration_lock_is_held_reports_the_wait() {
    let p = fleet_project(false);
    // Another migrate run holds tenant_04's migration lock (dbsage's advisory lock key: the
    // first 8 bytes of sha256 of the history table's name) for a while.
    let mut holder = p.cluster.connect(&tenant(4)).unwrap();
    holder
        .batch_execute(
            "select pg_advisory_lock(('x' || left(encode(sha256('dbsage:dbsage.schema_migrations'), 'hex'), 16))::bit(64)::bigint)",
        )
        .unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        holder
            .batch_execute("select pg_advisory_unlock_all()")
            .unwrap();
    });
    let (v, code) = p.json(&["migrate", "--env", "tenants"]);
    release.join().unwrap();
    assert_eq!(code, 0, "{v:#}");
    let waited = target(&v, &display(&p, 4))["lock_wait_ms"]
        .as_u64()
        .unwrap();
    assert!(waited >= 1000, "{waited} ms");
    assert_eq!(target(&v, &display(&p, 1))["lock_wait_ms"], 0);
    assert_eq!(history_of(&p, 4), [M1, M2, M3]);
}

#[test]
fn an_unprotected_fleet_shows_the_pending_files_lint_findings_first() {
    let p = TestProject::with_config("\n[environments.tenants]\nurls = [\"${T1}\", \"${T2}\"]\n");
    let t1 = p.cluster.create_database("tenant_01").unwrap();
    let t2 = p.cluster.create_database("tenant_02").unwrap();
    std::fs::write(p.root().join(".env.local"), format!("T1={t1}\nT2={t2}\n")).unwrap();
    p.migration(
        M1,
        "accounts",
        "create table accounts (id bigint primary key, legacy_code text);\n",
    );
    p.migration(
        M2,
        "drop_legacy",
        "alter table accounts drop column legacy_code;\n",
    );
    let out = p.run(&["migrate", "--env", "tenants"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("`tenants` is not protected, so they do not block"),
        "{err}"
    );
    assert!(err.contains(&format!("{M2}_drop_legacy.sql")), "{err}");
    assert!(stdout(&out).contains("tenants: 2 ok, 0 failed, 0 skipped of 2 databases"));
}

#[test]
fn drift_on_a_fleet_names_the_tenant_changed_by_hand_and_pending_files_are_not_drift() {
    let p = fleet_project(false);
    let (v, code) = p.json(&["migrate", "--env", "tenants"]);
    assert_eq!(code, 0, "{v:#}");
    let mut c = p.cluster.connect(&tenant(3)).unwrap();
    c.batch_execute("alter table accounts add column nickname text")
        .unwrap();
    // Written but not applied anywhere yet: work to do, not drift.
    p.migration(
        "20260304090000",
        "accounts_email",
        "alter table accounts add column email text;\n",
    );

    let (v, code) = p.json(&["drift", "--env", "tenants", "--parallel", "4"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["command"], "drift");
    assert_eq!(v["summary"]["failed"], 1, "{v:#}");
    let drifted = target(&v, &display(&p, 3));
    assert_eq!(drifted["result"], "drift", "{drifted:#}");
    let objects: Vec<&str> = drifted["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["object"].as_str().unwrap())
        .collect();
    assert_eq!(objects, ["column public.accounts.nickname"], "{drifted:#}");
    for i in (1..=TENANTS).filter(|i| *i != 3) {
        let t = target(&v, &display(&p, i));
        assert_eq!(t["result"], "ok", "{t:#}");
        assert_eq!(t["differences"], serde_json::json!([]), "{t:#}");
    }
}

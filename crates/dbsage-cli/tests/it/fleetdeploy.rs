//! `dbsage deploy` and `dbsage health` on a fleet, through the binary: a billing schema
//! (tests/fixtures/fleetdeploy/billing) deployed to tenant databases of one throwaway cluster
//! listed by `urls_file`, one tenant whose data breaks a migration; health's webhook and growth
//! memory across the tenants.

use crate::common;

use std::path::Path;

use common::fleet::{display, history_of, target, targets, tenant};
use common::webhook::webhook_server;
use common::{stderr, stdout, TestProject};
use serde_json::Value;

const M1: &str = "20260401090000";
const M2: &str = "20260402090000";
const M3: &str = "20260403090000";
const TENANTS: usize = 4;

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fleetdeploy/billing")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The `tenants` fleet in `tenants.txt` (password from `.env.local`), with `extra` TOML.
fn fleet_of(count: usize, extra: &str) -> TestProject {
    let p = TestProject::with_config(&format!(
        "\n[environments.tenants]\nurls_file = \"tenants.txt\"\n{extra}"
    ));
    let mut list = String::from("# one database per tenant; the password is in .env.local\n");
    for i in 1..=count {
        p.cluster.create_database(&tenant(i)).unwrap();
        list.push_str(&format!(
            "postgresql://postgres:${{FLEET_PG_PASSWORD}}@127.0.0.1:{}/{}\n",
            p.cluster.port(),
            tenant(i)
        ));
    }
    std::fs::write(p.root().join("tenants.txt"), list).unwrap();
    std::fs::write(
        p.root().join(".env.local"),
        format!("FLEET_PG_PASSWORD={}\n", p.cluster.password()),
    )
    .unwrap();
    p
}

/// The billing fleet: the migrations passed `migrate --local`; every tenant has the first one
/// applied and three accounts.
fn billing_fleet(protected: bool) -> TestProject {
    let p = fleet_of(TENANTS, &format!("protected = {protected}\n"));
    copy_dir(&fixture(), p.root());
    let local = p.run(&["migrate", "--local"]);
    assert_eq!(
        local.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&local),
        stderr(&local)
    );
    let first = p.run(&["migrate", "--env", "tenants", "--to", M1, "--yes"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    for i in 1..=TENANTS {
        p.cluster
            .connect(&tenant(i))
            .unwrap()
            .batch_execute(
                "insert into accounts (email, name) values
                   ('ada@example.com', 'Ada'), ('grace@example.com', 'Grace'),
                   ('linus@example.com', 'Linus')",
            )
            .unwrap();
    }
    p
}

/// A tenant where the same email signed up twice: the unique constraint of M2 fails there.
fn duplicate_email(p: &TestProject, i: usize) {
    p.cluster
        .connect(&tenant(i))
        .unwrap()
        .batch_execute("insert into accounts (email, name) values ('ada@example.com', 'Ada L.')")
        .unwrap();
}

fn fix_duplicate(p: &TestProject, i: usize) {
    p.cluster
        .connect(&tenant(i))
        .unwrap()
        .batch_execute("delete from accounts where name = 'Ada L.'")
        .unwrap();
}

/// The JSON deploy reports under .dbsage/deploys.
fn deploy_reports(p: &TestProject) -> Vec<Value> {
    let Ok(dir) = std::fs::read_dir(p.root().join(".dbsage/deploys")) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = dir
        .flatten()
        .map(|e| e.path())
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect()
}

fn step<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {report:#}"))
}

#[test]
fn a_fleet_deploy_checks_once_deploys_each_tenant_past_a_broken_one_and_reports_each() {
    let p = billing_fleet(false);
    duplicate_email(&p, 3);
    let out = p.run(&["deploy", "--env", "tenants", "--parallel", "2"]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{text}\n{err}");
    // The preflight that does not depend on the database ran once, not once per tenant.
    assert_eq!(err.matches("preflight.lint:").count(), 1, "{err}");
    assert_eq!(err.matches("preflight.local:").count(), 1, "{err}");
    assert!(
        text.contains("tenants: 3 ok, 1 failed, 0 skipped of 4 databases"),
        "{text}"
    );
    assert!(
        text.contains("23505") || text.contains("accounts_email_key"),
        "{text}"
    );
    for i in [1, 2, 4] {
        assert_eq!(history_of(&p, i), [M1, M2, M3], "tenant {i}");
    }
    // One transaction per migration: the broken tenant keeps what it had.
    assert_eq!(history_of(&p, 3), [M1]);

    // A report per tenant, named after it, with its own steps.
    let reports = deploy_reports(&p);
    assert_eq!(reports.len(), TENANTS, "{reports:#?}");
    for i in 1..=TENANTS {
        let report = reports
            .iter()
            .find(|r| r["database"] == display(&p, i))
            .unwrap_or_else(|| panic!("no report for tenant {i}"));
        assert_eq!(report["environment"], "tenants");
        assert_eq!(step(report, "preflight.lint")["status"], "passed");
        assert_eq!(step(report, "preflight.drift")["status"], "passed");
        assert_eq!(step(report, "backup")["status"], "passed");
        assert!(report["backup"]["id"].is_string(), "{report:#}");
        if i == 3 {
            assert_eq!(report["outcome"], "failed");
            assert_eq!(report["failed_step"], "migrate");
        } else {
            assert_eq!(report["outcome"], "deployed", "{report:#}");
            assert_eq!(step(report, "smoke")["status"], "passed", "{report:#}");
            assert_eq!(report["migrations"].as_array().unwrap().len(), 2);
        }
    }
    let names: Vec<String> = std::fs::read_dir(p.root().join(".dbsage/deploys"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.contains("-tenants-tenant_03_127_0_0_1_")),
        "{names:?}"
    );
    assert!(names.iter().all(|n| !n.contains(p.cluster.password())));

    // Fixed: the re-run deploys what the broken tenant lacks; the others are up to date.
    fix_duplicate(&p, 3);
    let (v, code) = p.json(&["deploy", "--env", "tenants"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["summary"]["ok"], TENANTS);
    let third = target(&v, &display(&p, 3));
    assert_eq!(third["result"], "deployed");
    assert_eq!(
        third["migrations"].as_array().unwrap().len(),
        2,
        "{third:#}"
    );
    assert_eq!(third["version"], M3);
    assert!(third["report"][0].as_str().unwrap().ends_with(".json"));
    assert_eq!(
        target(&v, &display(&p, 1))["migrations"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(history_of(&p, 3), [M1, M2, M3]);
    assert!(!v.to_string().contains(p.cluster.password()));
}

#[test]
fn fail_fast_and_a_failing_canary_stop_the_fleet_deploy() {
    let p = billing_fleet(false);
    duplicate_email(&p, 2);
    let (v, code) = p.json(&[
        "deploy",
        "--env",
        "tenants",
        "--parallel",
        "1",
        "--fail-fast",
    ]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(target(&v, &display(&p, 1))["result"], "deployed", "{v:#}");
    let broken = target(&v, &display(&p, 2));
    assert_eq!(broken["result"], "failed");
    assert_eq!(broken["failed_step"], "migrate", "{broken:#}");
    for i in 3..=TENANTS {
        let t = target(&v, &display(&p, i));
        assert_eq!(t["result"], "skipped", "{t:#}");
        assert!(
            t["reason"].as_str().unwrap().contains("--fail-fast"),
            "{t:#}"
        );
        assert_eq!(history_of(&p, i), [M1], "tenant {i} was touched");
    }
    // No report for the tenants never started.
    assert_eq!(deploy_reports(&p).len(), 2);

    // Canaries first: the broken second canary stops the rollout before the rest.
    let (v, code) = p.json(&["deploy", "--env", "tenants", "--canary", "2"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(target(&v, &display(&p, 2))["canary"], true);
    assert_eq!(target(&v, &display(&p, 2))["result"], "failed");
    for i in 3..=TENANTS {
        let t = target(&v, &display(&p, i));
        assert_eq!(t["result"], "skipped", "{t:#}");
        assert!(t["reason"].as_str().unwrap().contains("canary"), "{t:#}");
        assert_eq!(history_of(&p, i), [M1]);
    }

    // Without --fail-fast the same fleet goes on past the broken tenant.
    let (v, code) = p.json(&["deploy", "--env", "tenants", "--parallel", "1"]);
    assert_eq!(code, 1);
    assert_eq!(v["summary"]["ok"], TENANTS - 1, "{v:#}");
    assert_eq!(history_of(&p, TENANTS), [M1, M2, M3]);
}

#[test]
fn a_protected_fleet_is_planned_per_tenant_refused_without_confirmation_then_deployed() {
    let p = billing_fleet(true);
    // A tenant that signed up after the last deploy: nothing applied yet.
    p.cluster.create_database("tenant_new").unwrap();
    let mut list = std::fs::read_to_string(p.root().join("tenants.txt")).unwrap();
    list.push_str(&format!(
        "postgresql://postgres:${{FLEET_PG_PASSWORD}}@127.0.0.1:{}/tenant_new\n",
        p.cluster.port()
    ));
    std::fs::write(p.root().join("tenants.txt"), list).unwrap();
    let newcomer = format!("tenant_new@127.0.0.1:{}", p.cluster.port());

    let (v, code) = p.json(&["deploy", "--env", "tenants", "--plan"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(targets(&v).len(), TENANTS + 1);
    let labels = |versions: &[&str]| -> Vec<String> {
        let names = [
            (M1, "accounts"),
            (M2, "unique_account_email"),
            (M3, "invoices"),
        ];
        versions
            .iter()
            .map(|v| {
                let name = names.iter().find(|(m, _)| m == v).unwrap().1;
                format!("{v}_{name}")
            })
            .collect()
    };
    let pending = |t: &Value| -> Vec<String> {
        t["pending"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect()
    };
    for i in 1..=TENANTS {
        let t = target(&v, &display(&p, i));
        assert_eq!(t["result"], "planned", "{t:#}");
        assert_eq!(pending(t), labels(&[M2, M3]));
    }
    assert_eq!(pending(target(&v, &newcomer)), labels(&[M1, M2, M3]));
    assert_eq!(history_of(&p, 1), [M1], "--plan changed a tenant");

    // Nobody to type the fleet's name (no terminal) and no --yes: refused, nothing touched.
    let before = deploy_reports(&p).len();
    let out = p.run(&["deploy", "--env", "tenants"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{}\n{err}", stdout(&out));
    assert!(err.contains("tenants"), "{err}");
    assert!(err.contains("5 databases"), "{err}");
    assert_eq!(history_of(&p, 1), [M1]);
    assert_eq!(deploy_reports(&p).len(), before);
    // A rehearsal restores one database's backup: a fleet is a usage error, said so.
    let out = p.run(&["deploy", "--env", "tenants", "--rehearse"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--rehearse"), "{}", stderr(&out));

    let (v, code) = p.json(&["deploy", "--env", "tenants", "--yes"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["summary"]["ok"], TENANTS + 1);
    for i in 1..=TENANTS {
        assert_eq!(history_of(&p, i), [M1, M2, M3]);
    }
    let gate = target(&v, &newcomer)["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "gate")
        .cloned()
        .unwrap();
    assert!(
        gate["message"].as_str().unwrap().contains("once"),
        "{gate:#}"
    );
}

fn growth_of(t: &Value) -> Option<f64> {
    t["checks"]
        .as_array()?
        .iter()
        .find(|c| c["check"] == "database_size")?["metrics"]
        .as_array()?
        .iter()
        .find(|m| m["name"] == "database_growth_bytes_per_day")?["value"]
        .as_f64()
}

#[test]
fn fleet_health_posts_once_with_every_tenants_failures_and_remembers_growth_per_tenant() {
    let (url, bodies) = webhook_server();
    let p = fleet_of(3, "\n[alerts]\nwebhook = \"${ALERT_WEBHOOK_URL}\"\n");
    let health = || {
        let out = p
            .cmd()
            .env("ALERT_WEBHOOK_URL", &url)
            .args(["health", "--env", "tenants", "--format", "json"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
        (v, out.status.code().unwrap())
    };
    let (v, code) = health();
    assert_eq!(code, 0, "{v:#}");
    assert!(bodies.lock().unwrap().is_empty());

    // Two tenants' ticket sequences near their end.
    for i in [1, 3] {
        p.cluster
            .connect(&tenant(i))
            .unwrap()
            .batch_execute(
                "create sequence ticket_no as integer; select setval('ticket_no', 2040109466);",
            )
            .unwrap();
    }
    let (v, code) = health();
    assert_eq!(code, 2, "{v:#}");
    {
        let posted = bodies.lock().unwrap();
        assert_eq!(posted.len(), 1, "one post for the whole fleet: {posted:#?}");
        let body: Value = serde_json::from_str(&posted[0]).unwrap();
        assert_eq!(body["environment"], "tenants");
        let failing: Vec<&str> = body["failing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["target"].as_str().unwrap())
            .collect();
        assert_eq!(failing, [display(&p, 1), display(&p, 3)]);
        assert_eq!(body["failing"][0]["checks"][0]["check"], "sequences");
        assert_eq!(body["changes"].as_array().unwrap().len(), 2, "{body:#}");
        assert_eq!(body["changes"][0]["to"], "critical");
        let text = body["text"].as_str().unwrap();
        assert!(
            text.contains(&display(&p, 1)) && text.contains(&display(&p, 3)),
            "{text}"
        );
        assert!(text.contains("ticket_no"), "{text}");
        assert!(!text.contains(&display(&p, 2)), "{text}");
        assert!(!posted[0].contains(p.cluster.password()));
    }
    // Still critical on both: nothing new to say.
    assert_eq!(health().1, 2);
    assert_eq!(bodies.lock().unwrap().len(), 1);

    // Each tenant's size reading is remembered under its display name.
    let state_path = p.root().join(".dbsage/health-tenants.json");
    let state_text = std::fs::read_to_string(&state_path).unwrap();
    assert!(!state_text.contains(p.cluster.password()));
    let mut state: Value = serde_json::from_str(&state_text).unwrap();
    let remembered = state["targets"].as_object().unwrap();
    assert_eq!(remembered.len(), 3, "{state:#}");
    assert_eq!(
        remembered[&display(&p, 1)]["statuses"]["sequences"],
        "critical"
    );
    assert_eq!(remembered[&display(&p, 2)]["statuses"]["sequences"], "ok");
    // Pretend the readings were taken two days ago, each tenant smaller by its own amount.
    for i in 1..=3 {
        let size = &mut state["targets"][display(&p, i)]["size"];
        let (bytes, at) = (
            size["bytes"].as_i64().unwrap(),
            size["at"].as_f64().unwrap(),
        );
        size["bytes"] = (bytes - i as i64 * 4_000_000).into();
        size["at"] = (at - 2.0 * 86_400.0).into();
    }
    std::fs::write(&state_path, state.to_string()).unwrap();
    let (v, _) = health();
    for i in 1..=3 {
        let growth = growth_of(target(&v, &display(&p, i)))
            .unwrap_or_else(|| panic!("no growth for tenant {i}: {v:#}"));
        let expected = i as f64 * 2_000_000.0;
        assert!(
            (growth - expected).abs() < 200_000.0,
            "tenant {i}: {growth} bytes/day, expected about {expected}"
        );
    }
}

//! `dbsage deploy` end to end: the target is a second local cluster reached over TCP with a
//! password and TLS (verify-full against a CA the test makes), holding a shop's schema at its
//! first two migrations and some rows; the three pending migrations and the smoke tests are
//! in tests/fixtures/deploy/shop.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use dbsage_cluster::{Cluster, ClusterOptions};
use serde_json::Value;

use crate::common::tls::certificates;

const APPLIED_BEFORE: &str = "20260105090100";

struct Shop {
    dir: tempfile::TempDir,
    production: Cluster,
    staging: Cluster,
    _certificates: tempfile::TempDir,
}

impl Shop {
    /// The shop with `[deploy]` settings appended, its files edited by `edit` first; production
    /// at the first two migrations, with customers and orders.
    fn new(deploy: &str, edit: impl FnOnce(&Path)) -> Shop {
        let certificates = certificates();
        let p = |f: &str| certificates.path().join(f).display().to_string();
        let production = Cluster::start_with(&ClusterOptions {
            settings: vec![
                ("ssl".into(), "on".into()),
                ("ssl_cert_file".into(), p("server.crt")),
                ("ssl_key_file".into(), p("server.key")),
            ],
            ..Default::default()
        })
        .unwrap();
        let staging = Cluster::start().unwrap();
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixture(), dir.path());
        edit(dir.path());
        std::fs::write(
            dir.path().join("dbsage.toml"),
            format!(
                "[migrate]\ndefault_environment = \"production\"\nlock_wait_timeout = \"30s\"\n\n\
                 [environments.production]\n\
                 url = \"postgresql://postgres:{pw}@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={ca}\"\n\
                 protected = true\n{requires}\n\
                 [environments.staging]\nurl = \"{staging}\"\n\n[deploy]\nbackoff = \"200ms\"\n{deploy}\n",
                pw = production.password(),
                port = production.port(),
                ca = p("ca.pem"),
                requires = if deploy.contains("#requires-staging") { "requires = \"staging\"" } else { "" },
                staging = staging.url("postgres"),
            ),
        )
        .unwrap();
        let shop = Shop {
            dir,
            production,
            staging,
            _certificates: certificates,
        };
        let local = shop.run(&["migrate", "--local"]);
        assert_eq!(
            local.status.code(),
            Some(0),
            "migrate --local: {}",
            text(&local)
        );
        let first = shop.run(&[
            "migrate",
            "--env",
            "production",
            "--to",
            APPLIED_BEFORE,
            "--yes",
        ]);
        assert_eq!(first.status.code(), Some(0), "{}", text(&first));
        shop.prod()
            .batch_execute(
                "insert into customers (email, full_name) values ('Ann@Example.com', 'Ann Lee'), ('bo@example.com', 'Bo Chen');
                 insert into orders (customer_id, total_cents) select id, 1250 from customers;
                 insert into orders (customer_id, total_cents) select id, 480 from customers where email = 'bo@example.com';",
            )
            .unwrap();
        shop
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
            .current_dir(self.root())
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .args(args)
            .output()
            .unwrap()
    }

    /// `dbsage deploy …--format json`: the report and the exit code.
    fn deploy(&self, args: &[&str]) -> (Value, i32, String) {
        let mut all = vec!["deploy"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--format", "json"]);
        let out = self.run(&all);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out)));
        (value, out.status.code().unwrap(), text(&out))
    }

    fn prod(&self) -> postgres::Client {
        self.production.connect("postgres").unwrap()
    }

    fn history(&self) -> Vec<String> {
        self.prod()
            .query(
                "select version from dbsage.schema_migrations order by version",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    fn exists(&self, relation: &str) -> bool {
        self.prod()
            .query_one("select to_regclass($1) is not null", &[&relation])
            .unwrap()
            .get(0)
    }

    fn events(&self) -> Vec<(String, Option<String>)> {
        self.prod()
            .query(
                "select event, reason from dbsage.migration_events order by id",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deploy/shop")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn step<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {report:#}"))
}

fn report_files(report: &Value) -> (Value, String) {
    let files = report["files"].as_array().unwrap();
    let json = std::fs::read_to_string(files[0].as_str().unwrap()).unwrap();
    let md = std::fs::read_to_string(files[1].as_str().unwrap()).unwrap();
    (serde_json::from_str(&json).unwrap(), md)
}

const PENDING: [&str; 3] = ["20260210140000", "20260210140100", "20260210140200"];

#[test]
fn a_clean_deploy_over_tls_backs_up_migrates_smoke_tests_and_reports() {
    let shop = Shop::new("", |_| {});
    let (report, code, output) = shop.deploy(&["--yes"]);
    assert_eq!(code, 0, "{output}");
    assert_eq!(report["outcome"], "deployed");
    assert_eq!(shop.history().len(), 5);
    for s in [
        "preflight.status",
        "preflight.lint",
        "preflight.local",
        "preflight.drift",
        "preflight.locks",
        "gate",
        "backup",
        "migrate",
        "smoke",
        "postcheck.invalid_indexes",
        "postcheck.health",
    ] {
        assert_eq!(step(&report, s)["status"], "passed", "{s}: {report:#}");
    }
    let versions: Vec<&str> = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, PENDING);
    assert!(report["migrations"][0]["duration_ms"].is_u64());
    assert_eq!(report["smoke"]["passed"], 4);
    assert_eq!(report["smoke"]["failed"], 0);
    // The smoke cases were rolled back: the note the third case wrote is not there.
    let notes: i64 = shop
        .prod()
        .query_one("select count(*) from order_notes", &[])
        .unwrap()
        .get(0);
    assert_eq!(notes, 0);
    let backup_id = report["backup"]["id"].as_str().unwrap();
    assert!(Path::new(report["backup"]["dir"].as_str().unwrap())
        .join("manifest.json")
        .is_file());
    // Undoing it now: the down files, and the backup.
    let commands = report["rollback_commands"].as_array().unwrap();
    assert!(
        commands[0]
            .as_str()
            .unwrap()
            .starts_with("dbsage rollback --env production --steps 3"),
        "{commands:?}"
    );
    assert!(commands.iter().any(|c| c
        .as_str()
        .unwrap()
        .contains(&format!("dbsage restore {backup_id}"))));
    let (written, md) = report_files(&report);
    assert_eq!(written["outcome"], "deployed");
    assert!(written["who"].as_str().unwrap().contains('@'));
    let name = Path::new(report["files"][0].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(
        name.ends_with("-production.json")
            && name.len() == "20261201T203000Z-production.json".len(),
        "{name}"
    );
    assert!(md.contains("| 20260210140100_customer_phone |"), "{md}");
    assert!(md.contains(&format!("dbsage restore {backup_id}")));
    // The protected path's confirmation is in the audit log.
    assert!(shop
        .events()
        .iter()
        .any(|(e, _)| e == "protected_confirmed"));
}

#[test]
fn a_failing_third_migration_stops_the_deploy_and_the_report_says_what_stays_applied() {
    // Lint-clean and fine on the empty replay, but production has a mixed-case email.
    let shop = Shop::new("", |root| {
        let m = root.join("migrations");
        std::fs::remove_file(m.join("20260210140200_order_totals.sql")).unwrap();
        std::fs::remove_file(m.join("20260210140200_order_totals.down.sql")).unwrap();
        std::fs::write(
            m.join("20260210140200_customer_email_lowercase.sql"),
            "DO $$\nBEGIN\n  IF NOT EXISTS (SELECT FROM pg_constraint WHERE conname = 'customers_email_lowercase') THEN\n    ALTER TABLE customers ADD CONSTRAINT customers_email_lowercase CHECK (email = lower(email)) NOT VALID;\n  END IF;\nEND\n$$;\nALTER TABLE customers VALIDATE CONSTRAINT customers_email_lowercase;\n",
        )
        .unwrap();
    });
    let (report, code, output) = shop.deploy(&["--yes"]);
    assert_eq!(code, 1, "{output}");
    assert_eq!(report["outcome"], "failed");
    assert_eq!(report["failed_step"], "migrate");
    let migrate = step(&report, "migrate");
    let message = migrate["message"].as_str().unwrap();
    assert!(
        message.contains("20260210140200_customer_email_lowercase.sql:8:"),
        "{message}"
    );
    assert!(message.contains("violated"), "{message}");
    assert_eq!(report["migrations"].as_array().unwrap().len(), 2);
    assert_eq!(shop.history().len(), 4);
    assert!(report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["step"] != "smoke"));
    let commands = report["rollback_commands"].as_array().unwrap();
    assert!(
        commands[0]
            .as_str()
            .unwrap()
            .starts_with("dbsage rollback --env production --steps 2"),
        "{commands:?}"
    );
    let (_, md) = report_files(&report);
    assert!(
        md.starts_with("# deploy to production FAILED at migrate\n\n## Rollback: run now"),
        "{md}"
    );
}

/// The third migration forgets its GRANT: the account page's smoke case is denied.
fn without_the_grant(root: &Path) {
    let path = root.join("migrations/20260210140200_order_totals.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("GRANT SELECT ON order_totals TO shop_app;\n", ""),
    )
    .unwrap();
}

#[test]
fn a_failing_smoke_test_rolls_back_with_down_files_when_configured() {
    let shop = Shop::new("rollback_on_failure = true", without_the_grant);
    let (report, code, output) = shop.deploy(&["--yes"]);
    assert_eq!(code, 1, "{output}");
    assert_eq!(report["failed_step"], "smoke");
    assert_eq!(report["smoke"]["failed"], 1);
    let failed = &step(&report, "smoke")["details"][0];
    assert!(
        failed
            .as_str()
            .unwrap()
            .contains("the app reads what each customer spent"),
        "{failed}"
    );
    assert_eq!(step(&report, "rollback")["status"], "passed");
    assert_eq!(report["rolled_back"].as_array().unwrap().len(), 3);
    assert_eq!(shop.history(), ["20260105090000", APPLIED_BEFORE]);
    assert!(!shop.exists("order_notes") && !shop.exists("order_totals"));
    assert!(report["rollback_commands"].as_array().unwrap().is_empty());
    let (_, md) = report_files(&report);
    assert!(md.contains("## Rolled back"), "{md}");
}

#[test]
fn a_failing_smoke_test_without_down_files_leads_with_the_rollback_commands() {
    let shop = Shop::new("rollback_on_failure = true", |root| {
        without_the_grant(root);
        for v in PENDING {
            for entry in std::fs::read_dir(root.join("migrations"))
                .unwrap()
                .flatten()
            {
                let name = entry.file_name().to_string_lossy().to_string();
                if name.starts_with(v) && name.ends_with(".down.sql") {
                    std::fs::remove_file(entry.path()).unwrap();
                }
            }
        }
    });
    // In human mode: the summary leads with the commands too.
    let human = shop.run(&["deploy", "--yes"]);
    assert_eq!(human.status.code(), Some(1), "{}", text(&human));
    let stdout = String::from_utf8_lossy(&human.stdout);
    assert!(
        stdout.contains(
            "FAILED at smoke\nROLLBACK: run now\n  20260210140200_order_totals has no down file"
        ),
        "{}",
        text(&human)
    );
    let written = std::fs::read_dir(shop.root().join(".dbsage/deploys"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(written).unwrap()).unwrap();
    assert_eq!(report["failed_step"], "smoke");
    let rollback = step(&report, "rollback");
    assert_eq!(rollback["status"], "skipped");
    assert!(rollback["message"]
        .as_str()
        .unwrap()
        .contains("no down file for 20260210140000_order_notes"));
    assert_eq!(shop.history().len(), 5, "nothing was rolled back");
    let commands: Vec<&str> = report["rollback_commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        commands[0].starts_with("20260210140200_order_totals has no down file"),
        "{commands:?}"
    );
    assert!(commands[0].contains("--steps 1 --write"), "{commands:?}");
    let id = report["backup"]["id"].as_str().unwrap();
    assert!(commands
        .last()
        .unwrap()
        .starts_with(&format!("dbsage restore {id} --env production --replace")));
    let (_, md) = report_files(&report);
    assert!(md.starts_with("# deploy to production FAILED at smoke\n\n## Rollback: run now\n\n```sh\n20260210140200_order_totals has no down file"), "{md}");
}

#[test]
fn a_long_transaction_holding_a_lock_aborts_preflight_after_the_bound() {
    let shop = Shop::new("lock_wait = \"1s\"\nlong_transaction = \"100ms\"", |_| {});
    let mut holder = shop.prod();
    let pid: i32 = holder
        .query_one("select pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    holder
        .batch_execute("begin; lock table customers in access share mode;")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let (report, code, output) = shop.deploy(&["--yes"]);
    assert_eq!(code, 1, "{output}");
    assert_eq!(report["failed_step"], "preflight.locks");
    let locks = step(&report, "preflight.locks");
    let detail = locks["details"][0].as_str().unwrap();
    assert!(
        detail.contains(&format!("pid {pid}")) && detail.contains("AccessShareLock on customers"),
        "{detail}"
    );
    assert!(
        detail.contains("lock table customers in access share mode"),
        "{detail}"
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(shop.history().len(), 2, "nothing applied");
    assert!(
        report["backup"]["id"].is_null(),
        "no backup before preflight passed"
    );
    holder.batch_execute("commit").unwrap();
}

#[test]
fn a_lock_held_during_migrate_is_retried_with_backoff_and_the_wait_reported() {
    // Preflight ignores the holder (younger than long_transaction); migrate meets it.
    let shop = Shop::new(
        "lock_timeout = \"300ms\"\nretries = 5\nlong_transaction = \"1h\"",
        |_| {},
    );
    let url = shop.production.url("postgres");
    let holder = std::thread::spawn(move || {
        let mut holder = dbsage_core::connect::ConnectSpec::parse(&url)
            .unwrap()
            .connect()
            .unwrap();
        let mut watcher = dbsage_core::connect::ConnectSpec::parse(&url)
            .unwrap()
            .connect()
            .unwrap();
        holder
            .batch_execute("begin; lock table customers in access share mode;")
            .unwrap();
        // Hold it until the deploy has waited on it, and a little longer.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let waiting: i64 = watcher
                .query_one(
                    "select count(*) from pg_stat_activity where application_name = 'dbsage deploy' and wait_event_type = 'Lock'",
                    &[],
                )
                .unwrap()
                .get(0);
            if waiting > 0 || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(700));
        holder.batch_execute("commit").unwrap();
    });
    let (report, code, output) = shop.deploy(&["--yes"]);
    holder.join().unwrap();
    assert_eq!(code, 0, "{output}");
    let phone = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["version"] == "20260210140100")
        .unwrap();
    assert!(phone["attempts"].as_u64().unwrap() >= 2, "{phone}");
    assert!(phone["lock_wait_ms"].as_u64().unwrap() >= 300, "{phone}");
    let migrate = step(&report, "migrate")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!migrate.contains("(0 retries"), "{migrate}");
    assert_eq!(shop.history().len(), 5);
}

#[test]
fn plan_prints_everything_and_changes_nothing() {
    let shop = Shop::new("", |_| {});
    let snapshot = |shop: &Shop| {
        let mut c = shop.prod();
        let catalog = dbsage_catalog::Catalog::read(&mut c, &Default::default()).unwrap();
        let rows: i64 = c
            .query_one(
                "select (select count(*) from customers) + (select count(*) from orders)",
                &[],
            )
            .unwrap()
            .get(0);
        (format!("{catalog:?}"), shop.events(), rows)
    };
    let before = snapshot(&shop);
    let (report, code, output) = shop.deploy(&["--plan"]);
    assert_eq!(code, 0, "{output}");
    assert_eq!(report["outcome"], "planned");
    let migrate = step(&report, "migrate");
    assert_eq!(migrate["status"], "planned");
    assert_eq!(migrate["details"].as_array().unwrap().len(), 3);
    assert!(migrate["details"][1]
        .as_str()
        .unwrap()
        .starts_with("20260210140100_customer_phone (one transaction"));
    assert!(step(&report, "gate")["message"]
        .as_str()
        .unwrap()
        .contains("would ask to type `production`"));
    assert!(step(&report, "smoke")["message"]
        .as_str()
        .unwrap()
        .contains("4 smoke cases"));
    assert_eq!(step(&report, "backup")["status"], "planned");
    assert_eq!(snapshot(&shop), before, "the database changed");
    assert!(report["backup"]["id"].is_null());
    assert!(!shop.root().join(".dbsage/backups").exists());
}

#[test]
fn rehearse_runs_on_a_restored_copy_with_durations_and_locks_and_leaves_the_target_alone() {
    let shop = Shop::new("", |_| {});
    let events_before = shop.events();
    let (report, code, output) = shop.deploy(&["--rehearse"]);
    assert_eq!(code, 0, "{output}");
    assert_eq!(report["outcome"], "rehearsed");
    assert!(step(&report, "rehearse.restore")["message"]
        .as_str()
        .unwrap()
        .starts_with("took backup"));
    assert_eq!(
        report["smoke"]["passed"], 4,
        "the copy has production's rows"
    );
    let migrations = report["migrations"].as_array().unwrap();
    assert_eq!(migrations.len(), 3);
    let locks = |v: &str| -> Vec<String> {
        migrations.iter().find(|m| m["version"] == v).unwrap()["locks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        locks("20260210140100").contains(&"AccessExclusiveLock on customers".to_string()),
        "{:?}",
        locks("20260210140100")
    );
    assert!(
        locks("20260210140000")
            .iter()
            .any(|l| l.ends_with(" on orders")),
        "the foreign key locks orders: {:?}",
        locks("20260210140000")
    );
    assert!(report["lock_method"].as_str().unwrap().contains("pg_locks"));
    // The target is as it was.
    assert_eq!(shop.history().len(), 2);
    assert!(!shop.exists("order_notes"));
    assert_eq!(shop.events(), events_before);
    // A second rehearsal restores the backup that now exists.
    let (again, code, _) = shop.deploy(&["--rehearse"]);
    assert_eq!(code, 0);
    assert!(step(&again, "rehearse.restore")["message"]
        .as_str()
        .unwrap()
        .starts_with("latest backup"));
}

#[test]
fn requires_staging_refuses_until_staging_has_the_same_migration_set() {
    let shop = Shop::new("#requires-staging", |_| {});
    let (report, code, output) = shop.deploy(&["--yes"]);
    assert_eq!(code, 3, "{output}");
    assert_eq!(report["outcome"], "refused");
    assert_eq!(report["failed_step"], "preflight.requires");
    let requires = step(&report, "preflight.requires");
    assert!(
        requires["message"]
            .as_str()
            .unwrap()
            .contains("5 migrations of this migration set are not deployed there"),
        "{requires}"
    );
    assert_eq!(shop.history().len(), 2);
    let staging = shop.run(&["migrate", "--env", "staging"]);
    assert_eq!(staging.status.code(), Some(0), "{}", text(&staging));
    // Staging proved it: this deploy goes without a backup, loudly and audited.
    let (report, code, output) = shop.deploy(&[
        "--yes",
        "--skip-backup",
        "--reason",
        "staging ran it on a copy of today's data",
    ]);
    assert_eq!(code, 0, "{output}");
    assert_eq!(step(&report, "preflight.requires")["status"], "passed");
    assert_eq!(shop.history().len(), 5);
    assert_eq!(step(&report, "backup")["status"], "skipped");
    assert!(report["backup"]["skipped"]
        .as_str()
        .unwrap()
        .contains("SKIPPED with --skip-backup"));
    assert!(shop
        .events()
        .iter()
        .any(|(event, reason)| event == "deploy_backup_skipped"
            && reason
                .as_deref()
                .unwrap_or_default()
                .contains("staging ran it on a copy of today's data")));
    drop(shop.staging.connect("postgres").unwrap());
}

#[test]
fn drift_on_the_target_fails_preflight_and_names_the_objects() {
    let shop = Shop::new("", |_| {});
    shop.prod()
        .batch_execute("alter table customers add column nickname text")
        .unwrap();
    let (report, code, output) = shop.deploy(&["--yes"]);
    assert_eq!(code, 1, "{output}");
    assert_eq!(report["failed_step"], "preflight.drift");
    let details = step(&report, "preflight.drift")["details"]
        .as_array()
        .unwrap();
    assert!(
        details
            .iter()
            .any(|d| d.as_str().unwrap().contains("public.customers.nickname")),
        "{details:?}"
    );
    assert_eq!(shop.history().len(), 2);
}

#[test]
fn preflight_refuses_lint_errors_and_an_untested_set_and_fails_on_pgtap_on_the_replay() {
    let shop = Shop::new("", |_| {});
    let tier = shop
        .root()
        .join("migrations/20260215100000_loyalty_tier.sql");
    std::fs::write(
        &tier,
        "ALTER TABLE customers ADD COLUMN IF NOT EXISTS loyalty_tier text NOT NULL;\n",
    )
    .unwrap();
    let (report, code, output) = shop.deploy(&["--yes"]);
    assert_eq!(code, 3, "{output}");
    assert_eq!(report["failed_step"], "preflight.lint");
    let lint = step(&report, "preflight.lint")["details"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        lint.contains("20260215100000_loyalty_tier.sql:1:")
            && lint.contains("[add-required-column]"),
        "{lint}"
    );

    std::fs::write(&tier, "ALTER TABLE customers ADD COLUMN IF NOT EXISTS loyalty_tier text NOT NULL DEFAULT 'standard';\n").unwrap();
    let (report, code, output) = shop.deploy(&["--yes"]);
    assert_eq!(code, 3, "{output}");
    assert_eq!(report["failed_step"], "preflight.local");

    let local = shop.run(&["migrate", "--local"]);
    assert_eq!(local.status.code(), Some(0), "{}", text(&local));
    std::fs::create_dir_all(shop.root().join("tests/pgtap")).unwrap();
    std::fs::write(
        shop.root().join("tests/pgtap/customers.sql"),
        "BEGIN;\nSELECT plan(2);\nSELECT has_column('customers', 'loyalty_tier', 'customers have a loyalty tier');\nSELECT col_default_is('customers', 'loyalty_tier', 'bronze'::text, 'new customers start at bronze');\nSELECT * FROM finish();\nROLLBACK;\n",
    )
    .unwrap();
    let (report, code, output) = shop.deploy(&["--yes"]);
    assert_eq!(code, 1, "{output}");
    assert_eq!(report["failed_step"], "preflight.pgtap");
    let failed = step(&report, "preflight.pgtap")["details"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(failed.contains("new customers start at bronze"), "{failed}");
    assert_eq!(shop.history().len(), 2, "nothing applied");
    assert!(report["backup"]["id"].is_null());

    // The pgTAP file fixed; a policy test finds the app may rename customers.
    std::fs::write(
        shop.root().join("tests/pgtap/customers.sql"),
        "BEGIN;\nSELECT plan(1);\nSELECT has_column('customers', 'loyalty_tier', 'customers have a loyalty tier');\nSELECT * FROM finish();\nROLLBACK;\n",
    )
    .unwrap();
    std::fs::create_dir_all(shop.root().join("tests/rls")).unwrap();
    std::fs::write(
        shop.root().join("tests/rls/customers.toml"),
        "[[case]]\nname = \"the app cannot rename customers\"\nas = \"shop_app\"\nsql = \"update customers set full_name = 'someone else'\"\nexpect = { error = \"42501\" }\n",
    )
    .unwrap();
    let (report, code, output) = shop.deploy(&["--yes"]);
    assert_eq!(code, 1, "{output}");
    assert_eq!(step(&report, "preflight.pgtap")["status"], "passed");
    assert_eq!(report["failed_step"], "preflight.policy_tests");
    let failed = step(&report, "preflight.policy_tests")["details"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        failed.contains("the app cannot rename customers"),
        "{failed}"
    );
    assert_eq!(shop.history().len(), 2, "nothing applied");
}

#[test]
fn post_checks_fail_on_a_new_critical_health_finding_and_roll_back() {
    // The old helpdesk's ticket numbers continue here, close to the end of integer's range.
    let shop = Shop::new("rollback_on_failure = true", |root| {
        let m = root.join("migrations");
        std::fs::write(
            m.join("20260215100000_ticket_numbers.sql"),
            "-- Tickets keep the numbers the old helpdesk gave them.\nCREATE SEQUENCE IF NOT EXISTS ticket_numbers AS integer;\nSELECT setval('ticket_numbers', 2100000000);\n",
        )
        .unwrap();
        std::fs::write(
            m.join("20260215100000_ticket_numbers.down.sql"),
            "DROP SEQUENCE IF EXISTS ticket_numbers;\n",
        )
        .unwrap();
    });
    let (report, code, output) = shop.deploy(&["--yes"]);
    assert_eq!(code, 1, "{output}");
    assert_eq!(report["failed_step"], "postcheck.health");
    assert_eq!(step(&report, "smoke")["status"], "passed");
    assert_eq!(
        step(&report, "postcheck.invalid_indexes")["status"],
        "passed"
    );
    let health = step(&report, "postcheck.health")["details"]
        .as_array()
        .unwrap();
    assert!(
        health
            .iter()
            .any(|d| d.as_str().unwrap().contains("ticket_numbers")),
        "{health:?}"
    );
    assert_eq!(report["rolled_back"].as_array().unwrap().len(), 4);
    assert_eq!(shop.history().len(), 2);
    assert!(!shop.exists("ticket_numbers"));
}

#[test]
fn post_checks_fail_on_a_new_invalid_index() {
    // An index on ONLY the partitioned parent stays invalid until every partition's index is
    // attached: the migration that was to build them is not written yet.
    let shop = Shop::new("", |root| {
        std::fs::write(
            root.join("migrations/20260215100000_page_views.sql"),
            "CREATE TABLE IF NOT EXISTS page_views (\n  id bigint GENERATED ALWAYS AS IDENTITY,\n  viewed_at timestamptz NOT NULL,\n  path text NOT NULL,\n  PRIMARY KEY (id, viewed_at)\n) PARTITION BY RANGE (viewed_at);\n\
             CREATE TABLE IF NOT EXISTS page_views_2026_02 PARTITION OF page_views FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');\n\
             CREATE INDEX IF NOT EXISTS page_views_path_idx ON ONLY page_views (path);\n",
        )
        .unwrap();
    });
    let (report, code, output) = shop.deploy(&["--yes"]);
    assert_eq!(code, 1, "{output}");
    assert_eq!(report["failed_step"], "postcheck.invalid_indexes");
    let details = step(&report, "postcheck.invalid_indexes")["details"]
        .as_array()
        .unwrap();
    assert_eq!(details[0], "public.page_views_path_idx");
    assert_eq!(step(&report, "rollback")["status"], "skipped");
    assert_eq!(
        shop.history().len(),
        6,
        "applied, and the report says how to undo it"
    );
    assert!(!report["rollback_commands"].as_array().unwrap().is_empty());
}

#[test]
fn secure_audit_errors_on_the_replay_fail_preflight() {
    // A policy written for the notes, but row-level security never enabled: it protects nothing.
    let shop = Shop::new("[lint]\nexposed_schemas = [\"public\"]", |root| {
        std::fs::write(
            root.join("migrations/20260215100000_order_notes_policy.sql"),
            "DROP POLICY IF EXISTS order_notes_nonempty ON order_notes;\nCREATE POLICY order_notes_nonempty ON order_notes FOR SELECT TO shop_app USING (body <> '');\n",
        )
        .unwrap();
    });
    let (report, code, output) = shop.deploy(&["--yes"]);
    assert_eq!(code, 1, "{output}");
    assert_eq!(report["failed_step"], "preflight.audit");
    let details = step(&report, "preflight.audit")["details"]
        .as_array()
        .unwrap();
    assert!(
        details.iter().any(|d| d
            .as_str()
            .unwrap()
            .contains("[policy-exists-rls-disabled] table public.order_notes")),
        "{details:?}"
    );
    assert_eq!(shop.history().len(), 2, "nothing applied");
}

//! `dbsage health`'s database growth over two runs: the first remembers the size under
//! `.dbsage/`, the second judges the growth per day against the configured thresholds.

use crate::common;

use common::TestProject;
use serde_json::Value;

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {report:#}"))
}

#[test]
fn database_growth_is_judged_against_the_reading_a_day_earlier() {
    let project = TestProject::with_config(
        "\n[health.database_size]\nwarning_growth_bytes_per_day = 10000000\ncritical_growth_bytes_per_day = 1000000000\n",
    );
    let state = project.root().join(".dbsage/health-test.json");

    // First run: a size, no growth yet, and the reading remembered.
    let (report, code) = project.json(&["health"]);
    assert_eq!(code, 0, "{report:#}");
    let size = check(&report, "database_size");
    assert_eq!(size["status"], "ok");
    assert!(
        !size["message"].as_str().unwrap().contains("growing"),
        "{size:#}"
    );
    let remembered: Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let first_bytes = remembered["size"]["bytes"].as_i64().unwrap();
    assert!(first_bytes > 1_000_000, "{remembered:#}");

    // A second run right away keeps the first reading (growth is per day, not per run) and
    // judges no growth over seconds.
    let (report, _) = project.json(&["health"]);
    assert_eq!(check(&report, "database_size")["status"], "ok");
    let again: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(again["size"], remembered["size"]);

    // That reading was taken a day ago (the file says when), and the app wrote ~25 MB since.
    let mut yesterday = again.clone();
    yesterday["size"]["at"] = serde_json::json!(again["size"]["at"].as_f64().unwrap() - 86_400.0);
    std::fs::write(&state, serde_json::to_string_pretty(&yesterday).unwrap()).unwrap();
    project
        .client()
        .batch_execute(
            "create table audit_log (id bigint generated always as identity primary key,
                                     actor text not null, action text not null, at timestamptz not null default now());
             insert into audit_log (actor, action)
               select 'user' || g % 300, 'viewed invoice ' || g || ' of account ' || g % 7000
                 from generate_series(1, 250000) g;
             analyze audit_log;",
        )
        .unwrap();

    let (report, code) = project.json(&["health"]);
    let size = check(&report, "database_size");
    assert_eq!(size["status"], "warning", "{size:#}");
    assert_eq!(code, 1, "{report:#}");
    let finding = &size["findings"][0];
    let growth = finding["evidence"]["growth_bytes_per_day"]
        .as_f64()
        .unwrap();
    assert!(
        (15_000_000.0..60_000_000.0).contains(&growth),
        "{finding:#}"
    );
    assert_eq!(finding["evidence"]["previous"]["bytes"], first_bytes);
    assert!(
        size["message"].as_str().unwrap().contains("/day"),
        "{size:#}"
    );

    // The day-old reading is replaced by today's: the next growth is measured from here.
    let now: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(
        now["size"]["bytes"].as_i64().unwrap() > first_bytes + 15_000_000,
        "{now:#}"
    );
    assert!(
        now["size"]["at"].as_f64().unwrap() > yesterday["size"]["at"].as_f64().unwrap() + 86_000.0
    );
}

//! `[project] baseline` set by hand and `-- dbsage:not-idempotent`: what `migrate --local`
//! replays, judges, and shows as context (issue 9).

use dbsage_core::config::Project;
use dbsage_core::local::{self, CheckStatus, LocalOptions};
use dbsage_core::migrations::discover_project;

const ADOPTED: &[(&str, &str)] = &[
    (
        "20250110080000_teams.sql",
        "create table teams (id bigint generated always as identity primary key, name text not null unique, legacy_slug text);\n\
         insert into teams (name) values ('Support');\n",
    ),
    (
        "20250112080000_drop_legacy_slug.sql",
        "alter table teams drop column legacy_slug;\n",
    ),
];

fn project(baseline: Option<&str>, extra: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    let section = baseline
        .map(|b| format!("[project]\nbaseline = \"{b}\"\n\n"))
        .unwrap_or_default();
    std::fs::write(
        dir.path().join("dbsage.toml"),
        format!("{section}[checks]\nidempotency = \"error\"\nrollback = \"off\"\n"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    for (name, sql) in ADOPTED.iter().chain(extra) {
        std::fs::write(dir.path().join("migrations").join(name), sql).unwrap();
    }
    let project = Project::load(dir.path()).unwrap();
    (dir, project)
}

fn run(project: &Project, skip_lint: bool) -> local::LocalReport {
    let files = discover_project(project).unwrap();
    local::run_local(project, &files, &LocalOptions { skip_lint }, &mut |_| {}).unwrap()
}

#[test]
fn files_up_to_a_hand_set_baseline_are_replayed_but_not_judged() {
    let (_dir, without) = project(None, &[]);
    let report = run(&without, false);
    assert!(!report.passed);
    assert_eq!(report.checks["lint"].status, CheckStatus::Failed);
    let report = run(&without, true);
    assert_eq!(report.checks["idempotency"].status, CheckStatus::Failed);
    assert_eq!(report.checks["idempotency"].findings.len(), 2);

    let (_dir, with) = project(Some("20250112080000"), &[]);
    assert_eq!(
        with.config.project.baseline.as_deref(),
        Some("20250112080000")
    );
    let report = run(&with, false);
    assert!(report.passed, "{:#?}", report.checks);
    assert_eq!(report.applied.len(), 2, "replayed");
    assert!(report.lint.is_empty(), "{:#?}", report.lint);
    assert!(report.lint_context.iter().any(
        |(f, why)| f.rule == "destructive-statement" && why.contains("baseline 20250112080000")
    ));
    let idempotency = &report.checks["idempotency"];
    assert_eq!(idempotency.status, CheckStatus::Passed);
    assert!(idempotency
        .note
        .as_deref()
        .unwrap()
        .starts_with("2 files at or before the baseline"));
}

#[test]
fn a_later_file_is_judged_unless_it_opts_out_with_a_reason() {
    let later = "insert into teams (name) values ('Billing');\n";
    let (_dir, p) = project(
        Some("20250112080000"),
        &[("20250301080000_billing_team.sql", later)],
    );
    let report = run(&p, false);
    assert!(!report.passed);
    let findings = &report.checks["idempotency"].findings;
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].version, "20250301080000");

    let opted = format!("-- dbsage:not-idempotent seeds the billing team once\n{later}");
    let (_dir, p) = project(
        Some("20250112080000"),
        &[("20250301080000_billing_team.sql", &opted)],
    );
    let report = run(&p, false);
    assert!(report.passed, "{:#?}", report.checks);
    let context = &report.checks["idempotency"].context;
    assert_eq!(context.len(), 1);
    assert_eq!(
        context[0].message,
        "not re-run: seeds the billing team once"
    );

    let bare = format!("-- dbsage:not-idempotent\n{later}");
    let (_dir, p) = project(
        Some("20250112080000"),
        &[("20250301080000_billing_team.sql", &bare)],
    );
    let report = run(&p, false);
    assert!(!report.passed);
    let findings = &report.checks["idempotency"].findings;
    assert!(
        findings[0].message.contains("gives no reason"),
        "{findings:#?}"
    );
}

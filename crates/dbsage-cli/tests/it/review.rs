//! `dbsage review`: the KISS gate on a small SaaS schema (tests/fixtures/review/saas): each red
//! flag and its silence on a minimal change, the justify directive, the ladder, --strict,
//! the json and github formats, and the live evidence of --env.

use crate::common;

use std::path::{Path, PathBuf};

use common::{stderr, stdout, TestProject};
use dbsage_cluster::{Cluster, ClusterOptions};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/review/saas")
}

/// A project whose migrations are the SaaS history, with the proposals in `proposals/`.
fn saas(project: &TestProject) {
    for dir in ["history", "proposals"] {
        let target = if dir == "history" {
            "migrations"
        } else {
            "proposals"
        };
        std::fs::create_dir_all(project.root().join(target)).unwrap();
        for entry in std::fs::read_dir(fixtures().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(
                &path,
                project.root().join(target).join(path.file_name().unwrap()),
            )
            .unwrap();
        }
    }
}

fn review_json(project: &TestProject, args: &[&str]) -> (Value, i32) {
    let mut all = vec!["review"];
    all.extend_from_slice(args);
    project.json(&all)
}

fn checks(report: &Value) -> Vec<String> {
    report["red_flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect()
}

fn flag<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["red_flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check)
        .unwrap_or_else(|| panic!("no {check} in {report:#}"))
}

#[test]
fn a_minimal_change_is_ok_and_silent() {
    let p = TestProject::new();
    saas(&p);
    let (report, code) = review_json(&p, &["proposals/add_due_date.sql", "--strict"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(checks(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(report["verdict"], "ok");
    assert_eq!(
        report["adds"]["new_columns"]["public.tasks"][0]["name"],
        "due_on"
    );
    assert_eq!(
        report["adds"]["new_indexes"],
        serde_json::json!(["public.tasks_due_on_idx"])
    );
    assert_eq!(report["ladder"]["change"], "one-column");
    assert_eq!(report["ladder"]["suggestion"], "one-column");
}

#[test]
fn json_shape_is_stable() {
    let p = TestProject::new();
    saas(&p);
    let (report, _) = review_json(&p, &["proposals/member_profiles.sql"]);
    let mut keys: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "adds",
            "evidence",
            "files",
            "ladder",
            "notes",
            "red_flags",
            "to_be_ok",
            "verdict"
        ]
    );
    let mut flag_keys: Vec<&str> = report["red_flags"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    flag_keys.sort();
    assert_eq!(
        flag_keys,
        [
            "check",
            "column",
            "evidence",
            "file",
            "fix_sql",
            "justified",
            "line",
            "message",
            "object",
            "severity"
        ]
    );
    assert_eq!(report["red_flags"][0]["severity"], "warning");
}

#[test]
fn a_copy_of_an_existing_table_is_flagged_and_the_ladder_says_reuse_it() {
    let p = TestProject::new();
    saas(&p);
    let (report, code) = review_json(&p, &["proposals/member_profiles.sql"]);
    assert_eq!(code, 0, "without --strict the review informs");
    let overlap = flag(&report, "overlapping-table");
    assert_eq!(overlap["object"], "table public.member_profiles");
    assert_eq!(overlap["evidence"]["existing_table"], "public.profiles");
    assert_eq!(
        (overlap["file"].as_str().unwrap(), overlap["line"].as_u64()),
        ("proposals/member_profiles.sql", Some(2))
    );
    assert_eq!(report["ladder"]["change"], "one-table");
    assert_eq!(report["ladder"]["suggestion"], "no-change");
    let detail = report["ladder"]["suggestion_detail"].as_str().unwrap();
    assert!(detail.contains("reuse table public.profiles"), "{detail}");
    assert_eq!(report["verdict"], "needs-justification");
    assert!(report["to_be_ok"][0]
        .as_str()
        .unwrap()
        .contains("dbsage:justify"));
}

#[test]
fn a_sprawling_change_raises_each_flag_where_it_is_written() {
    let p = TestProject::new();
    saas(&p);
    let (report, _) = review_json(&p, &["proposals/crm_module.sql"]);
    let at = |check: &str| {
        let f = flag(&report, check);
        (f["line"].as_u64().unwrap(), f["column"].as_u64().unwrap())
    };
    assert_eq!(
        flag(&report, "many-new-tables")["evidence"]["new_tables"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(flag(&report, "many-new-columns")["message"]
        .as_str()
        .unwrap()
        .contains("13 columns"));
    assert_eq!(
        flag(&report, "tracking-table")["object"],
        "table public.contact_activity_events"
    );
    assert_eq!(at("tracking-table").0, 24);
    assert_eq!(
        at("many-new-tables"),
        (2, 1),
        "the first table the file writes"
    );
    assert_eq!(at("many-new-columns"), (5, 5), "the first counted column");
    assert_eq!(at("repeated-column-group"), (8, 5));
    let later: Vec<&Value> = report["red_flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "later-column")
        .collect();
    let objects: Vec<&str> = later
        .iter()
        .map(|f| f["object"].as_str().unwrap())
        .collect();
    assert_eq!(
        objects,
        [
            "column public.contacts.extra_info",
            "column public.deals.metadata"
        ]
    );
    // contacts requires organization_id: not a table where every column is nullable.
    assert!(!checks(&report).contains(&"wide-nullable-table".to_string()));
    assert_eq!(report["ladder"]["change"], "several-tables");
    assert_eq!(report["ladder"]["suggestion"], "one-table");
}

#[test]
fn a_wide_table_of_nullable_columns_is_flagged_and_one_required_column_silences_it() {
    let p = TestProject::new();
    saas(&p);
    let leads = |email: &str| {
        format!(
            "create table leads (\n  id bigint generated always as identity primary key,\n  name text,\n  email text{email},\n  phone text,\n  company text,\n  job_title text,\n  source text,\n  notes text,\n  score int\n);\n"
        )
    };
    std::fs::write(p.root().join("proposals/leads.sql"), leads("")).unwrap();
    let (report, _) = review_json(&p, &["proposals/leads.sql"]);
    assert_eq!(checks(&report), ["wide-nullable-table"], "{report:#}");
    std::fs::write(p.root().join("proposals/leads.sql"), leads(" not null")).unwrap();
    let (report, _) = review_json(&p, &["proposals/leads.sql"]);
    assert_eq!(checks(&report), Vec::<String>::new(), "{report:#}");
}

#[test]
fn justify_acknowledges_the_flags_of_its_file_and_strict_follows() {
    let p = TestProject::new();
    saas(&p);
    // The same file without its directive.
    let justified =
        std::fs::read_to_string(p.root().join("proposals/task_events_justified.sql")).unwrap();
    let (directive, rest) = justified.split_once('\n').unwrap();
    assert!(directive.starts_with("-- dbsage:justify"));
    std::fs::write(p.root().join("proposals/task_events.sql"), rest).unwrap();
    let (report, code) = review_json(&p, &["proposals/task_events.sql", "--strict"]);
    assert_eq!(checks(&report), ["tracking-table"]);
    assert_eq!(report["red_flags"][0]["justified"], Value::Null);
    assert_eq!(code, 1, "--strict fails on an unjustified flag");

    let (report, code) = review_json(&p, &["proposals/task_events_justified.sql", "--strict"]);
    assert_eq!(checks(&report), ["tracking-table"]);
    assert_eq!(
        report["red_flags"][0]["justified"],
        "support cannot answer 'who closed my task?': the task history view reads this"
    );
    assert_eq!(report["verdict"], "ok");
    assert_eq!(code, 0);

    // A justification in another file of the change does not acknowledge this one's flags.
    let (report, code) = review_json(
        &p,
        &[
            "proposals/task_events_justified.sql",
            "proposals/member_profiles.sql",
            "--strict",
        ],
    );
    assert_eq!(flag(&report, "overlapping-table")["justified"], Value::Null);
    assert_eq!(code, 1);
}

#[test]
fn github_format_annotates_the_lines() {
    let p = TestProject::new();
    saas(&p);
    let out = p.run(&[
        "review",
        "proposals/member_profiles.sql",
        "--format",
        "github",
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("::warning file=proposals/member_profiles.sql,line=2,col=1,title=dbsage review overlapping-table::`public.member_profiles` overlaps `public.profiles`"),
        "{text}\n{}",
        stderr(&out)
    );
    let out = p.run(&["review", "proposals/add_due_date.sql", "--format", "github"]);
    assert_eq!(stdout(&out), "", "no annotation for a clean change");

    // From a subdirectory of the repository: annotations keep repository paths.
    std::fs::create_dir(p.root().join(".git")).unwrap();
    let out = p
        .cmd()
        .current_dir(p.root().join("proposals"))
        .args(["review", "member_profiles.sql", "--format", "github"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).starts_with("::warning file=proposals/member_profiles.sql,line=2,"),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn explain_prints_a_flags_doc_and_names_the_flags_otherwise() {
    let p = TestProject::new();
    let out = p.run(&["review", "--explain", "repeated-column-group"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("Why:") && text.contains("phone1"), "{text}");
    let out = p.run(&["review", "--explain", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("overlapping-table"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&["review"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no change named: {}",
        stderr(&out)
    );
}

#[test]
fn pending_reviews_the_files_not_applied_on_the_environment() {
    let p = TestProject::new();
    saas(&p);
    let out = p.run(&["migrate", "--env", "test"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::copy(
        p.root().join("proposals/member_profiles.sql"),
        p.root()
            .join("migrations/20260201000000_member_profiles.sql"),
    )
    .unwrap();
    let (report, code) = review_json(&p, &["--pending", "--env", "test"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["files"],
        serde_json::json!(["migrations/20260201000000_member_profiles.sql"])
    );
    assert_eq!(checks(&report), ["overlapping-table"]);
    // The test cluster has no pg_stat_statements: said, not guessed.
    assert!(
        report["notes"][0]
            .as_str()
            .unwrap()
            .contains("pg_stat_statements is not installed"),
        "{report:#}"
    );
}

#[test]
fn env_evidence_names_empty_tables_and_columns_no_statement_uses() {
    let cluster = Cluster::start_with(&ClusterOptions {
        settings: vec![(
            "shared_preload_libraries".into(),
            "pg_stat_statements".into(),
        )],
        ..Default::default()
    })
    .unwrap();
    let p = TestProject::with_config(&format!(
        "\n[environments.live]\nurl = \"{}\"\n",
        cluster.url("postgres")
    ));
    saas(&p);
    let out = p.run(&["migrate", "--env", "live"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut c = cluster.connect("postgres").unwrap();
    c.batch_execute("create extension pg_stat_statements")
        .unwrap();
    // The application's workload: organisations and projects are used, plan never read.
    c.batch_execute(
        "insert into organizations (name, slug) values ('Acme', 'acme');
         select id, name, slug from organizations where slug = 'acme';
         insert into projects (organization_id, name) select id, 'Launch' from organizations;
         select id, name, archived_at, created_at, organization_id from projects where organization_id = 1;",
    )
    .unwrap();
    let (report, code) = review_json(&p, &["proposals/add_due_date.sql", "--env", "live"]);
    assert_eq!(code, 0, "{report:#}");
    let evidence = report["evidence"].as_array().unwrap();
    let empty: Vec<&str> = evidence
        .iter()
        .filter(|f| f["check"] == "empty-table")
        .map(|f| f["object"].as_str().unwrap())
        .collect();
    assert_eq!(
        empty,
        [
            "table public.memberships",
            "table public.profiles",
            "table public.tasks"
        ]
    );
    let unreferenced: Vec<&Value> = evidence
        .iter()
        .filter(|f| f["check"] == "unreferenced-columns")
        .collect();
    assert_eq!(unreferenced.len(), 1, "{:#}", report["evidence"]);
    assert_eq!(unreferenced[0]["object"], "table public.organizations");
    assert_eq!(
        unreferenced[0]["evidence"]["columns"],
        serde_json::json!(["plan"])
    );
    assert_eq!(report["notes"], serde_json::json!([]));
}

#[test]
fn the_supabase_profiles_table_is_a_calm_change() {
    let p = TestProject::new();
    std::fs::create_dir_all(p.root().join("supabase")).unwrap();
    std::fs::write(
        p.root().join("supabase/config.toml"),
        "project_id = \"quickstart\"\n\n[api]\nenabled = true\n",
    )
    .unwrap();
    std::fs::copy(
        fixtures().join("../supabase/profiles.sql"),
        p.root().join("profiles.sql"),
    )
    .unwrap();
    let (report, code) = review_json(&p, &["profiles.sql", "--strict"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(checks(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(report["adds"]["new_tables"][0]["name"], "public.profiles");
    assert_eq!(
        report["adds"]["new_policies"].as_array().unwrap().len(),
        3,
        "{report:#}"
    );
    assert_eq!(report["ladder"]["change"], "one-table");
    assert_eq!(report["verdict"], "ok");
}

#[test]
fn a_proposal_that_does_not_parse_or_run_is_an_error_naming_the_file() {
    let p = TestProject::new();
    saas(&p);
    std::fs::write(
        p.root().join("proposals/typo.sql"),
        "create table t (\n  id int,,\n);\n",
    )
    .unwrap();
    let out = p.run(&["review", "proposals/typo.sql"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("proposals/typo.sql:2:10: syntax error"),
        "{}",
        stderr(&out)
    );
    std::fs::write(
        p.root().join("proposals/missing.sql"),
        "alter table invoices add column paid_at timestamptz;\n",
    )
    .unwrap();
    let out = p.run(&["review", "proposals/missing.sql"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("proposals/missing.sql") && err.contains("42P01"),
        "{err}"
    );
}

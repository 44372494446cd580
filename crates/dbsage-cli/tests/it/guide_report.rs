//! `dbsage report --html`: the page for a real database, rendered by headless Chromium
//! (screenshot + DOM): the migration timeline, findings, the RLS coverage matrix, charts, and a
//! table named `<script>` shown as text.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::layouts::copy_dir;
use common::{stderr, TestProject};

const FIXTURE: &str = "tests/fixtures/guide/report";

/// The fixture project with its first migration applied to the test database and the second
/// still pending.
fn project() -> TestProject {
    let p = TestProject::with_config("\n[lint]\nexposed_schemas = [\"public\"]\n");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE),
        p.root(),
    );
    let out = p.run(&["migrate", "--to", "20260101000000"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    p
}

/// Headless Chromium on `page`: its serialised DOM, and a screenshot written to `png`.
fn chromium(page: &Path, png: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.display());
    let base = |c: &mut Command| {
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--window-size=1366,900");
    };
    let mut shot = Command::new("chromium");
    base(&mut shot);
    let out = shot
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .expect("running chromium (Debian package `chromium`)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut dom = Command::new("chromium");
    base(&mut dom);
    let out = dom.arg("--dump-dom").arg(&url).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn cell<'a>(dom: &'a str, role: &str, table: &str, command: &str) -> &'a str {
    let needle = format!("data-role=\"{role}\" data-table=\"{table}\" data-command=\"{command}\"");
    let at = dom.find(&needle).unwrap_or_else(|| {
        let matrix = dom
            .find("<table class=\"matrix\"")
            .map_or("", |at| &dom[at..]);
        panic!("no matrix cell {needle} in\n{matrix}")
    });
    let start = dom[..at].rfind("<td").unwrap();
    &dom[start..at]
}

#[test]
fn report_renders_in_chromium_with_matrix_findings_and_escaped_names() {
    let p = project();
    let page = p.root().join("report.html");
    let out = p.run(&["report", "--html", "report.html"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained and inert: nothing to load, nothing to run.
    for forbidden in ["<script", "src=", "href=", "http://", "https://", "<link"] {
        assert!(!html.contains(forbidden), "the page contains {forbidden}");
    }

    let png = p.root().join("report.png");
    let dom = chromium(&page, &png);
    let shot = std::fs::read(&png).unwrap();
    assert!(
        shot.starts_with(b"\x89PNG") && shot.len() > 10_000,
        "{} bytes",
        shot.len()
    );

    // The timeline: one applied (with its duration), one pending.
    assert!(
        dom.contains("<tr data-version=\"20260101000000\">"),
        "{dom}"
    );
    assert!(dom.contains("class=\"state-applied\">applied<"), "{dom}");
    assert!(dom.contains("class=\"state-pending\">pending<"), "{dom}");
    assert!(dom.contains(" ms</td>"), "durations shown");

    // The matrix: tested cells coloured by what the policies allow, the rest untested.
    assert!(cell(&dom, "authenticated", "public.projects", "select").contains("cell allowed"));
    assert!(cell(&dom, "anon", "public.projects", "select").contains("cell denied"));
    assert!(cell(&dom, "authenticated", "public.projects", "insert").contains("cell untested"));
    // The hostile table name is a matrix row in text, not an element.
    assert!(cell(&dom, "anon", "public.&lt;script&gt;", "select").contains("cell untested"));
    assert!(dom.contains("<td>public.&lt;script&gt;</td>"), "{dom}");
    // A script element would serialise with its closing tag; the names never do.
    assert!(!dom.contains("</script>"), "no script element in the DOM");

    // Findings with their fixes: the audit flags the always-true policy on `<script>`.
    let audit = &dom[dom.find("<section id=\"audit\">").unwrap()..];
    let audit = &audit[..audit.find("</section>").unwrap()];
    assert!(audit.contains("<tr class=\"finding\""), "{audit}");
    assert!(audit.contains("&lt;script&gt;"), "{audit}");
    assert!(dom.contains("<section id=\"tune\">") && dom.contains("<section id=\"health\">"));
    // Charts: table sizes and index usage from this database.
    assert!(dom.contains("data-chart=\"table-sizes\""), "{dom}");
    assert!(dom.contains("public.projects"), "{dom}");
}

#[test]
fn report_json_names_the_file_and_counts() {
    let p = project();
    let (json, code) = p.json(&["report", "--html", "out.html"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["migrations"], 2);
    assert_eq!(json["environment"], "test");
    assert!(json["findings"].as_u64().unwrap() > 0, "{json}");
    assert!(p.root().join("out.html").is_file());
}

#[test]
fn report_shows_tune_findings_backups_and_drills() {
    let p = project();
    let out = p.run(&["backup"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (list, code) = p.json(&["backup", "list"]);
    assert_eq!(code, 0, "{list}");
    let id = list["backups"][0]["id"]
        .as_str()
        .expect("one backup listed")
        .to_string();
    let out = p.run(&["backup", "drill", "--latest"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = p.run(&["report", "--html", "report.html"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(p.root().join("report.html")).unwrap();
    let tune = &html[html.find("<section id=\"tune\">").unwrap()..];
    let tune = &tune[..tune.find("</section>").unwrap()];
    assert!(
        tune.contains("data-check=\"unindexed-foreign-key\""),
        "{tune}"
    );
    assert!(tune.contains("project_members"), "{tune}");
    let backups = &html[html.find("<section id=\"backups\">").unwrap()..];
    assert!(backups.contains(&format!("<code>{id}</code>")), "{backups}");
    let drills = &backups[backups
        .find("<h3>Restore drills</h3>")
        .expect("a drills table")..];
    assert!(
        drills.contains("<tr class=\"drill\">") && drills.contains("passed"),
        "{drills}"
    );
    assert!(drills.contains(&format!("<code>{id}</code>")), "{drills}");
}

//! The report on paper: the page printed to PDF by headless Chromium (`--print-to-pdf`) and
//! read back with pdftotext (poppler-utils). Every finding and every matrix cell is in the
//! print, whole (nothing cut at the paper's edge), and allowed/denied/untested are words, not
//! only background colours (printers drop backgrounds).

use std::path::Path;
use std::process::Command;

use dbsage_report::{
    Backup, Bar, BarChart, CoverageCell, CoverageMatrix, FindingRow, Report, Section, TimelineEntry,
};

/// An invoicing service's report as `dbsage report` fills it: long file paths and index names
/// (the words that overflow a printed table), fixes, and a matrix of three roles.
fn invoicing_report() -> Report {
    let finding =
        |check: &str, severity: &str, object: &str, message: &str, fix: Option<&str>| FindingRow {
            check: check.into(),
            severity: severity.into(),
            object: object.into(),
            message: message.into(),
            fix: fix.map(str::to_string),
        };
    let section = |id: &str, title: &str, findings: Vec<FindingRow>| Section {
        id: id.into(),
        title: title.into(),
        findings,
        note: None,
    };
    let tables = [
        "public.invoices",
        "public.invoice_line_items",
        "public.customer_payment_methods",
    ];
    let roles = ["anon", "authenticated", "service_role"];
    let commands = ["select", "insert", "update", "delete"];
    let mut cells = Vec::new();
    for (r, role) in roles.iter().enumerate() {
        for (t, table) in tables.iter().enumerate() {
            for (c, command) in commands.iter().enumerate() {
                cells.push(CoverageCell {
                    role: role.to_string(),
                    table: table.to_string(),
                    command: command.to_string(),
                    allowed: *role != "anon" && (c == 0 || *role == "service_role"),
                    // The policy tests cover reads everywhere and writes on invoices only.
                    tested: c == 0 || (t == 0 && r > 0),
                });
            }
        }
    }
    Report {
        project: "invoicing".into(),
        environment: "production".into(),
        generated_at: "2026-03-02T09:15:00Z".into(),
        migrations: vec![
            TimelineEntry {
                version: "20260101000000".into(),
                name: "invoices".into(),
                state: "applied".into(),
                applied_at: Some("2026-01-02T10:00:00Z".into()),
                duration_ms: Some(412),
            },
            TimelineEntry {
                version: "20260215000000".into(),
                name: "invoice_line_items_and_customer_payment_methods".into(),
                state: "pending".into(),
                applied_at: None,
                duration_ms: None,
            },
        ],
        sections: vec![
            section("lint", "Lint", vec![
                finding(
                    "require-concurrent-index-creation",
                    "error",
                    "migrations/20260215000000_invoice_line_items_and_customer_payment_methods.sql:14:1",
                    "CREATE INDEX without CONCURRENTLY blocks writes to invoice_line_items while it builds",
                    Some("CREATE INDEX CONCURRENTLY IF NOT EXISTS invoice_line_items_invoice_id_product_sku_idx ON public.invoice_line_items (invoice_id, product_sku);"),
                ),
            ]),
            section("audit", "Security audit", vec![
                finding(
                    "rls-disabled-in-exposed-schema",
                    "error",
                    "table public.customer_payment_methods",
                    "customer_payment_methods is readable through the API and has row-level security disabled",
                    Some("ALTER TABLE public.customer_payment_methods ENABLE ROW LEVEL SECURITY;"),
                ),
                finding(
                    "policy-always-true",
                    "warning",
                    "policy public.invoice_line_items.invoice_line_items_read_all_for_authenticated_users",
                    "the policy lets every authenticated user read every line item",
                    None,
                ),
            ]),
            section("tune", "Performance", vec![
                finding(
                    "unindexed-foreign-key",
                    "warning",
                    "table public.invoice_line_items",
                    "invoice_line_items_customer_payment_method_id_fkey has no index: deletes on customer_payment_methods scan invoice_line_items",
                    Some("CREATE INDEX CONCURRENTLY IF NOT EXISTS invoice_line_items_customer_payment_method_id_idx ON public.invoice_line_items (customer_payment_method_id);"),
                ),
            ]),
            section("health", "Health", vec![
                finding(
                    "cache-hit-ratio",
                    "info",
                    "database invoicing",
                    "cache hit ratio 97.2 percent since the statistics reset",
                    None,
                ),
            ]),
        ],
        coverage: Some(CoverageMatrix {
            roles: roles.iter().map(|s| s.to_string()).collect(),
            tables: tables.iter().map(|s| s.to_string()).collect(),
            commands: commands.iter().map(|s| s.to_string()).collect(),
            cells,
        }),
        charts: ["table-sizes", "index-usage"]
            .into_iter()
            .map(|id| BarChart {
                id: id.into(),
                title: format!("{id} of invoicing"),
                unit: if id == "table-sizes" { "kB" } else { "scans" }.into(),
                bars: tables
                    .iter()
                    .enumerate()
                    .map(|(i, t)| Bar {
                        label: t.to_string(),
                        value: (4096 >> i) as f64,
                    })
                    .collect(),
            })
            .collect(),
        backups: vec![Backup {
            id: "20260301T020000Z-production".into(),
            state: "complete".into(),
            created_at: Some("2026-03-01T02:00:00Z".into()),
            total_bytes: Some(48_234_496),
            rows: Some(1_204_332),
            duration_ms: Some(5_120),
            last_verify: Some("2026-03-01T02:10:00Z".into()),
        }],
        drills: Vec::new(),
        notes: Vec::new(),
    }
}

/// The printed text in the order Chromium painted it (`pdftotext -raw`): cell by cell, so a
/// cell that wraps stays in one piece.
struct Printed {
    pages: usize,
    text: String,
}

impl Printed {
    /// The text, whitespace removed: a text that wrapped across lines still matches.
    fn squeezed(&self) -> String {
        squeeze(&self.text)
    }

    fn count(&self, word: &str) -> usize {
        self.text.split_whitespace().filter(|w| *w == word).count()
    }
}

/// Prints `page` to PDF with headless Chromium (default paper: Letter), reads it back.
fn print(page: &Path, dir: &Path) -> Printed {
    let profile = tempfile::tempdir().unwrap();
    let pdf = dir.join("report.pdf");
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("running chromium (Debian package `chromium`)");
    assert!(
        out.status.success() && pdf.is_file(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("pdftotext")
        .arg("-raw")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("running pdftotext (Debian package `poppler-utils`)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    Printed {
        pages: text.matches('\u{c}').count(),
        text,
    }
}

fn squeeze(text: &str) -> String {
    text.split_whitespace().collect()
}

#[test]
fn the_printed_report_keeps_every_finding_and_matrix_cell_on_the_paper() {
    let report = invoicing_report();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, dbsage_report::html::render(&report)).unwrap();
    let printed = print(&page, dir.path());
    assert!(printed.pages >= 1, "nothing printed");

    // Every finding, whole (a word cut at the paper's edge loses its end): check, object,
    // message and fix.
    let all = printed.squeezed();
    for section in &report.sections {
        assert!(all.contains(&squeeze(&section.title)), "{}", section.title);
        for f in &section.findings {
            for text in [&f.check, &f.severity, &f.object, &f.message]
                .into_iter()
                .chain(f.fix.as_ref())
            {
                assert!(all.contains(&squeeze(text)), "{text:?} not printed");
            }
        }
    }

    // The matrix: each cell's verdict as words (the legend says each once), every row.
    let matrix = report.coverage.as_ref().unwrap();
    let cells = |verdict: &str, allowed: bool| {
        matrix
            .cells
            .iter()
            .filter(|c| c.verdict() == verdict && c.allowed == allowed)
            .count()
    };
    let untested = cells("untested", true) + cells("untested", false);
    assert!(cells("allowed", true) > 0 && cells("denied", false) > 0 && untested > 0);
    assert_eq!(
        printed.count("allowed"),
        cells("allowed", true) + cells("untested", true) + 1
    );
    assert_eq!(
        printed.count("denied"),
        cells("denied", false) + cells("untested", false) + 1
    );
    assert_eq!(printed.count("(untested)"), untested);
    for table in &matrix.tables {
        assert!(
            printed.count(table) >= matrix.roles.len(),
            "{table}: a matrix row is missing"
        );
    }

    // Both charts, side by side on screen, with every bar's label and value.
    for chart in &report.charts {
        assert!(all.contains(&squeeze(&chart.title)), "{}", chart.title);
        for bar in &chart.bars {
            let label: String = bar.label.chars().take(26).collect();
            let expected = format!("{label}{}{}", bar.value, chart.unit);
            assert!(all.contains(&expected), "{expected} not printed");
        }
    }

    // The timeline and the backups are printed too.
    for m in &report.migrations {
        assert!(all.contains(&squeeze(&m.name)), "{}", m.name);
    }
    assert!(all.contains(&report.backups[0].id));
}

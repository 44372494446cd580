//! The page: one HTML document with its stylesheet and charts inline. Every text from the
//! model is escaped (`escape::html`); the page loads nothing and runs no script.

use crate::escape::html as e;
use crate::model::{Report, Section};

pub fn render(report: &Report) -> String {
    let mut page = String::new();
    page.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>dbsage report: {} ({})</title><style>{}</style></head><body>\n",
        e(&report.project),
        e(&report.environment),
        crate::style::CSS
    ));
    page.push_str(&format!(
        "<h1>dbsage report: {}</h1><p class=\"meta\">environment <b>{}</b> · generated {}</p>\n",
        e(&report.project),
        e(&report.environment),
        e(&report.generated_at)
    ));
    for note in &report.notes {
        page.push_str(&format!("<p class=\"note\">{}</p>\n", e(note)));
    }
    timeline(&mut page, report);
    for section in &report.sections {
        findings(&mut page, section);
    }
    coverage(&mut page, report);
    charts(&mut page, report);
    backups(&mut page, report);
    page.push_str("</body></html>\n");
    page
}

fn timeline(page: &mut String, report: &Report) {
    page.push_str("<section id=\"migrations\"><h2>Migrations</h2>");
    if report.migrations.is_empty() {
        page.push_str("<p class=\"note\">no migrations yet</p></section>\n");
        return;
    }
    let count = |s: &str| report.migrations.iter().filter(|m| m.state == s).count();
    page.push_str(&format!(
        "<p>{} applied, {} pending, {} failed or inconsistent</p><div class=\"timeline\">",
        count("applied"),
        count("pending"),
        report.migrations.len() - count("applied") - count("pending")
    ));
    for m in &report.migrations {
        let class = match m.state.as_str() {
            "applied" => "applied",
            "pending" => "pending",
            _ => "bad",
        };
        page.push_str(&format!(
            "<div class=\"{class}\" title=\"{} {}: {}\"></div>",
            e(&m.version),
            e(&m.name),
            e(&m.state)
        ));
    }
    page.push_str("</div><table><tr><th>version</th><th>name</th><th>state</th><th>applied at</th><th>duration</th></tr>");
    for m in &report.migrations {
        page.push_str(&format!(
            "<tr data-version=\"{v}\"><td><code>{v}</code></td><td>{}</td><td class=\"state-{s}\">{s}</td><td>{}</td><td>{}</td></tr>",
            e(&m.name),
            e(m.applied_at.as_deref().unwrap_or("")),
            m.duration_ms.map(|d| format!("{d} ms")).unwrap_or_default(),
            v = e(&m.version),
            s = e(&m.state),
        ));
    }
    page.push_str("</table></section>\n");
}

fn findings(page: &mut String, section: &Section) {
    page.push_str(&format!(
        "<section id=\"{}\"><h2>{}</h2>",
        e(&section.id),
        e(&section.title)
    ));
    if let Some(note) = &section.note {
        page.push_str(&format!("<p class=\"note\">{}</p>", e(note)));
    }
    if section.findings.is_empty() {
        if section.note.is_none() {
            page.push_str("<p>no findings</p>");
        }
        page.push_str("</section>\n");
        return;
    }
    page.push_str("<table class=\"findings\"><tr><th>severity</th><th>check</th><th>object</th><th>message</th><th>fix</th></tr>");
    for f in &section.findings {
        page.push_str(&format!(
            "<tr class=\"finding\" data-check=\"{c}\"><td class=\"sev-{s}\">{s}</td><td><code>{c}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e(&f.object),
            e(&f.message),
            f.fix.as_deref().map(|x| format!("<pre>{}</pre>", e(x))).unwrap_or_default(),
            c = e(&f.check),
            s = e(&f.severity),
        ));
    }
    page.push_str("</table></section>\n");
}

fn coverage(page: &mut String, report: &Report) {
    page.push_str("<section id=\"coverage\"><h2>Row-level security coverage</h2>");
    let Some(matrix) = &report.coverage else {
        page.push_str("<p class=\"note\">not read</p></section>\n");
        return;
    };
    if matrix.tables.is_empty() {
        page.push_str("<p class=\"note\">no table has row-level security enabled</p></section>\n");
        return;
    }
    page.push_str("<p class=\"legend\"><span class=\"allowed\" style=\"background:#dafbe1\">allowed (tested)</span><span style=\"background:#ffebe9\">denied (tested)</span><span style=\"background:#fff8c5\">untested</span></p>");
    page.push_str("<table class=\"matrix\"><tr><th>role</th><th>table</th>");
    for command in &matrix.commands {
        page.push_str(&format!("<th>{}</th>", e(command)));
    }
    page.push_str("</tr>");
    for role in &matrix.roles {
        for table in &matrix.tables {
            page.push_str(&format!("<tr><td>{}</td><td>{}</td>", e(role), e(table)));
            for command in &matrix.commands {
                let cell = matrix
                    .cells
                    .iter()
                    .find(|c| &c.role == role && &c.table == table && &c.command == command);
                match cell {
                    Some(c) => page.push_str(&format!(
                        "<td class=\"cell {}\" data-role=\"{}\" data-table=\"{}\" data-command=\"{}\">{}</td>",
                        c.verdict(),
                        e(role),
                        e(table),
                        e(command),
                        cell_text(c)
                    )),
                    None => page.push_str("<td></td>"),
                }
            }
            page.push_str("</tr>");
        }
    }
    page.push_str("</table></section>\n");
}

/// The verdict in words: paper loses the cell's colour, the text keeps it.
fn cell_text(cell: &crate::model::CoverageCell) -> &'static str {
    match (cell.tested, cell.allowed) {
        (true, true) => "allowed",
        (true, false) => "denied",
        (false, true) => "allowed (untested)",
        (false, false) => "denied (untested)",
    }
}

fn charts(page: &mut String, report: &Report) {
    if report.charts.is_empty() {
        return;
    }
    page.push_str("<section id=\"charts\"><h2>Performance at a glance</h2><div class=\"charts\">");
    for chart in &report.charts {
        page.push_str(&format!(
            "<figure><figcaption>{}</figcaption>",
            e(&chart.title)
        ));
        match crate::svg::bar_chart(chart) {
            Some(svg) => page.push_str(&svg),
            None => page.push_str("<p class=\"note\">nothing to show yet</p>"),
        }
        page.push_str("</figure>");
    }
    page.push_str("</div></section>\n");
}

fn backups(page: &mut String, report: &Report) {
    page.push_str("<section id=\"backups\"><h2>Backups</h2>");
    if report.backups.is_empty() {
        page.push_str("<p class=\"note\">no backup of this environment (`dbsage backup`)</p>");
    } else {
        page.push_str("<table><tr><th>backup</th><th>state</th><th>taken</th><th>size</th><th>rows</th><th>duration</th><th>last verify</th></tr>");
        for b in &report.backups {
            page.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&b.id),
                e(&b.state),
                e(b.created_at.as_deref().unwrap_or("")),
                b.total_bytes.map(|n| format!("{:.1} MB", n as f64 / 1048576.0)).unwrap_or_default(),
                b.rows.map(|n| n.to_string()).unwrap_or_default(),
                b.duration_ms.map(|d| format!("{d} ms")).unwrap_or_default(),
                e(b.last_verify.as_deref().unwrap_or("never")),
            ));
        }
        page.push_str("</table>");
    }
    if !report.drills.is_empty() {
        page.push_str("<h3>Restore drills</h3><table><tr><th>drill</th><th>backup</th><th>result</th><th>RPO</th><th>RTO</th><th>smoke tests</th><th>problems</th></tr>");
        for d in &report.drills {
            page.push_str(&format!(
                "<tr class=\"drill\"><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&d.at),
                e(&d.backup_id),
                if d.ok { "passed" } else { "failed" },
                e(&age(d.rpo_seconds)),
                d.rto_ms.map(|ms| format!("{:.1} s", ms as f64 / 1000.0)).unwrap_or_default(),
                e(&d.smoke),
                e(&d.problems.join("; ")),
            ));
        }
        page.push_str("</table>");
    }
    page.push_str("</section>\n");
}

/// `3 h 20 min`, `2 d 4 h`: a recovery point's age.
fn age(seconds: i64) -> String {
    let (d, h, m) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

//! `migrate --dry-run --sql`: the pending files' SQL as one script, in the order it would run,
//! each under a comment naming the file and how dbsage runs it.

use dbsage_core::migrate::Planned;
use dbsage_core::migrations::MigrationFile;

/// "1 statement", "3 statements".
pub fn statements(n: usize) -> String {
    if n == 1 {
        "1 statement".into()
    } else {
        format!("{n} statements")
    }
}

pub fn script(planned: &[Planned], files: &[MigrationFile]) -> String {
    if planned.is_empty() {
        return "-- up to date: nothing would run\n".into();
    }
    let mut out = String::new();
    for p in planned {
        let Some(file) = files.iter().find(|f| f.version == p.version) else {
            continue;
        };
        let how = if p.no_transaction {
            "no transaction: each statement on its own"
        } else {
            "in one transaction with its history row"
        };
        out.push_str(&format!(
            "-- {} ({}, {how})\n",
            super::display_path(&file.path),
            statements(p.statements)
        ));
        out.push_str(&file.text);
        if !file.text.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

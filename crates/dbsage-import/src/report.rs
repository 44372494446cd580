//! The import report. It always reconciles: `source_rows = inserted + updated + unchanged +
//! rejected`. When nothing was merged (`merged: false`: a dry run, or rejects over the budget),
//! the counts are what the merge would have done.

use serde::Serialize;

/// How many reject details are kept in the report (the count, the `.log` and the reject file
/// cover all of them).
pub const LISTED_REJECTS: usize = 1000;

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    /// Data records in the source (header and blank lines excluded).
    pub source_rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Records rejected (a record with several problems counts once).
    pub rejected: u64,
    /// Details in source order, at most [`LISTED_REJECTS`]; a record may have several.
    pub rejects: Vec<Reject>,
    /// Whether the target was changed.
    pub merged: bool,
    pub dry_run: bool,
    /// How rows met existing rows (`None` only in a default-built report).
    pub mode: Option<crate::Mode>,
    /// The key the rows were matched on, when the mode used one and the file had it.
    pub key: Option<Vec<String>>,
}

impl ImportReport {
    pub fn reconciles(&self) -> bool {
        self.source_rows == self.inserted + self.updated + self.unchanged + self.rejected
    }

    /// The counts in words: "3 inserted, 1 updated, …" once merged, "would insert 3, would
    /// update 1, …" when nothing was merged (a dry run, or rejects over the budget).
    pub fn counts_text(&self) -> String {
        if self.merged {
            format!(
                "{} inserted, {} updated, {} unchanged, {} rejected",
                self.inserted, self.updated, self.unchanged, self.rejected
            )
        } else {
            format!(
                "would insert {}, would update {}, {} unchanged, {} rejected",
                self.inserted, self.updated, self.unchanged, self.rejected
            )
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Reject {
    /// Line in the source where the record starts.
    pub line: u64,
    /// Target column (or comma-separated columns for keys), when one is to blame.
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

impl Reject {
    /// One line of the `.log` file.
    pub fn log_line(&self) -> String {
        let mut out = format!("line {}", self.line);
        if let Some(c) = &self.column {
            out.push_str(&format!(": column {c:?}"));
        }
        if let Some(v) = &self.value {
            out.push_str(&format!(": value {v:?}"));
        }
        out.push_str(": ");
        out.push_str(&self.reason);
        out
    }
}

/// Shortens values for reports: a rejected 5 MB field should not become a 5 MB message.
pub fn shorten(value: &str) -> String {
    const MAX: usize = 200;
    if value.len() <= MAX {
        return value.to_string();
    }
    let mut end = MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &value[..end], value.len())
}

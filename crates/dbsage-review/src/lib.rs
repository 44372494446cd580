//! The KISS review gate (`dbsage review`): before a schema grows, is the change needed and
//! minimal? What the proposed files add (catalog diff on the replayed database, located by
//! the parse), the red flags (one file per flag under `flags/`), the ladder of smaller
//! alternatives, and a verdict. `-- dbsage:justify "…"` in a file acknowledges its flags.

pub mod change;
pub mod flags;
pub mod ladder;
pub mod live;
pub mod proposed;

use dbsage_catalog::finding::{Finding, Severity};
use dbsage_catalog::Catalog;
use serde::Serialize;

pub use change::Change;
pub use ladder::{Ladder, Rung};
pub use live::LiveEvidence;
pub use proposed::{apply, Location, ParseError, ProposedFile};

/// A red flag: the shared finding shape, where it is written, and its acknowledgement.
#[derive(Debug, Clone, Serialize)]
pub struct RedFlag {
    #[serde(flatten)]
    pub finding: Finding,
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The reason of the file's `-- dbsage:justify "…"`, when the file has one.
    pub justified: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Ok,
    NeedsJustification,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::NeedsJustification => "needs-justification",
        }
    }
}

/// The review of one change.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub files: Vec<String>,
    pub adds: Change,
    pub red_flags: Vec<RedFlag>,
    /// `--env` only: empty tables, unreferenced columns (info findings).
    pub evidence: Vec<Finding>,
    /// What could not be judged, and why.
    pub notes: Vec<String>,
    pub ladder: Ladder,
    pub verdict: Verdict,
    /// What would make the verdict `ok` (empty when it is).
    pub to_be_ok: Vec<String>,
}

impl Report {
    /// Red flags no `-- dbsage:justify` acknowledges.
    pub fn unjustified(&self) -> impl Iterator<Item = &RedFlag> {
        self.red_flags.iter().filter(|f| f.justified.is_none())
    }
}

/// Reviews the change from `before` to `after` made by `files`.
pub fn review(
    files: &[ProposedFile],
    before: &Catalog,
    after: &Catalog,
    live: Option<LiveEvidence>,
) -> Report {
    let change = Change::between(before, after);
    let cx = flags::Context {
        before,
        after,
        change: &change,
    };
    let mut red_flags = Vec::new();
    for check in flags::ALL {
        for raised in (check.run)(&cx) {
            let (location, file) = locate(files, &raised.keys);
            red_flags.push(RedFlag {
                finding: Finding {
                    check: check.doc.id.to_string(),
                    severity: Severity::Warning,
                    object: raised.object,
                    message: raised.message,
                    evidence: raised.evidence,
                    fix_sql: raised.fix_sql,
                },
                file: location.file,
                line: location.line,
                column: location.column,
                justified: file.and_then(|f| f.justification.clone()),
            });
        }
    }
    let ladder = ladder::climb(&change, before, after);
    let mut to_be_ok = Vec::new();
    for flag in red_flags.iter().filter(|f| f.justified.is_none()) {
        to_be_ok.push(format!(
            "{}:{}: {} — change it, or add -- dbsage:justify \"the pain this solves\" to {}",
            flag.file, flag.line, flag.finding.check, flag.file
        ));
    }
    let verdict = if to_be_ok.is_empty() {
        Verdict::Ok
    } else {
        Verdict::NeedsJustification
    };
    let (evidence, notes) = live.map(|l| (l.findings, l.notes)).unwrap_or_default();
    Report {
        files: files.iter().map(|f| f.path.clone()).collect(),
        adds: change,
        red_flags,
        evidence,
        notes,
        ladder,
        verdict,
        to_be_ok,
    }
}

/// Where the objects `keys` are first written: the first proposed file that writes one of
/// them, at its earliest line; else the top of the first file.
fn locate<'a>(files: &'a [ProposedFile], keys: &[String]) -> (Location, Option<&'a ProposedFile>) {
    for file in files {
        let first = keys
            .iter()
            .filter_map(|k| file.locations.get(k))
            .min_by_key(|l| (l.line, l.column));
        if let Some(location) = first {
            return (location.clone(), Some(file));
        }
    }
    match files.first() {
        Some(file) => (file.top(), Some(file)),
        None => (
            Location {
                file: String::new(),
                line: 0,
                column: 0,
            },
            None,
        ),
    }
}

//! Object-level comparison of two catalogs, on the flat [`Catalog::objects`] map: an object is
//! added, removed, or changed (same key, different description).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Catalog;

/// How an object differs between two catalogs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// Only in `after`.
    Added,
    /// Only in `before`.
    Removed,
    /// In both, described differently.
    Changed,
}

impl DiffKind {
    /// `added`, `removed`, `changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiffKind::Added => "added",
            DiffKind::Removed => "removed",
            DiffKind::Changed => "changed",
        }
    }
}

/// One differing object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// The object key, as in [`Catalog::objects`]: `column public.users.email`.
    pub object: String,
    pub kind: DiffKind,
    /// The description in `before` (absent when added).
    pub before: Option<String>,
    /// The description in `after` (absent when removed).
    pub after: Option<String>,
}

impl fmt::Display for Difference {
    /// `changed column public.users.email: text not null -> text`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.object)?;
        match (&self.before, &self.after) {
            (Some(before), Some(after)) => write!(f, ": {before} -> {after}"),
            (Some(only), None) | (None, Some(only)) => write!(f, ": {only}"),
            (None, None) => Ok(()),
        }
    }
}

/// Every object that differs between `before` and `after`, sorted by object key.
pub fn diff(before: &Catalog, after: &Catalog) -> Vec<Difference> {
    let before = before.objects();
    let mut after = after.objects();
    let mut differences = Vec::new();
    for (object, old) in before {
        match after.remove(&object) {
            None => differences.push(Difference {
                object,
                kind: DiffKind::Removed,
                before: Some(old),
                after: None,
            }),
            Some(new) if new != old => differences.push(Difference {
                object,
                kind: DiffKind::Changed,
                before: Some(old),
                after: Some(new),
            }),
            Some(_) => {}
        }
    }
    differences.extend(after.into_iter().map(|(object, new)| Difference {
        object,
        kind: DiffKind::Added,
        before: None,
        after: Some(new),
    }));
    differences.sort_by(|a, b| a.object.cmp(&b.object));
    differences
}

//! `migration-filename`: migration files are named `<14 digits>_<name>.sql`.

use std::path::Path;

use super::Rule;
use crate::context::Hit;
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "migration-filename",
    severity: Severity::Warning,
    summary: "Migration file names follow `<YYYYMMDDHHMMSS>_<name>.sql`.",
    doc: r#"
## What it checks
That each file is named `<14 digits>_<name>.sql` (a UTC timestamp, an underscore, a name of
letters, digits, `_` or `-`). A `.down.sql` sibling (`<14 digits>_<name>.down.sql`) is allowed.

## Why it matters
dbsage orders and identifies migrations by that version. A file named otherwise sorts in a
surprising place, or two developers pick the same number and the migrations collide.

## Example
```text
migrations/add_users.sql
migrations/1_add_users.sql
```
Use instead:
```text
migrations/20240501120000_add_users.sql
```

## Fix
Rename the file (`dbsage migration new NAME` creates correctly named files). Default severity:
warning.
"#,
    check: super::no_check,
};

/// The finding for a badly named file, at its first byte.
pub(crate) fn check_path(path: &Path) -> Option<Hit> {
    let name = path.file_name()?.to_string_lossy();
    if is_valid_name(&name) {
        return None;
    }
    Some(Hit::span(
        0,
        0,
        format!("`{name}` is not named `<14 digits>_<name>.sql`"),
        "Rename it to `<YYYYMMDDHHMMSS>_<name>.sql`, e.g. `20240501120000_add_users.sql`.",
    ))
}

fn is_valid_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".sql") else {
        return false;
    };
    let stem = stem.strip_suffix(".down").unwrap_or(stem);
    let bytes = stem.as_bytes();
    bytes.len() > 15
        && bytes[..14].iter().all(u8::is_ascii_digit)
        && bytes[14] == b'_'
        && bytes[15..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_versioned_names_and_down_siblings() {
        assert!(is_valid_name("20240501120000_add_users.sql"));
        assert!(is_valid_name("20240501120000_add-users.down.sql"));
    }

    #[test]
    fn rejects_other_names() {
        for name in [
            "add_users.sql",
            "1_add_users.sql",
            "20240501120000.sql",
            "20240501120000_.sql",
            "20240501120000_add users.sql",
            "20240501120000_add_users.txt",
        ] {
            assert!(!is_valid_name(name), "{name}");
        }
        assert!(check_path(Path::new("db/add_users.sql")).is_some());
    }

    #[test]
    fn reported_by_lint() {
        let files = [crate::SourceFile {
            path: "x.sql".into(),
            text: "select 1;".into(),
        }];
        let findings = crate::lint(&files, &Default::default()).unwrap();
        assert!(findings.iter().any(|f| f.rule == "migration-filename"));
    }
}

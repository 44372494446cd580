//! drizzle-kit's layout: the SQL files are listed, in order, in `meta/_journal.json`; a file the
//! journal does not list never runs under Drizzle.
//!
//! Drizzle's history keys a migration by the journal entry's `when` (milliseconds), and applies
//! the entries later than the newest one it recorded, so that value is the dbsage version; the
//! tag (`0000_dusty_wolverine`) is the name. `--> statement-breakpoint` lines are SQL comments:
//! dbsage splits statements with PostgreSQL's own parser, which gives the same statements.

use std::path::{Path, PathBuf};

use crate::error::AdoptError;
use crate::layout::sql_files;
use crate::read::{plain, read_text, AdoptedMigration};

pub(crate) fn read_drizzle(
    dir: &Path,
    ignored: &mut Vec<PathBuf>,
) -> Result<Vec<AdoptedMigration>, AdoptError> {
    let journal_path = dir.join("meta/_journal.json");
    if !journal_path.is_file() {
        return Ok(Vec::new());
    }
    let journal: serde_json::Value =
        serde_json::from_str(&read_text(&journal_path)?).map_err(|e| AdoptError::Unsupported {
            path: journal_path.clone(),
            reason: format!("not valid JSON: {e}"),
        })?;
    let entries = journal["entries"]
        .as_array()
        .ok_or_else(|| AdoptError::Unsupported {
            path: journal_path.clone(),
            reason: "no `entries` list; is it drizzle-kit's journal?".into(),
        })?;
    let mut found = Vec::new();
    for entry in entries {
        let (Some(tag), Some(when)) = (entry["tag"].as_str(), entry["when"].as_i64()) else {
            return Err(AdoptError::Unsupported {
                path: journal_path.clone(),
                reason: format!("the entry {entry} has no `tag` or `when`"),
            });
        };
        let path = dir.join(format!("{tag}.sql"));
        if !path.is_file() {
            return Err(AdoptError::Unsupported {
                path: journal_path.clone(),
                reason: format!(
                    "lists {tag} but {} does not exist (drizzle fails on it too)",
                    path.display()
                ),
            });
        }
        found.push(plain(
            when.to_string(),
            tag.to_string(),
            read_text(&path)?,
            path,
        ));
    }
    ignored.extend(
        sql_files(dir, false)
            .into_iter()
            .filter(|p| !found.iter().any(|m| &m.path == p)),
    );
    Ok(found)
}

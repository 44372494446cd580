//! `[test] setup`: SQL files run on the throwaway database after the migrations and the seed,
//! before the pgTAP files (test-helper packages, fixtures shared by every test file).

use postgres::Client;

use crate::config::Project;
use crate::error::{Error, Result};

/// Runs each setup file in its own transaction, in the configured order; a failing statement
/// is located in its file. Returns the files that ran.
pub fn apply(client: &mut Client, project: &Project) -> Result<Vec<String>> {
    let mut ran = Vec::new();
    for relative in &project.config.test.setup {
        let path = project.root.join(relative);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Config {
            message: format!(
                "test.setup names {}, which cannot be read: {e}",
                path.display()
            ),
            hint: "paths in [test] setup are relative to the directory of dbsage.toml".into(),
        })?;
        let parsed = crate::migrate::parse_migration(&path, &text)?;
        let mut tx = client
            .transaction()
            .map_err(|e| Error::db("starting a transaction", e))?;
        crate::migrate::run_statements(&mut tx, &path, &text, &parsed).map_err(Error::Migration)?;
        tx.commit()
            .map_err(|e| Error::db(format!("committing {}", path.display()), e))?;
        ran.push(path.display().to_string());
    }
    Ok(ran)
}

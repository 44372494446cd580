//! Data for `migrate --local`: `[local] fixtures = ["seed.sql"]` are applied right after the
//! migration `fixtures_after = "VERSION"`, so the migrations that follow run over rows like
//! production's — a `SET NOT NULL` over NULL rows fails locally, not on staging.

use std::path::PathBuf;

use postgres::Client;

use crate::config::Project;
use crate::error::{Error, Result};
use crate::migrate;
use crate::migrations::MigrationFile;

#[derive(Debug, Clone)]
pub struct Fixtures {
    /// The files, in the order given, resolved against the project root.
    pub files: Vec<PathBuf>,
    /// The version after which they are applied.
    pub after: String,
}

fn config_error(message: String) -> Error {
    Error::Config {
        message,
        hint: "in dbsage.toml: [local]\nfixtures = [\"tests/fixtures.sql\"]   # data the later migrations must cope with\nfixtures_after = \"VERSION\"            # applied right after this migration".into(),
    }
}

/// The `[local]` section, checked against the files: `None` when it names no fixtures.
pub fn from_project(project: &Project, files: &[MigrationFile]) -> Result<Option<Fixtures>> {
    let local = &project.config.local;
    let names = &local.fixtures;
    if names.is_empty() {
        return Ok(None);
    }
    let after = local.fixtures_after.clone().ok_or_else(|| {
        config_error(
            "[local] fixtures needs fixtures_after = \"VERSION\": the migration after which the data is loaded".into(),
        )
    })?;
    if !files.iter().any(|f| f.version == after) {
        return Err(config_error(format!(
            "[local] fixtures_after = \"{after}\" is not the version of any migration file"
        )));
    }
    let files = names
        .iter()
        .map(|name| {
            let path = project.root.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(config_error(format!(
                    "[local] fixtures: {} does not exist",
                    path.display()
                )))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(Fixtures { files, after }))
}

/// Applies every fixture file, each in one transaction; an error points into the file.
pub fn apply(client: &mut Client, fixtures: &Fixtures) -> Result<()> {
    apply_files(client, &fixtures.files)
}

/// Applies each file in one transaction (also `-- dbsage:fixture` files from the migrations
/// folder); an error points into the file.
pub fn apply_files(client: &mut Client, files: &[PathBuf]) -> Result<()> {
    for path in files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let parsed = migrate::parse_migration(path, &text)?;
        let mut tx = client
            .transaction()
            .map_err(|e| Error::db("starting a transaction", e))?;
        migrate::run_statements(&mut tx, path, &text, &parsed).map_err(Error::Migration)?;
        tx.commit()
            .map_err(|e| Error::db(format!("committing {}", path.display()), e))?;
    }
    Ok(())
}

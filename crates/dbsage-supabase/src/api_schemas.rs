//! The schemas the Supabase API (PostgREST) serves: `[api] schemas` of `supabase/config.toml`,
//! which the Supabase CLI passes to PostgREST as `db-schemas`.

use std::path::Path;

/// What the Supabase CLI exposes when `[api] schemas` is not set.
pub const DEFAULT_API_SCHEMAS: &[&str] = &["public", "graphql_public"];

/// `[api] schemas` of `root/supabase/config.toml`: `None` when the file does not exist, the
/// Supabase default when it exists without the key. A file that does not parse is an error
/// with the file and the parser's message.
pub fn api_schemas(root: &Path) -> Result<Option<Vec<String>>, String> {
    let path = root.join("supabase").join("config.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let config: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
    let Some(schemas) = config.get("api").and_then(|api| api.get("schemas")) else {
        return Ok(Some(
            DEFAULT_API_SCHEMAS.iter().map(|s| s.to_string()).collect(),
        ));
    };
    let list = schemas
        .as_array()
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect());
    list.map(Some).ok_or_else(|| {
        format!(
            "{}: [api] schemas must be a list of schema names, such as [\"public\", \"graphql_public\"]",
            path.display()
        )
    })
}

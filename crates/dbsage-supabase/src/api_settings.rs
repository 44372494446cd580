//! What Supabase's API configuration sets on the database and tools read back:
//! `pgrst.db_schemas`, the schemas PostgREST exposes, from `supabase/config.toml`'s
//! `[api] schemas` (read by `api_schemas`).

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

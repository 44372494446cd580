//! Applying `roles.sql` (pg_dumpall --globals-only) to a server: roles that do not exist are
//! created with their attributes and memberships; roles that exist are kept as they are.

use postgres::Client;

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RolesOutcome {
    pub created: Vec<String>,
    pub kept: Vec<String>,
    pub errors: Vec<String>,
}

/// The role a `CREATE ROLE x;` / `ALTER ROLE x …` / `COMMENT ON ROLE x …` statement is about.
fn role_of(statement: &str) -> Option<String> {
    let rest = ["CREATE ROLE ", "ALTER ROLE ", "COMMENT ON ROLE "]
        .iter()
        .find_map(|p| statement.strip_prefix(p))?;
    Some(identifier(rest))
}

/// The first identifier of `text` (quoted or not), unquoted.
fn identifier(text: &str) -> String {
    if let Some(quoted) = text.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = quoted.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    name.push('"');
                } else {
                    break;
                }
            } else {
                name.push(c);
            }
        }
        name
    } else {
        text.split(|c: char| c.is_whitespace() || c == ';')
            .next()
            .unwrap_or("")
            .to_string()
    }
}

/// The member of `GRANT role TO member …`.
fn grantee_of(statement: &str) -> Option<String> {
    let rest = statement.strip_prefix("GRANT ")?;
    let (_, member) = rest.split_once(" TO ")?;
    Some(identifier(member))
}

/// pg_dumpall output is one statement per line (or a few lines ending with `;`); psql
/// meta-commands (`\restrict`, `\connect`) and comments are skipped.
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        if current.is_empty()
            && (line.starts_with('\\') || line.starts_with("--") || line.trim().is_empty())
        {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if line.trim_end().ends_with(';') {
            out.push(std::mem::take(&mut current).trim().to_string());
        }
    }
    out
}

pub fn apply(client: &mut Client, sql: &str) -> Result<RolesOutcome, postgres::Error> {
    let existing: Vec<String> = client
        .query("select rolname::text from pg_roles", &[])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut outcome = RolesOutcome::default();
    for statement in statements(sql) {
        if statement.starts_with("SET ") || statement.starts_with("CREATE TABLESPACE") {
            continue;
        }
        if let Some(role) = role_of(&statement).or_else(|| grantee_of(&statement)) {
            if existing.contains(&role) {
                if statement.starts_with("CREATE ROLE") {
                    outcome.kept.push(role);
                }
                continue;
            }
            if statement.starts_with("CREATE ROLE") {
                outcome.created.push(role);
            }
        }
        if let Err(e) = client.batch_execute(&statement) {
            outcome.errors.push(format!(
                "{}: {}",
                statement.lines().next().unwrap_or(""),
                dbsage_pgerror::headline(&e)
            ));
        }
    }
    Ok(outcome)
}

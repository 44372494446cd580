//! What PostgreSQL decides access by, for one role and one table: the grants, whether
//! row-level security applies to the role at all, and which policies apply to it. Shared by
//! the coverage matrix and `explain`, and asked of the server (`has_table_privilege`,
//! `pg_has_role`) rather than recomputed, so role membership and PUBLIC count as they do for
//! real.

use postgres::GenericClient;

use crate::error::SecureError;
use crate::sqltext::qualified;

/// The four commands row-level security distinguishes, as the matrix spells them.
pub const COMMANDS: &[&str] = &["select", "insert", "update", "delete"];

/// `pg_policy.polcmd` of a command.
pub(crate) fn polcmd(command: &str) -> char {
    match command {
        "select" => 'r',
        "insert" => 'a',
        "update" => 'w',
        "delete" => 'd',
        _ => '*',
    }
}

/// One policy of the table, and whether it applies to the role.
#[derive(Debug, Clone)]
pub(crate) struct PolicyFact {
    pub name: String,
    pub permissive: bool,
    /// `r`, `a`, `w`, `d` or `*` (ALL).
    pub command: char,
    pub using: Option<String>,
    pub with_check: Option<String>,
    /// The policy names PUBLIC or a role the given role is a member of.
    pub applies_to_role: bool,
}

impl PolicyFact {
    pub fn covers(&self, command: &str) -> bool {
        self.command == '*' || self.command == polcmd(command)
    }
}

/// Access facts for one role on one table.
#[derive(Debug, Clone)]
pub(crate) struct TableFacts {
    pub rls_enabled: bool,
    /// Row-level security is bypassed for the role: superuser, BYPASSRLS, or the owner of a
    /// table without FORCE ROW LEVEL SECURITY.
    pub bypass: bool,
    pub schema_usage: bool,
    /// SELECT, INSERT, UPDATE, DELETE privilege, in [`COMMANDS`] order: on the table or on
    /// at least one of its columns (`grant insert (a)` allows inserting into `a`).
    pub granted: [bool; 4],
    pub policies: Vec<PolicyFact>,
    /// Primary key columns, to name rows in explanations.
    pub key_columns: Vec<String>,
}

impl TableFacts {
    pub fn granted(&self, command: &str) -> bool {
        COMMANDS
            .iter()
            .position(|c| *c == command)
            .is_some_and(|i| self.granted[i])
    }

    /// Permissive policies that apply to the role for `command`.
    pub fn permissive_for<'a>(
        &'a self,
        command: &'a str,
    ) -> impl Iterator<Item = &'a PolicyFact> + 'a {
        self.policies
            .iter()
            .filter(move |p| p.applies_to_role && p.permissive && p.covers(command))
    }

    /// All policies (permissive and restrictive) that apply to the role for `command`.
    pub fn applicable<'a>(&'a self, command: &'a str) -> impl Iterator<Item = &'a PolicyFact> + 'a {
        self.policies
            .iter()
            .filter(move |p| p.applies_to_role && p.covers(command))
    }

    /// Whether a policy (or a bypass) could let the role use `command` at all.
    pub fn allowed_by_policy(&self, command: &str) -> bool {
        !self.rls_enabled || self.bypass || self.permissive_for(command).next().is_some()
    }
}

/// Reads the facts for `role` on `schema.name`.
pub(crate) fn table_facts(
    client: &mut impl GenericClient,
    schema: &str,
    name: &str,
    role: &str,
) -> Result<TableFacts, SecureError> {
    let relation = qualified(schema, name);
    let context = format!("reading access facts for {role} on {relation}");
    let row = client
        .query_one(
            "select c.relrowsecurity,
                    r.rolsuper or r.rolbypassrls
                      or (pg_has_role(r.oid, c.relowner, 'USAGE') and not c.relforcerowsecurity),
                    has_schema_privilege(r.oid, c.relnamespace, 'USAGE'),
                    has_any_column_privilege(r.oid, c.oid, 'SELECT'),
                    has_any_column_privilege(r.oid, c.oid, 'INSERT'),
                    has_any_column_privilege(r.oid, c.oid, 'UPDATE'),
                    has_table_privilege(r.oid, c.oid, 'DELETE'),
                    coalesce((select array_agg(a.attname::text order by k.ord)
                                from pg_index i
                                cross join unnest(i.indkey) with ordinality as k(attnum, ord)
                                join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
                               where i.indrelid = c.oid and i.indisprimary), '{}')
               from pg_class c, pg_roles r
              where c.oid = $1::text::regclass and r.rolname = $2::text",
            &[&relation, &role],
        )
        .map_err(SecureError::db(context.clone()))?;
    let policies = client
        .query(
            "select p.polname::text, p.polpermissive, p.polcmd::text,
                    pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid),
                    0::oid = any(p.polroles)
                      or exists (select 1 from unnest(p.polroles) pr
                                  where pg_has_role($2::text::name, pr, 'MEMBER'))
               from pg_policy p
              where p.polrelid = $1::text::regclass
              order by p.polname",
            &[&relation, &role],
        )
        .map_err(SecureError::db(context))?;
    Ok(TableFacts {
        rls_enabled: row.get(0),
        bypass: row.get(1),
        schema_usage: row.get(2),
        granted: [row.get(3), row.get(4), row.get(5), row.get(6)],
        key_columns: row.get(7),
        policies: policies
            .iter()
            .map(|p| PolicyFact {
                name: p.get(0),
                permissive: p.get(1),
                command: p.get::<_, String>(2).chars().next().unwrap_or('*'),
                using: p.get(3),
                with_check: p.get(4),
                applies_to_role: p.get(5),
            })
            .collect(),
    })
}

/// A relation a statement reads or writes, and how.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Touched {
    pub schema: String,
    pub table: String,
    /// One of [`COMMANDS`].
    pub command: &'static str,
}

/// The tables `sql` reads and writes, from PostgreSQL's own plan (`EXPLAIN (VERBOSE, FORMAT
/// JSON)`, run by the caller's role so privileges do not get in the way): a ModifyTable's
/// target gets its operation, every other scanned table `select`. Views are already expanded
/// to their tables; partitions are reported as their root. Errors come back as the server
/// gave them.
pub(crate) fn touched_tables(
    client: &mut impl GenericClient,
    sql: &str,
) -> Result<Vec<Touched>, postgres::Error> {
    let statements: Vec<String> = match dbsage_sql::parse(sql) {
        Ok(parsed) if !parsed.statements.is_empty() => parsed
            .statements
            .iter()
            .map(|s| s.text(sql).to_string())
            .collect(),
        _ => vec![sql.to_string()],
    };
    let mut touched = Vec::new();
    for statement in statements {
        let messages =
            client.simple_query(&format!("explain (verbose, format json) {statement}"))?;
        let text: String = messages
            .iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                _ => None,
            })
            .collect();
        let plan: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let mut targets = Vec::new();
        let mut scans = Vec::new();
        walk(&plan, &mut targets, &mut scans);
        for (schema, table, op) in &targets {
            touched.push((schema.clone(), table.clone(), op.clone()));
        }
        for (schema, table) in scans {
            if !targets.iter().any(|(s, t, _)| *s == schema && *t == table) {
                touched.push((schema, table, "select".to_string()));
            }
        }
    }
    let mut out = Vec::new();
    for (schema, table, op) in touched {
        let root = client.query_one(
            "select n.nspname::text, c.relname::text from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
              where c.oid = coalesce(pg_partition_root($1::text::regclass), $1::text::regclass)",
            &[&qualified(&schema, &table)],
        )?;
        let command = COMMANDS
            .iter()
            .find(|c| **c == op.as_str())
            .copied()
            .unwrap_or("select");
        let t = Touched {
            schema: root.get(0),
            table: root.get(1),
            command,
        };
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out.sort();
    Ok(out)
}

type Target = (String, String, String);

fn walk(value: &serde_json::Value, targets: &mut Vec<Target>, scans: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, targets, scans)),
        serde_json::Value::Object(map) => {
            let relation = map.get("Relation Name").and_then(|v| v.as_str());
            let schema = map.get("Schema").and_then(|v| v.as_str());
            if let (Some(r), Some(s)) = (relation, schema) {
                let entry = (s.to_string(), r.to_string());
                match map.get("Operation").and_then(|v| v.as_str()) {
                    Some(op)
                        if map.get("Node Type").and_then(|v| v.as_str()) == Some("ModifyTable") =>
                    {
                        targets.push((entry.0, entry.1, op.to_ascii_lowercase()))
                    }
                    _ => scans.push(entry),
                }
            }
            for (key, child) in map {
                if key == "Plan" || key == "Plans" {
                    walk(child, targets, scans);
                }
            }
        }
        _ => {}
    }
}

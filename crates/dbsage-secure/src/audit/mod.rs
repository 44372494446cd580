//! `secure audit`: row-level security and privilege checks on the live schema.
//!
//! Each check lives in its own module with its id (part of the interface: users suppress and
//! grep for them), why it matters, the check itself and the SQL that fixes it. The schema is
//! read once through [`dbsage_catalog`]; the one fact the catalog does not carry (which views
//! read `auth.users`) is queried here from `pg_depend`.

use std::collections::{BTreeMap, BTreeSet};

use dbsage_catalog::{Catalog, Grant, Policy, ReadOptions};

use crate::error::SecureError;

mod auth_users_exposed;
mod constant_true;
mod extension_in_public;
mod extension_version_outdated;
mod fkey_to_auth_unique;
mod foreign_table_in_api;
mod function_search_path_mutable;
mod materialized_view_in_api;
mod multiple_permissive_policies;
mod policy_always_true;
mod policy_exists_rls_disabled;
mod policy_per_row_auth_call;
mod policy_uses_user_metadata;
mod public_bucket_allows_listing;
mod queue_exposed_in_api;
mod rls_disabled_in_exposed_schema;
mod rls_enabled_no_policy;
mod security_definer_function_executable_by_anon;
mod security_definer_function_executable_by_authenticated;
mod security_definer_function_search_path;
mod security_definer_view;
mod sensitive_columns_exposed;
mod table_writable_by_anon_without_rls;
mod unsupported_reg_types;

/// What to audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditOptions {
    /// The schemas the API exposes (PostgREST's `db-schemas`); default `["public"]`.
    pub exposed_schemas: Vec<String>,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            exposed_schemas: vec!["public".to_string()],
        }
    }
}

pub use dbsage_catalog::finding::{Finding as AuditFinding, Severity};

/// Everything a check may look at.
pub(crate) struct Context<'a> {
    pub catalog: &'a Catalog,
    pub exposed: &'a [String],
    /// `(schema, view)` of every view or materialized view that reads `auth.users`.
    pub auth_users_views: Vec<(String, String)>,
    /// Roles that row-level security never applies to (BYPASSRLS or superuser).
    pub bypass_roles: BTreeSet<String>,
    /// `(schema, table, policy, clause)` of every policy clause (`using`, `with check`) the
    /// server's planner reduces to constant true.
    pub always_true: BTreeSet<(String, String, String, &'static str)>,
    /// Extension name → the version `CREATE EXTENSION` would install today.
    pub extension_defaults: BTreeMap<String, String>,
    /// Ids of the storage buckets marked public.
    pub public_buckets: Vec<String>,
}

/// Schemas Supabase (or its compatibility layer) creates and manages: their objects are not the
/// project's to fix.
pub(crate) const MANAGED_SCHEMAS: &[&str] = &[
    "auth",
    "storage",
    "extensions",
    "graphql",
    "graphql_public",
    "realtime",
    "supabase_functions",
    "supabase_migrations",
    "vault",
    "pgsodium",
    "pgsodium_masks",
    "net",
    "cron",
    "pgbouncer",
    "dbsage",
];

impl Context<'_> {
    pub fn is_exposed(&self, schema: &str) -> bool {
        self.exposed.iter().any(|s| s == schema)
    }

    pub fn is_managed(&self, schema: &str) -> bool {
        MANAGED_SCHEMAS.contains(&schema)
    }

    /// Whether `role` (or PUBLIC) has USAGE on `schema`, or owns it: without it no object in
    /// the schema is reachable, whatever the object's own grants.
    pub fn schema_usage(&self, schema: &str, role: &str) -> bool {
        self.catalog
            .schemas
            .iter()
            .find(|s| s.name == schema)
            .is_some_and(|s| s.owner == role || granted(&s.grants, &[role], "USAGE"))
    }

    /// The API roles among `roles` that hold `privilege` in `grants` (directly or through
    /// PUBLIC) and USAGE on `schema`: who really reaches the object through the API.
    pub fn reachers(
        &self,
        schema: &str,
        grants: &[Grant],
        roles: &[&'static str],
        privilege: &str,
    ) -> Vec<&'static str> {
        roles
            .iter()
            .copied()
            .filter(|r| granted(grants, &[r], privilege) && self.schema_usage(schema, r))
            .collect()
    }

    /// The API roles that reach `table` through the API with any command: a grant on the table
    /// or on one of its columns, and USAGE on its schema.
    pub fn table_reachers(&self, table: &dbsage_catalog::Table) -> Vec<&'static str> {
        API_ROLES
            .iter()
            .copied()
            .filter(|r| {
                ["SELECT", "INSERT", "UPDATE", "DELETE"].iter().any(|p| {
                    granted(&table.grants, &[r], p)
                        || table.columns.iter().any(|c| granted(&c.grants, &[r], p))
                })
            })
            .filter(|r| self.schema_usage(&table.schema, r))
            .collect()
    }

    /// Whether every role the policy names bypasses row-level security, so the policy never
    /// decides anything (a `to service_role` policy).
    pub fn only_bypass_roles(&self, policy: &Policy) -> bool {
        !policy.roles.is_empty()
            && policy
                .roles
                .iter()
                .all(|r| self.bypass_roles.contains(r.as_str()))
    }
}

/// The roles an API request runs as before it signs in and after.
pub(crate) const API_ROLES: &[&str] = &["anon", "authenticated"];

/// Whether one of `roles` (or PUBLIC) holds `privilege` in `grants`.
pub(crate) fn granted(grants: &[Grant], roles: &[&str], privilege: &str) -> bool {
    grants_to(grants, roles, privilege).next().is_some()
}

/// The grantees among `roles` and PUBLIC that hold `privilege`.
pub(crate) fn grants_to<'a>(
    grants: &'a [Grant],
    roles: &'a [&'a str],
    privilege: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    grants
        .iter()
        .filter(move |g| g.grantee == "public" || roles.contains(&g.grantee.as_str()))
        .filter(move |g| {
            g.privileges
                .iter()
                .any(|p| p.trim_end_matches(" WITH GRANT OPTION") == privilege)
        })
        .map(|g| g.grantee.as_str())
}

/// Reads the schema and runs every check. Findings come sorted by severity, check and object.
pub fn audit(
    client: &mut postgres::Client,
    options: &AuditOptions,
) -> Result<Vec<AuditFinding>, SecureError> {
    let catalog = Catalog::read(client, &ReadOptions::default())
        .map_err(SecureError::db("reading the schema"))?;
    let auth_users_views = views_over_auth_users(client)?;
    let bypass_roles = bypass_roles(client)?;
    let always_true = constant_true::always_true_clauses(client, &catalog);
    let extension_defaults = extension_defaults(client)?;
    let public_buckets = public_buckets(client)?;
    let ctx = Context {
        catalog: &catalog,
        exposed: &options.exposed_schemas,
        auth_users_views,
        bypass_roles,
        always_true,
        extension_defaults,
        public_buckets,
    };
    let mut findings = Vec::new();
    for check in CHECKS {
        findings.extend((check.run)(&ctx));
    }
    findings
        .sort_by(|a, b| (a.severity, &a.check, &a.object).cmp(&(b.severity, &b.check, &b.object)));
    Ok(findings)
}

/// One audit check, as registered in [`CHECKS`].
pub(crate) struct Check {
    pub id: &'static str,
    /// Whether `fix_migration` may apply its `fix_sql` without a human deciding anything.
    pub automatic: bool,
    pub run: fn(&Context) -> Vec<AuditFinding>,
}

pub(crate) const CHECKS: &[Check] = &[
    rls_disabled_in_exposed_schema::CHECK,
    rls_enabled_no_policy::CHECK,
    policy_exists_rls_disabled::CHECK,
    policy_per_row_auth_call::CHECK,
    multiple_permissive_policies::CHECK,
    policy_always_true::CHECK,
    policy_uses_user_metadata::CHECK,
    security_definer_view::CHECK,
    security_definer_function_search_path::CHECK,
    security_definer_function_executable_by_anon::CHECK,
    auth_users_exposed::CHECK,
    table_writable_by_anon_without_rls::CHECK,
    sensitive_columns_exposed::CHECK,
    function_search_path_mutable::CHECK,
    security_definer_function_executable_by_authenticated::CHECK,
    extension_in_public::CHECK,
    extension_version_outdated::CHECK,
    materialized_view_in_api::CHECK,
    foreign_table_in_api::CHECK,
    unsupported_reg_types::CHECK,
    queue_exposed_in_api::CHECK,
    fkey_to_auth_unique::CHECK,
    public_bucket_allows_listing::CHECK,
];

/// The ids of every check, in the order they run.
pub fn check_ids() -> Vec<&'static str> {
    CHECKS.iter().map(|c| c.id).collect()
}

/// Splits findings into a migration of the fixes that are safe to automate (enabling RLS,
/// wrapping auth calls in `(select …)`, pinning a security definer function's search_path)
/// and the findings a human must decide on. Identical statements appear once.
pub fn fix_migration(findings: &[AuditFinding]) -> (String, Vec<AuditFinding>) {
    let mut sql = String::new();
    let mut seen = BTreeSet::new();
    let mut rest = Vec::new();
    for finding in findings {
        let automatic = CHECKS.iter().any(|c| c.id == finding.check && c.automatic);
        match (&finding.fix_sql, automatic) {
            (Some(fix), true) => {
                let fresh: Vec<String> = statements(fix)
                    .into_iter()
                    .filter(|s| seen.insert(s.clone()))
                    .collect();
                if !fresh.is_empty() {
                    sql.push_str(&format!("-- {}: {}\n", finding.check, finding.object));
                    sql.push_str(&fresh.join("\n"));
                    sql.push_str("\n\n");
                }
            }
            _ => rest.push(finding.clone()),
        }
    }
    if !sql.is_empty() {
        sql.insert_str(
            0,
            "-- Fixes generated by `dbsage secure audit --fix`: the ones safe to automate.\n\n",
        );
    }
    (sql, rest)
}

/// Splits generated fix SQL into statements: a statement ends with a line ending in `;`
/// (generated SQL never puts two statements on one line).
fn statements(fix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in fix.lines() {
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(line);
        if line.trim_end().ends_with(';') {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// The views (in any schema) whose rewrite rule depends on `auth.users`.
fn views_over_auth_users(
    client: &mut postgres::Client,
) -> Result<Vec<(String, String)>, SecureError> {
    let rows = client
        .query(
            "select distinct n.nspname::text, v.relname::text
               from pg_depend d
               join pg_rewrite r on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid
               join pg_class v on v.oid = r.ev_class
               join pg_namespace n on n.oid = v.relnamespace
              where d.refclassid = 'pg_class'::regclass
                and d.refobjid = to_regclass('auth.users')
                and v.oid <> d.refobjid
                and v.relkind in ('v', 'm')
              order by 1, 2",
            &[],
        )
        .map_err(SecureError::db("finding views over auth.users"))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Roles with BYPASSRLS or SUPERUSER.
fn bypass_roles(client: &mut postgres::Client) -> Result<BTreeSet<String>, SecureError> {
    let rows = client
        .query(
            "select rolname::text from pg_roles where rolbypassrls or rolsuper",
            &[],
        )
        .map_err(SecureError::db(
            "listing the roles that bypass row-level security",
        ))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The public buckets of Supabase Storage (none when there is no `storage.buckets`).
fn public_buckets(client: &mut postgres::Client) -> Result<Vec<String>, SecureError> {
    let exists: bool = client
        .query_one("select to_regclass('storage.buckets') is not null", &[])
        .map_err(SecureError::db("looking for storage.buckets"))?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "select id::text from storage.buckets where public order by 1",
            &[],
        )
        .map_err(SecureError::db("reading the public storage buckets"))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// `default_version` of every installed extension.
fn extension_defaults(
    client: &mut postgres::Client,
) -> Result<BTreeMap<String, String>, SecureError> {
    let rows = client
        .query(
            "select name::text, default_version::text from pg_available_extensions
              where installed_version is not null and default_version is not null",
            &[],
        )
        .map_err(SecureError::db("reading the extensions' default versions"))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// A finding, built the same way by every check.
pub(crate) fn finding(
    check: &str,
    severity: Severity,
    object: String,
    message: String,
    fix_sql: Option<String>,
) -> AuditFinding {
    AuditFinding {
        check: check.to_string(),
        severity,
        object,
        message,
        evidence: serde_json::json!({}),
        fix_sql,
    }
}

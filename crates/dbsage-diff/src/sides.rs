//! `dbsage diff --from A --to B`: each side an environment, `migrations` (the history replayed
//! on a throwaway cluster) or a `.sql` file (applied on a throwaway cluster); the plan from A
//! to B, proven on a throwaway copy of A.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dbsage_catalog::{Catalog, Difference, ReadOptions};
use dbsage_cluster::Cluster;
use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::{Error, Result};
use postgres::Client;
use serde::Serialize;

use crate::{plan, prove, Plan, PlanOptions, Proof};

/// Schemas Supabase manages: never the project's to diff.
pub const SUPABASE_MANAGED_SCHEMAS: &[&str] = &[
    "auth",
    "storage",
    "realtime",
    "_realtime",
    "supabase_functions",
    "supabase_migrations",
    "extensions",
    "graphql",
    "graphql_public",
    "pgsodium",
    "pgsodium_masks",
    "vault",
    "net",
    "pgbouncer",
    "_analytics",
    "cron",
];

/// One side of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    Environment(String),
    Migrations,
    SqlFile(PathBuf),
}

impl Side {
    /// `migrations`, a path ending in `.sql` (or an existing file), else an environment name.
    pub fn parse(text: &str) -> Side {
        if text == "migrations" {
            Side::Migrations
        } else if text.ends_with(".sql") || Path::new(text).is_file() {
            Side::SqlFile(PathBuf::from(text))
        } else {
            Side::Environment(text.to_string())
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Side::Environment(name) => format!("environment {name}"),
            Side::Migrations => "the migrations (replayed)".into(),
            Side::SqlFile(path) => path.display().to_string(),
        }
    }
}

/// What is compared: dbsage's bookkeeping schema never is, nor Supabase's own schemas on a
/// Supabase project.
pub fn read_options(project: &Project) -> ReadOptions {
    let mut exclude_schemas = vec![project.history_table().schema];
    if project.is_supabase() {
        exclude_schemas.extend(SUPABASE_MANAGED_SCHEMAS.iter().map(|s| s.to_string()));
    }
    ReadOptions { exclude_schemas }
}

/// A side's database: on a throwaway cluster unless it is an environment.
pub struct Opened {
    pub cluster: Option<Cluster>,
    pub client: Client,
}

impl Opened {
    pub fn close(self) {
        drop(self.client);
        if let Some(cluster) = self.cluster {
            cluster.stop();
        }
    }
}

/// A throwaway cluster like `migrate --local`'s (the project's version, settings, Supabase layer).
pub fn throwaway(project: &Project) -> Result<Opened> {
    let cluster = dbsage_core::server_settings::start_throwaway(project, &[])?;
    let mut client = cluster.connect("postgres")?;
    if project.is_supabase() {
        dbsage_core::supabase_layer::install(&mut client, project)?;
    }
    Ok(Opened {
        cluster: Some(cluster),
        client,
    })
}

pub fn open(project: &Project, side: &Side) -> Result<Opened> {
    match side {
        Side::Environment(name) => {
            let target = Target::resolve(project, Some(name))?;
            let client = target.connect(project, "dbsage diff")?;
            Ok(Opened {
                cluster: None,
                client,
            })
        }
        Side::Migrations => {
            let files = dbsage_core::migrations::discover_project(project)?;
            let (cluster, client) = dbsage_core::local::replayed(project, &files)?;
            Ok(Opened {
                cluster: Some(cluster),
                client,
            })
        }
        Side::SqlFile(path) => {
            let path = if path.is_absolute() {
                path.clone()
            } else {
                project.root.join(path)
            };
            let sql = std::fs::read_to_string(&path)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            let mut opened = throwaway(project)?;
            if let Err(message) = apply_file(&mut opened.client, &sql, &path) {
                opened.close();
                return Err(Error::Failed {
                    message,
                    hint: "a schema file for `dbsage diff` must build its schema from nothing (roles it grants to must exist: create them in the file)".into(),
                });
            }
            Ok(opened)
        }
    }
}

/// Runs a schema file one statement at a time (one transaction for thousands of tables runs
/// out of lock slots); a failure names file:line:column.
fn apply_file(client: &mut Client, sql: &str, path: &Path) -> std::result::Result<(), String> {
    let mut pieces = Vec::new();
    dbsage_sql::for_each_statement(sql, |statement| {
        pieces.push((statement.code_start, statement.range.end));
    })
    .map_err(|e| {
        let at = dbsage_sql::line_col(sql, e.offset.unwrap_or(0));
        format!(
            "{}:{}:{}: {}",
            path.display(),
            at.line,
            at.column,
            e.message
        )
    })?;
    for (start, end) in pieces {
        if let Err(e) = client.batch_execute(&sql[start..end]) {
            let at = dbsage_sql::line_col(sql, start);
            return Err(format!(
                "{}:{}:{}: does not apply on an empty database: {}",
                path.display(),
                at.line,
                at.column,
                dbsage_pgerror::describe(&e)
            ));
        }
    }
    Ok(())
}

fn read(client: &mut Client, options: &ReadOptions, what: &str) -> Result<Catalog> {
    Catalog::read(client, options)
        .map_err(|e| Error::db(format!("reading the schema of {what}"), e))
}

/// Creates (NOLOGIN) every role the catalogs name that the throwaway cluster lacks.
pub fn ensure_roles(client: &mut Client, catalogs: &[&Catalog]) -> Result<()> {
    let wanted: Vec<String> = roles_named(catalogs).into_iter().collect();
    let missing = client
        .query(
            "SELECT name FROM unnest($1::text[]) AS name WHERE name NOT IN (SELECT rolname FROM pg_roles)",
            &[&wanted],
        )
        .map_err(|e| Error::db("listing roles", e))?;
    for row in missing {
        let name: String = row.get(0);
        client
            .batch_execute(&format!("CREATE ROLE {} NOLOGIN", crate::sql::ident(&name)))
            .map_err(|e| Error::db(format!("creating role {name} on the throwaway copy"), e))?;
    }
    Ok(())
}

/// Every role the catalogs name (owners, grantees, policy roles), PUBLIC left out.
pub fn roles_named(catalogs: &[&Catalog]) -> BTreeSet<String> {
    let mut roles = BTreeSet::new();
    for catalog in catalogs {
        let grants = |grants: &[dbsage_catalog::Grant], roles: &mut BTreeSet<String>| {
            roles.extend(grants.iter().map(|g| g.grantee.clone()));
        };
        for s in &catalog.schemas {
            roles.insert(s.owner.clone());
            grants(&s.grants, &mut roles);
        }
        for t in &catalog.tables {
            roles.insert(t.owner.clone());
            grants(&t.grants, &mut roles);
            for c in &t.columns {
                grants(&c.grants, &mut roles);
            }
            for p in &t.policies {
                roles.extend(p.roles.iter().cloned());
            }
        }
        for v in &catalog.views {
            roles.insert(v.owner.clone());
            grants(&v.grants, &mut roles);
        }
        for f in &catalog.functions {
            roles.insert(f.owner.clone());
            grants(&f.grants, &mut roles);
        }
        for s in &catalog.sequences {
            roles.insert(s.owner.clone());
            grants(&s.grants, &mut roles);
        }
        roles.extend(catalog.enums.iter().map(|e| e.owner.clone()));
        roles.extend(catalog.domains.iter().map(|d| d.owner.clone()));
        roles.extend(catalog.composite_types.iter().map(|c| c.owner.clone()));
        for d in &catalog.default_privileges {
            roles.insert(d.role.clone());
            grants(&d.grants, &mut roles);
        }
    }
    roles.remove("public");
    roles
}

/// A diff and its proof.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub from: String,
    pub to: String,
    pub plan: Plan,
    pub proof: Proof,
    pub timings: Timings,
}

/// Where the time went, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Opening both sides (cluster starts, replays) and reading their catalogs.
    pub read_ms: u64,
    /// Planning: the engine alone.
    pub plan_ms: u64,
    /// Building the copy (for an environment), applying the plan, reading and comparing.
    pub proof_ms: u64,
}

/// Builds a copy of `schema` on a throwaway cluster through the engine (from an empty
/// database), and lists what the copy still lacks.
pub fn rebuild(
    project: &Project,
    schema: &Catalog,
    options: &ReadOptions,
) -> Result<(Opened, Plan, Vec<Difference>)> {
    let mut copy = throwaway(project)?;
    ensure_roles(&mut copy.client, &[schema])?;
    let empty = read(&mut copy.client, options, "an empty database")?;
    let build = plan(&empty, schema, &PlanOptions::default());
    let proof = prove(&mut copy.client, &build, schema, options)
        .map_err(|e| Error::db("reading the rebuilt schema", e))?;
    let mut left = proof.not_handled;
    if let Some(failure) = proof.failure {
        left.insert(
            0,
            Difference {
                object: format!("statement {}", failure.statement + 1),
                kind: dbsage_catalog::DiffKind::Changed,
                before: Some(failure.sql),
                after: Some(failure.error),
            },
        );
    }
    Ok((copy, build, left))
}

/// The plan from `from` to `to`, proven on a throwaway copy of `from`.
pub fn diff_sides(project: &Project, from: &Side, to: &Side) -> Result<DiffReport> {
    let options = read_options(project);
    let clock = std::time::Instant::now();
    let mut timings = Timings::default();
    let target = {
        let mut opened = open(project, to)?;
        let catalog = read(&mut opened.client, &options, &to.describe());
        opened.close();
        catalog?
    };
    let mut source = open(project, from)?;
    let result = (|| {
        let start = read(&mut source.client, &options, &from.describe())?;
        timings.read_ms = clock.elapsed().as_millis() as u64;
        let plan = plan(&start, &target, &PlanOptions::default());
        timings.plan_ms = clock.elapsed().as_millis() as u64 - timings.read_ms;
        let proof_on = |client: &mut Client| -> Result<Proof> {
            ensure_roles(client, &[&target])?;
            prove(client, &plan, &target, &options)
                .map_err(|e| Error::db("reading the schema after the plan", e))
        };
        // The proof runs on a throwaway copy: the source itself when it is one already.
        let proof = match from {
            Side::Environment(_) => {
                let (mut copy, _, left) = rebuild(project, &start, &options)?;
                let proof = proof_on(&mut copy.client);
                copy.close();
                let mut proof = proof?;
                for difference in left {
                    if !proof.not_handled.contains(&difference) {
                        proof.not_handled.push(difference);
                    }
                }
                proof
            }
            _ => proof_on(&mut source.client)?,
        };
        timings.proof_ms = clock.elapsed().as_millis() as u64 - timings.read_ms - timings.plan_ms;
        Ok(DiffReport {
            from: from.describe(),
            to: to.describe(),
            plan,
            proof,
            timings,
        })
    })();
    source.close();
    result
}

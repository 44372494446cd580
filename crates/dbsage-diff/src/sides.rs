//! `dbsage diff --from A --to B`: each side an environment, `migrations` (the history replayed
//! on a throwaway cluster) or a `.sql` file (applied on a throwaway cluster); the plan from A
//! to B, proven on a throwaway copy of A.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

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

/// Publications Supabase creates on every project database (Realtime's).
pub const SUPABASE_MANAGED_PUBLICATIONS: &[&str] = &[
    "supabase_realtime",
    "supabase_realtime_messages_publication",
];

/// On a Supabase project, a managed publication only one side has is the platform's (the
/// replayed history has no Realtime), not a difference: it is left out of both. When both
/// have it (the migrations create it), its tables are compared as any publication's.
pub fn align_managed_publications(project: &Project, a: &mut Catalog, b: &mut Catalog) {
    if !project.is_supabase() {
        return;
    }
    for name in SUPABASE_MANAGED_PUBLICATIONS {
        let in_a = a.publications.iter().any(|p| p.name == *name);
        let in_b = b.publications.iter().any(|p| p.name == *name);
        if in_a != in_b {
            a.publications.retain(|p| p.name != *name);
            b.publications.retain(|p| p.name != *name);
        }
    }
}

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
            let mut opened = throwaway(project)?;
            if let Err(e) = apply_schema_file(&mut opened.client, project, path) {
                opened.close();
                return Err(e);
            }
            Ok(opened)
        }
    }
}

/// A `.sql` side (relative to the project) applied on `client`'s empty database.
fn apply_schema_file(client: &mut Client, project: &Project, path: &Path) -> Result<()> {
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        project.root.join(path)
    };
    let sql = std::fs::read_to_string(&path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    crate::schema_file::apply(client, &sql, &path).map_err(|message| Error::Failed {
        message,
        hint: "a schema file for `dbsage diff` must build its schema from nothing (roles it grants to must exist: create them in the file)".into(),
    })
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
        roles.extend(catalog.publications.iter().map(|p| p.owner.clone()));
        roles.extend(catalog.event_triggers.iter().map(|t| t.owner.clone()));
        for server in &catalog.foreign_servers {
            roles.insert(server.owner.clone());
            roles.extend(server.user_mappings.iter().map(|m| m.user.clone()));
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
    /// Opening both sides (cluster start, builds, replays) and reading their catalogs.
    pub read_ms: u64,
    /// Planning: the engine alone.
    pub plan_ms: u64,
    /// Building the copy (for an environment), applying the plan, reading and comparing.
    pub proof_ms: u64,
    /// Starting the one throwaway cluster both sides and the proof share.
    pub cluster_ms: u64,
    /// Building each side on its database (applying the file, replaying the history); for
    /// an environment, connecting to it.
    pub build_from_ms: u64,
    pub build_to_ms: u64,
    /// Reading each side's catalog.
    pub read_from_ms: u64,
    pub read_to_ms: u64,
    /// The whole diff, start to end.
    pub total_ms: u64,
}

/// Builds a copy of `schema` on a throwaway cluster through the engine (from an empty
/// database), and lists what the copy still lacks.
pub fn rebuild(
    project: &Project,
    schema: &Catalog,
    options: &ReadOptions,
) -> Result<(Opened, Plan, Vec<Difference>)> {
    let mut copy = throwaway(project)?;
    match rebuild_on(&mut copy.client, schema, options) {
        Ok((build, left)) => Ok((copy, build, left)),
        Err(e) => {
            copy.close();
            Err(e)
        }
    }
}

/// [`rebuild`] on the empty database `copy` is connected to. The build commits every few
/// hundred statements: one transaction for thousands of tables runs out of lock slots.
pub fn rebuild_on(
    copy: &mut Client,
    schema: &Catalog,
    options: &ReadOptions,
) -> Result<(Plan, Vec<Difference>)> {
    ensure_roles(copy, &[schema])?;
    let empty = read(copy, options, "an empty database")?;
    let build = plan(&empty, schema, &PlanOptions::default());
    let failure = crate::prove::apply_in_chunks(copy, &build).err();
    let rebuilt = read(copy, options, "the rebuilt schema")?;
    let mut left = dbsage_catalog::diff(&rebuilt, schema);
    if let Some(failure) = failure {
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
    Ok((build, left))
}

/// One side, built on its database of the shared cluster (or an environment, opened) and read.
struct Built {
    /// The side's throwaway database, still open: the proof runs on the source's.
    client: Option<Client>,
    catalog: Catalog,
    build_ms: u64,
    read_ms: u64,
}

fn millis(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

/// The plan from `from` to `to`, proven on a throwaway copy of `from`. Both sides are built
/// as two databases of one throwaway cluster, concurrently, and read concurrently; an
/// environment is read as it is, and rebuilt for the proof on a third database.
pub fn diff_sides(project: &Project, from: &Side, to: &Side) -> Result<DiffReport> {
    let clock = Instant::now();
    let files = if *from == Side::Migrations || *to == Side::Migrations {
        dbsage_core::migrations::discover_project(project)?
    } else {
        Vec::new()
    };
    let cluster = dbsage_core::server_settings::start_throwaway(project, &files)?;
    let mut timings = Timings {
        cluster_ms: millis(clock),
        ..Timings::default()
    };
    let result = diff_on(&cluster, project, (from, to), &files, &mut timings, clock);
    cluster.stop();
    result
}

fn diff_on(
    cluster: &Cluster,
    project: &Project,
    (from, to): (&Side, &Side),
    files: &[dbsage_core::migrations::MigrationFile],
    timings: &mut Timings,
    clock: Instant,
) -> Result<DiffReport> {
    let options = read_options(project);
    // One after the other: the Supabase layer creates roles, which the two databases share.
    let from_db = prepare(cluster, project, from, "dbsage_from")?;
    let to_db = prepare(cluster, project, to, "dbsage_to")?;
    let (from_built, to_built) = std::thread::scope(|scope| {
        let to_thread = scope.spawn(|| build(project, to, to_db, files, &options));
        let from_built = build(project, from, from_db, files, &options);
        let to_built = to_thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (from_built, to_built)
    });
    let (source, target) = (from_built?, to_built?);
    timings.build_from_ms = source.build_ms;
    timings.build_to_ms = target.build_ms;
    timings.read_from_ms = source.read_ms;
    timings.read_to_ms = target.read_ms;
    timings.read_ms = millis(clock);
    drop(target.client);
    let (mut start, mut target) = (source.catalog, target.catalog);
    align_managed_publications(project, &mut start, &mut target);
    let plan = plan(&start, &target, &PlanOptions::default());
    timings.plan_ms = millis(clock) - timings.read_ms;
    let proof_on = |client: &mut Client| -> Result<Proof> {
        ensure_roles(client, &[&target])?;
        prove(client, &plan, &target, &options)
            .map_err(|e| Error::db("reading the schema after the plan", e))
    };
    // The proof runs on a throwaway copy: the source itself when it is one already.
    let proof = match source.client {
        Some(mut client) => proof_on(&mut client)?,
        None => {
            cluster.create_database("dbsage_proof")?;
            let mut copy = cluster.connect("dbsage_proof")?;
            if project.is_supabase() {
                dbsage_core::supabase_layer::install(&mut copy, project)?;
            }
            let (_, left) = rebuild_on(&mut copy, &start, &options)?;
            let mut proof = proof_on(&mut copy)?;
            for difference in left {
                if !proof.not_handled.contains(&difference) {
                    proof.not_handled.push(difference);
                }
            }
            proof
        }
    };
    timings.proof_ms = millis(clock) - timings.read_ms - timings.plan_ms;
    timings.total_ms = millis(clock);
    Ok(DiffReport {
        from: from.describe(),
        to: to.describe(),
        plan,
        proof,
        timings: timings.clone(),
    })
}

/// The database a side is built on (none for an environment), with the Supabase layer.
fn prepare(
    cluster: &Cluster,
    project: &Project,
    side: &Side,
    database: &str,
) -> Result<Option<Client>> {
    if let Side::Environment(_) = side {
        return Ok(None);
    }
    cluster.create_database(database)?;
    let mut client = cluster.connect(database)?;
    if project.is_supabase() {
        dbsage_core::supabase_layer::install(&mut client, project)?;
    }
    Ok(Some(client))
}

/// Builds `side` on `database` (an environment is opened instead) and reads its catalog.
fn build(
    project: &Project,
    side: &Side,
    database: Option<Client>,
    files: &[dbsage_core::migrations::MigrationFile],
    options: &ReadOptions,
) -> Result<Built> {
    let started = Instant::now();
    let mut client = match (side, database) {
        (Side::Environment(name), _) => {
            let target = Target::resolve(project, Some(name))?;
            target.connect(project, "dbsage diff")?
        }
        (Side::Migrations, Some(mut client)) => {
            dbsage_core::local::replay_into(&mut client, project, files)?;
            client
        }
        (Side::SqlFile(path), Some(mut client)) => {
            apply_schema_file(&mut client, project, path)?;
            client
        }
        (_, None) => unreachable!("prepare gives every built side a database"),
    };
    let build_ms = millis(started);
    let catalog = read(&mut client, options, &side.describe())?;
    Ok(Built {
        client: (!matches!(side, Side::Environment(_))).then_some(client),
        catalog,
        build_ms,
        read_ms: millis(started) - build_ms,
    })
}

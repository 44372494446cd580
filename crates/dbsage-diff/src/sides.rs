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

use crate::scope::Dependencies;
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
    /// What the proof ran on.
    pub proof_copy: ProofCopy,
    pub timings: Timings,
}

/// The copy of the source the proof applied the plan on.
#[derive(Debug, Clone, Serialize)]
pub struct ProofCopy {
    /// `whole`: the source's whole schema; `affected`: what differs, what depends on it and
    /// what that needs (a live source, rebuilt in part; see [`crate::scope`]).
    pub scope: &'static str,
    /// Top-level objects (tables, views, sequences, functions, types) the copy had, and the
    /// source has.
    pub objects: usize,
    pub of: usize,
    /// Databases the copy was cut into, proven side by side (pieces that share no dependency).
    pub pieces: usize,
}

impl ProofCopy {
    fn whole(source: &Catalog) -> ProofCopy {
        let objects = crate::scope::count(source);
        ProofCopy {
            scope: "whole",
            objects,
            of: objects,
            pieces: 1,
        }
    }
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
    let empty = read(copy, options, "an empty database")?;
    rebuild_from(copy, &empty, schema, options)
}

/// [`rebuild_on`] when the empty database's catalog was read already (`empty`).
fn rebuild_from(
    copy: &mut Client,
    empty: &Catalog,
    schema: &Catalog,
    options: &ReadOptions,
) -> Result<(Plan, Vec<Difference>)> {
    ensure_roles(copy, &[schema])?;
    let build = plan(empty, schema, &PlanOptions::default());
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
    /// Read when the proof may rebuild the source in part (the source is an environment).
    dependencies: Option<Dependencies>,
    build_ms: u64,
    read_ms: u64,
}

fn millis(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

/// The plan from `from` to `to`, proven on a throwaway copy of `from`. Both sides are built
/// as two databases of one throwaway cluster, concurrently, and read concurrently; an
/// environment is read as it is while the cluster starts, and rebuilt for the proof, in the
/// part the plan affects, on databases of its own.
pub fn diff_sides(project: &Project, from: &Side, to: &Side) -> Result<DiffReport> {
    let clock = Instant::now();
    let files = if *from == Side::Migrations || *to == Side::Migrations {
        dbsage_core::migrations::discover_project(project)?
    } else {
        Vec::new()
    };
    let options = read_options(project);
    let mut timings = Timings::default();
    let opened = open_sides(project, (from, to), &files, &options, &mut timings, clock)?;
    let cluster = opened.cluster;
    let result = diff_opened(
        &cluster,
        project,
        (from, to),
        (opened.source, opened.target, opened.spare),
        &options,
        &mut timings,
        clock,
    );
    cluster.stop();
    result
}

/// The throwaway cluster and both sides, built and read.
struct OpenedSides {
    cluster: Cluster,
    source: Built,
    target: Built,
    /// Empty databases made while the sides were read, for a live source's proof.
    spare: Option<SpareDatabases>,
}

/// Empty databases for a live source's proof, made alike, and the catalog they all read as:
/// read once, while the sides are read, each piece's rebuild starts from it.
pub struct SpareDatabases {
    clients: Vec<Client>,
    empty: Catalog,
}

impl SpareDatabases {
    /// `clients`, connected to empty databases made the same way (at least one).
    pub fn new(mut clients: Vec<Client>, options: &ReadOptions) -> Result<SpareDatabases> {
        let first = clients
            .first_mut()
            .expect("a proof needs at least one spare database");
        let empty = read(first, options, "an empty database")?;
        Ok(SpareDatabases { clients, empty })
    }

    fn len(&self) -> usize {
        self.clients.len()
    }
}

/// Starts the cluster and builds and reads both sides, as much at once as can be: an
/// environment is read while the cluster starts (and, for a live source, makes the empty
/// databases its proof will use); a side built on the cluster waits for it.
fn open_sides<'a>(
    project: &'a Project,
    (from, to): (&'a Side, &'a Side),
    files: &'a [dbsage_core::migrations::MigrationFile],
    options: &'a ReadOptions,
    timings: &mut Timings,
    clock: Instant,
) -> Result<OpenedSides> {
    let live_source = matches!(from, Side::Environment(_));
    std::thread::scope(|scope| {
        let read_now = |side: &'a Side| {
            matches!(side, Side::Environment(_)).then(|| {
                scope.spawn(move || build(project, side, None, files, options, live_source))
            })
        };
        let (from_now, to_now) = (read_now(from), read_now(to));
        // On this thread: the cluster's server stops when the thread that started it ends.
        let cluster = dbsage_core::server_settings::start_throwaway(project, files)?;
        timings.cluster_ms = millis(clock);
        let spare = if live_source {
            let clients = (0..proof_pieces())
                .map(|i| new_database(&cluster, project, &format!("dbsage_proof_part{i}")))
                .collect::<Result<Vec<_>>>()?;
            Some(SpareDatabases::new(clients, options)?)
        } else {
            None
        };
        // One after the other: the Supabase layer creates roles, which the two databases share.
        let from_db = prepare(&cluster, project, from, "dbsage_from")?;
        let to_db = prepare(&cluster, project, to, "dbsage_to")?;
        let to_thread = to_now.unwrap_or_else(|| {
            scope.spawn(move || build(project, to, to_db, files, options, live_source))
        });
        let source = match from_now {
            Some(thread) => joined(thread),
            None => build(project, from, from_db, files, options, live_source),
        };
        let target = joined(to_thread);
        Ok(OpenedSides {
            cluster,
            source: source?,
            target: target?,
            spare,
        })
    })
}

/// A thread's result; its panic, passed on.
fn joined<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    thread
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// How many databases a live source's proof is cut into: one per core, up to four.
fn proof_pieces() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// Plans from the source to the target and proves the plan.
fn diff_opened(
    cluster: &Cluster,
    project: &Project,
    (from, to): (&Side, &Side),
    (source, target, spare): (Built, Built, Option<SpareDatabases>),
    options: &ReadOptions,
    timings: &mut Timings,
    clock: Instant,
) -> Result<DiffReport> {
    timings.build_from_ms = source.build_ms;
    timings.build_to_ms = target.build_ms;
    timings.read_from_ms = source.read_ms;
    timings.read_to_ms = target.read_ms;
    timings.read_ms = millis(clock);
    drop(target.client);
    let target_dependencies = target.dependencies;
    let (mut start, mut target) = (source.catalog, target.catalog);
    align_managed_publications(project, &mut start, &mut target);
    let plan = plan(&start, &target, &PlanOptions::default());
    timings.plan_ms = millis(clock) - timings.read_ms;
    // The proof runs on a throwaway copy: the source itself when it is one already.
    let (proof, proof_copy) = match source.client {
        Some(mut client) => {
            ensure_roles(&mut client, &[&target])?;
            let proof = prove(&mut client, &plan, &target, options)
                .map_err(|e| Error::db("reading the schema after the plan", e))?;
            (proof, ProofCopy::whole(&start))
        }
        None => {
            let dependencies: Vec<&Dependencies> = [&source.dependencies, &target_dependencies]
                .into_iter()
                .flatten()
                .collect();
            prove_on_rebuilt(
                cluster,
                project,
                &plan,
                (&start, &target),
                (&dependencies, spare),
                options,
            )?
        }
    };
    timings.proof_ms = millis(clock) - timings.read_ms - timings.plan_ms;
    timings.total_ms = millis(clock);
    Ok(DiffReport {
        from: from.describe(),
        to: to.describe(),
        plan,
        proof,
        proof_copy,
        timings: timings.clone(),
    })
}

/// The proof for a live source, on a copy rebuilt on new databases of `cluster`: only the
/// part the plan affects when that is smaller ([`crate::scope::affected`]), cut into pieces
/// proven side by side, else the whole schema. A part that does not prove clean is proven
/// again whole, so that what is reported is what the whole schema shows, never an artefact
/// of the cut.
fn prove_on_rebuilt(
    cluster: &Cluster,
    project: &Project,
    plan: &Plan,
    (start, target): (&Catalog, &Catalog),
    (dependencies, spare): (&[&Dependencies], Option<SpareDatabases>),
    options: &ReadOptions,
) -> Result<(Proof, ProofCopy)> {
    if let Some(spare) = spare.filter(|_| dependencies.len() == 2) {
        let affected = crate::scope::affected(start, target, dependencies, plan)
            .filter(crate::scope::Affected::is_small);
        if let Some(affected) = affected {
            let pieces =
                crate::scope::pieces(&affected, dependencies, plan, (start, target), spare.len());
            let proofs = prove_pieces(plan, (start, target), &pieces, spare, options)?;
            if proofs.iter().all(Proof::is_clean) {
                let copy = ProofCopy {
                    scope: "affected",
                    objects: affected.source_objects_kept,
                    of: affected.source_objects,
                    pieces: pieces.len(),
                };
                let clean = Proof {
                    failure: None,
                    not_handled: Vec::new(),
                };
                return Ok((clean, copy));
            }
        }
    }
    let mut copy = new_database(cluster, project, "dbsage_proof")?;
    ensure_roles(&mut copy, &[start, target])?;
    let empty = read(&mut copy, options, "an empty database")?;
    let proof = prove_rebuilt(&mut copy, &empty, plan, (start, target), options)?;
    Ok((proof, ProofCopy::whole(start)))
}

/// Each piece of the affected part on a database of its own (`spare`, at least one per
/// piece), concurrently: its objects rebuilt, its statements applied, the result compared
/// with the target's same objects.
pub fn prove_pieces(
    plan: &Plan,
    (start, target): (&Catalog, &Catalog),
    pieces: &[crate::scope::Piece],
    spare: SpareDatabases,
    options: &ReadOptions,
) -> Result<Vec<Proof>> {
    let SpareDatabases { mut clients, empty } = spare;
    // Before the threads: roles belong to the whole cluster.
    if let Some(first) = clients.first_mut() {
        ensure_roles(first, &[start, target])?;
    }
    let empty = &empty;
    std::thread::scope(|scope| {
        let threads: Vec<_> = pieces
            .iter()
            .zip(clients)
            .map(|(piece, mut client)| {
                scope.spawn(move || {
                    let part = crate::scope::restrict(start, &piece.objects);
                    let target_part = crate::scope::restrict(target, &piece.objects);
                    let statements = piece
                        .statements
                        .iter()
                        .map(|&i| plan.statements[i].clone())
                        .collect();
                    let piece_plan = Plan {
                        statements,
                        possible_renames: Vec::new(),
                    };
                    prove_rebuilt(
                        &mut client,
                        empty,
                        &piece_plan,
                        (&part, &target_part),
                        options,
                    )
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// A new empty database on `cluster`, with the Supabase layer on a Supabase project.
fn new_database(cluster: &Cluster, project: &Project, name: &str) -> Result<Client> {
    cluster.create_database(name)?;
    let mut client = cluster.connect(name)?;
    if project.is_supabase() {
        dbsage_core::supabase_layer::install(&mut client, project)?;
    }
    Ok(client)
}

/// `start` built through the engine on the empty database `copy` (whose catalog is
/// `empty`), then the plan applied on it and the result compared with `target`; what the
/// build itself missed is reported too.
fn prove_rebuilt(
    copy: &mut Client,
    empty: &Catalog,
    plan: &Plan,
    (start, target): (&Catalog, &Catalog),
    options: &ReadOptions,
) -> Result<Proof> {
    let (_, left) = rebuild_from(copy, empty, start, options)?;
    let mut proof = prove(copy, plan, target, options)
        .map_err(|e| Error::db("reading the schema after the plan", e))?;
    for difference in left {
        if !proof.not_handled.contains(&difference) {
            proof.not_handled.push(difference);
        }
    }
    Ok(proof)
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
    with_dependencies: bool,
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
    let dependencies = if with_dependencies {
        let read = Dependencies::read(&mut client).map_err(|e| {
            Error::db(
                format!("reading the dependencies of {}", side.describe()),
                e,
            )
        })?;
        Some(read)
    } else {
        None
    };
    Ok(Built {
        client: (!matches!(side, Side::Environment(_))).then_some(client),
        catalog,
        dependencies,
        build_ms,
        read_ms: millis(started) - build_ms,
    })
}

//! `dbsage restore`: a backup onto an environment's server, into a new database (default) or in
//! place (`--replace`, after a fresh backup of the target), then verified like `backup verify`.
//! The gate for protected environments is the caller's (the CLI asks for the typed name).

use std::path::Path;

use dbsage_core::config::Project;
use dbsage_core::env::Target;

use crate::compare::{Comparison, USER_SCHEMAS};
use crate::dump::{BackupOptions, Progress, SUPABASE_MANAGED_SCHEMAS};
use crate::endpoint::Endpoint;
use crate::manifest::{Manifest, DUMP_DIR, ROLES_FILE};
use crate::pg_restore::RestoreError;
use crate::roles::RolesOutcome;

#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The new database's name (default `<database>_restored_<id>`).
    pub into: Option<String>,
    /// Drop and recreate the environment's own database.
    pub replace: bool,
    pub jobs: u32,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreReport {
    pub id: String,
    pub database: String,
    pub replaced: bool,
    /// The backup of the target taken before `--replace` dropped it.
    pub safety_backup: Option<String>,
    pub roles: RolesOutcome,
    pub restore_ms: u64,
    /// Errors a managed platform always gives (ownership of objects it owns).
    pub expected_errors: Vec<RestoreError>,
    pub failures: Vec<RestoreError>,
    pub comparison: Comparison,
    /// How to start using the restored database.
    pub switch: Vec<String>,
    pub ok: bool,
}

/// The database name `restore` uses when none is given.
pub fn default_name(manifest: &Manifest) -> String {
    let id: String = manifest
        .id
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{}_restored_{id}", manifest.database)
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub fn restore(
    project: &Project,
    target: &Target,
    dir: &Path,
    options: &RestoreOptions,
    progress: &dyn Progress,
) -> dbsage_core::Result<RestoreReport> {
    let manifest = Manifest::read(dir)?;
    let problems = crate::files::check(dir, &manifest);
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
        return Err(crate::failed(
            format!(
                "backup {} is damaged, nothing was restored:\n  {}",
                manifest.id,
                list.join("\n  ")
            ),
            "restore another backup (`dbsage backup list`)",
        ));
    }
    if manifest.content == "data-only" {
        return Err(crate::config_error(
            format!(
                "backup {} is data-only: it has no schema to restore",
                manifest.id
            ),
            "restore a full backup",
        ));
    }
    let db = |what: &'static str| move |e| dbsage_core::Error::db(what, e);
    let mut client = target.connect(project, "dbsage restore")?;
    let row = client
        .query_one(
            "select current_setting('server_version'), current_setting('server_version_num')::int,
                    current_database()::text,
                    (select pg_get_userbyid(datdba)::text from pg_database where datname = current_database())",
            &[],
        )
        .map_err(db("reading the server version"))?;
    let (server_version, server_num, current, owner): (String, i32, String, String) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    let server_major = (server_num / 10000) as u32;
    if server_major < manifest.server_major {
        return Err(crate::verify::older_server(
            &manifest,
            &format!("`{}` runs PostgreSQL {server_version}", target.name),
        ));
    }
    let tools = crate::tools::find(manifest.pg_dump_major.max(server_major), &["pg_restore"])?;

    let mut safety_backup = None;
    let database = if options.replace {
        progress.step(&format!("backing up `{}` before replacing it", target.name));
        let taken = crate::dump::backup(
            project,
            target,
            &BackupOptions {
                jobs: options.jobs,
                ..BackupOptions::default()
            },
            progress,
        )?;
        safety_backup = Some(taken.manifest.id.clone());
        drop(client);
        // A session on another database of the server: one cannot drop the database one is in.
        let maintenance = if current == "postgres" {
            "template1"
        } else {
            "postgres"
        };
        let mut admin = connect_to(project, target, maintenance)?;
        // Two statements: DROP DATABASE cannot share a (multi-statement) transaction.
        for statement in [
            format!("DROP DATABASE {} WITH (FORCE)", quote(&current)),
            format!(
                "CREATE DATABASE {} OWNER {}",
                quote(&current),
                quote(&owner)
            ),
        ] {
            admin
                .batch_execute(&statement)
                .map_err(db("dropping and recreating the database"))?;
        }
        client = admin;
        current.clone()
    } else {
        let name = options
            .into
            .clone()
            .unwrap_or_else(|| default_name(&manifest));
        let exists: bool = client
            .query_one(
                "select exists (select 1 from pg_database where datname = $1)",
                &[&name],
            )
            .map_err(db("looking for the database"))?
            .get(0);
        if exists {
            // An empty one (made by hand, or by a platform where dbsage may not CREATE DATABASE)
            // is restored into; one that holds anything is never written over.
            let held = contents(&mut connect_to(project, target, &name)?)
                .map_err(db("reading what the database holds"))?;
            if !held.is_empty() {
                return Err(crate::config_error(
                    format!(
                        "database `{name}` already exists on `{}` and is not empty ({}): restore writes only into a new or empty database",
                        target.name,
                        held.join(", ")
                    ),
                    "name another with --into NAME, drop it first, or use --replace to restore over the environment's own database (it is backed up first)",
                ));
            }
        } else {
            client
                .batch_execute(&format!("CREATE DATABASE {}", quote(&name)))
                .map_err(db("creating the database to restore into"))?;
        }
        name
    };

    // Past this point a failure after --replace leaves the target dropped: say where its
    // content went.
    let safety_note = |e: dbsage_core::Error| match &safety_backup {
        Some(id) => crate::failed(
            format!("{e}\n`{current}` was dropped before this failed; its content is backup {id}"),
            format!(
                "put it back with `dbsage restore {id} --env {} --replace`",
                target.name
            ),
        ),
        None => e,
    };
    let restored = (|| -> dbsage_core::Result<_> {
        progress.step("restoring");
        let started = std::time::Instant::now();
        let roles_sql = std::fs::read_to_string(dir.join(ROLES_FILE)).unwrap_or_default();
        let roles = crate::roles::apply(&mut client, &roles_sql)
            .map_err(db("creating the backup's roles"))?;
        let endpoint = Endpoint::for_target(project, target)?
            .with_database(&database)
            .map_err(|e| dbsage_core::Error::io("preparing pg_restore's passfile", e))?;
        let run = crate::pg_restore::run(&tools, &endpoint, &dir.join(DUMP_DIR), options.jobs)?;
        let restore_ms = started.elapsed().as_millis() as u64;
        let managed: Vec<String> = SUPABASE_MANAGED_SCHEMAS
            .iter()
            .map(|s| s.to_string())
            .chain(manifest.excluded_schemas.iter().cloned())
            .collect();
        let (expected_errors, failures): (Vec<_>, Vec<_>) = run
            .errors
            .into_iter()
            .partition(|e| e.expected_on_managed(&managed));

        progress.step("verifying the restored database");
        let mut restored = connect_to(project, target, &database)?;
        let mut other = connect_to(project, target, &database)?;
        let comparison = crate::compare::compare(&mut restored, &mut other, &manifest)
            .map_err(db("comparing the restored database"))?;
        Ok((roles, restore_ms, expected_errors, failures, comparison))
    })();
    let (roles, restore_ms, expected_errors, failures, comparison) =
        restored.map_err(safety_note)?;
    let switch = if options.replace {
        vec![format!(
            "`{}` now holds backup {}; its previous content is backup {}",
            current,
            manifest.id,
            safety_backup.clone().unwrap_or_default()
        )]
    } else {
        vec![
            format!("point the application at database `{database}`, or swap the names (needs no session on either):"),
            format!("  ALTER DATABASE {} RENAME TO {};", quote(&current), quote(&format!("{current}_old"))),
            format!("  ALTER DATABASE {} RENAME TO {};", quote(&database), quote(&current)),
        ]
    };
    let ok = failures.is_empty() && comparison.problems.is_empty();
    Ok(RestoreReport {
        id: manifest.id.clone(),
        database,
        replaced: options.replace,
        safety_backup,
        roles,
        restore_ms,
        expected_errors,
        failures,
        comparison,
        switch,
        ok,
    })
}

/// A session on another database of the environment's server. The dev cluster has no URL in
/// dbsage.toml: its own connection settings are used, with that database.
fn connect_to(
    project: &Project,
    target: &Target,
    database: &str,
) -> dbsage_core::Result<postgres::Client> {
    if !target.is_dev() {
        return target
            .with_database(database)?
            .connect(project, "dbsage restore");
    }
    let vars = target.libpq_env(project)?;
    let var = |k: &str| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut config = postgres::Config::new();
    config
        .host(&var("PGHOST"))
        .port(var("PGPORT").parse().unwrap_or(5432))
        .user(&var("PGUSER"))
        .password(var("PGPASSWORD"))
        .dbname(database)
        .application_name("dbsage restore");
    config.connect(postgres::NoTls).map_err(|e| {
        dbsage_core::Error::db(
            format!("connecting to database `{database}` of the dev cluster"),
            e,
        )
    })
}

/// What a database holds besides the system's: relations and routines of its own, a few named.
fn contents(client: &mut postgres::Client) -> Result<Vec<String>, postgres::Error> {
    let row = client.query_one(
        &format!(
            "select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
                      where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') and {USER_SCHEMAS}
                        and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                                          and d.objid = c.oid and d.deptype = 'e')),
                    (select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                      where {USER_SCHEMAS}
                        and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass
                                          and d.objid = p.oid and d.deptype = 'e')),
                    array(select format('%I.%I', n.nspname, c.relname) from pg_class c
                            join pg_namespace n on n.oid = c.relnamespace
                           where c.relkind in ('r', 'p') and {USER_SCHEMAS} order by 1 limit 3)"
        ),
        &[],
    )?;
    let (relations, routines, some): (i64, i64, Vec<String>) = (row.get(0), row.get(1), row.get(2));
    let mut held = Vec::new();
    if relations > 0 {
        let named = if some.is_empty() {
            String::new()
        } else {
            format!(": {}", some.join(", "))
        };
        held.push(format!("{relations} tables, views or sequences{named}"));
    }
    if routines > 0 {
        held.push(format!("{routines} functions"));
    }
    Ok(held)
}

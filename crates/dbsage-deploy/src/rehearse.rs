//! `--rehearse`: a throwaway cluster restored from the target's latest backup (schema and
//! data; one is taken when there is none), where the deploy's changing steps run first. Each
//! migration's locks are read from `pg_locks` inside its own transaction, at its end, by a
//! trigger on the copy's history table: every lock a transaction takes is held until it
//! commits, so that moment sees all of them.

use std::path::PathBuf;
use std::time::Instant;

use dbsage_backup::manifest::{Manifest, DUMP_DIR, ROLES_FILE};
use dbsage_cluster::Cluster;
use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::migrations::MigrationFile;
use postgres::Client;

use crate::backup::BackupInfo;
use crate::migrate::MigrationRun;
use crate::step::{StepReport, StepStatus};

pub const LOCK_METHOD: &str = "read from pg_locks inside each migration's transaction at its end (a trigger on the throwaway copy's history table); no-transaction migrations release theirs statement by statement and show none";

/// The restored copy.
pub struct Copy {
    pub cluster: Cluster,
    pub database: String,
    pub client: Client,
}

pub fn restore_copy(
    project: &Project,
    target: &Target,
    files: &[MigrationFile],
) -> dbsage_core::Result<(Copy, BackupInfo, StepReport)> {
    let started = Instant::now();
    let latest = dbsage_backup::list(project, Some(&target.name))?
        .into_iter()
        .find(|b| b.state == "complete" && b.content.as_deref() != Some("data-only"));
    let (dir, taken) = match latest {
        Some(b) => (b.dir, false),
        None => (
            crate::backup::take(project, target)?.1.dir.expect("taken"),
            true,
        ),
    };
    let manifest = Manifest::read(&dir)?;
    let cluster = dbsage_core::server_settings::start_throwaway(project, files)?;
    let database = if manifest.database == "postgres" {
        "postgres".to_string()
    } else {
        cluster.create_database(&manifest.database)?;
        manifest.database.clone()
    };
    let local_major = cluster.install().major;
    let tools =
        dbsage_backup::tools::find(manifest.pg_dump_major.max(local_major), &["pg_restore"])?;
    let roles_sql = std::fs::read_to_string(dir.join(ROLES_FILE)).unwrap_or_default();
    let mut admin = cluster.connect("postgres")?;
    dbsage_backup::roles::apply(&mut admin, &roles_sql)
        .map_err(|e| dbsage_core::Error::db("creating the backup's roles on the copy", e))?;
    drop(admin);
    let run = dbsage_backup::pg_restore::run(
        &tools,
        &dbsage_backup::endpoint::Endpoint::for_cluster(&cluster, &database),
        &dir.join(DUMP_DIR),
        2,
    )?;
    let client = cluster.connect(&database)?;
    let mut step = StepReport::new(
        "rehearse.restore",
        StepStatus::Passed,
        format!(
            "{} backup {} restored on a throwaway PostgreSQL {} in {} ms",
            if taken { "took" } else { "latest" },
            manifest.id,
            cluster.install().version,
            run.elapsed.as_millis()
        ),
    );
    if !run.errors.is_empty() {
        step.details = run
            .errors
            .iter()
            .map(|e| format!("pg_restore: {}", e.message))
            .collect();
    }
    step.duration_ms = started.elapsed().as_millis() as u64;
    let info = BackupInfo {
        id: Some(manifest.id.clone()),
        dir: Some(PathBuf::from(&dir)),
        total_bytes: Some(manifest.total_bytes),
        skipped: None,
    };
    Ok((
        Copy {
            cluster,
            database,
            client,
        },
        info,
        step,
    ))
}

/// The trigger that records each migration's locks on the copy.
pub struct LockRecorder;

impl LockRecorder {
    pub fn install(client: &mut Client, project: &Project) -> dbsage_core::Result<LockRecorder> {
        let table = project.history_table();
        dbsage_core::history::ensure(client, &table)?;
        let history = table.qualified();
        client
            .batch_execute(&format!(
                "create schema dbsage_rehearsal;
                 create table dbsage_rehearsal.locks (version text, relation text, mode text);
                 create function dbsage_rehearsal.record_locks() returns trigger language plpgsql as $f$
                 begin
                   insert into dbsage_rehearsal.locks
                   select distinct new.version, l.relation::regclass::text, l.mode
                   from pg_locks l
                   join pg_class c on c.oid = l.relation
                   join pg_namespace n on n.oid = c.relnamespace
                   where l.pid = pg_backend_pid() and l.locktype = 'relation' and l.granted
                     and n.nspname not in ('pg_catalog', 'information_schema', 'dbsage_rehearsal', {schema});
                   return new;
                 end $f$;
                 create trigger dbsage_rehearsal_locks after insert on {history}
                   for each row execute function dbsage_rehearsal.record_locks();",
                schema = quote_literal(&table.schema),
            ))
            .map_err(|e| dbsage_core::Error::db("installing the lock recorder on the copy", e))?;
        Ok(LockRecorder)
    }

    /// Fills each migration's `locks` with `mode on relation`.
    pub fn attach(&self, client: &mut Client, runs: &mut [MigrationRun]) {
        let Ok(rows) = client.query(
            "select version, relation, mode from dbsage_rehearsal.locks order by version, relation, mode",
            &[],
        ) else {
            return;
        };
        for run in runs.iter_mut() {
            run.locks = rows
                .iter()
                .filter(|r| r.get::<_, String>(0) == run.version)
                .map(|r| format!("{} on {}", r.get::<_, String>(2), r.get::<_, String>(1)))
                .collect();
        }
    }
}

fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

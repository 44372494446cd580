//! The other tools' history tables: importing what they applied, and keeping the Supabase CLI's
//! table in step with what dbsage applies.
//!
//! Importing is what makes adoption safe on an existing database: every version the other tool
//! recorded is written into dbsage's history as applied, so nothing runs twice.

use postgres::GenericClient;

use crate::error::AdoptError;
use crate::layout::Layout;
use crate::read::{compare_versions, same_version, AdoptedMigration};

/// One version the other tool recorded as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedVersion {
    /// As the tool stored it (sqlx: the bigint as text, so `0001_x.sql` shows as `1`).
    pub version: String,
    /// The tool's name or description; `None` when it records none (dbmate, old Supabase CLIs).
    pub name: Option<String>,
    /// The tool's checksum, hex for sqlx (SHA-384 of the file), decimal for Flyway (CRC32);
    /// Supabase and dbmate have none. Different algorithms from dbsage's: informational.
    pub checksum: Option<String>,
    /// A Flyway baseline: every migration at or below this version counts as applied.
    pub baseline: bool,
}

/// Reads `layout`'s history table on the database `client` is connected to. An absent table
/// means the tool never ran there: an empty list, not an error. Only successful applications
/// count; for Flyway, undone and deleted versions are dropped again.
pub fn import_history(
    client: &mut postgres::Client,
    layout: Layout,
) -> Result<Vec<ImportedVersion>, AdoptError> {
    let exists: bool = client
        .query_one(
            "select to_regclass($1) is not null",
            &[&layout.history_table()],
        )?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let mut imported = match layout {
        Layout::Supabase => import_rows(
            client,
            "select version, name, null::text from supabase_migrations.schema_migrations",
        )?,
        Layout::Dbmate => import_rows(
            client,
            "select version::text, null::text, null::text from schema_migrations",
        )?,
        Layout::Sqlx => import_rows(
            client,
            "select version::text, description, encode(checksum, 'hex') from _sqlx_migrations \
             where success",
        )?,
        Layout::Flyway => import_flyway(client)?,
        Layout::Prisma => import_prisma(client)?,
        Layout::Diesel => import_rows(
            client,
            "select version::text, null::text, null::text from __diesel_schema_migrations",
        )?,
        Layout::GolangMigrate => import_golang_migrate(client)?,
        Layout::Drizzle => import_drizzle(client)?,
    };
    imported.sort_by(|a, b| compare_versions(&a.version, &b.version));
    Ok(imported)
}

fn import_rows(
    client: &mut postgres::Client,
    sql: &str,
) -> Result<Vec<ImportedVersion>, AdoptError> {
    Ok(client
        .query(sql, &[])?
        .iter()
        .map(|row| ImportedVersion {
            version: row.get(0),
            name: row.get(1),
            checksum: row.get(2),
            baseline: false,
        })
        .collect())
}

/// Flyway's table is an event log ordered by `installed_rank`: applications (`SQL`, `JDBC`, …),
/// a `BASELINE` marker, a `SCHEMA` marker (Flyway created the schema), and in newer versions
/// `UNDO_*` and `DELETE` rows that take a version back out. Replaying it yields what is applied.
fn import_flyway(client: &mut postgres::Client) -> Result<Vec<ImportedVersion>, AdoptError> {
    let rows = client.query(
        "select version, description, checksum::text, type from flyway_schema_history \
         where success and version is not null order by installed_rank",
        &[],
    )?;
    let mut applied: Vec<ImportedVersion> = Vec::new();
    for row in rows {
        let version: String = row.get(0);
        let kind: String = row.get(3);
        if kind == "SCHEMA" {
            continue;
        }
        applied.retain(|v| !same_version(&v.version, &version));
        if kind.starts_with("UNDO") || kind == "DELETE" {
            continue;
        }
        applied.push(ImportedVersion {
            version,
            name: row.get(1),
            checksum: row.get(2),
            baseline: kind == "BASELINE",
        });
    }
    Ok(applied)
}

/// Prisma records one row per attempt: applied means finished and not rolled back. The version
/// is the folder name's timestamp, the name the rest (`20240101120000_init`).
fn import_prisma(client: &mut postgres::Client) -> Result<Vec<ImportedVersion>, AdoptError> {
    let rows = client.query(
        "select migration_name, checksum from _prisma_migrations \
         where finished_at is not null and rolled_back_at is null",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|row| {
            let folder: String = row.get(0);
            let (version, name) = folder.split_once('_').unwrap_or((folder.as_str(), ""));
            ImportedVersion {
                version: version.to_string(),
                name: Some(name.to_string()),
                checksum: row.get(1),
                baseline: false,
            }
        })
        .collect())
}

/// golang-migrate keeps a single row: the newest applied version, every one at or below it
/// applied (a baseline). A dirty row means a migration stopped midway: refuse.
fn import_golang_migrate(
    client: &mut postgres::Client,
) -> Result<Vec<ImportedVersion>, AdoptError> {
    let rows = client.query(
        "select version::text, dirty from schema_migrations order by version desc limit 1",
        &[],
    )?;
    let Some(row) = rows.first() else {
        return Ok(Vec::new());
    };
    let version: String = row.get(0);
    if row.get::<_, bool>(1) {
        return Err(AdoptError::Dirty { version });
    }
    Ok(vec![ImportedVersion {
        version,
        name: None,
        checksum: None,
        baseline: true,
    }])
}

/// Drizzle applies every journal entry whose `when` is later than the newest `created_at` it
/// recorded; dbsage's Drizzle versions are those `when` values, so that newest value is a
/// baseline.
fn import_drizzle(client: &mut postgres::Client) -> Result<Vec<ImportedVersion>, AdoptError> {
    let newest: Option<i64> = client
        .query_one(
            "select max(created_at) from drizzle.__drizzle_migrations",
            &[],
        )?
        .get(0);
    Ok(newest
        .map(|when| ImportedVersion {
            version: when.to_string(),
            name: None,
            checksum: None,
            baseline: true,
        })
        .into_iter()
        .collect())
}

/// How an adopted project's files line up with the imported history.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryMatch {
    /// Versions of files to record in dbsage's history as applied (never run them).
    pub applied: Vec<String>,
    /// Versions of files the other tool has not applied: dbsage applies them.
    pub pending: Vec<String>,
    /// Versions the other tool applied that have no file (the Supabase CLI's "remote migration
    /// versions not found in local directory"): the lead decides; never silently ignored.
    pub missing_on_disk: Vec<ImportedVersion>,
}

/// Matches files to imported history by version, comparing the way the tools do (`0001` is the
/// sqlx row `1`; Flyway's `1.0` is `1`), and honouring a Flyway baseline.
pub fn match_history(
    migrations: &[AdoptedMigration],
    imported: &[ImportedVersion],
) -> HistoryMatch {
    let baseline = imported
        .iter()
        .filter(|v| v.baseline)
        .map(|v| v.version.as_str())
        .max_by(|a, b| compare_versions(a, b));
    let mut result = HistoryMatch::default();
    for migration in migrations {
        let recorded = imported
            .iter()
            .any(|v| !v.baseline && same_version(&v.version, &migration.version));
        let below_baseline = baseline.is_some_and(|b| {
            compare_versions(&migration.version, b) != std::cmp::Ordering::Greater
        });
        if recorded || below_baseline {
            result.applied.push(migration.version.clone());
        } else {
            result.pending.push(migration.version.clone());
        }
    }
    result.missing_on_disk = imported
        .iter()
        .filter(|v| !v.baseline)
        .filter(|v| {
            !migrations
                .iter()
                .any(|m| same_version(&m.version, &v.version))
        })
        .cloned()
        .collect();
    result
}

/// Creates the Supabase CLI's history table when missing, with the columns the CLI adds over
/// its versions. The same DDL as the compatibility layer's.
const ENSURE_SUPABASE_HISTORY: &str = "
    create schema if not exists supabase_migrations;
    create table if not exists supabase_migrations.schema_migrations (version text primary key);
    alter table supabase_migrations.schema_migrations add column if not exists statements text[];
    alter table supabase_migrations.schema_migrations add column if not exists name text;
";

/// Records (or updates) `version` in `supabase_migrations.schema_migrations`, creating the table
/// if needed, so `supabase migration list` and the dashboard agree with dbsage. Call it in the
/// migration's own transaction: the row then exists exactly when the migration committed.
/// `statements` is what the CLI stores: the migration's statements, one per element.
pub fn record_supabase_history(
    tx: &mut impl GenericClient,
    version: &str,
    name: &str,
    statements: &[String],
) -> Result<(), postgres::Error> {
    tx.batch_execute(ENSURE_SUPABASE_HISTORY)?;
    tx.execute(
        "insert into supabase_migrations.schema_migrations (version, name, statements)
         values ($1, $2, $3)
         on conflict (version) do update set name = excluded.name, statements = excluded.statements",
        &[&version, &name, &statements],
    )?;
    Ok(())
}

//! Writing the other tool's history row when dbsage applies a migration, so the team can switch
//! back to that tool (or run it beside dbsage) without it re-applying anything.
//!
//! Each function creates the table the way the tool does when it is missing, and is called in
//! the transaction that records the migration in dbsage's own history.

use postgres::GenericClient;
use sha2::{Digest, Sha256};

use crate::layout::Layout;

/// The migration dbsage just applied, as the other tool names it.
#[derive(Debug, Clone, Copy)]
pub struct AppliedFile<'a> {
    pub version: &'a str,
    pub name: &'a str,
    /// The up file's text as on disk (Prisma checksums it).
    pub text: &'a str,
}

/// Whether dbsage keeps `layout`'s history table in step (the Supabase CLI's is written by
/// [`crate::record_supabase_history`], which needs the statements).
pub fn keeps_in_step(layout: Layout) -> bool {
    matches!(
        layout,
        Layout::Prisma | Layout::Diesel | Layout::GolangMigrate | Layout::Drizzle
    )
}

/// Records `file` in `layout`'s history table; does nothing for layouts not kept in step.
pub fn record_tool_history(
    tx: &mut impl GenericClient,
    layout: Layout,
    file: AppliedFile,
) -> Result<(), postgres::Error> {
    match layout {
        Layout::Prisma => record_prisma(tx, file),
        Layout::Diesel => record_diesel(tx, file),
        Layout::GolangMigrate => record_golang_migrate(tx, file),
        Layout::Drizzle => record_drizzle(tx, file),
        _ => Ok(()),
    }
}

/// Prisma's table as `prisma migrate` creates it; the checksum is the SHA-256 (hex) of
/// `migration.sql`, which `prisma migrate` compares to warn about edited migrations.
fn record_prisma(tx: &mut impl GenericClient, file: AppliedFile) -> Result<(), postgres::Error> {
    tx.batch_execute(
        "create table if not exists _prisma_migrations (
            id varchar(36) primary key not null,
            checksum varchar(64) not null,
            finished_at timestamptz,
            migration_name varchar(255) not null,
            logs text,
            rolled_back_at timestamptz,
            started_at timestamptz not null default now(),
            applied_steps_count integer not null default 0
        )",
    )?;
    let checksum = hex::encode(Sha256::digest(file.text.as_bytes()));
    let folder = format!("{}_{}", file.version, file.name);
    tx.execute(
        "insert into _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)
         values (gen_random_uuid()::text, $1, now(), $2, 1)",
        &[&checksum, &folder],
    )?;
    Ok(())
}

/// Drizzle's table: the file's SHA-256 (hex) and its journal `when`, dbsage's Drizzle version.
fn record_drizzle(tx: &mut impl GenericClient, file: AppliedFile) -> Result<(), postgres::Error> {
    tx.batch_execute(
        "create schema if not exists drizzle;
         create table if not exists drizzle.__drizzle_migrations (
            id serial primary key,
            hash text not null,
            created_at bigint
         )",
    )?;
    let hash = hex::encode(Sha256::digest(file.text.as_bytes()));
    tx.execute(
        "insert into drizzle.__drizzle_migrations (hash, created_at) values ($1, $2::text::bigint)",
        &[&hash, &file.version],
    )?;
    Ok(())
}

/// diesel's table; its version is the folder's digits (`2024-01-15-093000` → `20240115093000`).
fn record_diesel(tx: &mut impl GenericClient, file: AppliedFile) -> Result<(), postgres::Error> {
    tx.batch_execute(
        "create table if not exists __diesel_schema_migrations (
            version varchar(50) primary key not null,
            run_on timestamp not null default current_timestamp
        )",
    )?;
    tx.execute(
        "insert into __diesel_schema_migrations (version) values ($1) on conflict do nothing",
        &[&file.version],
    )?;
    Ok(())
}

/// golang-migrate keeps one row, the newest version; an older version applied out of order
/// leaves it as it is.
fn record_golang_migrate(
    tx: &mut impl GenericClient,
    file: AppliedFile,
) -> Result<(), postgres::Error> {
    tx.batch_execute(
        "create table if not exists schema_migrations (
            version bigint not null primary key,
            dirty boolean not null
        )",
    )?;
    let newer: bool = tx
        .query_one(
            "select coalesce(max(version) <= $1::text::bigint, true) from schema_migrations",
            &[&file.version],
        )?
        .get(0);
    if newer {
        tx.execute("delete from schema_migrations", &[])?;
        tx.execute(
            "insert into schema_migrations (version, dirty) values ($1::text::bigint, false)",
            &[&file.version],
        )?;
    }
    Ok(())
}

/// Undoes [`record_tool_history`] when dbsage rolls `file` back, in the rollback's transaction,
/// so the other tool sees it as not applied. `previous` is the newest version still applied
/// (golang-migrate keeps only that one row). Missing tables are left missing.
pub fn forget_tool_history(
    tx: &mut impl GenericClient,
    layout: Layout,
    file: AppliedFile,
    previous: Option<&str>,
) -> Result<(), postgres::Error> {
    let table = match layout {
        Layout::Prisma => "_prisma_migrations",
        Layout::Diesel => "__diesel_schema_migrations",
        Layout::GolangMigrate => "schema_migrations",
        Layout::Drizzle => "drizzle.__drizzle_migrations",
        _ => return Ok(()),
    };
    let exists: bool = tx
        .query_one("select to_regclass($1) is not null", &[&table])?
        .get(0);
    if !exists {
        return Ok(());
    }
    match layout {
        // Deleted rather than marked `rolled_back_at`: `prisma migrate resolve --rolled-back`
        // is for failed runs, and a rolled-back row keeps its checksum (Prisma then warns the
        // file was modified); with no row, `prisma migrate status` lists it as not applied.
        Layout::Prisma => tx.execute(
            "delete from _prisma_migrations where migration_name = $1",
            &[&format!("{}_{}", file.version, file.name)],
        )?,
        Layout::Diesel => tx.execute(
            "delete from __diesel_schema_migrations where version = $1",
            &[&file.version],
        )?,
        Layout::Drizzle => tx.execute(
            "delete from drizzle.__drizzle_migrations where created_at = $1::text::bigint",
            &[&file.version],
        )?,
        Layout::GolangMigrate => forget_golang_migrate(tx, file.version, previous)?,
        _ => 0,
    };
    Ok(())
}

/// golang-migrate's single row moves back to `previous` (deleted when none is left); a row that
/// names another version (an older file rolled back out of order) is left as it is.
fn forget_golang_migrate(
    tx: &mut impl GenericClient,
    version: &str,
    previous: Option<&str>,
) -> Result<u64, postgres::Error> {
    match previous {
        Some(previous) => tx.execute(
            "update schema_migrations set version = $2::text::bigint, dirty = false
             where version = $1::text::bigint",
            &[&version, &previous],
        ),
        None => tx.execute(
            "delete from schema_migrations where version = $1::text::bigint",
            &[&version],
        ),
    }
}

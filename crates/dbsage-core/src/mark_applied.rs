//! `repair --mark-applied VERSION --reason TEXT`: record a migration someone applied by hand
//! (a baseline, a hotfix run in psql) as applied, with the file's checksums, audited. Nothing of
//! the file runs. Other tools' histories kept in step (Prisma, Drizzle, diesel, golang-migrate,
//! Supabase's) get their row as `migrate` would write it.

use postgres::Client;

use crate::config::Project;
use crate::error::{Error, Result};
use crate::history;
use crate::migrations::MigrationFile;
use crate::rollback::{require_reason, with_migration_lock, Repaired};

pub fn mark_applied(
    client: &mut Client,
    project: &Project,
    files: &[MigrationFile],
    version: &str,
    reason: &str,
) -> Result<Repaired> {
    require_reason(reason)?;
    let file = files
        .iter()
        .find(|f| f.version == version)
        .ok_or_else(|| Error::Config {
            message: format!("no migration file has version {version}"),
            hint: "--mark-applied records a file of migrations/ as applied: use a pending version from `dbsage status`".into(),
        })?;
    let table = project.history_table();
    with_migration_lock(client, project, |client| {
        // A database that never saw dbsage (the usual baseline) gets its history tables now.
        history::ensure(client, &table)?;
        if let Some(row) = history::read(client, &table)?
            .into_iter()
            .find(|r| r.version == version)
        {
            return Err(Error::Config {
                message: format!(
                    "{} is already recorded as applied (at {} by {})",
                    file.label(),
                    row.applied_at,
                    row.applied_by
                ),
                hint: "`dbsage status` shows what is applied; an edited file needs --accept-checksum instead".into(),
            });
        }
        // Parsed before the transaction: the Supabase CLI's row lists the statements.
        let parsed = crate::migrate::parse_migration(&file.path, &file.text)?;
        let mut tx = client
            .transaction()
            .map_err(|e| Error::db("starting a transaction", e))?;
        // The adopted tool's own history gets its row too, as `migrate` writes it: otherwise
        // that tool would re-apply the file.
        crate::migrate::record_in_other_tools(
            &mut tx,
            file,
            &parsed,
            crate::migrate::KeepInStep::of(project),
        )?;
        tx.execute(
            &format!(
                "insert into {} (version, name, checksum, duration_ms, down_checksum) values ($1, $2, $3, 0, $4)",
                table.qualified()
            ),
            &[&version, &file.name, &file.checksum, &file.down_checksum()],
        )
        .map_err(|e| Error::db("recording the migration as applied", e))?;
        history::record_event(
            &mut tx,
            &table,
            Some(version),
            Some(&file.name),
            "marked_applied",
            Some(reason),
            Some(serde_json::json!({ "checksum": file.checksum, "ran": false })),
        )?;
        tx.commit()
            .map_err(|e| Error::db("committing the repair", e))?;
        Ok(Repaired {
            version: version.into(),
            action: "marked_applied".into(),
            old_checksum: String::new(),
            new_checksum: Some(file.checksum.clone()),
        })
    })
}

//! After a failed smoke test or post-check: undo the migrations just applied with their down
//! files (`[deploy] rollback_on_failure`, only when every one has one), or say exactly how to.

use dbsage_core::config::Project;
use dbsage_core::migrations::MigrationFile;
use dbsage_core::rollback::RolledBack;
use postgres::Client;

use crate::backup::BackupInfo;
use crate::migrate::MigrationRun;

/// True when every migration just applied has a down file.
pub fn all_have_down_files(files: &[MigrationFile], applied: &[MigrationRun]) -> bool {
    applied.iter().all(|a| {
        files
            .iter()
            .any(|f| f.version == a.version && f.down.is_some())
    })
}

/// Rolls back the migrations just applied, newest first (the caller checked every one has a
/// down file).
pub fn undo(
    client: &mut Client,
    project: &Project,
    files: &[MigrationFile],
    applied: &[MigrationRun],
) -> dbsage_core::Result<Vec<RolledBack>> {
    let outcome = dbsage_core::rollback::rollback(client, project, files, applied.len(), false)?;
    Ok(outcome.rolled_back)
}

/// The commands that undo this deploy now, most direct first.
pub fn commands(
    project: &Project,
    environment: &str,
    files: &[MigrationFile],
    applied: &[MigrationRun],
    backup: &BackupInfo,
) -> Vec<String> {
    let mut commands = Vec::new();
    if applied.is_empty() {
        return commands;
    }
    let with_down: Vec<&MigrationFile> = applied
        .iter()
        .rev()
        .filter_map(|a| files.iter().find(|f| f.version == a.version))
        .take_while(|f| f.down.is_some())
        .collect();
    if !with_down.is_empty() {
        let downs: Vec<String> = with_down
            .iter()
            .map(|f| relative(project, &f.down.as_ref().unwrap().path))
            .collect();
        commands.push(format!(
            "dbsage rollback --env {environment} --steps {}   # runs {}",
            with_down.len(),
            downs.join(", ")
        ));
    }
    for run in applied.iter().rev().skip(with_down.len()) {
        let Some(file) = files.iter().find(|f| f.version == run.version) else {
            continue;
        };
        let Ok(parsed) = dbsage_core::migrate::parse_migration(&file.path, &file.text) else {
            continue;
        };
        let guidance = dbsage_core::reverse::reverse(&file.text, &parsed);
        let mut line = format!(
            "{} has no down file: `dbsage rollback --env {environment} --steps 1 --write` writes its reverse as a new migration",
            file.label()
        );
        if !guidance.statements.is_empty() {
            line.push_str(&format!(" — reverse: {}", guidance.statements.join(" ")));
        }
        for i in &guidance.irreversible {
            line.push_str(&format!(
                " — line {} cannot be reversed ({}): {}",
                i.line, i.reason, i.statement
            ));
        }
        commands.push(line);
        // Past a migration without a down file the rollback command stops: the rest is guidance.
        break;
    }
    if let Some(id) = &backup.id {
        commands.push(format!(
            "dbsage restore {id} --env {environment} --replace   # the whole database as it was before the deploy (writes since are lost)"
        ));
    }
    commands
}

fn relative(project: &Project, path: &std::path::Path) -> String {
    path.strip_prefix(&project.root)
        .unwrap_or(path)
        .display()
        .to_string()
}

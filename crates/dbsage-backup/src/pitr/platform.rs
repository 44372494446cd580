//! Managed platforms give no access to the data directory or `archive_command`: `pitr` says
//! what the platform offers instead (exit 2) rather than failing halfway through a setup.

use dbsage_core::config::Project;

/// What the platform offers, when the environment is on one.
pub fn managed(project: &Project, host: Option<&str>) -> Option<String> {
    let host = host.unwrap_or("").to_ascii_lowercase();
    if host.ends_with(".supabase.co") || host.ends_with(".supabase.com") || project.is_supabase() {
        return Some(
            "this is a Supabase database: Supabase runs the server, so pgBackRest cannot reach its data directory or set archive_command.\n\
             Supabase offers point-in-time recovery as an add-on (Pro plan and up): Dashboard → Database → Backups → Point in Time, restoring to any second of the retention window. \
             Daily backups are included on paid plans."
                .into(),
        );
    }
    if host.contains(".rds.amazonaws.com") {
        return Some(
            "this is an Amazon RDS/Aurora database: AWS runs the server, so pgBackRest cannot reach its data directory or set archive_command.\n\
             RDS keeps automated backups with point-in-time recovery for the backup retention period (1–35 days): \
             `aws rds restore-db-instance-to-point-in-time --source-db-instance-identifier SRC --target-db-instance-identifier NEW --restore-time 2026-12-01T10:00:00Z` \
             (Aurora: `restore-db-cluster-to-point-in-time`) creates a new instance at that moment."
                .into(),
        );
    }
    None
}

/// The exit-2 error for a managed platform.
pub fn refuse(environment: &str, offer: String) -> dbsage_core::Error {
    crate::config_error(
        format!("`dbsage pitr` works on servers you run; environment `{environment}`: {offer}"),
        "for a copy you can prove restores on any platform: `dbsage backup` + `dbsage backup drill`",
    )
}

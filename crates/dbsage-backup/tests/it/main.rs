//! dbsage-backup's integration tests: one test binary (one link) for the whole crate; each file
//! is a module. Add a test file as `tests/it/<name>.rs` and a `mod <name>;` line here.

mod common;

mod backup_failures;
mod backup_managed;
mod backup_restore;
mod backup_workflow;
mod backupgaps_pg17;
mod pitr_verify_cost;

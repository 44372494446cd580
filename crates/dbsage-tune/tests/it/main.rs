//! dbsage-tune's integration tests: one test binary (one link) for the whole crate; each file
//! is a module. Add a test file as `tests/it/<name>.rs` and a `mod <name>;` line here.

mod common;

mod health_checks;
mod health_replica;
mod queries_explain;
mod queries_pg17;
mod queries_workload;
mod tune_findings;
mod tune_maintain;
mod tunegaps_health;
mod tunegaps_index_bloat;
mod tunegaps_settings;
mod tunegaps_storage;

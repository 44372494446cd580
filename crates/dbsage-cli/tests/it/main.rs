//! dbsage-cli's integration tests: one test binary (one link) for the whole crate; each file
//! is a module. Add a test file as `tests/it/<name>.rs` and a `mod <name>;` line here.

mod common;

mod adopt;
mod auditprec;
mod backup;
mod backupgaps;
mod baseline;
mod clicons;
mod config_sections;
mod deploy;
mod diff;
mod diff_scoped;
mod diffgaps;
mod environments;
mod extpgtap;
mod fleet;
mod fleetdeploy;
mod gaps10;
mod gaps9;
mod gaps9_extensions;
mod gaps9_init_atomic;
mod gaps9_mark_applied;
mod gaps9_skip_lint;
mod guide;
mod guide_flows2;
mod guide_report;
mod health;
mod import;
mod layouts;
mod lint;
mod lintversion;
mod local;
mod migrate;
// `move` is a keyword.
#[path = "move.rs"]
mod move_command;
mod movegates;
mod pgbin;
mod pgversion;
mod pitr;
mod pitr_drill;
mod plpgsqlcheck;
mod queries;
mod relpaths;
mod review;
mod reviewlive;
mod safety_audit;
mod safety_errors;
mod safety_import;
mod safety_lintmem;
mod safety_partial;
mod safety_protection;
mod safety_secrets;
mod secure;
mod toolbox;
mod toolbox_ci;
mod toolbox_dist;
mod tune;
mod tunegaps;
mod types;

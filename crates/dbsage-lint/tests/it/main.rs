//! dbsage-lint's integration tests: one test binary (one link) for the whole crate; each file
//! is a module. Add a test file as `tests/it/<name>.rs` and a `mod <name>;` line here.

mod lintrules_common;
mod lintversion_common;

mod config_and_docs;
mod lintperf_subquery_location;
mod lintrules_model;
mod lintrules_rules;
mod lintversion_rule;
mod lintversion_server;
mod output_formats;
mod robustness;
mod safety_memory;

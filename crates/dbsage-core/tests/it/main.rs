//! dbsage-core's integration tests: one test binary (one link) for the whole crate; each file
//! is a module. Add a test file as `tests/it/<name>.rs` and a `mod <name>;` line here.

mod baseline_hints;
mod baseline_scope;
mod fleet_fan_out;
mod pgversion_resolution;
mod plpgsqlcheck;
mod safety_audit;
mod tls;

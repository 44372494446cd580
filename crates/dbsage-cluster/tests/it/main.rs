//! dbsage-cluster's integration tests: one test binary (one link) for the whole crate; each file
//! is a module. Add a test file as `tests/it/<name>.rs` and a `mod <name>;` line here.

mod alone;
mod pgbin_support;

mod cluster;
mod extpgtap_settings;
mod pgbin_cluster;
mod pgbin_install;
mod safety_secrets;

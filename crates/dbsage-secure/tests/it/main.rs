//! dbsage-secure's integration tests: one test binary (one link) for the whole crate; each file
//! is a module. Add a test file as `tests/it/<name>.rs` and a `mod <name>;` line here.

mod common;

mod audit;
mod auditprec_precision;
mod coverage;
mod example_project;
mod explain;
mod extpgtap_pgtap;
mod pgtap;
mod policy_tests;
mod safety_trace;

//! dbsage-catalog's integration tests: one test binary (one link) for the whole crate; each file
//! is a module. Add a test file as `tests/it/<name>.rs` and a `mod <name>;` line here.

mod common;

mod diff;
mod filters;
mod read;
mod readspeed_same;
mod render;
mod timing;
mod types_parameters;

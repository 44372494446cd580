//! dbsage-import's integration tests: one test binary (one link) for the whole crate; each file
//! is a module. Add a test file as `tests/it/<name>.rs` and a `mod <name>;` line here.

mod common;

mod bad_input;
mod importtyped_staging;
mod merge_modes;
mod roundtrip;
mod safety_import;
mod safety_importspeed;

//! dbsage-supabase's integration tests: one test binary (one link) for the whole crate; each file
//! is a module. Add a test file as `tests/it/<name>.rs` and a `mod <name>;` line here.

mod adopt;
mod compat;
mod example_saas;
mod gaps9_forget_history;
mod history;
mod layouts_history;
mod layouts_read;

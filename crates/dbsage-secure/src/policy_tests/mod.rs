//! Policy tests as real users: the `tests/rls/*.toml` format ([`file`]), the runner that
//! executes each case impersonated in a rolled-back transaction ([`runner`]), and the coverage
//! matrix of what the tests exercise ([`coverage`]).

pub mod coverage;
pub mod file;
pub mod runner;

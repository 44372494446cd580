//! The secure workflow: an audit of row-level security and privileges read from the live
//! schema, policy tests that run as real users (`tests/rls/*.toml`), a coverage matrix of which
//! role × table × command combinations a policy allows and a test exercises, an explanation of
//! why an impersonated query returns fewer rows than expected, and a pgTAP runner that needs
//! neither Docker nor pg_prove.
//!
//! Why a crate of its own: the commonest security failure in a Supabase-style database is
//! row-level security that is missing, wrong or silently denies everything. Every function here
//! talks to a real PostgreSQL through a [`postgres::Client`]; the CLI only chooses which
//! database and formats the results.
//!
//! Everything that impersonates a user runs inside a transaction that is rolled back, so the
//! tests, coverage and explanations never change the database they look at.

pub mod audit;
mod error;
pub mod explain;
mod facts;
mod file_transaction;
mod impersonate;
pub mod pgtap;
pub mod policy_tests;
mod sqltext;

pub use audit::{audit, fix_migration, AuditFinding, AuditOptions, Severity};
pub use error::SecureError;
pub use explain::{explain, explain_with_settings, Explanation};
pub use facts::COMMANDS;
pub use pgtap::{parse_tap, run_pgtap, test_files, TapFile, TapReport, TapTest};
pub use policy_tests::coverage::{coverage, Coverage, CoverageCell};
pub use policy_tests::file::{load_tests, parse_test_file, Actor, Expect, TestCase, TestFile};
pub use policy_tests::runner::{run_tests, CaseResult, TestReport};
pub use sqltext::quote_ident;

/// The roles [`coverage`] looks at when none are given: the two roles PostgREST switches to
/// for requests from the outside world.
pub const DEFAULT_ROLES: &[&str] = &["anon", "authenticated"];

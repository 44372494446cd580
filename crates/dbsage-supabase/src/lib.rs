//! Supabase projects on dbsage's own local PostgreSQL, without Docker.
//!
//! Supabase migrations assume a database that Supabase prepared: the `anon`, `authenticated` and
//! `service_role` roles, `auth.users`, `auth.uid()` and friends, the `extensions` and `storage`
//! schemas and Supabase's default privileges. [`compat`] recreates exactly that on vanilla
//! PostgreSQL so the migrations apply (and RLS can be tested) on a throwaway cluster.

pub mod compat;

pub use compat::{install_compat, is_supabase_project, COMPAT_SQL};

//! Supabase projects on dbsage's own local PostgreSQL, without Docker, and adoption of projects
//! that another migration tool manages.
//!
//! Supabase migrations assume a database that Supabase prepared: the `anon`, `authenticated` and
//! `service_role` roles, `auth.users`, `auth.uid()` and friends, the `extensions` and `storage`
//! schemas and Supabase's default privileges. [`compat`] recreates exactly that on vanilla
//! PostgreSQL so the migrations apply (and RLS can be tested) on a throwaway cluster.
//!
//! `dbsage init --adopt` uses [`layout::detect`] to recognise a Supabase, sqlx, dbmate, Flyway,
//! Prisma, Drizzle, diesel or golang-migrate project, [`read::read_migrations`] to read its files without
//! renaming them, [`history::import_history`] so that nothing the other tool applied runs again,
//! and [`keep_in_step`] to write the other tool's history row beside dbsage's.

pub mod api_schemas;
pub mod api_settings;
pub mod compat;
pub mod error;
pub mod history;
pub mod keep_in_step;
pub mod layout;
pub mod read;
mod read_dirs;
mod read_drizzle;

pub use api_schemas::{api_schemas, DEFAULT_API_SCHEMAS};
pub use api_settings::apply_api_schemas;
pub use compat::{install_compat, is_supabase_project, COMPAT_SQL};
pub use error::AdoptError;
pub use history::{
    import_history, match_history, record_supabase_history, HistoryMatch, ImportedVersion,
};
pub use keep_in_step::{forget_tool_history, keeps_in_step, record_tool_history, AppliedFile};
pub use layout::{detect, Detected, Layout};
pub use read::{
    compare_versions, read_layout, read_migrations, same_version, AdoptedMigration, LayoutFiles,
};

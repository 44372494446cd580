//! Schema diff that proves itself: ordered DDL turning one [`Catalog`] into another, each
//! statement labelled with its hazards, safe forms where PostgreSQL has them, possible renames
//! reported (never guessed), and [`prove`]: the plan applied on a copy of the source and the
//! result compared with the target, so whatever the plan misses is reported as not handled.
//!
//! ```no_run
//! # fn demo(from: &dbsage_catalog::Catalog, to: &dbsage_catalog::Catalog, copy_of_from: &mut postgres::Client) {
//! let plan = dbsage_diff::plan(from, to, &dbsage_diff::PlanOptions::default());
//! let proof = dbsage_diff::prove(copy_of_from, &plan, to, &Default::default()).unwrap();
//! assert!(proof.is_clean());
//! # }
//! ```

mod builder;
mod comments;
pub mod database_objects;
pub mod drift;
mod hazard;
mod privileges;
mod prove;
pub mod pull;
mod renames;
mod routines;
mod schema_file;
pub mod scope;
mod sequences;
pub mod sides;
mod sql;
mod tables;
mod types;
mod views;

pub use builder::{Plan, PlanOptions, Statement};
pub use hazard::Hazard;
pub use prove::{apply, prove, Applied, ApplyFailure, Proof};
pub use renames::PossibleRename;

use dbsage_catalog::Catalog;

/// The statements that turn `from` into `to`, in an order PostgreSQL accepts.
pub fn plan(from: &Catalog, to: &Catalog, options: &PlanOptions) -> Plan {
    let mut builder = builder::Builder::new(options);
    // Objects recreated (dropped and created again) lose their grants, comments, triggers and
    // owner: later steps compare against this copy of `from`, without them.
    let mut before = from.clone();
    builder.prelude();
    let retyped = types::plan(&mut builder, &mut before, to);
    sequences::plan(&mut builder, &before, to);
    routines::plan(&mut builder, &mut before, to);
    let mut dirty = tables::plan(&mut builder, &before, to);
    dirty.extend(retyped);
    let readers = routines::plan_readers(&mut builder, &mut before, to, &dirty);
    dirty.extend(readers);
    views::plan(&mut builder, &mut before, to, &dirty);
    let recreated = routines::recreated(from, &before, to);
    tables::plan_policies_calling(&mut builder, &mut before, &recreated);
    tables::plan_triggers_and_policies(&mut builder, &before, to);
    privileges::plan(&mut builder, &before, to);
    comments::plan(&mut builder, &before, to);
    database_objects::plan(&mut builder, &before, to);
    builder.possible_renames = renames::find(from, to);
    builder.finish()
}

//! `dbsage deploy`: the production pipeline as one command.
//!
//! preflight (status, lint, local pass, `requires`, drift, audit + policy tests + pgTAP on a
//! replay, lock holders) → gate (the protected-migrate confirmation) → backup → migrate (lock
//! timeout, bounded retry with backoff) → smoke tests → post-checks → report, with rollback
//! after a failed smoke test or post-check. `--plan` stops before anything changes;
//! `--rehearse` runs migrate, smoke and post-checks on a throwaway copy restored from the
//! target's latest backup. Each step lives in its own module and calls the library that owns
//! the work (dbsage-core, dbsage-secure, dbsage-backup, dbsage-tune).

pub mod backup;
pub mod config;
pub mod fleet;
pub mod migrate;
pub mod pipeline;
pub mod postcheck;
pub mod preflight;
pub mod rehearse;
pub mod report;
pub mod rollback;
pub mod smoke;
pub mod step;

pub use config::DeployConfig;
pub use pipeline::{deploy, deploy_to, DeployOptions, FleetShare};
pub use report::{DeployReport, Outcome};
pub use step::{Event, StepReport, StepStatus};

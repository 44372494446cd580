//! The performance workflow (`tune`, `tune queries`, `explain`, `health`, `maintain`): read the
//! live database through [`dbsage_catalog`] and the statistics views, report findings in the
//! shared shape ([`dbsage_catalog::finding::Finding`]) with the numbers behind them, and write
//! fixes that are proven before they are proposed.
//!
//! One module per command, and one file per check under it.

pub mod error;
pub mod explain;
pub mod findings;
pub mod maintain;
pub mod queries;

pub use error::TuneError;
pub use findings::{tune, TuneOptions, TuneReport};
pub mod health;

//! The PostgreSQL major version the linter judges migrations against (`requires-newer-postgres`
//! and the rules whose verdict depends on the version): the project's target version
//! ([`crate::pg_version::resolve`]), so lint and the local clusters always agree.

use crate::config::Project;
use crate::error::{Error, Result};

/// The target major version, or `None` when nothing names one and no server is installed (then
/// the linter reports no version finding: lint needs no server).
pub fn target_major(project: &Project) -> Result<Option<u32>> {
    match crate::pg_version::resolve(project) {
        Ok(target) => Ok(Some(target.major)),
        Err(Error::Cluster(dbsage_cluster::ClusterError::NoServer { .. })) => Ok(None),
        Err(e) => Err(e),
    }
}

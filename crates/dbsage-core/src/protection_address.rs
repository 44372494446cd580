//! Protection by address, for a database that cannot carry the mark yet: the empty database a
//! move copies into has no `dbsage.protection` table, so reaching it through a raw URL or an
//! unprotected alias would skip the gates that `protected = true` asks for. Here a database is
//! also protected when a protected environment of dbsage.toml points at the same host, port
//! and database (loopback spellings made one).

use postgres::Client;

use crate::config::Project;
use crate::env::Target;
use crate::error::Result;
use crate::protection::{protection_of, Protection};

/// The first protected environment (by name) whose URL reaches the same database as `target`;
/// None when `target` is the dev cluster or no protected environment resolves to its address.
pub fn protected_environment_at(project: &Project, target: &Target) -> Option<String> {
    let address = target.database_address()?;
    project
        .config
        .environments
        .iter()
        .filter(|(name, env)| env.protected && **name != target.name)
        .filter_map(|(name, _)| Target::resolve(project, Some(name)).ok())
        .find(|other| other.database_address().as_deref() == Some(address.as_str()))
        .map(|other| other.name)
}

/// [`protection_of`] (the database's mark, or the environment's `protected = true`), else the
/// protection of a protected environment at the same address.
pub fn protection_of_database(
    client: &mut Client,
    project: &Project,
    target: &Target,
) -> Result<Option<Protection>> {
    if let Some(found) = protection_of(client, project, target)? {
        return Ok(Some(found));
    }
    Ok(
        protected_environment_at(project, target).map(|name| Protection {
            name: name.clone(),
            marked_as: Vec::new(),
            configured: false,
        }),
    )
}

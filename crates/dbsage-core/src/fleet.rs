//! Fleet environments: one environment name for many databases (a database per tenant or per
//! region). `dbsage.toml` names them with exactly one of
//!
//! ```toml
//! [environments.tenants]
//! urls = ["${T1}", "${T2}"]                       # inline, `${VAR}` expanded
//! urls_file = "tenants.txt"                       # one URL a line, `#` comments, `${VAR}` expanded
//! urls_query = { env = "control", sql = "select url from tenants" }   # read from a database
//! ```
//!
//! Every database becomes an ordinary [`Target`] carrying the environment's name and
//! protection, so connecting, the protection mark and the gates go through the same code as a
//! single-URL environment. Each gets a stable display name, `database@host[:port]`, which never
//! holds a password. [`crate::fan_out`] runs a command on them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::{EnvironmentConfig, Project};
use crate::connect::ConnectSpec;
use crate::env::Target;
use crate::error::{Error, Result};

/// `urls_query`: the databases are the first column of `sql`'s rows, run read-only on `env`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UrlsQuery {
    pub env: String,
    pub sql: String,
}

/// A resolved fleet environment.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The environment's name: every target carries it (gates, marks, remembered versions).
    pub name: String,
    pub protected: bool,
    /// Where the list came from, for messages (`urls_file tenants.txt`).
    pub source: String,
    pub targets: Vec<Target>,
}

/// Whether the environment names many databases.
pub fn is_fleet(env: &EnvironmentConfig) -> bool {
    env.urls.is_some() || env.urls_file.is_some() || env.urls_query.is_some()
}

/// Whether `name` is a fleet environment of this project.
pub fn is_fleet_name(project: &Project, name: Option<&str>) -> bool {
    let name = name.unwrap_or(&project.config.migrate.default_environment);
    project.config.environments.get(name).is_some_and(is_fleet)
}

/// The error of a command that works on one database, given a fleet.
pub fn not_one_database(name: &str) -> Error {
    Error::Config {
        message: format!(
            "environment `{name}` is a fleet (many databases): this command works on one database"
        ),
        hint: "fleets run `migrate`, `deploy`, `status`, `health`, `tune` and `drift`; for one of its databases, add an environment with that database's url".into(),
    }
}

/// `database@host`, with `:port` when it is not 5432: stable, unique per database, no password.
pub fn display_name(spec: &ConnectSpec) -> String {
    let (host, port) = spec
        .target
        .rsplit_once(':')
        .unwrap_or((spec.target.as_str(), "5432"));
    let database = spec.dbname().unwrap_or(spec.user());
    let name = if port == "5432" {
        format!("{database}@{host}")
    } else {
        format!("{database}@{host}:{port}")
    };
    crate::redact::redact(&name)
}

/// Checks each environment names its databases exactly one way (on load, before any command).
pub fn validate(environments: &BTreeMap<String, EnvironmentConfig>) -> Result<()> {
    for (name, env) in environments {
        let set: Vec<&str> = [
            ("url", !env.url.is_empty()),
            ("urls", env.urls.is_some()),
            ("urls_file", env.urls_file.is_some()),
            ("urls_query", env.urls_query.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, present)| present.then_some(key))
        .collect();
        let bad = |message: String, hint: &str| Error::Config {
            message: format!("dbsage.toml: [environments.{name}] {message}"),
            hint: hint.into(),
        };
        match set.as_slice() {
            [] => {
                return Err(bad(
                    "names no database".into(),
                    "give it exactly one of url = \"…\", urls = [\"…\"], urls_file = \"tenants.txt\", urls_query = { env = \"control\", sql = \"select url from tenants\" }",
                ))
            }
            [_] => {}
            many => {
                return Err(bad(
                    format!("sets {}: exactly one of url, urls, urls_file, urls_query may be set", many.join(" and ")),
                    "keep the one that lists the databases and remove the others",
                ))
            }
        }
        if env.urls.as_ref().is_some_and(Vec::is_empty) {
            return Err(bad(
                "urls = [] names no database".into(),
                "list at least one URL, e.g. urls = [\"${TENANT1_URL}\"]",
            ));
        }
        if let Some(query) = &env.urls_query {
            if query.sql.trim().is_empty() {
                return Err(bad(
                    "urls_query.sql is empty".into(),
                    "write the query whose first column is each database's URL",
                ));
            }
            match environments.get(&query.env) {
                Some(control) if is_fleet(control) => {
                    return Err(bad(
                        format!("urls_query.env = {:?} is itself a fleet", query.env),
                        "the query runs on one database: name an environment with a single url",
                    ))
                }
                Some(_) => {}
                None if query.env == "dev" || query.env == "DATABASE_URL" => {}
                None => {
                    return Err(bad(
                        format!(
                            "urls_query.env = {:?} is not an environment of dbsage.toml",
                            query.env
                        ),
                        "name the environment of the control database that lists the tenants",
                    ))
                }
            }
        }
    }
    Ok(())
}

/// The fleet behind `name` (or the default environment); `None` when it is not a fleet.
pub fn resolve(project: &Project, name: Option<&str>) -> Result<Option<Fleet>> {
    let name = name.unwrap_or(&project.config.migrate.default_environment);
    let Some(env) = project.config.environments.get(name) else {
        return Ok(None);
    };
    if !is_fleet(env) {
        return Ok(None);
    }
    let (source, urls) = if let Some(urls) = &env.urls {
        let listed = urls
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                let origin = format!("environments.{name}.urls[{i}]");
                Ok((project.expand(&origin, raw)?, origin))
            })
            .collect::<Result<Vec<_>>>()?;
        ("urls".to_string(), listed)
    } else if let Some(file) = &env.urls_file {
        (
            format!("urls_file {}", file.display()),
            read_urls_file(project, name, file)?,
        )
    } else if let Some(query) = &env.urls_query {
        (
            format!("urls_query on `{}`", query.env),
            query_urls(project, name, query)?,
        )
    } else {
        unreachable!("is_fleet checked one source is set")
    };
    let mut targets: Vec<Target> = Vec::with_capacity(urls.len());
    let mut origins: BTreeMap<String, String> = BTreeMap::new();
    for (url, origin) in urls {
        let target = Target::fleet_member(name, env.protected, &url, &origin)?;
        if let Some(first) = origins.insert(target.display.clone(), origin.clone()) {
            return Err(Error::Config {
                message: format!(
                    "environment `{name}`: {origin} names the same database as {first} ({})",
                    target.display
                ),
                hint: "list each database once: a fleet command would run twice on it".into(),
            });
        }
        targets.push(target);
    }
    if targets.is_empty() {
        return Err(Error::Config {
            message: format!("environment `{name}`: {source} names no database"),
            hint: "add at least one database URL".into(),
        });
    }
    Ok(Some(Fleet {
        name: name.to_string(),
        protected: env.protected,
        source,
        targets,
    }))
}

/// A database found protected is written by a fleet command only under the gates the fleet
/// passed (`gated`: a protected fleet, asked once), and only when it is protected under the
/// fleet's own name (or not yet marked): a database protected as another environment keeps that
/// environment's gates. `verb` is the command's (`migrate`, `deploy to`).
pub fn refuse_unless_gated(
    fleet: &str,
    target: &Target,
    found: &crate::protection::Protection,
    gated: bool,
    verb: &str,
) -> Result<()> {
    if gated && found.name == fleet {
        return Ok(());
    }
    let why = if gated {
        format!("the fleet's confirmation was for `{fleet}`")
    } else {
        format!("the fleet `{fleet}` is not configured `protected = true`, so no gate was asked")
    };
    Err(Error::Refused {
        message: format!(
            "refusing to {verb} {}: {}, and {why}",
            target.display,
            found.describe()
        ),
        hint: format!(
            "add `protected = true` to [environments.{fleet}] (its gates are then asked once for the fleet), or {verb} this database through `{}`",
            found.name
        ),
    })
}

/// `urls_file`: one URL a line; blank lines and `#` comments skipped; `${VAR}` expanded.
/// Each URL's origin is `file:line`.
fn read_urls_file(project: &Project, name: &str, file: &PathBuf) -> Result<Vec<(String, String)>> {
    let path = project.root.join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Config {
        message: format!(
            "environments.{name}.urls_file: cannot read {}: {e}",
            path.display()
        ),
        hint: "the path is relative to dbsage.toml; write one database URL a line".into(),
    })?;
    let mut urls = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let origin = format!("{}:{}", file.display(), i + 1);
        urls.push((project.expand(&origin, line)?, origin));
    }
    Ok(urls)
}

/// `urls_query`: the query's first column on the control environment, in a read-only
/// transaction (it only lists; it must not change the control database).
fn query_urls(project: &Project, name: &str, query: &UrlsQuery) -> Result<Vec<(String, String)>> {
    let control = Target::resolve(project, Some(&query.env))?;
    let mut client = control.connect(project, "dbsage fleet list")?;
    let context = format!(
        "environments.{name}.urls_query on `{}` ({})",
        query.env, control.display
    );
    let mut tx = client
        .build_transaction()
        .read_only(true)
        .start()
        .map_err(|e| Error::db(context.clone(), e))?;
    let rows = tx
        .query(query.sql.as_str(), &[])
        .map_err(|e| Error::db(context.clone(), e))?;
    let mut urls = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let url: Option<String> = row.try_get(0).map_err(|_| Error::Config {
            message: format!("{context}: the first column is not text"),
            hint: "select each database's URL as the first column, e.g. select url from tenants order by id".into(),
        })?;
        let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
            return Err(Error::Config {
                message: format!("{context}: row {} has no URL (null or empty)", i + 1),
                hint: "filter those rows out in the query (where url is not null)".into(),
            });
        };
        urls.push((url.trim().to_string(), format!("{context}, row {}", i + 1)));
    }
    Ok(urls)
}

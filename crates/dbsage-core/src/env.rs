//! Environments: a name (`dev`, `staging`, `DATABASE_URL`, …) resolved to a connection.
//!
//! `dev` is the project's embedded dev cluster unless `dbsage.toml` defines its own `dev`;
//! `DATABASE_URL` (exactly so spelled) is the variable of that name. Names match exactly; an
//! unknown name gets "did you mean …?" for near misses.

use postgres::Client;

use crate::config::Project;
use crate::connect::{redact, ConnectSpec};
use crate::error::{Error, Result};

/// A resolved environment.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub protected: bool,
    /// The connection URL with the password hidden: safe to print.
    pub display: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// The embedded dev cluster: started on first use.
    Dev,
    Remote(Box<ConnectSpec>),
}

impl Target {
    /// Resolves `name`, or the configured default environment when `None`.
    pub fn resolve(project: &Project, name: Option<&str>) -> Result<Target> {
        let name = name
            .map(str::to_string)
            .unwrap_or_else(|| project.config.migrate.default_environment.clone());
        if let Some(env) = project.config.environments.get(&name) {
            if crate::fleet::is_fleet(env) {
                return Err(crate::fleet::not_one_database(&name));
            }
            let origin = format!("environments.{name}.url");
            let url = project.expand(&origin, &env.url)?;
            let spec = ConnectSpec::parse_from(&url, &origin)?;
            return Ok(Target {
                display: redact(&url),
                name,
                protected: env.protected,
                kind: Kind::Remote(Box::new(spec)),
            });
        }
        if name == "dev" {
            return Ok(Target {
                name,
                protected: false,
                display: "embedded dev cluster (.dbsage/dev)".into(),
                kind: Kind::Dev,
            });
        }
        if name == "DATABASE_URL" {
            let url = project.var("DATABASE_URL").ok_or_else(|| Error::Config {
                message: "environment DATABASE_URL: the variable DATABASE_URL is not set (looked in the environment, .env.local and .env)".into(),
                hint: "export DATABASE_URL=postgresql://… or name an environment from dbsage.toml".into(),
            })?;
            let spec = ConnectSpec::parse_from(&url, "DATABASE_URL")?;
            return Ok(Target {
                display: redact(&url),
                name,
                protected: false,
                kind: Kind::Remote(Box::new(spec)),
            });
        }
        Err(unknown_environment(project, &name))
    }

    /// One database of a fleet environment: the environment's name and protection (so the
    /// gates and marks apply as to a single-URL environment), its own URL and display name.
    pub(crate) fn fleet_member(
        name: &str,
        protected: bool,
        url: &str,
        origin: &str,
    ) -> Result<Target> {
        let spec = ConnectSpec::parse_from(url, origin)?;
        Ok(Target {
            name: name.to_string(),
            protected,
            display: crate::fleet::display_name(&spec),
            kind: Kind::Remote(Box::new(spec)),
        })
    }

    /// Connects (see [`Target::connect`]) and reads the database's effective protection: its
    /// mark, or this environment's `protected = true`. Every command that writes uses this.
    pub fn connect_protected(
        &self,
        project: &Project,
        application_name: &str,
    ) -> Result<(Client, Option<crate::protection::Protection>)> {
        let mut client = self.connect_only(project, application_name)?;
        let protection = crate::protection::protection_of(&mut client, project, self)?;
        self.remember_version(project, &mut client, protection.is_some());
        Ok((client, protection))
    }

    /// The connection as libpq environment variables (see [`ConnectSpec::libpq_env`]),
    /// starting the dev cluster first when needed.
    pub fn libpq_env(&self, project: &Project) -> Result<Vec<(&'static str, String)>> {
        match &self.kind {
            Kind::Remote(spec) => Ok(spec.libpq_env()),
            Kind::Dev => {
                let mut dev = crate::pg_version::open_dev(project)?;
                // Without the project's settings the server would restart without its preloads.
                crate::server_settings::configure_dev(project, &mut dev)?;
                dev.ensure_running()?;
                Ok(ConnectSpec::parse(&dev.url())?.libpq_env())
            }
        }
    }

    /// The same server and credentials, another database (`restore --into`, `--replace`); the
    /// dev cluster is reached through its own URL, so only configured environments can.
    pub fn with_database(&self, database: &str) -> Result<Target> {
        let Kind::Remote(spec) = &self.kind else {
            return Err(Error::Config {
                message: format!("`{}` is the embedded dev cluster: restore into another database needs an environment from dbsage.toml", self.name),
                hint: "add an environment with the dev cluster's URL (`dbsage dev url`)".into(),
            });
        };
        let mut spec = (**spec).clone();
        spec.set_dbname(database);
        Ok(Target {
            name: self.name.clone(),
            protected: self.protected,
            display: format!("{} (database {database})", self.display),
            kind: Kind::Remote(Box::new(spec)),
        })
    }

    pub fn is_dev(&self) -> bool {
        matches!(self.kind, Kind::Dev)
    }

    /// The database it reaches as `host:port/database` (loopback spellings made one), as
    /// [`same_database_environments`] compares them; None for the dev cluster.
    pub fn database_address(&self) -> Option<String> {
        match &self.kind {
            Kind::Remote(spec) => spec_identity(spec),
            Kind::Dev => None,
        }
    }

    /// Connects, starting the dev cluster first when needed. `application_name` lets other
    /// sessions see who holds a lock.
    pub fn connect(&self, project: &Project, application_name: &str) -> Result<Client> {
        let mut client = self.connect_only(project, application_name)?;
        self.remember_version(project, &mut client, self.protected);
        Ok(client)
    }

    /// Remembers a reached environment's server version: local clusters follow the protected
    /// one's (see `pg_version`). The dev cluster is local itself.
    fn remember_version(&self, project: &Project, client: &mut Client, protected: bool) {
        if !self.is_dev() {
            crate::pg_version::remember(project, &self.name, client, protected || self.protected);
        }
    }

    fn connect_only(&self, project: &Project, application_name: &str) -> Result<Client> {
        match &self.kind {
            Kind::Remote(spec) => {
                let mut spec = (**spec).clone();
                spec.set_application_name(application_name);
                spec.connect()
            }
            Kind::Dev => {
                let mut dev = crate::pg_version::open_dev(project)?;
                crate::server_settings::configure_dev(project, &mut dev)?;
                dev.ensure_running()?;
                let mut spec = ConnectSpec::parse(&dev.url())?;
                spec.set_application_name(application_name);
                let mut client = spec.connect()?;
                if project.is_supabase() {
                    install_compat_once(&mut client)?;
                    crate::supabase_layer::apply_api_settings(&mut client, project)?;
                }
                Ok(client)
            }
        }
    }
}

/// "unknown environment", with "did you mean …?" for a near miss (edit distance ≤ 2, or the same
/// name in another case); only without one does the hint suggest adding a section.
fn unknown_environment(project: &Project, name: &str) -> Error {
    let mut known: Vec<String> = project.config.environments.keys().cloned().collect();
    known.push("dev".into());
    known.push("DATABASE_URL".into());
    let near: Vec<&String> = known
        .iter()
        .filter(|k| k.eq_ignore_ascii_case(name) || strsim::levenshtein(k, name) <= 2)
        .collect();
    let hint = match near.as_slice() {
        [] => format!(
            "add it to dbsage.toml:\n  [environments.{name}]\n  url = \"${{{}_DATABASE_URL}}\"",
            name.to_uppercase()
        ),
        [one] => format!("did you mean `{one}`? (environment names match exactly)"),
        many => format!(
            "did you mean one of {}? (environment names match exactly)",
            many.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Error::Config {
        message: format!("unknown environment `{name}` (known: {})", known.join(", ")),
        hint,
    }
}

/// Groups of environment names that point at the same database (host, port, database name),
/// with that database as `host:port/db`. Environments whose URL cannot be resolved (a missing
/// variable) are left out; `DATABASE_URL` counts when it is set.
pub fn same_database_environments(project: &Project) -> Vec<(Vec<String>, String)> {
    let mut resolved: Vec<(String, String)> = Vec::new();
    for (name, env) in &project.config.environments {
        let url = project.expand(&format!("environments.{name}.url"), &env.url);
        if let Some(id) = url.ok().and_then(|u| database_identity(&u)) {
            resolved.push((name.clone(), id));
        }
    }
    if !project.config.environments.contains_key("DATABASE_URL") {
        if let Some(id) = project
            .var("DATABASE_URL")
            .and_then(|u| database_identity(&u))
        {
            resolved.push(("DATABASE_URL".into(), id));
        }
    }
    let mut groups: Vec<(Vec<String>, String)> = Vec::new();
    for (name, id) in resolved {
        match groups.iter_mut().find(|(_, g)| *g == id) {
            Some((names, _)) => names.push(name),
            None => groups.push((vec![name], id)),
        }
    }
    groups.retain(|(names, _)| names.len() > 1);
    groups
}

/// `host:port/database`, with the loopback spellings made one.
fn database_identity(url: &str) -> Option<String> {
    spec_identity(&ConnectSpec::parse(url).ok()?)
}

fn spec_identity(spec: &ConnectSpec) -> Option<String> {
    let (host, port) = spec.target.rsplit_once(':')?;
    let host = match host.to_ascii_lowercase().as_str() {
        "127.0.0.1" | "::1" | "[::1]" | "localhost" => "localhost".to_string(),
        other => other.to_string(),
    };
    let database = spec.dbname().unwrap_or(spec.user()).to_string();
    Some(format!("{host}:{port}/{database}"))
}

/// Installs the Supabase compatibility layer on a dev database that does not have it yet.
fn install_compat_once(client: &mut Client) -> Result<()> {
    let has_layer: bool = client
        .query_one("select to_regprocedure('auth.uid()') is not null", &[])
        .map_err(|e| Error::db("checking for the Supabase layer", e))?
        .get(0);
    if !has_layer {
        dbsage_supabase::install_compat(client)
            .map_err(|e| Error::db("installing the Supabase compatibility layer", e))?;
    }
    Ok(())
}

//! Environments: a name (`dev`, `staging`, `DATABASE_URL`, …) resolved to a connection.
//!
//! `dev` is the project's embedded dev cluster unless `dbsage.toml` defines its own `dev`;
//! `DATABASE_URL` (any case) is the variable of that name.

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
        if name.eq_ignore_ascii_case("database_url") {
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
        let mut known: Vec<String> = project.config.environments.keys().cloned().collect();
        known.push("dev".into());
        known.push("DATABASE_URL".into());
        Err(Error::Config {
            message: format!("unknown environment `{name}` (known: {})", known.join(", ")),
            hint: format!(
                "add it to dbsage.toml:\n  [environments.{name}]\n  url = \"${{{}_DATABASE_URL}}\"",
                name.to_uppercase()
            ),
        })
    }

    pub fn is_dev(&self) -> bool {
        matches!(self.kind, Kind::Dev)
    }

    /// Connects, starting the dev cluster first when needed. `application_name` lets other
    /// sessions see who holds a lock.
    pub fn connect(&self, project: &Project, application_name: &str) -> Result<Client> {
        match &self.kind {
            Kind::Remote(spec) => {
                let mut spec = (**spec).clone();
                spec.set_application_name(application_name);
                spec.connect()
            }
            Kind::Dev => {
                let mut dev = dbsage_cluster::DevCluster::open(&project.root)?;
                dev.ensure_running()?;
                let mut spec = ConnectSpec::parse(&dev.url())?;
                spec.set_application_name(application_name);
                let mut client = spec.connect()?;
                if project.is_supabase() {
                    install_compat_once(&mut client)?;
                }
                Ok(client)
            }
        }
    }
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

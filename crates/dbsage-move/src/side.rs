//! One end of a move: an environment, a session on its database, and what the server is.

use dbsage_backup::endpoint::Endpoint;
use dbsage_core::config::Project;
use dbsage_core::env::Target;
use postgres::Client;

pub struct Side {
    pub target: Target,
    pub client: Client,
    pub database: String,
    pub user: String,
    pub superuser: bool,
    pub version: String,
    pub major: u32,
}

impl Side {
    pub fn connect(project: &Project, target: &Target) -> dbsage_core::Result<Side> {
        let mut client = target.connect(project, "dbsage move")?;
        let row = client
            .query_one(
                "select current_setting('server_version'), current_setting('server_version_num')::int,
                        current_database()::text, current_user::text,
                        (select rolsuper from pg_roles where rolname = current_user)",
                &[],
            )
            .map_err(|e| dbsage_core::Error::db(format!("reading {}'s server", target.name), e))?;
        Ok(Side {
            target: target.clone(),
            client,
            version: row.get(0),
            major: (row.get::<_, i32>(1) / 10000) as u32,
            database: row.get(2),
            user: row.get(3),
            superuser: row.get(4),
        })
    }

    pub fn name(&self) -> &str {
        &self.target.name
    }

    /// pg_dump / pg_restore reach this database through it (password in a private passfile).
    pub fn endpoint(&self, project: &Project) -> dbsage_core::Result<Endpoint> {
        Endpoint::for_target(project, &self.target)
    }

    /// A libpq connection string for a server to reach this database (a subscription's
    /// `CONNECTION`): the environment's own host, port, user, password and sslmode.
    pub fn conninfo(&self, project: &Project) -> dbsage_core::Result<String> {
        let vars = self.target.libpq_env(project)?;
        let keyword = |var: &str| match var {
            "PGHOST" => Some("host"),
            "PGPORT" => Some("port"),
            "PGUSER" => Some("user"),
            "PGDATABASE" => Some("dbname"),
            "PGPASSWORD" => Some("password"),
            "PGSSLMODE" => Some("sslmode"),
            // The CA a verify-ca / verify-full source is checked against.
            "PGSSLROOTCERT" => Some("sslrootcert"),
            _ => None,
        };
        let mut parts: Vec<String> = Vec::new();
        for (var, value) in &vars {
            if let Some(key) = keyword(var) {
                let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
                parts.push(format!("{key}='{quoted}'"));
            }
        }
        if !vars.iter().any(|(k, _)| *k == "PGDATABASE") {
            parts.push(format!("dbname='{}'", self.database.replace('\'', "\\'")));
        }
        Ok(parts.join(" "))
    }

    /// A second session on the same database (counts run on both at once).
    pub fn reconnect(&self, project: &Project) -> dbsage_core::Result<Client> {
        self.target.connect(project, "dbsage move")
    }
}

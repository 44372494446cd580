//! The checklist both methods start with: sizes and versions, extensions, the roles that own
//! objects, sessions on the source, what logical replication cannot carry, and whether the
//! target database is empty. Blockers refuse the move (exit 3); the rest is information.

use postgres::Client;
use serde::Serialize;

use crate::side::Side;
use crate::Method;

#[derive(Debug, Clone, Serialize)]
pub struct Server {
    pub environment: String,
    pub database: String,
    pub version: String,
    pub major: u32,
    pub bytes: i64,
    pub user: String,
    pub superuser: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Extension {
    pub name: String,
    pub version: String,
    pub available_on_target: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OwnerRole {
    pub name: String,
    /// Objects the role owns on the source.
    pub objects: i64,
    pub on_target: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub pid: i32,
    pub user: String,
    pub application: String,
    pub state: String,
    /// Seconds since its transaction began, when it is in one.
    pub transaction_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Blocker {
    /// `version`, `extension`, `owner-role`, `target-not-empty`, `wal-level`,
    /// `replication-privilege`, `replica-identity`, `large-objects`, `subscription-privilege`.
    pub check: &'static str,
    pub message: String,
    pub fix: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Preflight {
    pub method: Method,
    pub source: Server,
    pub target: Server,
    pub extensions: Vec<Extension>,
    pub owner_roles: Vec<OwnerRole>,
    pub active_connections: Vec<Session>,
    pub tables: i64,
    /// Tables with neither a primary key nor a usable replica identity: UPDATE and DELETE on
    /// them fail once they are published, so logical replication refuses them.
    pub tables_without_identity: Vec<String>,
    pub sequences: Vec<String>,
    pub large_objects: i64,
    /// Tables already in the target database (a move goes into an empty one).
    pub target_tables: Vec<String>,
    pub wal_level: String,
    pub replication_privilege: bool,
    pub blockers: Vec<Blocker>,
}

impl Preflight {
    /// The refusal when anything blocks the move: every blocker with its fix.
    pub fn refusal(&self) -> Option<dbsage_core::Error> {
        if self.blockers.is_empty() {
            return None;
        }
        let list: Vec<String> = self
            .blockers
            .iter()
            .map(|b| format!("  {}: {}", b.check, b.message))
            .collect();
        let fixes: Vec<String> = self.blockers.iter().map(|b| b.fix.clone()).collect();
        Some(dbsage_core::Error::Refused {
            message: format!(
                "the move from `{}` to `{}` ({}) is refused by its preflight, nothing was changed:\n{}",
                self.source.environment,
                self.target.environment,
                self.method.as_str(),
                list.join("\n")
            ),
            hint: fixes.join("\n"),
        })
    }
}

fn db(what: &str) -> impl Fn(postgres::Error) -> dbsage_core::Error + '_ {
    move |e| dbsage_core::Error::db(what.to_string(), e)
}

/// Reads both servers. Changes nothing.
pub fn preflight(
    source: &mut Side,
    target: &mut Side,
    method: Method,
) -> dbsage_core::Result<Preflight> {
    let source_server = server(source)?;
    let target_server = server(target)?;
    let s = &mut source.client;

    let available: Vec<String> = target
        .client
        .query("select name::text from pg_available_extensions", &[])
        .map_err(db("listing the target's available extensions"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let extensions: Vec<Extension> = s
        .query(
            "select extname::text, extversion from pg_extension where extname <> 'plpgsql' order by 1",
            &[],
        )
        .map_err(db("listing the source's extensions"))?
        .iter()
        .map(|r| {
            let name: String = r.get(0);
            Extension {
                available_on_target: available.contains(&name),
                name,
                version: r.get(1),
            }
        })
        .collect();

    let target_roles: Vec<String> = target
        .client
        .query("select rolname::text from pg_roles", &[])
        .map_err(db("listing the target's roles"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let owner_roles: Vec<OwnerRole> = s
        .query(OWNERS_SQL, &[])
        .map_err(db("listing the roles that own objects on the source"))?
        .iter()
        .map(|r| {
            let name: String = r.get(0);
            OwnerRole {
                on_target: target_roles.contains(&name),
                name,
                objects: r.get(1),
            }
        })
        .collect();

    let active_connections: Vec<Session> = s
        .query(
            "select pid, coalesce(usename::text, ''), application_name, coalesce(state, ''),
                    extract(epoch from now() - xact_start)::float8
               from pg_stat_activity
              where datname = current_database() and pid <> pg_backend_pid()
                and backend_type = 'client backend'
              order by pid",
            &[],
        )
        .map_err(db("listing the sessions on the source"))?
        .iter()
        .map(|r| Session {
            pid: r.get(0),
            user: r.get(1),
            application: r.get(2),
            state: r.get(3),
            transaction_seconds: r.get(4),
        })
        .collect();

    let tables: i64 = s
        .query_one(
            &format!("select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') and {USER_OBJECTS}"),
            &[],
        )
        .map_err(db("counting the source's tables"))?
        .get(0);
    let tables_without_identity = names(s, &format!(
        "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind = 'r' and {USER_OBJECTS}
            and (c.relreplident = 'n'
                 or (c.relreplident = 'd' and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary))
                 or (c.relreplident = 'i' and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisreplident)))
          order by 1"))
        .map_err(db("finding tables without a replica identity"))?;
    let sequences = names(
        s,
        &format!(
            "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where c.relkind = 'S' and {USER_OBJECTS} order by 1"
        ),
    )
    .map_err(db("listing the source's sequences"))?;
    let large_objects: i64 = s
        .query_one("select count(*) from pg_largeobject_metadata", &[])
        .map_err(db("counting large objects"))?
        .get(0);
    let target_tables = names(
        &mut target.client,
        &format!(
            "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where c.relkind in ('r', 'p') and {USER_OBJECTS} order by 1 limit 20"
        ),
    )
    .map_err(db("listing the target's tables"))?;
    let wal_level: String = s
        .query_one("select current_setting('wal_level')", &[])
        .map_err(db("reading the source's wal_level"))?
        .get(0);
    let replication_privilege: bool = s
        .query_one(
            "select rolsuper or rolreplication from pg_roles where rolname = current_user",
            &[],
        )
        .map_err(db("reading the source role's privileges"))?
        .get(0);

    let mut report = Preflight {
        method,
        source: source_server,
        target: target_server,
        extensions,
        owner_roles,
        active_connections,
        tables,
        tables_without_identity,
        sequences,
        large_objects,
        target_tables,
        wal_level,
        replication_privilege,
        blockers: Vec::new(),
    };
    report.blockers = blockers(&report, target.superuser);
    Ok(report)
}

/// Schemas of the database's own objects: not the system's, not an extension's members.
const USER_OBJECTS: &str = "n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
    and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                    and d.objid = c.oid and d.deptype = 'e')";

/// Owners of schemas, relations, functions and types outside the system schemas and
/// extensions, with how many objects each owns.
const OWNERS_SQL: &str = "
with owned as (
  select nspowner as owner from pg_namespace n
   where nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and nspname not like 'pg\\_temp%'
     and nspname not like 'pg\\_toast\\_temp%'
     and not exists (select 1 from pg_depend d where d.classid = 'pg_namespace'::regclass and d.objid = n.oid and d.deptype = 'e')
  union all
  select c.relowner from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
     and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%'
     and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
  union all
  select p.proowner from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname not in ('pg_catalog', 'information_schema')
     and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
)
select r.rolname::text, count(*) from owned o join pg_roles r on r.oid = o.owner
 where r.rolname not like 'pg\\_%'
 group by 1 order by 1";

fn server(side: &mut Side) -> dbsage_core::Result<Server> {
    let bytes: i64 = side
        .client
        .query_one("select pg_database_size(current_database())", &[])
        .map_err(db("reading the database's size"))?
        .get(0);
    Ok(Server {
        environment: side.name().to_string(),
        database: side.database.clone(),
        version: side.version.clone(),
        major: side.major,
        bytes,
        user: side.user.clone(),
        superuser: side.superuser,
    })
}

fn names(client: &mut Client, sql: &str) -> Result<Vec<String>, postgres::Error> {
    Ok(client.query(sql, &[])?.iter().map(|r| r.get(0)).collect())
}

fn blockers(p: &Preflight, target_superuser: bool) -> Vec<Blocker> {
    let mut b = Vec::new();
    if p.target.major < p.source.major {
        b.push(Blocker {
            check: "version",
            message: format!(
                "the target runs PostgreSQL {} and the source {}: a dump or a replication stream only goes to the same or a newer major version",
                p.target.version, p.source.version
            ),
            fix: format!(
                "move to a server running PostgreSQL {} or newer",
                p.source.major
            ),
        });
    }
    let missing: Vec<&Extension> = p
        .extensions
        .iter()
        .filter(|e| !e.available_on_target)
        .collect();
    if !missing.is_empty() {
        let list: Vec<String> = missing
            .iter()
            .map(|e| format!("{} {}", e.name, e.version))
            .collect();
        b.push(Blocker {
            check: "extension",
            message: format!(
                "extensions used on the source are not available on the target (pg_available_extensions): {}",
                list.join(", ")
            ),
            fix: format!(
                "install them on the target's server (Debian: postgresql-{}-<extension>; managed platforms: enable them in the provider's console), or drop them on the source",
                p.target.major
            ),
        });
    }
    let roles: Vec<&OwnerRole> = p.owner_roles.iter().filter(|r| !r.on_target).collect();
    if !roles.is_empty() {
        let list: Vec<String> = roles
            .iter()
            .map(|r| format!("{} ({} objects)", r.name, r.objects))
            .collect();
        let create: Vec<String> = roles
            .iter()
            .map(|r| format!("CREATE ROLE {} NOLOGIN;", crate::quote_ident(&r.name)))
            .collect();
        b.push(Blocker {
            check: "owner-role",
            message: format!(
                "roles that own objects on the source do not exist on the target: {}",
                list.join(", ")
            ),
            fix: format!(
                "create them on the target first ({}), or `pg_dumpall --globals-only` from the source and apply the roles you need",
                create.join(" ")
            ),
        });
    }
    if !p.target_tables.is_empty() {
        b.push(Blocker {
            check: "target-not-empty",
            message: format!(
                "the target database {} already has tables: {}",
                p.target.database,
                p.target_tables.join(", ")
            ),
            fix: "move into a new, empty database (CREATE DATABASE … on the target server and point the environment at it)".into(),
        });
    }
    if p.method == Method::Replicate {
        if p.wal_level != "logical" {
            b.push(Blocker {
                check: "wal-level",
                message: format!(
                    "the source's wal_level is `{}`; logical replication needs `logical`",
                    p.wal_level
                ),
                fix: "on the source: ALTER SYSTEM SET wal_level = logical; then restart the server (RDS/Aurora: rds.logical_replication = 1; Cloud SQL: cloudsql.logical_decoding = on), or use --method dump".into(),
            });
        }
        if !p.replication_privilege {
            b.push(Blocker {
                check: "replication-privilege",
                message: format!(
                    "the source's role `{}` has no REPLICATION privilege: the target cannot stream from it",
                    p.source.user
                ),
                fix: format!(
                    "on the source: ALTER ROLE {} REPLICATION; (or connect the source environment as a superuser)",
                    crate::quote_ident(&p.source.user)
                ),
            });
        }
        if !p.tables_without_identity.is_empty() {
            b.push(Blocker {
                check: "replica-identity",
                message: format!(
                    "tables with neither a primary key nor a replica identity (UPDATE and DELETE on them fail once published): {}",
                    p.tables_without_identity.join(", ")
                ),
                fix: "add a primary key, or ALTER TABLE … REPLICA IDENTITY USING INDEX <unique index> (or REPLICA IDENTITY FULL, slower), or use --method dump".into(),
            });
        }
        if p.large_objects > 0 {
            b.push(Blocker {
                check: "large-objects",
                message: format!(
                    "the source has {} large objects, which logical replication does not carry",
                    p.large_objects
                ),
                fix: "use --method dump, or move the large objects into bytea columns first".into(),
            });
        }
        if !target_superuser && p.target.major < 16 {
            b.push(Blocker {
                check: "subscription-privilege",
                message: format!(
                    "the target's role `{}` is not a superuser: CREATE SUBSCRIPTION needs one before PostgreSQL 16",
                    p.target.user
                ),
                fix: "connect the target environment as a superuser for the move".into(),
            });
        }
    }
    b
}

/// Connects to both environments and runs the checklist.
pub fn check(
    project: &dbsage_core::config::Project,
    from: &dbsage_core::env::Target,
    to: &dbsage_core::env::Target,
    method: Method,
) -> dbsage_core::Result<Preflight> {
    if from.name == to.name {
        return Err(crate::config_error(
            format!("--from and --to both name `{}`", from.name),
            "name the environment to move from and another one to move to",
        ));
    }
    let mut source = Side::connect(project, from)?;
    let mut target = Side::connect(project, to)?;
    preflight(&mut source, &mut target, method)
}

//! `dbsage psql [--env E] [-c SQL]`: the installed psql on an environment's database. The
//! connection goes to psql through a cleared child environment (the password as PGPASSWORD,
//! never on its command line). A protected database opens read-only unless `--write`, which
//! asks for its protected name like any other write and is audited.

use clap::Args;
use serde_json::json;

use dbsage_core::env::Target;
use dbsage_core::{gates, protection};

use crate::output::Out;

#[derive(Args, Debug)]
pub struct PsqlArgs {
    /// Environment: a name from dbsage.toml, `dev` (default), or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Run this SQL and exit (psql -c).
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub command: Option<String>,
    /// On a protected database: allow writes (asks for its protected name; audited).
    #[arg(long)]
    pub write: bool,
    /// With --write: do not ask for confirmation (for scripts).
    #[arg(long, short, requires = "write")]
    pub yes: bool,
}

pub fn run(args: PsqlArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let target = Target::resolve(&project, args.env.as_deref())?;
    let (mut client, protection) = target.connect_protected(&project, "dbsage psql")?;
    super::announce(out, &target);
    let mut read_only = false;
    if let Some(protection) = &protection {
        if args.write {
            let plan = [match &args.command {
                Some(sql) => format!("would run in psql: {sql}"),
                None => "would open an interactive psql that can write".into(),
            }];
            let confirmed = gates::confirm_protected(
                &target,
                protection,
                "write with psql to",
                &plan,
                args.yes,
                &mut |p| out.ask(p),
            )?;
            protection::record_event(
                &mut client,
                &project,
                "psql_write",
                &confirmed,
                json!({ "command": args.command }),
            )?;
        } else {
            read_only = true;
            err_line!(
                "note: {}: psql opens read-only (default_transaction_read_only=on); --write asks for its protected name",
                protection.describe()
            );
        }
    }
    drop(client);
    let psql = dbsage_cluster::PgInstall::find()
        .map(|install| install.bin("psql"))
        .ok()
        .filter(|p| p.is_file())
        .unwrap_or_else(|| "psql".into());
    let mut cmd = dbsage_cluster::child_command(&psql);
    for var in super::dev::PSQL_TERMINAL_VARS {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    for (name, value) in target.libpq_env(&project)? {
        cmd.env(name, value);
    }
    cmd.env("PGAPPNAME", "dbsage psql");
    if read_only {
        cmd.env("PGOPTIONS", "-c default_transaction_read_only=on");
    }
    if let Some(sql) = &args.command {
        cmd.args(["-v", "ON_ERROR_STOP=1", "-c", sql]);
    }
    let status = cmd
        .status()
        .map_err(|e| dbsage_core::Error::io(format!("starting {}", psql.display()), e))?;
    // psql's own exit code: 1 fatal, 2 connection lost, 3 an error in the script.
    Ok(status.code().unwrap_or(1))
}

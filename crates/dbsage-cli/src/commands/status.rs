use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde_json::json;

use dbsage_core::env::Target;
use dbsage_core::migrate::{self, State};

use crate::output::{Out, Style};

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Environment: a name from dbsage.toml, `dev` (default), or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
}

pub fn run(args: StatusArgs, out: &Out) -> dbsage_core::Result<i32> {
    let (project, files) = super::project_and_files()?;
    let target = Target::resolve(&project, args.env.as_deref())?;
    let mut client = target.connect(&project, "dbsage status")?;
    let entries = migrate::status(&mut client, &project, &files)?;
    let inconsistent = entries
        .iter()
        .any(|e| matches!(e.state, State::Modified | State::Missing));
    if out.json_mode() {
        out.json(&json!({ "environment": target.name, "migrations": entries }));
    } else {
        out.line(&format!(
            "{} ({})",
            out.paint(&target.name, Style::Bold),
            target.display
        ));
        if entries.is_empty() {
            out.line("no migrations yet: create one with `dbsage new NAME`");
        } else {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
                "version",
                "name",
                "state",
                "applied at",
            ]);
            for e in &entries {
                let state = match e.state {
                    State::Applied => out.paint("applied", Style::Good),
                    State::Pending if e.out_of_order => {
                        out.paint("pending (out of order)", Style::Warn)
                    }
                    State::Pending => out.paint("pending", Style::Warn),
                    State::Modified => out.paint("modified", Style::Bad),
                    State::Missing => out.paint("missing", Style::Bad),
                };
                table.add_row(vec![
                    e.version.clone(),
                    e.name.clone(),
                    state,
                    e.applied_at.clone().unwrap_or_default(),
                ]);
            }
            out.line(&table.to_string());
            let pending = entries.iter().filter(|e| e.state == State::Pending).count();
            out.line(&format!(
                "{} applied, {pending} pending",
                entries.iter().filter(|e| e.state == State::Applied).count()
            ));
        }
    }
    Ok(if inconsistent { 1 } else { 0 })
}

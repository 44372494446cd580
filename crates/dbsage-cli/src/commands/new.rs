use clap::Args;
use serde_json::json;

use crate::output::Out;

#[derive(Args, Debug)]
pub struct NewArgs {
    /// What the migration does, e.g. add_user_preferences.
    pub name: String,
    /// Also create the <version>_<name>.down.sql file that undoes it.
    #[arg(long)]
    pub down: bool,
}

pub fn run(args: NewArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let body = "-- Write the change here. It runs in one transaction with its history row.\n\
                -- Make it re-runnable: CREATE … IF NOT EXISTS, DROP … IF EXISTS.\n";
    let (up, down) =
        dbsage_core::migrations::create(&project.migrations_dir(), &args.name, args.down, body)?;
    if out.json_mode() {
        out.json(&json!({ "created": up.display().to_string(), "down": down.as_ref().map(|d| d.display().to_string()) }));
    } else {
        out.status("Created", &super::display_path(&up));
        if let Some(d) = down {
            out.status("Created", &super::display_path(&d));
        }
    }
    Ok(0)
}

//! `dbsage history`: the audit log of an environment, newest last; `--verify` recomputes its
//! hash chain and reports the first broken link.

use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde_json::json;

use dbsage_core::env::Target;
use dbsage_core::event_log;

use crate::output::{Out, Style};

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Environment: a name from dbsage.toml, `dev` (default), or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
    /// Recompute the hash chain over the whole log and report the first broken link (exit 1).
    #[arg(long)]
    pub verify: bool,
    /// Show the newest N events (0: all).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: u32,
}

pub fn run(args: HistoryArgs, out: &Out) -> dbsage_core::Result<i32> {
    let project = super::project()?;
    let target = Target::resolve(&project, args.env.as_deref())?;
    super::announce(out, &target);
    let mut client = target.connect(&project, "dbsage history")?;
    let table = project.history_table();
    let limit = (args.limit > 0).then_some(i64::from(args.limit));
    let events = event_log::read(&mut client, &table, limit)?;
    let verification = if args.verify {
        Some(event_log::verify(&mut client, &table)?)
    } else {
        None
    };
    let broken = verification.as_ref().is_some_and(|v| !v.intact);
    if out.json_mode() {
        out.json(&json!({
            "environment": target.name,
            "events": events.unwrap_or_default(),
            "verification": verification,
        }));
        return Ok(if broken { 1 } else { 0 });
    }
    out.line(&format!(
        "{} ({})",
        out.paint(&target.name, Style::Bold),
        target.display
    ));
    match &events {
        None => out.line("no audit log yet: dbsage writes one with the first `dbsage migrate`"),
        Some(events) if events.is_empty() => out.line("the audit log is empty"),
        Some(events) => {
            let mut rows = Table::new();
            rows.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
                "#",
                "at (UTC)",
                "event",
                "migration",
                "actor",
                "db user",
                "reason",
            ]);
            for e in events {
                let migration = match (&e.version, &e.name) {
                    (Some(v), Some(n)) => format!("{v}_{n}"),
                    (Some(v), None) => v.clone(),
                    _ => String::new(),
                };
                rows.add_row(vec![
                    e.id.to_string(),
                    e.at.clone(),
                    e.event.clone(),
                    migration,
                    e.actor.clone(),
                    e.db_user.clone(),
                    e.reason.clone().unwrap_or_default(),
                ]);
            }
            out.line(&rows.to_string());
            out.line(&format!(
                "{}, newest last",
                dbsage_core::wording::plural(events.len(), "event")
            ));
        }
    }
    if let Some(v) = &verification {
        match (&v.first_broken, &v.head) {
            (Some(link), _) => {
                let mut hint = String::new();
                if let (Some(expected), found) = (&link.expected, &link.found) {
                    hint.push_str(&format!(
                        "expected {expected}, found {}\n",
                        found.as_deref().unwrap_or("(none)")
                    ));
                }
                hint.push_str("the log was altered outside dbsage: compare with a backup or an anchored head hash, and find out who has superuser or owner rights on it");
                out.error_text(
                    &format!("audit log chain broken: {}", link.message),
                    Some(&hint),
                );
            }
            (None, Some(head)) => out.status(
                "Verified",
                &format!(
                    "audit log chain intact: {}; head #{} {}",
                    dbsage_core::wording::plural(v.rows, "event"),
                    head.id,
                    head.hash
                ),
            ),
            (None, None) => out.status("Verified", "audit log chain intact: no events"),
        }
    }
    Ok(if broken { 1 } else { 0 })
}

//! `setting-random-page-cost`: `random_page_cost` left at 4 (four times a sequential read, a
//! spinning disk's seek) while the data directory sits on non-rotational storage.
//!
//! Why: on SSDs and in memory a random read costs about what a sequential one does; at 4 the
//! planner prices index scans too high and picks sequential scans and hash joins that read far
//! more. Judged only when the storage is known (the kernel's `rotational` flag for the data
//! directory's device, read through the server, see `server_files`); otherwise withheld as
//! "unknown storage", never claimed. Bad: 4 on NVMe. Good: 1.1 on SSD, 4 on spinning disks.
//! Fix: `ALTER SYSTEM SET random_page_cost = 1.1` and a reload (no restart).

use postgres::Client;
use serde_json::json;

use super::server_files::{data_directory_storage, Storage};
use super::{finding, Check, Context, Finding, Severity, Withheld};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "setting-random-page-cost",
    run,
};

pub(crate) const QUERY: &str = "\
select current_setting('random_page_cost')::float8 as random_page_cost,
       current_setting('seq_page_cost')::float8 as seq_page_cost,
       (select s.source from pg_catalog.pg_settings s where s.name = 'random_page_cost') as source";

/// The default's ratio to `seq_page_cost`: a seek-bound disk's.
const SPINNING_DISK_RATIO: f64 = 4.0;

fn run(client: &mut Client, ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    let row = client
        .query_one(QUERY, &[])
        .map_err(TuneError::db("reading random_page_cost"))?;
    let random: f64 = row.get("random_page_cost");
    let seq: f64 = row.get("seq_page_cost");
    if random < SPINNING_DISK_RATIO * seq {
        return Ok(Vec::new());
    }
    let source: String = row.get("source");
    let (storage, device) = match data_directory_storage(client) {
        Storage::NonRotational { device } => ("non-rotational (SSD)", device),
        Storage::Memory { filesystem } => ("memory", filesystem),
        Storage::Rotational { .. } => return Ok(Vec::new()),
        Storage::Unknown { reason } => {
            ctx.withheld.push(Withheld {
                check: CHECK.id.into(),
                object: "setting random_page_cost".into(),
                reason: format!(
                    "random_page_cost is {random}, right for spinning disks only, and the storage is unknown: {reason}"
                ),
            });
            return Ok(Vec::new());
        }
    };
    Ok(vec![finding(
        CHECK.id,
        Severity::Info,
        "setting random_page_cost".into(),
        format!(
            "random_page_cost is {random} (a spinning disk's seek) but the data directory is on {storage} storage ({device}): the planner overprices index scans"
        ),
        json!({
            "random_page_cost": random,
            "seq_page_cost": seq,
            "source": source,
            "storage": storage,
            "device": device,
        }),
        Some("ALTER SYSTEM SET random_page_cost = 1.1;\nSELECT pg_reload_conf();".into()),
    )])
}

//! `setting-shared-buffers`: `shared_buffers` under an eighth of the server's RAM (the
//! 128 MB default on a machine of 1 GB or more).
//!
//! Why: PostgreSQL's documentation gives 25 % of RAM as the reasonable starting value on a
//! dedicated server of 1 GB or more; under half of that the working set is served by the OS
//! cache at best, through a copy per read. Judged only when the server's RAM is known (its
//! `/proc/meminfo` and cgroup limit, read through the server, see `server_files`): otherwise
//! withheld when shared_buffers is at the default or less, never guessed. Bad: 128 MB on 16 GB.
//! Good: 4 GB on 16 GB. Fix: `ALTER SYSTEM SET shared_buffers` to about a quarter of RAM and a
//! restart (a judgement when other services share the machine).

use postgres::Client;
use serde_json::json;

use super::server_files::ram;
use super::{bytes, finding, Check, Context, Finding, Severity, Withheld};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "setting-shared-buffers",
    run,
};

pub(crate) const QUERY: &str = "\
select current_setting('shared_buffers') as shared_buffers,
       pg_catalog.pg_size_bytes(current_setting('shared_buffers')) as shared_buffers_bytes,
       (select s.source from pg_catalog.pg_settings s where s.name = 'shared_buffers') as source";

/// Below RAM / 8 (half the documented 25 % starting value) shared_buffers is too small.
const MIN_SHARE_OF_RAM: f64 = 1.0 / 8.0;
/// The default, 128 MB: at or under it, an unknown RAM is worth saying.
const DEFAULT_BYTES: i64 = 128 * 1024 * 1024;
/// The documentation's 25 % applies from 1 GB of RAM.
const MIN_RAM_BYTES: i64 = 1024 * 1024 * 1024;

fn run(client: &mut Client, ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    let row = client
        .query_one(QUERY, &[])
        .map_err(TuneError::db("reading shared_buffers"))?;
    let setting: String = row.get("shared_buffers");
    let buffers: i64 = row.get("shared_buffers_bytes");
    let source: String = row.get("source");
    let Some(ram) = ram(client) else {
        if buffers <= DEFAULT_BYTES {
            ctx.withheld.push(Withheld {
                check: CHECK.id.into(),
                object: "setting shared_buffers".into(),
                reason: format!(
                    "shared_buffers is {setting}, the default or less, and the server's RAM is unknown (reading /proc/meminfo needs superuser or pg_read_server_files)"
                ),
            });
        }
        return Ok(Vec::new());
    };
    if ram.bytes < MIN_RAM_BYTES || buffers as f64 >= ram.bytes as f64 * MIN_SHARE_OF_RAM {
        return Ok(Vec::new());
    }
    let quarter_mb = ram.bytes / 4 / (1024 * 1024);
    let share = buffers as f64 / ram.bytes as f64;
    let of_what = if ram.limited_by_cgroup {
        "the server's memory limit (cgroup)"
    } else {
        "the server's RAM"
    };
    Ok(vec![finding(
        CHECK.id,
        Severity::Info,
        "setting shared_buffers".into(),
        format!(
            "shared_buffers is {setting} ({source}), {:.1} % of {of_what} ({}); about 25 % is the documented starting point",
            share * 100.0,
            bytes(ram.bytes)
        ),
        json!({
            "shared_buffers": setting,
            "shared_buffers_bytes": buffers,
            "source": source,
            "ram_bytes": ram.bytes,
            "ram_limited_by_cgroup": ram.limited_by_cgroup,
            "share_of_ram": (share * 10000.0).round() / 10000.0,
        }),
        Some(format!(
            "-- a judgement when other services share the machine; takes a restart\nALTER SYSTEM SET shared_buffers = '{quarter_mb}MB';"
        )),
    )])
}

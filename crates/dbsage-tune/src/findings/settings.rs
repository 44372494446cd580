//! `setting-work-mem`: `work_mem` left at its 4 MB default while this database's sorts and
//! hashes have spilled to temporary files.
//!
//! Why: a sort or hash that does not fit in work_mem writes to disk and is many times slower.
//! Judged only on evidence (temporary files written since statistics began), never on the
//! default alone: a default that hurts nobody is not reported. Bad: reports sorting millions
//! of rows with 4 MB. Good: no temp files, or work_mem sized to the workload. Fix: a larger
//! work_mem for the role or the queries that need it (it is per sort, per connection: a
//! judgement, not a formula).

use postgres::Client;
use serde_json::json;

use super::{bytes, finding, Check, Context, Finding, Severity};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "setting-work-mem",
    run,
};

pub(crate) const QUERY: &str = "\
select current_setting('work_mem') as work_mem,
       pg_catalog.pg_size_bytes(current_setting('work_mem')) as work_mem_bytes,
       (select s.source from pg_catalog.pg_settings s where s.name = 'work_mem') as source,
       d.temp_files, d.temp_bytes
  from pg_catalog.pg_stat_database d
 where d.datname = current_database()";

fn run(client: &mut Client, ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    let row = client
        .query_one(QUERY, &[])
        .map_err(TuneError::db("reading work_mem and temporary files"))?;
    let source: String = row.get("source");
    let temp_files: i64 = row.get("temp_files");
    let temp_bytes: i64 = row.get("temp_bytes");
    if source != "default" || temp_files == 0 {
        return Ok(Vec::new());
    }
    let work_mem: String = row.get("work_mem");
    Ok(vec![finding(
        CHECK.id,
        Severity::Info,
        "setting work_mem".into(),
        format!(
            "work_mem is at its default ({work_mem}) and {temp_files} sorts or hashes spilled {} to temporary files since {}: a judgement, raise it for the queries that spill",
            bytes(temp_bytes),
            ctx.stats.since
        ),
        json!({
            "work_mem": work_mem,
            "work_mem_bytes": row.get::<_, i64>("work_mem_bytes"),
            "temp_files": temp_files,
            "temp_bytes": temp_bytes,
        }),
        Some("-- a judgement: per sort or hash, per connection\nALTER ROLE <app_role> SET work_mem = '32MB';".into()),
    )])
}

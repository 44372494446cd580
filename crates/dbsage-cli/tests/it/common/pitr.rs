//! Point-in-time recovery helpers: archiving WAL up to now, and stopping a copy a test restored.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Stops a restored server the test started through dbsage (pg_ctl, as the data's owner).
pub struct Restored(pub PathBuf);

impl Drop for Restored {
    fn drop(&mut self) {
        if !self.0.join("postmaster.pid").exists() {
            return;
        }
        let install = dbsage_cluster::PgInstall::find().unwrap();
        let mut cmd = dbsage_cluster::child_command(install.bin("pg_ctl"));
        cmd.args(["stop", "-m", "immediate", "-D"]).arg(&self.0);
        dbsage_cluster::RunAs::apply(dbsage_cluster::RunAs::detect().unwrap().as_ref(), &mut cmd);
        let _ = cmd.output();
    }
}

/// Switches WAL and waits until the archiver has pushed that segment to pgBackRest.
pub fn archive_current_wal(client: &mut postgres::Client) {
    let segment: String = client
        .query_one("select pg_walfile_name(pg_switch_wal())", &[])
        .unwrap()
        .get(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let archived: Option<String> = client
            .query_one("select last_archived_wal from pg_stat_archiver", &[])
            .unwrap()
            .get(0);
        if archived.is_some_and(|a| a >= segment) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "segment {segment} was not archived"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

//! A throwaway streaming standby of a throwaway primary: `pg_basebackup -R` over the primary's
//! unix socket, then the server started like any throwaway cluster (removed on drop). For
//! tests of replication monitoring: lag (pause replay with `pg_wal_replay_pause()`), slots.

use std::fs;

use crate::install::RunAs;
use crate::{
    child_command, password, stale, template, unique_dir, Cluster, ClusterError, ClusterOptions,
};

impl Cluster {
    /// Starts a standby streaming from `primary` (which needs `wal_level = replica`, the
    /// default, and a free WAL sender). `slot` names a physical replication slot to create
    /// and stream through. The standby shares the primary's superuser password (the role is
    /// replicated) and is ready once it accepts read-only connections.
    pub fn start_replica_of(
        primary: &Cluster,
        slot: Option<&str>,
        options: &ClusterOptions,
    ) -> Result<Cluster, ClusterError> {
        let run_as = RunAs::detect()?;
        let registry = crate::registry_dir();
        fs::create_dir_all(&registry)
            .map_err(|e| ClusterError::io("creating the cluster registry", e))?;
        let root = unique_dir(&registry)?;
        crate::set_mode(&root, 0o700);
        let prepared = (|| {
            stale::write_owner(&root)?;
            password::save(&root.join("password"), primary.password())?;
            let sock = root.join("sock");
            fs::create_dir(&sock)?;
            crate::set_mode(&sock, 0o700);
            template::chown_to(run_as.as_ref(), &sock)?;
            template::chown_to(run_as.as_ref(), &root)?;
            Ok::<_, std::io::Error>(())
        })();
        if let Err(e) = prepared {
            let _ = fs::remove_dir_all(&root);
            return Err(ClusterError::io("preparing the standby directory", e));
        }
        let mut cmd = child_command(primary.install().bin("pg_basebackup"));
        cmd.arg("-h")
            .arg(primary.socket_dir())
            .arg("-p")
            .arg(primary.port().to_string())
            .args(["-U", "postgres", "-X", "stream", "-R", "--no-sync", "-D"])
            .arg(root.join("data"));
        if let Some(slot) = slot {
            cmd.args(["-C", "-S", slot]);
        }
        RunAs::apply(run_as.as_ref(), &mut cmd);
        let output = cmd
            .output()
            .map_err(|e| ClusterError::io("running pg_basebackup", e));
        let failed = match output {
            Ok(o) if o.status.success() => None,
            Ok(o) => Some(ClusterError::Start {
                reason: format!("pg_basebackup failed ({})", o.status),
                log: String::from_utf8_lossy(&o.stderr).into_owned(),
            }),
            Err(e) => Some(e),
        };
        if let Some(e) = failed {
            let _ = fs::remove_dir_all(&root);
            return Err(e);
        }
        // The copied data directory keeps the primary's settings; the standby's own port and
        // socket come from the server's command line.
        let mut standby = Cluster {
            install: primary.install().clone(),
            run_as,
            root,
            port: 0,
            password: primary.password().to_string(),
            child: None,
        };
        standby.spawn_retrying(options)?;
        Ok(standby)
    }

    /// True for a standby (its data directory holds `standby.signal`).
    pub fn is_standby(&self) -> bool {
        self.data_dir().join("standby.signal").exists()
    }
}

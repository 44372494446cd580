//! The project's persistent dev cluster (`dbsage dev …`), kept under `.dbsage/dev/`.
//!
//! Unlike throwaway clusters it outlives dbsage (started with `pg_ctl`, which detaches it). When
//! dbsage runs as root and the project directory is not reachable by the server user (a project
//! under `/root`), the data lives in the system temp dir and `.dbsage/dev/cluster.json` says where.
//!
//! It has no unix socket, and TCP needs the superuser password generated when the cluster is
//! created, kept in `.dbsage/dev/password` (0600).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::child::child_command;
use crate::install::{reachable_by, PgInstall, RunAs};
use crate::{free_port, password, template, ClusterError};

/// What `.dbsage/dev/cluster.json` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevState {
    /// Directory owned by the server user: `data/` and `server.log`.
    pub home: PathBuf,
    pub port: u16,
    pub pg_version: String,
    /// The extra server settings of the last start (`[local] server_settings`, preloads): a
    /// change restarts the server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct DevCluster {
    state_dir: PathBuf,
    install: PgInstall,
    run_as: Option<RunAs>,
    state: DevState,
    /// From `.dbsage/dev/password`; `None` until the cluster is created (or, for a cluster made
    /// by an older dbsage, secured on its next start).
    password: Option<String>,
    /// The extra server settings wanted for the next start.
    wanted_settings: Vec<(String, String)>,
}

impl DevCluster {
    /// Opens (without starting) the dev cluster of the project rooted at `project_root`, on
    /// any installed version ([`DevCluster::open_major`] with `None`).
    pub fn open(project_root: &Path) -> Result<DevCluster, ClusterError> {
        Self::open_major(project_root, None)
    }

    /// Opens (without starting) the dev cluster of the project rooted at `project_root`, to run
    /// on PostgreSQL `major` (any installed version when `None`).
    pub fn open_major(project_root: &Path, major: Option<u32>) -> Result<DevCluster, ClusterError> {
        let install = PgInstall::find_major(major)?;
        let run_as = RunAs::detect()?;
        let state_dir = project_root.join(".dbsage").join("dev");
        fs::create_dir_all(&state_dir).map_err(|e| ClusterError::io("creating .dbsage/dev", e))?;
        let state_file = state_dir.join("cluster.json");
        let state = match fs::read_to_string(&state_file)
            .ok()
            .and_then(|t| serde_json::from_str::<DevState>(&t).ok())
        {
            Some(s) => s,
            None => {
                let home = match &run_as {
                    Some(r) if !reachable_by(r, &state_dir) => {
                        let mut h = Sha256::new();
                        h.update(project_root.to_string_lossy().as_bytes());
                        std::env::temp_dir()
                            .join(format!("dbsage-dev-{}", unsafe { libc::geteuid() }))
                            .join(hex::encode(&h.finalize()[..8]))
                    }
                    _ => state_dir.clone(),
                };
                DevState {
                    home,
                    port: free_port()?,
                    pg_version: install.version.clone(),
                    settings: Vec::new(),
                }
            }
        };
        let password = password::load(&state_dir.join(PASSWORD_FILE));
        let dev = DevCluster {
            state_dir,
            install,
            run_as,
            state,
            password,
            wanted_settings: Vec::new(),
        };
        dev.save()?;
        Ok(dev)
    }

    fn save(&self) -> Result<(), ClusterError> {
        fs::write(
            self.state_dir.join("cluster.json"),
            serde_json::to_string_pretty(&self.state).unwrap(),
        )
        .map_err(|e| ClusterError::io("writing .dbsage/dev/cluster.json", e))
    }

    pub fn data_dir(&self) -> PathBuf {
        self.state.home.join("data")
    }
    pub fn log_path(&self) -> PathBuf {
        self.state.home.join("server.log")
    }
    pub fn port(&self) -> u16 {
        self.state.port
    }
    pub fn install(&self) -> &PgInstall {
        &self.install
    }
    /// `postgresql://postgres:PASSWORD@127.0.0.1:PORT/postgres`: a working URL, password
    /// included (hex digits: nothing to escape). Without a password before the cluster exists.
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!(
                "postgresql://postgres:{password}@127.0.0.1:{}/postgres",
                self.state.port
            ),
            None => format!(
                "postgresql://postgres@127.0.0.1:{}/postgres",
                self.state.port
            ),
        }
    }
    /// The superuser's password, once the cluster exists.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }
    /// Where the password is kept (0600).
    pub fn password_path(&self) -> PathBuf {
        self.state_dir.join(PASSWORD_FILE)
    }
    pub fn exists(&self) -> bool {
        self.data_dir().join("PG_VERSION").is_file()
    }

    /// The major version the existing data directory was created with (`data/PG_VERSION`).
    pub fn data_major(&self) -> Option<u32> {
        fs::read_to_string(self.data_dir().join("PG_VERSION"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The mismatch error when the data was created by another major version than the one
    /// this cluster runs: such a server cannot start, and only `dev reset` recreates it.
    pub fn check_version(&self) -> Result<(), ClusterError> {
        match self.data_major() {
            Some(data_major) if data_major != self.install.major => {
                Err(ClusterError::DevVersionMismatch {
                    data_major,
                    wanted: self.install.major,
                })
            }
            _ => Ok(()),
        }
    }

    /// The postmaster's pid when the server is up.
    pub fn running_pid(&self) -> Option<u32> {
        let text = fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        let pid: u32 = text.lines().next()?.trim().parse().ok()?;
        let ready = text.lines().nth(7).map(str::trim) == Some("ready");
        (ready && crate::process_alive(pid)).then_some(pid)
    }

    /// Extra `name = value` server settings for the next start; a running server started with
    /// other settings is restarted by [`DevCluster::ensure_running`].
    pub fn set_settings(&mut self, settings: Vec<(String, String)>) {
        self.wanted_settings = settings;
    }

    /// Creates the cluster when missing and starts it when stopped. Serialised with a file lock
    /// so concurrent dbsage processes do not race.
    pub fn ensure_running(&mut self) -> Result<bool, ClusterError> {
        let _lock = FileLock::acquire(&self.state_dir.join("lock"))?;
        self.check_version()?;
        // Another process may have created it (and its password) since `open`.
        self.password = password::load(&self.password_path());
        let secured = self.password.is_some();
        if secured && self.running_pid().is_some() {
            if self.state.settings == self.wanted_settings {
                return Ok(false);
            }
            self.stop()?;
        }
        if !self.exists() {
            self.create()?;
            self.secure()?;
        } else if !secured {
            // Made by a dbsage that let every local user in over TCP.
            self.stop()?;
            self.secure()?;
        }
        // A stale pid file from a crash would make pg_ctl refuse; the server removes it itself
        // when the pid is dead, so only the port needs care.
        if std::net::TcpListener::bind(("127.0.0.1", self.state.port)).is_err() {
            self.state.port = free_port()?;
            self.save()?;
        }
        let mut options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c synchronous_commit=off",
            self.state.port
        );
        // pg_ctl hands `-o` to a shell: each setting is one single-quoted word.
        for (name, value) in &self.wanted_settings {
            let word = format!("{name}={value}").replace('\'', "'\\''");
            options.push_str(&format!(" -c '{word}'"));
        }
        let log = self.log_path();
        self.pg_ctl(&[
            "-l".as_ref(),
            log.as_os_str(),
            "-w".as_ref(),
            "-t".as_ref(),
            "60".as_ref(),
            "-o".as_ref(),
            options.as_ref(),
            "start".as_ref(),
        ])
        .map_err(|reason| ClusterError::Start {
            reason,
            log: tail(&fs::read_to_string(self.log_path()).unwrap_or_default(), 30),
        })?;
        if self.state.settings != self.wanted_settings {
            self.state.settings = self.wanted_settings.clone();
            self.save()?;
        }
        Ok(true)
    }

    fn create(&mut self) -> Result<(), ClusterError> {
        let template = template::ensure_template(&self.install, self.run_as.as_ref())?;
        fs::create_dir_all(&self.state.home)
            .map_err(|e| ClusterError::io("creating the dev cluster directory", e))?;
        template::chown_to(self.run_as.as_ref(), &self.state.home)
            .map_err(|e| ClusterError::io("preparing the dev cluster directory", e))?;
        template::copy_tree(&template, &self.data_dir(), self.run_as.as_ref())
            .map_err(|e| ClusterError::io("copying the template", e))?;
        self.state.pg_version = self.install.version.clone();
        self.save()
    }

    /// Requires the generated password over TCP: writes pg_hba.conf and sets the password in
    /// single-user mode (the server is stopped), then saves it, so a failure leaves no password
    /// file and the next start tries again.
    fn secure(&mut self) -> Result<(), ClusterError> {
        let data = self.data_dir();
        template::write_auth_config(&data)
            .map_err(|e| ClusterError::io("writing the dev cluster's pg_hba.conf", e))?;
        let password =
            password::generate().map_err(|e| ClusterError::io("generating a password", e))?;
        let mut cmd = child_command(self.install.bin("postgres"));
        cmd.arg("--single")
            .arg("-D")
            .arg(&data)
            .args(["-c", "exit_on_error=on", "postgres"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        RunAs::apply(self.run_as.as_ref(), &mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| ClusterError::io("running postgres --single", e))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = writeln!(stdin, "{};", password::alter_role_sql(&password));
        }
        let out = child
            .wait_with_output()
            .map_err(|e| ClusterError::io("running postgres --single", e))?;
        if !out.status.success() {
            return Err(ClusterError::Start {
                reason: "setting the dev cluster's password in single-user mode failed".into(),
                log: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        password::save(&self.password_path(), &password)
            .map_err(|e| ClusterError::io("writing .dbsage/dev/password", e))?;
        self.password = Some(password);
        Ok(())
    }

    /// Stops the server (fast shutdown). Returns false when it was not running.
    pub fn stop(&self) -> Result<bool, ClusterError> {
        if self.running_pid().is_none() {
            return Ok(false);
        }
        self.pg_ctl(&["-m", "fast", "-w", "-t", "60", "stop"].map(std::ffi::OsStr::new))
            .map_err(|reason| ClusterError::Start {
                reason: format!("pg_ctl stop failed: {reason}"),
                log: String::new(),
            })?;
        Ok(true)
    }

    /// Runs `pg_ctl -D <data> ARGS…` as the server user; the error is pg_ctl's stderr.
    fn pg_ctl(&self, args: &[&std::ffi::OsStr]) -> Result<(), String> {
        // A server of another major version (before `dev reset`) is stopped by its own pg_ctl
        // when that version is still installed.
        let own = self
            .data_major()
            .filter(|m| *m != self.install.major)
            .and_then(|m| PgInstall::find_major(Some(m)).ok());
        let mut cmd = child_command(own.as_ref().unwrap_or(&self.install).bin("pg_ctl"));
        cmd.arg("-D")
            .arg(self.data_dir())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        RunAs::apply(self.run_as.as_ref(), &mut cmd);
        let out = cmd.output().map_err(|e| format!("running pg_ctl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// Stops the server and deletes its data (for `dev reset`).
    pub fn destroy(&mut self) -> Result<(), ClusterError> {
        self.stop()?;
        let data = self.data_dir();
        if data.exists() {
            fs::remove_dir_all(&data)
                .map_err(|e| ClusterError::io("removing the dev cluster", e))?;
        }
        Ok(())
    }
}

const PASSWORD_FILE: &str = "password";

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// An exclusive `flock` held until drop.
struct FileLock(#[allow(dead_code)] fs::File);

impl FileLock {
    fn acquire(path: &Path) -> Result<FileLock, ClusterError> {
        use std::os::fd::AsRawFd;
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| ClusterError::io("opening the dev cluster lock", e))?;
        // SAFETY: flock on an fd we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(ClusterError::io(
                "locking the dev cluster",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(FileLock(file))
    }
}

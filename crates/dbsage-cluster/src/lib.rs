//! Embedded local PostgreSQL, without Docker: throwaway clusters started from a cached initdb
//! template, and the project's persistent dev cluster.
//!
//! The server binaries come from the machine (see [`PgInstall::find`]). When dbsage runs as
//! root, the server runs as an unprivileged user ([`RunAs`]), because PostgreSQL refuses root.
//!
//! A throwaway cluster never outlives dbsage: it is stopped on drop (normal exit, error, panic),
//! by [`shutdown_live_clusters`] from a signal handler (Ctrl-C, SIGTERM), by the kernel when the
//! owning thread dies (`PR_SET_PDEATHSIG`, which covers `kill -9`), and a directory left behind
//! by a killed run is removed by the next run ([`clean_stale_clusters`]).
//!
//! Other local users get nothing: every child process starts from a cleared environment
//! ([`child_command`]), the unix socket sits in a 0700 directory, and TCP needs the cluster's
//! generated scram password (in the cluster's 0600 `password` file).

mod child;
mod dev;
pub mod fetch;
mod install;
mod password;
mod replica;
mod stale;
mod template;

use std::fs;
use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use child::child_command;
pub use dev::{DevCluster, DevState};
pub use install::{pg_cache_dir, program_version, reachable_by, PgInstall, RunAs};
pub use stale::clean_stale_clusters;
pub use template::cache_dir;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries found (looked in {tried}).\n\
         dbsage starts its own local PostgreSQL from the server programs initdb, postgres and pg_ctl.\n\
         Install them (Debian/Ubuntu: `apt-get install postgresql-15`), or point DBSAGE_PG_BIN at the directory that holds them."
    )]
    NoServer { tried: String },
    #[error(
        "PostgreSQL {wanted} is wanted here, and dbsage has no server binaries for it ({found}).\n\
         Install them with `dbsage pg install {wanted}` (or your system's `postgresql-{wanted}` package), or point DBSAGE_PG_BIN at them."
    )]
    WrongVersion { wanted: u32, found: String },
    #[error(
        "the dev database was created with PostgreSQL {data_major}, and this project now runs PostgreSQL {wanted}.\n\
         Recreate it on PostgreSQL {wanted} with `dbsage dev reset` (its data is replaced by the migrations and the seed)."
    )]
    DevVersionMismatch { data_major: u32, wanted: u32 },
    #[error(
        "dbsage runs as root, and PostgreSQL refuses to run as root; there is no OS user `{name}` to run it as.\n\
         Create one (`useradd --system --no-create-home {name}`), or set DBSAGE_PG_USER to an existing unprivileged user."
    )]
    NoServerUser { name: String },
    #[error("initdb failed:\n{output}")]
    Initdb { output: String },
    #[error("the local PostgreSQL server did not start: {reason}\n--- server log ---\n{log}")]
    Start { reason: String, log: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("{}", dbsage_pgerror::describe(.0))]
    Client(#[from] postgres::Error),
}

impl ClusterError {
    pub(crate) fn io(what: &str, source: io::Error) -> Self {
        ClusterError::Io {
            what: what.to_string(),
            source,
        }
    }
}

/// Server settings for throwaway clusters: durability is pointless for data that is deleted
/// minutes later, and turning it off makes DDL-heavy migration runs several times faster.
const THROWAWAY_SETTINGS: &[(&str, &str)] = &[
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
    ("max_connections", "60"),
    ("shared_buffers", "32MB"),
    ("max_wal_size", "256MB"),
    ("log_min_messages", "warning"),
    ("autovacuum", "off"),
];

/// Options for a throwaway cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Extra `name = value` server settings (for instance `ssl = on`).
    pub settings: Vec<(String, String)>,
    /// The PostgreSQL major version to run ([`PgInstall::find_major`]); `None`: any.
    pub major: Option<u32>,
}

/// A throwaway PostgreSQL cluster, removed on drop.
#[derive(Debug)]
pub struct Cluster {
    install: PgInstall,
    run_as: Option<RunAs>,
    /// The cluster's own directory (0700): `data/`, `sock/`, `server.log`, `owner`, `password`.
    root: PathBuf,
    port: u16,
    /// The superuser's password for TCP connections, generated per cluster.
    password: String,
    child: Option<Child>,
}

static LIVE: Mutex<Vec<(u32, PathBuf)>> = Mutex::new(Vec::new());

/// The directory that holds every throwaway cluster of this OS user: `DBSAGE_CLUSTER_DIR`, else
/// `/dev/shm` (memory-backed: copying the template there is ten times faster than to disk, and
/// durability is moot), else the system temp dir.
fn registry_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DBSAGE_CLUSTER_DIR") {
        return PathBuf::from(dir).join(registry_name());
    }
    let shm = Path::new("/dev/shm");
    let writable = std::ffi::CString::new("/dev/shm")
        .map(|p| unsafe { libc::access(p.as_ptr(), libc::W_OK | libc::X_OK) } == 0)
        .unwrap_or(false);
    if shm.is_dir() && writable {
        return shm.join(registry_name());
    }
    std::env::temp_dir().join(registry_name())
}

fn registry_name() -> String {
    // SAFETY: geteuid cannot fail.
    format!("dbsage-clusters-{}", unsafe { libc::geteuid() })
}

/// Where stale clusters may be: the registry, and the temp-dir one used when `/dev/shm` was not
/// available to an earlier run.
pub(crate) fn registry_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![registry_dir()];
    let fallback = std::env::temp_dir().join(registry_name());
    if !dirs.contains(&fallback) {
        dirs.push(fallback);
    }
    dirs
}

impl Cluster {
    /// Starts a throwaway cluster with default options.
    pub fn start() -> Result<Cluster, ClusterError> {
        Self::start_with(&ClusterOptions::default())
    }

    pub fn start_with(options: &ClusterOptions) -> Result<Cluster, ClusterError> {
        clean_stale_clusters();
        let install = PgInstall::find_major(options.major)?;
        let run_as = RunAs::detect()?;
        let template = template::ensure_template(&install, run_as.as_ref())?;

        let registry = registry_dir();
        fs::create_dir_all(&registry)
            .map_err(|e| ClusterError::io("creating the cluster registry", e))?;
        set_mode(&registry, 0o755);
        let root = unique_dir(&registry)?;
        set_mode(&root, 0o700);
        stale::write_owner(&root)
            .map_err(|e| ClusterError::io("writing the cluster owner file", e))?;
        let data = root.join("data");
        let sock = root.join("sock");
        let prepared = password::generate().and_then(|password| {
            password::save(&root.join("password"), &password)?;
            template::copy_tree(&template, &data, run_as.as_ref())?;
            fs::create_dir(&sock)?;
            set_mode(&sock, 0o700);
            template::chown_to(run_as.as_ref(), &sock)?;
            template::chown_to(run_as.as_ref(), &root)?;
            Ok(password)
        });
        let password = match prepared {
            Ok(password) => password,
            Err(e) => {
                let _ = fs::remove_dir_all(&root);
                return Err(ClusterError::io("preparing the cluster directory", e));
            }
        };

        let mut cluster = Cluster {
            install,
            run_as,
            root,
            port: 0,
            password,
            child: None,
        };
        cluster.spawn_retrying(options)?;
        Ok(cluster)
    }

    /// A port picked as free can be taken before the server binds it: try a few.
    fn spawn_retrying(&mut self, options: &ClusterOptions) -> Result<(), ClusterError> {
        let mut last_error = None;
        for _ in 0..5 {
            match self.spawn_server(options) {
                Ok(()) => return Ok(()),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap())
    }

    fn spawn_server(&mut self, options: &ClusterOptions) -> Result<(), ClusterError> {
        use std::os::unix::process::CommandExt;
        self.port = free_port()?;
        let log_path = self.root.join("server.log");
        let log = fs::File::create(&log_path)
            .map_err(|e| ClusterError::io("creating the server log", e))?;
        let _ = template::chown_to(self.run_as.as_ref(), &log_path);
        let mut cmd = child_command(self.install.bin("postgres"));
        cmd.arg("-D")
            .arg(self.data_dir())
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.socket_dir())
            .args(["-c", "listen_addresses=127.0.0.1"]);
        for (k, v) in THROWAWAY_SETTINGS {
            cmd.arg("-c").arg(format!("{k}={v}"));
        }
        for (k, v) in &options.settings {
            cmd.arg("-c").arg(format!("{k}={v}"));
        }
        cmd.stdin(Stdio::null())
            .stdout(
                log.try_clone()
                    .map_err(|e| ClusterError::io("server log", e))?,
            )
            .stderr(log)
            // Own process group: a Ctrl-C in the terminal reaches dbsage, which stops the server.
            .process_group(0);
        RunAs::apply(self.run_as.as_ref(), &mut cmd);
        // SAFETY: prctl is async-signal-safe. std runs this after the uid switch, which would
        // otherwise clear the death signal.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| ClusterError::io("starting postgres", e))?;
        let pid = child.id();
        self.child = Some(child);
        LIVE.lock().unwrap().push((pid, self.root.clone()));
        match self
            .wait_ready(Duration::from_secs(30))
            // A standby is read-only: its password is the primary's, replicated.
            .and_then(|()| {
                if self.is_standby() {
                    Ok(())
                } else {
                    self.set_password()
                }
            }) {
            Ok(()) => Ok(()),
            Err(reason) => {
                self.kill_server();
                Err(ClusterError::Start {
                    reason,
                    log: fs::read_to_string(&log_path).unwrap_or_default(),
                })
            }
        }
    }

    /// Polls `postmaster.pid` for the "ready" status PostgreSQL writes once it accepts
    /// connections; much finer-grained than `pg_ctl -w`, which checks ten times a second.
    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let pid_file = self.data_dir().join("postmaster.pid");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("postgres exited during start-up ({status})"));
                }
            }
            if let Ok(text) = fs::read_to_string(&pid_file) {
                if matches!(
                    text.lines().nth(7).map(str::trim),
                    Some("ready" | "standby")
                ) {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("not ready after {}s", timeout.as_secs()));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Sets the generated password over the unix socket, the only way in before it is set.
    fn set_password(&mut self) -> Result<(), String> {
        let mut client = self
            .connect("postgres")
            .map_err(|e| format!("connecting over the unix socket: {e}"))?;
        client
            .batch_execute(&password::alter_role_sql(&self.password))
            .map_err(|e| format!("setting the cluster's password: {e}"))
    }

    fn kill_server(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id();
            // SIGQUIT: immediate shutdown; the data is about to be deleted anyway.
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid as i32, libc::SIGQUIT) };
            let _ = child.wait();
            LIVE.lock().unwrap().retain(|(p, _)| *p != pid);
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("sock")
    }
    pub fn install(&self) -> &PgInstall {
        &self.install
    }
    pub fn log_path(&self) -> PathBuf {
        self.root.join("server.log")
    }
    /// The postmaster's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// `postgresql://postgres:PASSWORD@127.0.0.1:PORT/DB`, with the cluster's own generated
    /// password (hex digits: nothing to escape).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgresql://postgres:{}@127.0.0.1:{}/{}",
            self.password, self.port, database
        )
    }

    /// The superuser password TCP connections need.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Connects as the superuser over the unix socket (no password: its directory is 0700).
    pub fn connect(&self, database: &str) -> Result<postgres::Client, ClusterError> {
        Ok(postgres::Config::new()
            .host_path(self.socket_dir())
            .port(self.port)
            .user("postgres")
            .dbname(database)
            .connect(postgres::NoTls)?)
    }

    /// Creates a database (each test gets its own) and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String, ClusterError> {
        let mut client = self.connect("postgres")?;
        client.batch_execute(&format!(
            "CREATE DATABASE \"{}\"",
            name.replace('"', "\"\"")
        ))?;
        Ok(self.url(name))
    }

    /// Stops the server and deletes the cluster.
    pub fn stop(mut self) {
        self.teardown();
    }

    fn teardown(&mut self) {
        self.kill_server();
        remove_cluster_files(&self.root);
    }
}

/// Deletes a stopped cluster's directory. Its databases (`data/base/<oid>`, a few hundred to
/// a few thousand files each) and its WAL are deleted side by side, one thread per core:
/// deleting is CPU time in the kernel. After a `diff` of 2,000 tables (4,000 files), stopping
/// and deleting took 80 ms with one thread, 50 ms with two.
fn remove_cluster_files(root: &Path) {
    let mut parts: Vec<PathBuf> = fs::read_dir(root.join("data").join("base"))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    parts.push(root.join("data").join("pg_wal"));
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get().min(4))
        .min(parts.len());
    if threads > 1 {
        std::thread::scope(|scope| {
            for first in 0..threads {
                let parts = &parts;
                scope.spawn(move || {
                    for part in parts.iter().skip(first).step_by(threads) {
                        let _ = fs::remove_dir_all(part);
                    }
                });
            }
        });
    }
    let _ = fs::remove_dir_all(root);
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Stops every throwaway cluster of this process and deletes its files. For signal handlers:
/// call it, then exit.
pub fn shutdown_live_clusters() {
    let live: Vec<(u32, PathBuf)> =
        std::mem::take(&mut *LIVE.lock().unwrap_or_else(|e| e.into_inner()));
    for (pid, root) in live {
        // SAFETY: signalling and reaping our own child.
        unsafe {
            libc::kill(pid as i32, libc::SIGQUIT);
            libc::waitpid(pid as i32, std::ptr::null_mut(), 0);
        }
        let _ = fs::remove_dir_all(root);
    }
}

/// Stops the postmaster recorded in a data directory's `postmaster.pid`, if it is still the
/// server of that directory.
pub(crate) fn stop_postmaster_of(data: &Path) {
    let Ok(text) = fs::read_to_string(data.join("postmaster.pid")) else {
        return;
    };
    let Some(pid) = text
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
    else {
        return;
    };
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let data_str = data.to_string_lossy();
    if !String::from_utf8_lossy(&cmdline).contains(data_str.as_ref()) {
        return;
    }
    // SAFETY: signalling a postgres process that serves this data directory.
    unsafe { libc::kill(pid, libc::SIGQUIT) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while is_running(pid as u32) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn unique_dir(parent: &Path) -> Result<PathBuf, ClusterError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    loop {
        let p = parent.join(format!(
            "{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        match fs::create_dir(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Left by an earlier process with our pid: stale by definition.
                stop_postmaster_of(&p.join("data"));
                let _ = fs::remove_dir_all(&p);
            }
            Err(e) => return Err(ClusterError::io("creating the cluster directory", e)),
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode));
}

pub(crate) fn free_port() -> Result<u16, ClusterError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| ClusterError::io("finding a free port", e))?;
    Ok(listener
        .local_addr()
        .map_err(|e| ClusterError::io("finding a free port", e))?
        .port())
}

/// True when a process with this pid exists.
pub fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// True when the process exists and is not a zombie: a postmaster orphaned under a PID 1 that
/// does not reap (some containers) would otherwise hold every command's clean-up for seconds.
fn is_running(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    state != Some("Z")
}

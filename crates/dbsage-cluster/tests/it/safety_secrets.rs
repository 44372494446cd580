//! No secret leaves dbsage through its local clusters (issue 8, item 2): servers start from a
//! cleared environment, and other local users cannot connect without the cluster's password.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use dbsage_cluster::{Cluster, DevCluster};

/// util-linux's `runuser` (root only); the test runner's PATH may not hold /usr/sbin.
const RUNUSER: &str = "/usr/sbin/runuser";
const PGPASSWORD_VALUE: &str = "pgpassword-must-not-leak-7f3a";
const PRODUCTION_URL: &str = "postgres://u:secret-must-not-leak-91c2@prod.example.com/app";

/// Starts a throwaway cluster and a dev cluster in a process whose environment holds secrets
/// (this test binary, run again with them set), then reads both postmasters' environments.
#[test]
fn servers_start_with_a_cleared_environment() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "safety_secrets::probe_server_environments",
            "--ignored",
            "--nocapture",
        ])
        .env("PGPASSWORD", PGPASSWORD_VALUE)
        .env("PRODUCTION_DATABASE_URL", PRODUCTION_URL)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "probe failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("probed 2 postmasters"),
        "the probe did not run:\n{stdout}\n{stderr}"
    );
}

/// Run by `servers_start_with_a_cleared_environment` with secrets in the environment.
#[test]
#[ignore = "run by servers_start_with_a_cleared_environment"]
fn probe_server_environments() {
    assert_eq!(
        std::env::var("PGPASSWORD").as_deref(),
        Ok(PGPASSWORD_VALUE),
        "run me through servers_start_with_a_cleared_environment"
    );
    let cluster = Cluster::start().unwrap();
    let project = tempfile::tempdir().unwrap();
    let mut dev = DevCluster::open(project.path()).unwrap();
    dev.ensure_running().unwrap();
    let pids = [cluster.pid().unwrap(), dev.running_pid().unwrap()];
    for pid in pids {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let environ = String::from_utf8_lossy(&environ).replace('\0', "\n");
        for secret in [PGPASSWORD_VALUE, PRODUCTION_URL, "PRODUCTION_DATABASE_URL"] {
            assert!(
                !environ.contains(secret),
                "postmaster {pid} holds {secret} in its environment:\n{environ}"
            );
        }
        assert!(environ.contains("PATH="), "PATH is kept:\n{environ}");
    }
    dev.stop().unwrap();
    println!("probed {} postmasters", pids.len());
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs psql as `nobody`, with no password anywhere in its environment.
fn psql_as_nobody(psql: &Path, host: &str, port: u16) -> Output {
    Command::new(RUNUSER)
        .args(["-u", "nobody", "--"])
        .arg(psql)
        .args(["-w", "-h", host, "-p", &port.to_string(), "-U", "postgres"])
        .args([
            "-d",
            "postgres",
            "-Atc",
            "select 'connected as ' || current_user",
        ])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir("/")
        .output()
        .unwrap()
}

fn assert_refused(out: &Output, what: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && !stdout.contains("connected as"),
        "{what}: nobody connected:\n{stdout}{stderr}"
    );
}

#[test]
fn other_local_users_cannot_connect_without_the_password() {
    if !is_root() {
        eprintln!("skipped: switching to `nobody` needs root");
        return;
    }
    let cluster = Cluster::start().unwrap();
    let psql = cluster.install().bin("psql");

    // Throwaway cluster: TCP wants the password; the socket's directory is closed to others.
    assert_refused(
        &psql_as_nobody(&psql, "127.0.0.1", cluster.port()),
        "throwaway cluster over TCP",
    );
    let socket_dir = cluster.socket_dir();
    assert_refused(
        &psql_as_nobody(&psql, &socket_dir.to_string_lossy(), cluster.port()),
        "throwaway cluster over the unix socket",
    );
    let listing = Command::new(RUNUSER)
        .args(["-u", "nobody", "--", "ls"])
        .arg(&socket_dir)
        .current_dir("/")
        .output()
        .unwrap();
    assert!(!listing.status.success(), "nobody can list the socket dir");
    let mode = std::fs::metadata(&socket_dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "socket dir mode {mode:o}");

    // dbsage's own user still gets in, over the socket and over TCP with the URL.
    cluster.connect("postgres").unwrap();
    postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls).unwrap();
    let wrong = cluster.url("postgres").replace(cluster.password(), "wrong");
    assert!(postgres::Client::connect(&wrong, postgres::NoTls).is_err());

    // The dev cluster: TCP only, with the password kept 0600 under .dbsage/dev.
    let project = tempfile::tempdir().unwrap();
    let mut dev = DevCluster::open(project.path()).unwrap();
    dev.ensure_running().unwrap();
    assert_refused(
        &psql_as_nobody(&psql, "127.0.0.1", dev.port()),
        "dev cluster over TCP",
    );
    let password_path = dev.password_path();
    assert!(password_path.starts_with(project.path().join(".dbsage")));
    let mode = std::fs::metadata(&password_path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "password file mode {mode:o}");
    let saved = std::fs::read_to_string(&password_path).unwrap();
    assert_eq!(Some(saved.trim()), dev.password());
    assert!(dev.url().contains(saved.trim()));
    let mut client = postgres::Client::connect(&dev.url(), postgres::NoTls).unwrap();
    client.batch_execute("select 1").unwrap();
    drop(client);
    dev.stop().unwrap();
}

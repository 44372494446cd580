//! The embedded cluster against the real server binaries.

use std::time::Instant;

use dbsage_cluster::{process_alive, Cluster, DevCluster};

#[test]
fn throwaway_cluster_starts_answers_and_leaves_nothing_behind() {
    let started = Instant::now();
    let cluster = Cluster::start().unwrap();
    eprintln!("start took {:?}", started.elapsed());
    let mut client = cluster.connect("postgres").unwrap();
    let row = client
        .query_one("select current_setting('fsync'), current_user::text", &[])
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "off");
    assert_eq!(row.get::<_, String>(1), "postgres");
    // A unix socket in the cluster's own directory, as well as TCP.
    let socket = cluster
        .socket_dir()
        .join(format!(".s.PGSQL.{}", cluster.port()));
    assert!(socket.exists(), "{}", socket.display());
    let pid = cluster.pid().unwrap();
    let data = cluster.data_dir();
    drop(client);
    cluster.stop();
    assert!(!process_alive(pid), "postmaster {pid} survived");
    assert!(!data.exists());
}

#[test]
fn clusters_run_in_parallel_with_their_own_databases() {
    let handles: Vec<_> = (0..3)
        .map(|i| {
            std::thread::spawn(move || {
                let cluster = Cluster::start().unwrap();
                let url = cluster.create_database(&format!("test_{i}")).unwrap();
                let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                c.batch_execute("create table t(a int); insert into t values (1)")
                    .unwrap();
                cluster.port()
            })
        })
        .collect();
    let mut ports: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 3);
}

#[test]
fn panic_in_the_owner_still_stops_the_server() {
    let pid = std::thread::spawn(|| {
        let cluster = Cluster::start().unwrap();
        let pid = cluster.pid().unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _c = cluster;
            panic!("boom");
        }));
        assert!(result.is_err());
        pid
    })
    .join()
    .unwrap();
    assert!(!process_alive(pid));
}

#[test]
fn dev_cluster_persists_between_start_and_stop() {
    let project = tempfile::tempdir().unwrap();
    let mut dev = DevCluster::open(project.path()).unwrap();
    assert!(dev.ensure_running().unwrap());
    assert!(!dev.ensure_running().unwrap(), "second start is a no-op");
    let mut c = postgres::Client::connect(&dev.url(), postgres::NoTls).unwrap();
    c.batch_execute("create table kept(a int)").unwrap();
    drop(c);
    assert!(dev.stop().unwrap());
    assert!(dev.running_pid().is_none());
    let mut dev = DevCluster::open(project.path()).unwrap();
    dev.ensure_running().unwrap();
    let mut c = postgres::Client::connect(&dev.url(), postgres::NoTls).unwrap();
    c.query_one("select 1 from kept limit 0", &[]).err();
    c.batch_execute("select * from kept").unwrap();
    drop(c);
    dev.destroy().unwrap();
    assert!(!dev.exists());
}

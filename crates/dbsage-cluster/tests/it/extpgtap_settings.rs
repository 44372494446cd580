//! Server settings of local clusters: preloaded libraries for throwaway clusters, settings of
//! the dev cluster (a change restarts it), and what the installation has.

use dbsage_cluster::{Cluster, ClusterOptions, DevCluster, PgInstall};

fn require_pg_cron(install: &PgInstall) {
    assert!(
        install.has_library("pg_cron") && install.has_extension("pg_cron"),
        "pg_cron is not installed: apt-get install -y postgresql-15-cron"
    );
}

#[test]
fn the_installation_knows_its_extensions_and_libraries() {
    let install = PgInstall::find().unwrap();
    require_pg_cron(&install);
    assert!(install.has_extension("pgcrypto"));
    assert!(install.has_library("pg_stat_statements"));
    assert!(!install.has_extension("no_such_extension_dbsage"));
    assert!(!install.has_library("no_such_library_dbsage"));
    assert!(install.extension_dir().join("plpgsql.control").is_file());
}

#[test]
fn pg_cron_needs_the_preload_and_works_with_it() {
    let install = PgInstall::find().unwrap();
    require_pg_cron(&install);

    let plain = Cluster::start().unwrap();
    let mut client = plain.connect("postgres").unwrap();
    let refused = client
        .batch_execute("create extension pg_cron")
        .unwrap_err();
    // pg_cron 1.4 says `unrecognized configuration parameter "cron.database_name"`, newer
    // ones that it must be in shared_preload_libraries.
    let said = dbsage_pgerror::describe(&refused);
    assert!(
        said.contains("cron.database_name") || said.contains("shared_preload_libraries"),
        "{}",
        dbsage_pgerror::describe(&refused)
    );
    drop(client);
    plain.stop();

    let options = ClusterOptions {
        settings: vec![
            (
                "shared_preload_libraries".into(),
                "pg_cron,pg_stat_statements".into(),
            ),
            ("cron.database_name".into(), "postgres".into()),
        ],
        ..Default::default()
    };
    let cluster = Cluster::start_with(&options).unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    client
        .batch_execute("create extension pg_cron; create extension pg_stat_statements")
        .unwrap();
    let job: i64 = client
        .query_one(
            "select cron.schedule('nightly-vacuum', '0 3 * * *', 'vacuum')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(job > 0);
    let calls: i64 = client
        .query_one("select count(*) from pg_stat_statements", &[])
        .unwrap()
        .get(0);
    assert!(calls > 0);
}

#[test]
fn dev_cluster_restarts_when_its_settings_change() {
    let project = tempfile::tempdir().unwrap();
    let mut dev = DevCluster::open(project.path()).unwrap();
    dev.set_settings(vec![("work_mem".into(), "12MB".into())]);
    assert!(dev.ensure_running().unwrap());
    let work_mem = |dev: &DevCluster| -> String {
        let mut c = postgres::Client::connect(&dev.url(), postgres::NoTls).unwrap();
        c.query_one("select current_setting('work_mem')", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(work_mem(&dev), "12MB");
    assert!(!dev.ensure_running().unwrap(), "same settings: no restart");

    // A value with a quote must reach the server intact through pg_ctl's shell.
    let mut dev = DevCluster::open(project.path()).unwrap();
    dev.set_settings(vec![
        ("work_mem".into(), "20MB".into()),
        ("application_name".into(), "it's dev".into()),
    ]);
    assert!(dev.ensure_running().unwrap(), "new settings restart it");
    assert_eq!(work_mem(&dev), "20MB");
    let mut c = postgres::Client::connect(&dev.url(), postgres::NoTls).unwrap();
    let name: String = c
        .query_one(
            "select reset_val from pg_settings where name = 'application_name'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(name, "it's dev");
    drop(c);
    dev.destroy().unwrap();
}

//! Issue 16: `requires-newer-postgres` agrees with the real servers. Each sample runs on every
//! PostgreSQL major installed (the system 15, a cached 17…): the server rejects exactly the
//! samples the rule flags for that version.
//! Each cluster is asked for its major (`ClusterOptions::major`), not by `DBSAGE_PG_BIN`: the
//! crate's other tests share this process and its environment.

use crate::lintversion_common;

use dbsage_cluster::{Cluster, ClusterOptions, PgInstall};
use lintversion_common::{findings_for, SAMPLES, SETUP};

#[test]
fn the_rule_rejects_what_each_installed_server_rejects() {
    let mut majors: Vec<PgInstall> = Vec::new();
    for install in PgInstall::installed() {
        if !majors.iter().any(|m| m.major == install.major) {
            majors.push(install);
        }
    }
    assert!(!majors.is_empty(), "no PostgreSQL server installed");
    let mut disagreements = Vec::new();
    for install in &majors {
        let cluster = Cluster::start_with(&ClusterOptions {
            major: Some(install.major),
            ..Default::default()
        })
        .expect("start a throwaway cluster");
        assert_eq!(cluster.install().major, install.major);
        let mut client = cluster.connect("postgres").expect("connect");
        let mut rejected_count = 0;
        for &(sql, _) in SAMPLES {
            client.batch_execute("begin").unwrap();
            client
                .batch_execute(SETUP)
                .expect("setup runs on every version");
            let outcome = client.batch_execute(sql);
            client.batch_execute("rollback").unwrap();
            let flagged = findings_for(Some(install.major), sql);
            let rejected = outcome.as_ref().err().map(|e| {
                e.as_db_error().map_or(e.to_string(), |d| {
                    format!("{}: {}", d.code().code(), d.message())
                })
            });
            rejected_count += usize::from(rejected.is_some());
            let rule_flags = !flagged.is_empty();
            if rejected.is_some() != rule_flags {
                disagreements.push(format!(
                    "PostgreSQL {}: `{sql}`\n  server: {}\n  rule: {:?}",
                    install.version,
                    rejected.as_deref().unwrap_or("accepted"),
                    flagged.iter().map(|f| &f.message).collect::<Vec<_>>()
                ));
            }
        }
        eprintln!(
            "PostgreSQL {}: {} samples, {rejected_count} rejected",
            install.version,
            SAMPLES.len()
        );
        drop(client);
        cluster.stop();
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

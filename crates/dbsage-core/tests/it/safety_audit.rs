//! Safety suite, audit slice (issue 8): the audit log's hash chain holds under concurrent
//! appenders, whatever path inserts the rows.

use std::sync::{Arc, Barrier};

use dbsage_cluster::Cluster;
use dbsage_core::config::HistoryTable;
use dbsage_core::{event_log, history};

const APPENDERS: usize = 8;
const EVENTS_EACH: usize = 40;

#[test]
fn concurrent_appenders_never_fork_the_chain() {
    let cluster = Cluster::start().expect("starting a throwaway cluster");
    let table = HistoryTable::parse("dbsage.schema_migrations").unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    history::ensure(&mut client, &table).unwrap();
    let barrier = Arc::new(Barrier::new(APPENDERS));
    let appenders: Vec<_> = (0..APPENDERS)
        .map(|n| {
            let mut client = cluster.connect("postgres").unwrap();
            let table = table.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..EVENTS_EACH {
                    // Half of them in longer transactions with two events, like a migration.
                    if i % 2 == 0 {
                        history::record_event(
                            &mut client,
                            &table,
                            None,
                            None,
                            "note",
                            Some(&format!("{n}/{i}")),
                            None,
                        )
                        .unwrap();
                    } else {
                        let mut tx = client.transaction().unwrap();
                        for part in ["a", "b"] {
                            history::record_event(
                                &mut tx,
                                &table,
                                Some("20260101000000"),
                                Some(part),
                                "note",
                                Some(&format!("{n}/{i}{part}")),
                                Some(serde_json::json!({ "n": n, "i": i })),
                            )
                            .unwrap();
                        }
                        tx.commit().unwrap();
                    }
                }
            })
        })
        .collect();
    for a in appenders {
        a.join().unwrap();
    }
    let expected = (APPENDERS * EVENTS_EACH * 3 / 2) as u64;
    let verification = event_log::verify(&mut client, &table).unwrap();
    assert!(verification.intact, "{:?}", verification.first_broken);
    assert_eq!(verification.rows, expected);
    // No two rows chain to the same predecessor (a fork).
    let forks: i64 = client
        .query_one(
            "select count(*) - count(distinct prev_hash) from dbsage.migration_events where prev_hash is not null",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(forks, 0);
}

#[test]
fn history_tables_are_upgraded_once_without_rechaining() {
    let cluster = Cluster::start().expect("starting a throwaway cluster");
    let table = HistoryTable::parse("dbsage.schema_migrations").unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    history::ensure(&mut client, &table).unwrap();
    history::record_event(&mut client, &table, None, None, "note", None, None).unwrap();
    // A row written with the chain trigger off must stay unchained: a later upgrade may not
    // launder it into the chain.
    client
        .batch_execute(
            "alter table dbsage.migration_events disable trigger chain_hash;
             insert into dbsage.migration_events (event, actor) values ('sneaky', 'x@y');",
        )
        .unwrap();
    history::ensure(&mut client, &table).unwrap();
    let verification = event_log::verify(&mut client, &table).unwrap();
    assert!(!verification.intact);
    assert_eq!(verification.first_broken.unwrap().problem, "unchained");
    let enabled: bool = client
        .query_one(
            "select tgenabled <> 'D' from pg_trigger where tgname = 'chain_hash'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(enabled, "ensure re-enables a disabled chain trigger");
}

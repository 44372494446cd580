//! Shared set-up: a throwaway cluster, statements run one by one with their statistics flushed.

#![allow(dead_code)]

use dbsage_cluster::Cluster;
use postgres::Client;

pub fn start() -> (Cluster, Client) {
    let cluster = Cluster::start().expect("start a throwaway cluster");
    let client = cluster.connect("postgres").expect("connect");
    (cluster, client)
}

/// Counters reach the shared statistics when a session flushes them; force it now.
pub fn flush_stats(client: &mut Client) {
    client
        .batch_execute("select pg_stat_force_next_flush()")
        .unwrap();
}

/// Runs each statement on its own, as a migration tool or psql would (a multi-statement batch
/// is one transaction, and an ANALYZE inside it does not see the batch's own rows as analysed),
/// flushing the session's counters after each (they are otherwise flushed at most once a
/// second, after an ANALYZE has reset them).
pub fn setup(client: &mut Client, sql: &str) {
    for statement in sql.split(';').filter(|s| {
        s.lines()
            .any(|l| !l.trim().is_empty() && !l.trim().starts_with("--"))
    }) {
        client
            .batch_execute(statement)
            .unwrap_or_else(|e| panic!("{statement}: {e:?}"));
        flush_stats(client);
    }
}

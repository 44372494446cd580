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

/// MemTotal of this machine (throwaway servers are local).
pub fn mem_total_bytes() -> i64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kb: i64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    kb * 1024
}

/// A server configured for its machine, so that tune's settings findings stay quiet: a
/// quarter of RAM as shared buffers, random_page_cost for the memory throwaway clusters live in.
pub fn start_tuned() -> (Cluster, Client) {
    let cluster = Cluster::start_with(&dbsage_cluster::ClusterOptions {
        settings: vec![
            (
                "shared_buffers".into(),
                format!("{}MB", mem_total_bytes() / 4 / (1024 * 1024)),
            ),
            ("random_page_cost".into(), "1.1".into()),
        ],
        ..Default::default()
    })
    .expect("start a throwaway cluster");
    let client = cluster.connect("postgres").expect("connect");
    (cluster, client)
}

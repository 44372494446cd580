//! Prints how long a throwaway cluster takes to start (ready for connections), in ms.
//! bench/migrate.sh runs it with an empty template cache (cold) and with a warm one.

fn main() {
    let started = std::time::Instant::now();
    let cluster = dbsage_cluster::Cluster::start().expect("starting a cluster");
    let ready = started.elapsed();
    let mut client = cluster.connect("postgres").expect("connecting");
    client.batch_execute("select 1").expect("querying");
    println!("{:.1}", ready.as_secs_f64() * 1000.0);
    cluster.stop();
}

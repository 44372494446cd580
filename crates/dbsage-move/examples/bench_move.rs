//! `bench/move.sh`: `dbsage move --method dump` of a generated database against a bare
//! `pg_dump -Fd -j2` then `pg_restore -j2` between the same two servers, interleaved in the
//! same run, each into an empty database of a fresh target cluster; medians.
//!
//! Usage: bench_move [--scale N] [--runs N]   (scale 1 ≈ 100 MB of tables and indexes)

use std::process::Command;
use std::time::Instant;

use dbsage_cluster::Cluster;

fn arg(name: &str, default: u32) -> u32 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn timed(cmd: &mut Command) -> (f64, String) {
    let started = Instant::now();
    let out = cmd.output().expect("spawn");
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (seconds, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn main() {
    let scale = arg("--scale", 10);
    let runs = arg("--runs", 3);
    let dbsage = std::env::var("DBSAGE_BIN").unwrap_or_else(|_| "target/debug/dbsage".into());
    let dbsage =
        std::fs::canonicalize(&dbsage).expect("the dbsage binary (cargo build -p dbsage-cli)");
    let source = Cluster::start().expect("source cluster");
    source.create_database("shop").unwrap();
    let mut client = source.connect("shop").unwrap();
    let rows = 400_000 * scale as i64;
    let generated = Instant::now();
    client
        .batch_execute(&format!(
            "create table customers (id bigint generated always as identity primary key, email text not null unique,
                                     created_at timestamptz not null);
             insert into customers (email, created_at) overriding system value
               select format('c%s@example.com', g), '2025-01-01'::timestamptz + g * interval '1 minute'
               from generate_series(1, {c}) g;
             create table orders (id bigint primary key, customer_id bigint not null references customers,
                                  placed_at timestamptz not null, total numeric(12,2) not null, note text);
             insert into orders select g, 1 + g % {c}, '2025-01-01'::timestamptz + g * interval '7 seconds',
                                       (g % 1000) / 7.0, md5(g::text) || md5((g * 3)::text)
               from generate_series(1, {rows}) g;
             create index orders_customer on orders (customer_id, placed_at);
             create table events (id bigserial primary key, at timestamptz not null, kind text not null, payload jsonb);
             insert into events (at, kind, payload) select '2025-01-01'::timestamptz + g * interval '1 second', 'kind' || g % 17,
                                       jsonb_build_object('n', g, 'tag', md5(g::text))
               from generate_series(1, {rows}) g;
             create table settings (key text primary key, value text);
             insert into settings select 'k' || g, repeat('v', g % 50) from generate_series(1, 2000) g;",
            c = rows / 10,
        ))
        .unwrap();
    client.batch_execute("vacuum analyze").unwrap();
    let size: i64 = client
        .query_one("select pg_database_size('shop')", &[])
        .unwrap()
        .get(0);
    println!(
        "database: {:.0} MB ({rows} order rows, {rows} event rows), generated in {:.1} s",
        size as f64 / 1e6,
        generated.elapsed().as_secs_f64()
    );

    let work = tempfile::tempdir().unwrap();
    let passfile = work.path().join("pgpass");
    std::fs::write(&passfile, format!("*:*:*:*:{}\n", source.password())).unwrap();
    std::fs::set_permissions(
        &passfile,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let tools = dbsage_backup::tools::find(source.install().major, &["pg_dump", "pg_restore"])
        .expect("pg_dump");

    let (mut bare, mut ours) = (Vec::new(), Vec::new());
    for run in 0..runs {
        // Alternate who goes first: the second one reads a warmer page cache.
        let (b, (o, report)) = if run % 2 == 0 {
            let b = bare_move(&source, &tools, work.path(), &passfile);
            (b, dbsage_move(&source, &dbsage, work.path()))
        } else {
            let o = dbsage_move(&source, &dbsage, work.path());
            (bare_move(&source, &tools, work.path(), &passfile), o)
        };
        bare.push(b);
        ours.push(o);
        println!(
            "run {}: pg_dump + pg_restore {:.2} s, dbsage move {:.2} s (pg_dump {} ms, pg_restore {} ms, compare {} ms, {} rows compared)",
            run + 1,
            bare[run as usize],
            ours[run as usize],
            report["dump_ms"],
            report["restore_ms"],
            report["compare_ms"],
            report["comparison"]["rows"]
        );
    }
    let (b, o) = (median(&mut bare), median(&mut ours));
    println!(
        "move --method dump: dbsage {o:.2} s vs pg_dump -Fd -j2 + pg_restore -j2 {b:.2} s: {:.2}x (target <= 1.15)",
        o / b
    );
}

fn write_passfile(dir: &std::path::Path, name: &str, password: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("*:*:*:*:{password}\n")).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    path
}

/// pg_dump -Fd -j2 over TCP, then pg_restore -j2 into a fresh cluster's empty database.
fn bare_move(
    source: &Cluster,
    tools: &dbsage_backup::tools::ClientTools,
    work: &std::path::Path,
    passfile: &std::path::Path,
) -> f64 {
    let target = Cluster::start().unwrap();
    target.create_database("shop").unwrap();
    let dump = work.join("bare");
    let mut cmd = Command::new(tools.bin("pg_dump"));
    cmd.env_clear()
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", source.port().to_string())
        .env("PGUSER", "postgres")
        .env("PGPASSFILE", passfile)
        .args(["-Fd", "-j2", "-d", "shop", "-f"])
        .arg(&dump);
    let started = Instant::now();
    timed(&mut cmd);
    let mut cmd = Command::new(tools.bin("pg_restore"));
    cmd.env_clear()
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", target.port().to_string())
        .env("PGUSER", "postgres")
        .env(
            "PGPASSFILE",
            write_passfile(work, "target-pass", target.password()),
        )
        .args(["-j2", "-d", "shop"])
        .arg(&dump);
    timed(&mut cmd);
    std::fs::remove_dir_all(&dump).unwrap();
    drop(target);
    started.elapsed().as_secs_f64()
}

/// `dbsage move --method dump` into a fresh cluster's empty database; its seconds and report.
fn dbsage_move(
    source: &Cluster,
    dbsage: &std::path::Path,
    work: &std::path::Path,
) -> (f64, serde_json::Value) {
    let target = Cluster::start().unwrap();
    target.create_database("shop").unwrap();
    std::fs::write(
        work.join("dbsage.toml"),
        format!(
            "[environments.old]\nurl = \"{}\"\n\n[environments.new]\nurl = \"{}\"\n",
            source.url("shop"),
            target.url("shop")
        ),
    )
    .unwrap();
    let mut cmd = Command::new(dbsage);
    cmd.current_dir(work).args([
        "move", "--from", "old", "--to", "new", "--yes", "--jobs", "2", "--format", "json",
    ]);
    let (seconds, printed) = timed(&mut cmd);
    let report: serde_json::Value = serde_json::from_str(&printed).unwrap();
    // The next run moves the same source again (the move ended our session too).
    let mut again = source.connect("shop").unwrap();
    again
        .batch_execute("SET default_transaction_read_only = off")
        .unwrap();
    again
        .batch_execute("ALTER DATABASE shop RESET default_transaction_read_only")
        .unwrap();
    drop(target);
    (seconds, report)
}

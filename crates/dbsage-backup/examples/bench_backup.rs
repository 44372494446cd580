//! `bench/backup.sh`: on a generated database, `dbsage backup --jobs 2` against a bare
//! `pg_dump -Fd -j2`, and `dbsage backup verify --jobs 2` against a bare `pg_restore -j2` into
//! an empty database of a fresh cluster, interleaved in the same run; medians and dbsage's peak
//! RSS (its own process, from wait4).
//!
//! Usage: bench_backup [--scale N] [--runs N]   (scale 1 ≈ 100 MB of tables and indexes)

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

/// Runs `cmd`, returns (seconds, peak RSS in MB of that process).
fn timed(cmd: &mut Command) -> (f64, f64) {
    let started = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id() as i32;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child.
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed"
    );
    (seconds, usage.ru_maxrss as f64 / 1024.0)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn main() {
    let scale = arg("--scale", 2);
    let runs = arg("--runs", 3);
    let dbsage = std::env::var("DBSAGE_BIN").unwrap_or_else(|_| "target/debug/dbsage".into());
    let source = Cluster::start().expect("source cluster");
    source.create_database("bench").unwrap();
    let mut client = source.connect("bench").unwrap();
    let rows = 400_000 * scale as i64;
    let generated = Instant::now();
    client
        .batch_execute(&format!(
            "create table customers (id bigint primary key, email text not null unique, created_at timestamptz not null);
             insert into customers select g, format('c%s@example.com', g), '2025-01-01'::timestamptz + g * interval '1 minute'
               from generate_series(1, {c}) g;
             create table orders (id bigint primary key, customer_id bigint not null references customers,
                                  placed_at timestamptz not null, total numeric(12,2) not null, note text);
             insert into orders select g, 1 + g % {c}, '2025-01-01'::timestamptz + g * interval '7 seconds',
                                       (g % 1000) / 7.0, md5(g::text) || md5((g * 3)::text)
               from generate_series(1, {rows}) g;
             create index orders_customer on orders (customer_id, placed_at);
             create table events (at timestamptz not null, kind text not null, payload jsonb);
             insert into events select '2025-01-01'::timestamptz + g * interval '1 second', 'kind' || g % 17,
                                       jsonb_build_object('n', g, 'tag', md5(g::text))
               from generate_series(1, {rows}) g;
             create table settings (key text primary key, value text);
             insert into settings select 'k' || g, repeat('v', g % 50) from generate_series(1, 2000) g;
             vacuum analyze;",
            c = rows / 10,
        ))
        .unwrap();
    let size: i64 = client
        .query_one("select pg_database_size('bench')", &[])
        .unwrap()
        .get(0);
    println!(
        "database: {:.0} MB ({} order rows, {} event rows), generated in {:.1} s",
        size as f64 / 1e6,
        rows,
        rows,
        generated.elapsed().as_secs_f64()
    );

    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("dbsage.toml"),
        format!("[environments.bench]\nurl = \"{}\"\n", source.url("bench")),
    )
    .unwrap();
    let passfile = work.path().join("pgpass");
    std::fs::write(&passfile, format!("*:*:*:*:{}\n", source.password())).unwrap();
    std::fs::set_permissions(
        &passfile,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let tools = dbsage_backup::tools::find(source.install().major, &["pg_dump", "pg_restore"])
        .expect("pg_dump");
    let libpq = |cmd: &mut Command, port: u16| {
        cmd.env_clear()
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", port.to_string())
            .env("PGUSER", "postgres")
            .env("PGPASSFILE", &passfile);
    };

    let (mut bare_dump, mut ours_dump, mut bare_restore, mut ours_verify) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut peak: f64 = 0.0;
    for run in 0..runs {
        let out = work.path().join(format!("bare-{run}"));
        let mut cmd = Command::new(tools.bin("pg_dump"));
        libpq(&mut cmd, source.port());
        cmd.args(["-Fd", "-j2", "-d", "bench", "-f"]).arg(&out);
        bare_dump.push(timed(&mut cmd).0);

        let mut cmd = Command::new(&dbsage);
        cmd.current_dir(work.path())
            .args(["backup", "--env", "bench", "--jobs", "2"]);
        let (s, rss) = timed(&mut cmd);
        ours_dump.push(s);
        peak = peak.max(rss);

        // Bare restore: a fresh cluster (started outside the timing) and an empty database.
        let target = Cluster::start().unwrap();
        target.create_database("bench").unwrap();
        let mut cmd = Command::new(tools.bin("pg_restore"));
        cmd.env_clear()
            .env("PGHOST", target.socket_dir())
            .env("PGPORT", target.port().to_string())
            .env("PGUSER", "postgres");
        cmd.args(["-j2", "-d", "bench"]).arg(&out);
        bare_restore.push(timed(&mut cmd).0);
        drop(target);
        std::fs::remove_dir_all(&out).unwrap();

        let mut cmd = Command::new(&dbsage);
        cmd.current_dir(work.path())
            .args(["backup", "verify", "latest", "--jobs", "2"]);
        let (s, rss) = timed(&mut cmd);
        ours_verify.push(s);
        peak = peak.max(rss);
        let _ = std::fs::remove_dir_all(work.path().join(".dbsage/backups"));
        println!(
            "run {}: pg_dump {:.2} s, dbsage backup {:.2} s, pg_restore {:.2} s, dbsage verify {:.2} s",
            run + 1,
            bare_dump[run as usize],
            ours_dump[run as usize],
            bare_restore[run as usize],
            ours_verify[run as usize]
        );
    }
    let (bd, od, br, ov) = (
        median(&mut bare_dump),
        median(&mut ours_dump),
        median(&mut bare_restore),
        median(&mut ours_verify),
    );
    println!(
        "backup: dbsage {od:.2} s vs pg_dump -Fd -j2 {bd:.2} s: {:.2}x (target <= 1.10)",
        od / bd
    );
    println!(
        "verify: dbsage {ov:.2} s vs pg_restore -j2 {br:.2} s: {:.2}x (target <= 1.25)",
        ov / br
    );
    println!("dbsage peak RSS: {peak:.1} MB (target < 100)");
}

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

/// Runs `cmd`, returns (seconds, peak RSS in MB of that process alone: VmHWM sampled from
/// /proc, since wait4's figure includes the children — pg_dump, the local server — it reaped),
/// and its stdout.
fn timed(cmd: &mut Command) -> (f64, f64, String) {
    let started = Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let status_path = format!("/proc/{}/status", child.id());
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
        text
    });
    let mut peak_kb = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let seconds = started.elapsed().as_secs_f64();
    assert!(status.success(), "{cmd:?} failed");
    (seconds, peak_kb as f64 / 1024.0, reader.join().unwrap())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn main() {
    let scale = arg("--scale", 2);
    let runs = arg("--runs", 3);
    let dbsage = std::env::var("DBSAGE_BIN").unwrap_or_else(|_| "target/debug/dbsage".into());
    let dbsage =
        std::fs::canonicalize(&dbsage).expect("the dbsage binary (cargo build -p dbsage-cli)");
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
             insert into settings select 'k' || g, repeat('v', g % 50) from generate_series(1, 2000) g;",
            c = rows / 10,
        ))
        .unwrap();
    client.batch_execute("vacuum analyze").unwrap();
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
    let (mut peak_backup, mut peak_verify): (f64, f64) = (0.0, 0.0);
    for run in 0..runs {
        let out = work.path().join(format!("bare-{run}"));
        let mut cmd = Command::new(tools.bin("pg_dump"));
        libpq(&mut cmd, source.port());
        cmd.args(["-Fd", "-j2", "-d", "bench", "-f"]).arg(&out);
        bare_dump.push(timed(&mut cmd).0);

        let mut cmd = Command::new(&dbsage);
        cmd.current_dir(work.path()).args([
            "backup", "--env", "bench", "--jobs", "2", "--format", "json",
        ]);
        let (s, rss, printed) = timed(&mut cmd);
        let report: serde_json::Value = serde_json::from_str(&printed).unwrap();
        println!("  dbsage backup: {} ms inside", report["duration_ms"]);
        ours_dump.push(s);
        peak_backup = peak_backup.max(rss);

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
        cmd.current_dir(work.path()).args([
            "backup", "verify", "latest", "--jobs", "2", "--format", "json",
        ]);
        let (s, rss, printed) = timed(&mut cmd);
        let report: serde_json::Value = serde_json::from_str(&printed).unwrap();
        println!(
            "  dbsage verify: hashing {} ms (during the restore), restore {} ms (RTO), compare {} ms",
            report["files_ms"], report["restore_ms"], report["compare_ms"]
        );
        ours_verify.push(s);
        peak_verify = peak_verify.max(rss);
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
    println!(
        "dbsage peak RSS: backup {peak_backup:.1} MB, verify {peak_verify:.1} MB (target < 100)"
    );
}

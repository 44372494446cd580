//! Import benchmark (run through `bench/import.sh`): 1,000,000 generated CSV rows into a table
//! with a primary key, upsert mode, against the baseline a careful user types (psql `\copy` into
//! an unlogged staging table, then `INSERT … SELECT … ON CONFLICT DO UPDATE`) and pgloader, on
//! the same throwaway server. Three starting points, each timed for both sides in the same run
//! (interleaved): an empty table, a table already holding every row (a re-run: 0 updated), and
//! one holding every other row with other values (50 % updates). Prints medians, the ratios
//! dbsage/baseline and dbsage's peak RSS.
//!
//! Usage: bench_import [--rows N] [--runs N] [--file PATH] [--cases empty,full,half]
//!        bench_import --child URL PATH   (one dbsage import in its own process, for peak RSS)

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use dbsage_import::{import, ImportOptions, Mode, NoProgress, Source};

const TABLE: &str = "CREATE TABLE bench (id bigint PRIMARY KEY, email text NOT NULL, note text,
    seen timestamptz, amount numeric(12,2), active boolean)";
const STAGING: &str = "CREATE UNLOGGED TABLE staging (id bigint, email text, note text,
    seen timestamptz, amount numeric(12,2), active boolean)";
/// The whole file, loaded once: the source of the "full" and "half" starting points.
const REFERENCE: &str = "CREATE TABLE reference (LIKE bench INCLUDING ALL)";

/// How the target starts before each timed import.
#[derive(Clone, Copy, PartialEq)]
enum Case {
    Empty,
    Full,
    Half,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Empty => "empty table",
            Case::Full => "table holding every row (re-run)",
            Case::Half => "table holding half the rows, changed (50 % updates)",
        }
    }

    fn prepare(self) -> &'static str {
        match self {
            Case::Empty => "TRUNCATE bench; CHECKPOINT",
            Case::Full => {
                "TRUNCATE bench; INSERT INTO bench SELECT * FROM reference;
                 VACUUM ANALYZE bench; CHECKPOINT"
            }
            Case::Half => {
                "TRUNCATE bench; INSERT INTO bench
                     SELECT id, email, note || ' (old)', seen, amount + 1, NOT active
                     FROM reference WHERE id % 2 = 0;
                 VACUUM ANALYZE bench; CHECKPOINT"
            }
        }
    }

    /// `(inserted, updated, unchanged)` dbsage must report.
    fn expected(self, rows: u64) -> (u64, u64, u64) {
        match self {
            Case::Empty => (rows, 0, 0),
            Case::Full => (0, 0, rows),
            Case::Half => (rows - rows / 2, rows / 2, 0),
        }
    }
}

const BASELINE_MERGE: &str =
    "INSERT INTO bench SELECT * FROM staging ON CONFLICT (id) DO UPDATE SET
    email = EXCLUDED.email, note = EXCLUDED.note, seen = EXCLUDED.seen,
    amount = EXCLUDED.amount, active = EXCLUDED.active";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return child(&args[2], Path::new(&args[3]));
    }
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let rows: u64 = arg("--rows")
        .map(|v| v.parse().unwrap())
        .unwrap_or(1_000_000);
    let runs: usize = arg("--runs").map(|v| v.parse().unwrap()).unwrap_or(3);
    let file = arg("--file")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("dbsage-bench-{rows}.csv")));
    if !file.exists() {
        generate(&file, rows);
    }
    let size = std::fs::metadata(&file).unwrap().len();
    println!(
        "file: {} ({rows} rows, {:.1} MB)",
        file.display(),
        size as f64 / 1e6
    );

    let cluster = dbsage_cluster::Cluster::start().expect("starting a throwaway PostgreSQL");
    let url = cluster.url("postgres");
    let mut client = cluster.connect("postgres").unwrap();
    client.batch_execute(TABLE).unwrap();
    let psql = cluster.install().bin("psql");
    let psql = if psql.exists() {
        psql
    } else {
        PathBuf::from("psql")
    };
    let pgloader = which("pgloader");

    let cases: Vec<Case> = arg("--cases")
        .unwrap_or_else(|| "empty,full,half".into())
        .split(',')
        .map(|c| match c {
            "empty" => Case::Empty,
            "full" => Case::Full,
            "half" => Case::Half,
            other => panic!("unknown case {other:?} (empty, full, half)"),
        })
        .collect();
    if cases.iter().any(|&c| c != Case::Empty) {
        client.batch_execute(REFERENCE).unwrap();
        let status = Command::new(&psql)
            .args(["-q", "-v", "ON_ERROR_STOP=1", &url, "-c"])
            .arg(format!(
                "\\copy reference from '{}' with (format csv, header)",
                file.display()
            ))
            .status()
            .unwrap();
        assert!(status.success());
    }

    let mut summary = Vec::new();
    let mut peak_kb = 0u64;
    let exe = std::env::current_exe().unwrap();
    for &case in &cases {
        let mut dbsage = Vec::new();
        let mut baseline = Vec::new();
        for run in 0..runs {
            // Alternate the order so neither side always gets the warmer cache.
            for side in if run % 2 == 0 { [0, 1] } else { [1, 0] } {
                // One statement at a time: VACUUM cannot run in the implicit transaction of a
                // multi-statement batch.
                for statement in case.prepare().split(';') {
                    client.batch_execute(statement).unwrap();
                }
                let start = Instant::now();
                if side == 0 {
                    let out = Command::new(&exe)
                        .args(["--child", &url, file.to_str().unwrap()])
                        .output()
                        .unwrap();
                    let elapsed = start.elapsed().as_secs_f64();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    eprint!("{}", String::from_utf8_lossy(&out.stderr));
                    dbsage.push(elapsed);
                    let text = String::from_utf8_lossy(&out.stdout);
                    let field = |name: &str| -> u64 {
                        text.lines()
                            .find_map(|l| l.strip_prefix(name))
                            .unwrap()
                            .parse()
                            .unwrap()
                    };
                    peak_kb = peak_kb.max(field("VmHWM_kB="));
                    assert_eq!(
                        (field("inserted="), field("updated="), field("unchanged=")),
                        case.expected(rows),
                        "{}",
                        case.name()
                    );
                } else {
                    let status = Command::new(&psql)
                        .args(["-q", "-v", "ON_ERROR_STOP=1", &url])
                        .args(["-c", STAGING])
                        .args([
                            "-c",
                            &format!(
                                "\\copy staging from '{}' with (format csv, header)",
                                file.display()
                            ),
                        ])
                        .args(["-c", BASELINE_MERGE, "-c", "DROP TABLE staging"])
                        .status()
                        .unwrap();
                    assert!(status.success());
                    baseline.push(start.elapsed().as_secs_f64());
                }
                let n: i64 = client
                    .query_one("SELECT count(*) FROM bench", &[])
                    .unwrap()
                    .get(0);
                assert_eq!(n as u64, rows);
            }
        }
        let d = median(&mut dbsage);
        let b = median(&mut baseline);
        println!("{}:", case.name());
        println!("  dbsage import (upsert, full pipeline): median {d:.2} s  runs {dbsage:.2?}");
        println!("  baseline \\copy + INSERT … ON CONFLICT: median {b:.2} s  runs {baseline:.2?}");
        println!("  ratio dbsage/baseline: {:.2} (target ≤ 1.0)", d / b);
        summary.push((case.name(), d, b));
    }
    let mut loader = Vec::new();
    if let Some(pgloader) = &pgloader {
        for _ in 0..runs {
            client.batch_execute(Case::Empty.prepare()).unwrap();
            let start = Instant::now();
            let status = Command::new(pgloader)
                .args(["--quiet", "--type", "csv", "--with", "skip header = 1"])
                .args(["--with", "fields optionally enclosed by '\"'"])
                .args(["--with", "fields terminated by ','"])
                .arg(&file)
                .arg(format!("{url}?tablename=bench"))
                .status()
                .unwrap();
            if status.success() {
                loader.push(start.elapsed().as_secs_f64());
            } else {
                println!("pgloader failed ({status})");
            }
        }
    }
    println!("summary (medians):");
    for (name, d, b) in &summary {
        println!(
            "  {name}: dbsage {d:.2} s, baseline {b:.2} s, ratio {:.2}",
            d / b
        );
    }
    println!(
        "dbsage peak RSS: {:.1} MB (target < 100 MB)",
        peak_kb as f64 / 1024.0
    );
    match pgloader {
        Some(_) if !loader.is_empty() => {
            println!(
                "pgloader (empty table): median {:.2} s  runs {loader:.2?}",
                median(&mut loader)
            )
        }
        _ => println!("pgloader: not installed (apt-get install pgloader)"),
    }
}

/// One import in its own process; prints the process's peak RSS.
fn child(url: &str, file: &Path) {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let options = ImportOptions {
        table: "bench".into(),
        key: Some(vec!["id".into()]),
        mode: Some(Mode::Upsert),
        ..Default::default()
    };
    let report = import(
        &mut client,
        Source::Path(file.to_path_buf()),
        &options,
        &NoProgress,
    )
    .expect("import");
    assert_eq!(report.rejected, 0);
    println!(
        "inserted={}\nupdated={}\nunchanged={}",
        report.inserted, report.updated, report.unchanged
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .to_string();
    println!("VmHWM_kB={hwm}");
}

fn generate(path: &Path, rows: u64) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "id,email,note,seen,amount,active").unwrap();
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 1..=rows {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let w = |k: u64| words[((x >> k) % 8) as usize];
        writeln!(
            out,
            "{i},user{i}@example.com,\"{} {}, {} {}\",2024-{:02}-{:02} {:02}:{:02}:{:02}+00,{}.{:02},{}",
            w(3),
            w(9),
            w(15),
            w(21),
            1 + (x >> 5) % 12,
            1 + (x >> 11) % 28,
            (x >> 17) % 24,
            (x >> 23) % 60,
            (x >> 29) % 60,
            (x >> 35) % 100_000,
            (x >> 41) % 100,
            if x & 1 == 0 { "true" } else { "false" }
        )
        .unwrap();
    }
    out.flush().unwrap();
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

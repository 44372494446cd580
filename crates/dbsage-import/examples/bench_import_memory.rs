//! Memory benchmark (run through `bench/import_memory.sh`): an import whose source holds one
//! enormous record (1 GiB by default) between two normal ones, as CSV and as NDJSON. Each
//! import runs in its own process and prints its peak RSS (VmHWM); the big record must be
//! rejected by the record size limit while memory stays bounded (target < 100 MB).
//!
//! Usage: bench_import_memory [--bytes N] [--dir PATH]
//!        bench_import_memory --child URL PATH   (one import, prints VmHWM)

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use dbsage_import::{import, ImportOptions, NoProgress, Source};

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
    let bytes: u64 = arg("--bytes")
        .map(|v| v.parse().unwrap())
        .unwrap_or(1 << 30);
    let dir = tempfile::tempdir_in(arg("--dir").unwrap_or_else(|| "/tmp".into())).unwrap();

    let cluster = dbsage_cluster::Cluster::start().expect("starting a throwaway PostgreSQL");
    let url = cluster.url("postgres");
    let mut client = cluster.connect("postgres").unwrap();
    client
        .batch_execute("CREATE TABLE big (id bigint PRIMARY KEY, note text)")
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    for (name, head, open, close, tail) in [
        ("big.csv", "id,note\n1,a\n", "2,", "\n", "3,c\n"),
        (
            "big.ndjson",
            "{\"id\": 1, \"note\": \"a\"}\n",
            "{\"id\": 2, \"note\": \"",
            "\"}\n",
            "{\"id\": 3, \"note\": \"c\"}\n",
        ),
    ] {
        let path = dir.path().join(name);
        generate(&path, head, open, bytes, close, tail);
        client.batch_execute("TRUNCATE big").unwrap();
        let start = Instant::now();
        let out = Command::new(&exe)
            .args(["--child", &url, path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let kb: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM_kB="))
            .unwrap()
            .parse()
            .unwrap();
        let n: i64 = client
            .query_one("SELECT count(*) FROM big", &[])
            .unwrap()
            .get(0);
        println!(
            "{name}: {:.2} GB record rejected, {n} rows imported in {:.1} s; peak RSS {:.1} MB (target < 100 MB)",
            bytes as f64 / 1e9,
            start.elapsed().as_secs_f64(),
            kb / 1024.0
        );
        std::fs::remove_file(&path).unwrap();
    }
}

/// One import with the default record size limit and room for the one reject.
fn child(url: &str, file: &Path) {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let options = ImportOptions {
        table: "big".into(),
        max_errors: Some(1),
        ..Default::default()
    };
    let report = import(
        &mut client,
        Source::Path(PathBuf::from(file)),
        &options,
        &NoProgress,
    )
    .expect("import");
    assert_eq!((report.inserted, report.rejected), (2, 1), "{report:?}");
    assert!(report.rejects[0].reason.contains("larger than the limit"));
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

fn generate(path: &Path, head: &str, open: &str, bytes: u64, close: &str, tail: &str) {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    out.write_all(head.as_bytes()).unwrap();
    out.write_all(open.as_bytes()).unwrap();
    let chunk = vec![b'x'; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        out.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    out.write_all(close.as_bytes()).unwrap();
    out.write_all(tail.as_bytes()).unwrap();
    out.flush().unwrap();
}

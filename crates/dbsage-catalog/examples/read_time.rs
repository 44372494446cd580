//! How long `Catalog::read` takes on a live database: reads it N times on one connection and
//! prints the median (and min/max). Used to measure the reader on `bench/diff.sh`'s schema.
//!
//! ```text
//! cargo build --release -p dbsage-catalog --example read_time
//! target/release/examples/read_time URL [--runs N] [--queries] [--json FILE]
//! ```
//!
//! `--queries` prints on stderr how long each of the reader's queries took, per read
//! (through the reader's `DBSAGE_CATALOG_TIMINGS` hook). `--json FILE` writes the catalog
//! read as JSON, to compare the reads of two builds of the reader.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use dbsage_catalog::{Catalog, ReadOptions};

const USAGE: &str = "usage: read_time URL [--runs N] [--queries] [--json FILE]";

fn main() -> ExitCode {
    let mut url = None;
    let mut runs = 7usize;
    let mut json_path = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => runs = n,
                _ => return usage("--runs takes a positive number"),
            },
            // The reader prints its per-query timings when this variable is set.
            "--queries" => std::env::set_var("DBSAGE_CATALOG_TIMINGS", "1"),
            "--json" => match args.next() {
                Some(path) => json_path = Some(path),
                None => return usage("--json takes a file name"),
            },
            other if url.is_none() && !other.starts_with("--") => url = Some(other.to_string()),
            other => return usage(&format!("unexpected argument {other}")),
        }
    }
    let Some(url) = url else {
        return usage("the database URL is missing");
    };
    let mut client = match postgres::Client::connect(&url, postgres::NoTls) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("read_time: cannot connect to {url}: {error}");
            return ExitCode::FAILURE;
        }
    };

    let mut timings: Vec<Duration> = Vec::with_capacity(runs);
    let mut catalog = Catalog::default();
    for run in 1..=runs {
        let started = Instant::now();
        catalog = match Catalog::read(&mut client, &ReadOptions::default()) {
            Ok(catalog) => catalog,
            Err(error) => {
                eprintln!("read_time: reading the catalog failed: {error:?}");
                return ExitCode::FAILURE;
            }
        };
        let elapsed = started.elapsed();
        eprintln!("read {run}: {:.1} ms", elapsed.as_secs_f64() * 1000.0);
        timings.push(elapsed);
    }
    timings.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "Catalog::read of {} tables, {} views, {} functions, {} sequences: median {:.1} ms \
         (min {:.1}, max {:.1}, {runs} reads)",
        catalog.tables.len(),
        catalog.views.len(),
        catalog.functions.len(),
        catalog.sequences.len(),
        ms(timings[runs / 2]),
        ms(timings[0]),
        ms(timings[runs - 1]),
    );
    if let Some(path) = json_path {
        let written = serde_json::to_vec_pretty(&catalog)
            .map_err(|e| e.to_string())
            .and_then(|json| std::fs::write(&path, json).map_err(|e| e.to_string()));
        if let Err(error) = written {
            eprintln!("read_time: cannot write {path}: {error}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("read_time: {problem}\n{USAGE}");
    ExitCode::from(2)
}

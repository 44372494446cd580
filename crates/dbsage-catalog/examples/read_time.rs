//! How long `Catalog::read` takes on a live database: reads it N times on one connection and
//! prints the median (and min/max). Used to measure the reader on `bench/diff.sh`'s schema.
//!
//! ```text
//! cargo build --release -p dbsage-catalog --example read_time
//! target/release/examples/read_time URL [--runs N] [--queries] [--cpu] [--json FILE]
//! ```
//!
//! `--queries` prints on stderr how long each of the reader's queries took, per read
//! (through the reader's `DBSAGE_CATALOG_TIMINGS` hook). `--cpu` also gives the median CPU
//! time of a read in this process and in the server's backend (read from `/proc`, so only
//! for a server on this machine): on a loaded machine wall times mostly measure waiting.
//! `--json FILE` writes the catalog read as JSON, to compare the reads of two builds.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use dbsage_catalog::{Catalog, ReadOptions};

const USAGE: &str = "usage: read_time URL [--runs N] [--queries] [--cpu] [--json FILE]";

fn main() -> ExitCode {
    let mut url = None;
    let mut runs = 7usize;
    let mut json_path = None;
    let mut cpu = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => runs = n,
                _ => return usage("--runs takes a positive number"),
            },
            // The reader prints its per-query timings when this variable is set.
            "--queries" => std::env::set_var("DBSAGE_CATALOG_TIMINGS", "1"),
            "--cpu" => cpu = true,
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

    let backend = if cpu {
        match client.query_one("SELECT pg_backend_pid()", &[]) {
            Ok(row) => Some(row.get::<_, i32>(0)),
            Err(error) => {
                eprintln!("read_time: cannot ask the backend's process id: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let mut timings: Vec<Duration> = Vec::with_capacity(runs);
    let mut client_cpu: Vec<Duration> = Vec::with_capacity(runs);
    let mut server_cpu: Vec<Duration> = Vec::with_capacity(runs);
    let mut catalog = Catalog::default();
    for run in 1..=runs {
        let cpu_before = backend.map(|pid| (cpu_time("self"), cpu_time(&pid.to_string())));
        let started = Instant::now();
        let read = match Catalog::read(&mut client, &ReadOptions::default()) {
            Ok(read) => read,
            Err(error) => {
                eprintln!("read_time: reading the catalog failed: {error:?}");
                return ExitCode::FAILURE;
            }
        };
        let elapsed = started.elapsed();
        eprintln!("read {run}: {:.1} ms", elapsed.as_secs_f64() * 1000.0);
        timings.push(elapsed);
        if let (Some(pid), Some((client_before, server_before))) = (backend, cpu_before) {
            match (
                client_before,
                server_before,
                cpu_time("self"),
                cpu_time(&pid.to_string()),
            ) {
                (
                    Some(client_before),
                    Some(server_before),
                    Some(client_after),
                    Some(server_after),
                ) => {
                    client_cpu.push(client_after.saturating_sub(client_before));
                    server_cpu.push(server_after.saturating_sub(server_before));
                }
                _ => {
                    eprintln!(
                        "read_time: --cpu needs the server on this machine (/proc/{pid}/schedstat)"
                    );
                    return ExitCode::FAILURE;
                }
            }
        }
        // Replaced after the clock stopped: freeing the previous read is not part of a read.
        catalog = read;
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
    if !client_cpu.is_empty() {
        client_cpu.sort();
        server_cpu.sort();
        println!(
            "CPU per read: median {:.1} ms in this process, {:.1} ms in the server backend",
            ms(client_cpu[runs / 2]),
            ms(server_cpu[runs / 2]),
        );
    }
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

/// The CPU time process `pid` (or `self`) has run, from `/proc/PID/schedstat`.
fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    let nanoseconds = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanoseconds))
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("read_time: {problem}\n{USAGE}");
    ExitCode::from(2)
}

#!/usr/bin/env bash
# Memory benchmark: importing a source with one 1 GiB record (CSV and NDJSON), generated in a
# temporary folder; prints each import's peak RSS (VmHWM of its own process). Target < 100 MB.
# Usage: bench/import_memory.sh [--bytes N] [--dir PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p dbsage-import --example bench_import_memory
exec target/release/examples/bench_import_memory "$@"

#!/usr/bin/env bash
# Import benchmark: 1,000,000-row CSV (~100 MB) into a table with a primary key, upsert mode,
# dbsage vs. `\copy` into an unlogged staging table + INSERT … ON CONFLICT, and pgloader.
# Usage: bench/import.sh [--rows N] [--runs N] [--file PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pgloader >/dev/null 2>&1; then
    echo "pgloader is not installed; its figure will be skipped (apt-get install pgloader)" >&2
fi
cargo build --release -q -p dbsage-import --example bench_import
exec target/release/examples/bench_import "$@"

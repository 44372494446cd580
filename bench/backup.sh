#!/usr/bin/env bash
# Backup benchmark: `dbsage backup` vs a bare `pg_dump -Fd -j2`, `dbsage backup verify` vs a bare
# `pg_restore -j2` into an empty cluster, interleaved, on a generated database.
# Usage: bench/backup.sh [--scale N] [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p dbsage-cli
cargo build -q -p dbsage-backup --example bench_backup
exec target/debug/examples/bench_backup "$@"

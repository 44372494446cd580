#!/usr/bin/env bash
# Backup benchmark: `dbsage backup` vs a bare `pg_dump -Fd -j2`, `dbsage backup verify` vs a bare
# `pg_restore -j2` into an empty cluster, interleaved, on a generated database.
# Usage: bench/backup.sh [--release] [--scale N] [--runs N]
#   --release      builds and times the release binary (target/release/dbsage) and harness
#   DBSAGE_BIN=P   times that binary instead (nothing is built for it)
# The figures the issue sets are for the release binary at --scale 8 (~1 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=debug
args=()
for a in "$@"; do
    if [ "$a" = --release ]; then profile=release; else args+=("$a"); fi
done
flag=()
[ "$profile" = release ] && flag=(--release)
if [ -z "${DBSAGE_BIN:-}" ]; then
    cargo build -q "${flag[@]}" -p dbsage-cli
    export DBSAGE_BIN=target/$profile/dbsage
fi
cargo build -q "${flag[@]}" -p dbsage-backup --example bench_backup
exec "target/$profile/examples/bench_backup" "${args[@]}"

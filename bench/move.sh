#!/usr/bin/env bash
# Move benchmark: `dbsage move --method dump` vs a bare `pg_dump -Fd -j2` then `pg_restore -j2`
# between the same two servers, interleaved in the same run, on a generated database
# (default scale 10 ≈ 1 GB); prints each run, the medians and the ratio (target ≤ 1.15).
# Usage: bench/move.sh [--release] [--scale N] [--runs N]
#   --release             measure target/release/dbsage (built here: cargo build --release)
#   DBSAGE_BIN=path       measure that binary instead (nothing is built for it)
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
release=0
for a in "$@"; do
    if [ "$a" = "--release" ]; then release=1; else args+=("$a"); fi
done
if [ -z "${DBSAGE_BIN:-}" ]; then
    if [ "$release" = 1 ]; then
        cargo build -q --release -p dbsage-cli
        export DBSAGE_BIN=target/release/dbsage
    else
        cargo build -q -p dbsage-cli
        export DBSAGE_BIN=target/debug/dbsage
    fi
fi
echo "dbsage binary: $DBSAGE_BIN"
# The harness only starts clusters and times the two commands: a debug build of it is fine.
cargo build -q -p dbsage-move --example bench_move
exec target/debug/examples/bench_move "${args[@]+"${args[@]}"}"

#!/usr/bin/env bash
# Move benchmark: `dbsage move --method dump` vs a bare `pg_dump -Fd -j2` then `pg_restore -j2`
# between the same two servers, interleaved, on a generated database (scale 10 ≈ 1 GB).
# Usage: bench/move.sh [--scale N] [--runs N]   (DBSAGE_BIN=target/release/dbsage for release)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DBSAGE_BIN:-}" ]; then
    cargo build -q -p dbsage-cli
fi
cargo build -q -p dbsage-move --example bench_move
exec target/debug/examples/bench_move "$@"

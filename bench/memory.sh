#!/usr/bin/env bash
# Memory benchmark: peak RSS of `dbsage lint` and `dbsage migrate --dry-run` on ONE large
# migration file (~50 MB: CREATE TABLE, indexes, RLS and policies, ALTER TABLE, INSERT seeds,
# DO blocks, plpgsql functions and triggers, from bench/lint_generate.py), with the release
# binary under /usr/bin/time -v. `migrate --dry-run` runs against the project's dev cluster.
#
#   bench/memory.sh               # from the repo root; MB=50 to change the file size
#
# Target (issue 8): both under 500 MB peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."

MB=${MB:-50}
cargo build -q --release -p dbsage-cli
DBSAGE=$PWD/target/release/dbsage

work=$(mktemp -d)
trap '(cd "$work/project" 2>/dev/null && "$DBSAGE" dev stop >/dev/null 2>&1); rm -rf "$work"' EXIT
mkdir -p "$work/project/migrations"
# lint_generate.py writes ~8.5 KB per 50-statement file: enough files for the size asked,
# concatenated into one migration (identifiers carry the file number, so they stay unique).
parts=$((MB * 1000000 / 8500 + 1))
python3 bench/lint_generate.py "$work/parts" "$parts" 50 2>/dev/null
big="$work/project/migrations/20240101000000_big.sql"
cat "$work/parts"/*.sql >"$big"
rm -rf "$work/parts"
size=$(stat -c %s "$big")
printf '[lint]\n' >"$work/project/dbsage.toml"

# Peak RSS in MB of running "$@" in the project (exit status ignored: lint exits 1 on findings).
peak_rss() {
    local report="$work/time.txt"
    (cd "$work/project" && /usr/bin/time -v -o "$report" "$@" >/dev/null 2>&1) || true
    local kb
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$report")
    local secs
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$report")
    echo "$((kb / 1024)) MB peak RSS, wall $secs"
}

echo "one migration file of $(echo "scale=1; $size / 1000000" | bc) MB, $(grep -c ';$' "$big") statement ends; $(nproc) cores"
echo "lint:              $(peak_rss "$DBSAGE" lint)"
(cd "$work/project" && "$DBSAGE" dev start >/dev/null 2>&1)
echo "migrate --dry-run: $(peak_rss "$DBSAGE" migrate --dry-run)"
echo "target: < 500 MB each"

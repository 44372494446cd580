#!/usr/bin/env bash
# tune benchmark (issue 11): `dbsage tune` on a database of 2,000 tables and 6,000 indexes
# (bench/catalog_schema.sh, shared with bench/health.sh), against the same catalog queries run through
# psql (`dbsage tune --print-queries`, in one read-only transaction like tune's), medians over
# RUNS interleaved runs in the same session. Targets: tune <= 1 s, ratio <= 1.5.
# DBSAGE=path picks the binary (default: a release build); TABLES overrides the table count.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=$PWD/bench
RUNS=${RUNS:-7}
TABLES=${TABLES:-2000}
if [ -z "${DBSAGE:-}" ]; then
    cargo build -q --release -p dbsage-cli
    DBSAGE=$PWD/target/release/dbsage
fi
DBSAGE=$(realpath "$DBSAGE")
PSQL=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -1)
PSQL=${PSQL:-psql}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
now_ms() { date +%s%3N; }

work=$(mktemp -d /tmp/dbsage-bench-tune-XXXXXX)
trap '(cd "$work/project" 2>/dev/null && "$DBSAGE" dev stop >/dev/null 2>&1); rm -rf "$work"' EXIT
mkdir -p "$work/project/migrations"
cd "$work/project"
printf '[migrate]\ndefault_environment = "dev"\n' > dbsage.toml
"$DBSAGE" dev start >/dev/null 2>&1
url=$("$DBSAGE" dev url 2>/dev/null)

echo "== building $TABLES tables / $((TABLES * 3)) indexes"
t0=$(now_ms)
bash "$BENCH/catalog_schema.sh" "$PSQL" "$url" "$TABLES"
t1=$(now_ms)
echo "built in $((t1 - t0)) ms"

"$DBSAGE" tune --print-queries > queries.sql
{ echo "begin isolation level repeatable read read only;"; cat queries.sql; echo "commit;"; } > psql_queries.sql
findings=$("$DBSAGE" tune --format json 2>/dev/null | grep -o '"check":' | wc -l || true)
echo "tune findings on the generated database: $findings"

tune_ms=()
psql_ms=()
for i in $(seq "$RUNS"); do
    t0=$(now_ms); "$DBSAGE" tune --format json >/dev/null 2>&1 || true; t1=$(now_ms)
    tune_ms+=($((t1 - t0)))
    t0=$(now_ms); "$PSQL" -X -q -v ON_ERROR_STOP=1 "$url" -f psql_queries.sql >/dev/null; t1=$(now_ms)
    psql_ms+=($((t1 - t0)))
done
tune_median=$(printf '%s\n' "${tune_ms[@]}" | median)
psql_median=$(printf '%s\n' "${psql_ms[@]}" | median)
echo "dbsage tune:                median ${tune_median} ms  (runs: ${tune_ms[*]}; target <= 1000 ms)"
echo "same queries through psql:  median ${psql_median} ms  (runs: ${psql_ms[*]})"
awk -v a="$tune_median" -v b="$psql_median" 'BEGIN { printf "ratio dbsage/psql: %.2f   (target <= 1.5)\n", a / b }'

#!/usr/bin/env bash
# `dbsage health` on a database of 2,000 tables / 6,000 indexes (bench/catalog_schema.sh,
# shared with bench/tune.sh) on the project's dev cluster,
# against the same catalog queries sent by psql in one session. The queries are the ones
# dbsage sent, taken from the server log of one run. Medians over RUNS runs, interleaved.
# Targets (issue 11): dbsage health < 1 s; ratio dbsage / psql <= 1.5.
# DBSAGE=path picks the binary (default: a release build).
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

work=$(mktemp -d /tmp/dbsage-bench-health-XXXXXX)
trap '(cd "$work/project" 2>/dev/null && "$DBSAGE" dev stop >/dev/null 2>&1); rm -rf "$work"' EXIT
mkdir -p "$work/project/migrations"
cd "$work/project"
: > dbsage.toml
"$DBSAGE" dev start >/dev/null 2>&1
url=$("$DBSAGE" dev url 2>/dev/null)

echo "== generating $TABLES tables, $((TABLES * 3)) indexes"
bash "$BENCH/catalog_schema.sh" "$PSQL" "$url" "$TABLES"

# The queries dbsage sends, from the server log of one logged run.
home=$(python3 -c 'import json; print(json.load(open(".dbsage/dev/cluster.json"))["home"])')
log="$home/server.log"
"$PSQL" -X -q "$url" -c "ALTER SYSTEM SET log_min_duration_statement = 0" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
start_line=$(($(wc -l < "$log") + 1))
"$DBSAGE" health >/dev/null 2>&1 || true
sleep 0.5
"$PSQL" -X -q "$url" -c "ALTER SYSTEM RESET log_min_duration_statement" -c "SELECT pg_reload_conf()" >/dev/null
# Log entries start with a timestamp; keep "execute <unnamed>: SQL" (extended protocol) bodies,
# with their continuation lines, each ended by a semicolon; $1 is dead_tuples' min_dead_rows.
tail -n +"$start_line" "$log" | awk '
    /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / {
        if (stmt != "") print stmt ";"
        stmt = ""
        if (match($0, /(execute [^:]*|statement): /)) stmt = substr($0, RSTART + RLENGTH)
        next
    }
    stmt != "" { stmt = stmt "\n" $0 }
    END { if (stmt != "") print stmt ";" }' \
    | grep -v -e 'log_min_duration_statement' -e 'pg_reload_conf' | sed 's/\$1/1000/g' > "$work/queries.sql"
echo "captured $(grep -c ';$' "$work/queries.sql") statements dbsage sent"
"$PSQL" -X -q -v ON_ERROR_STOP=1 "$url" -f "$work/queries.sql" >/dev/null

echo "== dbsage health vs psql -f (same queries, one session), $RUNS runs each"
health_ms=(); psql_ms=()
for i in $(seq "$RUNS"); do
    t0=$(now_ms); "$DBSAGE" health --format json >/dev/null 2>&1 || true; t1=$(now_ms)
    health_ms+=($((t1 - t0)))
    t0=$(now_ms); "$PSQL" -X -q "$url" -f "$work/queries.sql" >/dev/null; t1=$(now_ms)
    psql_ms+=($((t1 - t0)))
done
h=$(printf '%s\n' "${health_ms[@]}" | median)
p=$(printf '%s\n' "${psql_ms[@]}" | median)
echo "dbsage health:         median ${h} ms  (runs: ${health_ms[*]}; target < 1000 ms)"
echo "psql -f same queries:  median ${p} ms  (runs: ${psql_ms[*]})"
awk -v a="$h" -v b="$p" 'BEGIN { printf "ratio dbsage/psql: %.2f   (target <= 1.5)\n", a / b }'

#!/usr/bin/env bash
# `dbsage diff` on two generated schemas of TABLES tables each, a view on every tenth table;
# every tenth table differs in B (a column retyped under its view, one added, an index, a
# grant). Two cases:
#   files: `--from a.sql --to b.sql`: both schemas built on one throwaway cluster (two
#          databases, concurrently), the plan proven on A's database;
#   live:  `--from env_a --to env_b`: two databases already built on the dev cluster (the
#          live-schema case), read concurrently; A rebuilt through the engine for the proof.
# Prints, as medians over RUNS runs, the command's own `timings` (cluster start, build and
# catalog read of each side, plan, proof, its total) and the wall time of the whole command.
# Target (issue 13): the diff of two 2,000-table schemas under 2 s. Each case also times, in
# the same runs, a baseline of what PostgreSQL's own tools take for part of that job.
# DBSAGE=path/to/dbsage skips the release build (TABLES=200 with a debug build to validate).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
TABLES=${TABLES:-2000}
if [ -z "${DBSAGE:-}" ]; then
    cargo build -q --release -p dbsage-cli
    DBSAGE=$PWD/target/release/dbsage
fi
PSQL=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -1)
PSQL=${PSQL:-psql}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
now_ms() { date +%s%3N; }

work=$(mktemp -d /tmp/dbsage-bench-diff-XXXXXX)
trap '(cd "$work" 2>/dev/null && "$DBSAGE" dev stop >/dev/null 2>&1) || true; rm -rf "$work"' EXIT
mkdir -p "$work/migrations"
cat > "$work/dbsage.toml" <<'TOML'
[environments.env_a]
url = "${BENCH_A_URL}"

[environments.env_b]
url = "${BENCH_B_URL}"
TOML
echo "CREATE ROLE reader NOLOGIN;" > "$work/a.sql"
echo "CREATE ROLE reader NOLOGIN;" > "$work/b.sql"
for i in $(seq 1 "$TABLES"); do
  cat >> "$work/a.sql" <<SQL
CREATE TABLE public.t$i (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id bigint NOT NULL, amount integer, status text NOT NULL DEFAULT 'open');
CREATE INDEX t${i}_account_idx ON public.t$i (account_id);
SQL
  if [ $((i % 10)) -eq 0 ]; then
    cat >> "$work/b.sql" <<SQL
CREATE TABLE public.t$i (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id bigint NOT NULL, amount numeric(12,2), status text NOT NULL DEFAULT 'open', note text);
CREATE INDEX t${i}_account_idx ON public.t$i (account_id);
CREATE INDEX t${i}_status_idx ON public.t$i (status);
GRANT SELECT ON public.t$i TO reader;
SQL
  else
    cat >> "$work/b.sql" <<SQL
CREATE TABLE public.t$i (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id bigint NOT NULL, amount integer, status text NOT NULL DEFAULT 'open');
CREATE INDEX t${i}_account_idx ON public.t$i (account_id);
SQL
  fi
  if [ $((i % 10)) -eq 0 ]; then
    echo "CREATE VIEW public.v$i AS SELECT id, amount FROM public.t$i;" >> "$work/a.sql"
    echo "CREATE VIEW public.v$i AS SELECT id, amount FROM public.t$i;" >> "$work/b.sql"
  fi
done

# The live case: both schemas built once on the dev cluster, as databases side_a and side_b.
(cd "$work" && "$DBSAGE" dev start >/dev/null 2>&1)
url=$(cd "$work" && "$DBSAGE" dev url 2>/dev/null)
base=${url%/*}
"$PSQL" -X -q -v ON_ERROR_STOP=1 "$url" -c "CREATE DATABASE side_a" -c "CREATE DATABASE side_b" >/dev/null
"$PSQL" -X -q -v ON_ERROR_STOP=1 "$base/side_a" -f "$work/a.sql" >/dev/null
grep -v '^CREATE ROLE' "$work/b.sql" | "$PSQL" -X -q -v ON_ERROR_STOP=1 "$base/side_b" >/dev/null
export BENCH_A_URL="$base/side_a" BENCH_B_URL="$base/side_b"

PG_DUMP=$(dirname "$PSQL")/pg_dump
# Baselines, run interleaved with dbsage (same machine state), what the standard tools take
# for the part of the job PostgreSQL does anyway:
#   files: psql -f building both files at once into two fresh databases (dbsage builds both,
#          reads them, plans and proves);
#   live:  pg_dump --schema-only of both databases at once (dbsage reads both, plans, and
#          rebuilds and proves the part the plan affects).
# The files baseline runs on a server set like dbsage's throwaway clusters (durability off),
# started here (as the postgres user when run as root: PostgreSQL refuses root).
PG_BIN=$(dirname "$PSQL")
pgdir=$(mktemp -d /tmp/dbsage-bench-diff-pg-XXXXXX)
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
trap '(cd "$work" 2>/dev/null && "$DBSAGE" dev stop >/dev/null 2>&1) || true; as_postgres "$PG_BIN/pg_ctl -D $pgdir/data -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$work" "$pgdir"' EXIT
pgport=$((20000 + RANDOM % 20000))
as_postgres "$PG_BIN/initdb -D $pgdir/data -A trust -U postgres" >/dev/null
as_postgres "$PG_BIN/pg_ctl -D $pgdir/data -l $pgdir/log -w start -o \"-p $pgport -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c autovacuum=off -c shared_buffers=32MB -c max_wal_size=256MB\"" >/dev/null
pgurl="postgresql://postgres@127.0.0.1:$pgport"
"$PSQL" -X -q "$pgurl/postgres" -c "CREATE ROLE reader NOLOGIN" >/dev/null
baseline_files() {
  "$PSQL" -X -q "$pgurl/postgres" -c "DROP DATABASE IF EXISTS base_a" -c "DROP DATABASE IF EXISTS base_b" \
    -c "CREATE DATABASE base_a" -c "CREATE DATABASE base_b" >/dev/null 2>&1
  local start end
  start=$(now_ms)
  # Statement by statement (psql's default): one transaction for 4,000 tables runs out of
  # lock slots.
  grep -v '^CREATE ROLE' "$work/a.sql" | "$PSQL" -X -q -v ON_ERROR_STOP=1 "$pgurl/base_a" >/dev/null &
  local a=$!
  grep -v '^CREATE ROLE' "$work/b.sql" | "$PSQL" -X -q -v ON_ERROR_STOP=1 "$pgurl/base_b" >/dev/null &
  local b=$!
  wait "$a" && wait "$b" || { echo "the psql baseline failed" >&2; exit 1; }
  end=$(now_ms)
  echo $((end - start))
}
baseline_live() {
  local start end
  start=$(now_ms)
  "$PG_DUMP" --schema-only "$BENCH_A_URL" >/dev/null &
  local a=$!
  "$PG_DUMP" --schema-only "$BENCH_B_URL" >/dev/null &
  local b=$!
  wait "$a" && wait "$b" || { echo "the pg_dump baseline failed" >&2; exit 1; }
  end=$(now_ms)
  echo $((end - start))
}

FIELDS="cluster_ms build_from_ms build_to_ms read_from_ms read_to_ms plan_ms proof_ms total_ms"
run_case() {
  local label=$1 from=$2 to=$3 baseline=$4 described=$5
  local whole=() bases=() timings="" statements=0 copy=""
  for run in $(seq 1 "$RUNS"); do
    took=$("$baseline") || exit 1
    bases+=("$took")
    start=$(now_ms)
    json=$(cd "$work" && "$DBSAGE" diff --from "$from" --to "$to" --format json 2>/dev/null)
    end=$(now_ms)
    whole+=($((end - start)))
    statements=$(echo "$json" | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["proof"]["clean"], r["proof"]; print(len(r["statements"]))')
    copy=$(echo "$json" | python3 -c 'import json,sys; c=json.load(sys.stdin)["proof"].get("copy", {}); print(c.get("scope"), c.get("objects"), "of", c.get("of"), "objects,", c.get("pieces"), "piece(s)")')
    timings+=$(echo "$json" | python3 -c "import json,sys; t=json.load(sys.stdin)['timings']; print(' '.join(str(t[f]) for f in '$FIELDS'.split()))")$'\n'
  done
  echo "== $label: --from $from --to $to ($TABLES tables per side, $statements statements, proof clean on $copy, $RUNS runs)"
  local column=1
  for field in $FIELDS; do
    printf '  %-14s median %s ms\n' "$field" "$(printf '%s' "$timings" | awk -v c=$column 'NF {print $c}' | median)"
    column=$((column + 1))
  done
  local ours theirs
  ours=$(printf '%s\n' "${whole[@]}" | median)
  theirs=$(printf '%s\n' "${bases[@]}" | median)
  printf '  %-14s median %s ms\n' "whole command" "$ours"
  printf '  %-14s median %s ms (%s)\n' "baseline" "$theirs" "$described"
  printf '  %-14s %s\n' "ratio" "$(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.2f", a / b}')"
}
run_case "files" a.sql b.sql baseline_files "psql -f building both files at once"
run_case "live" env_a env_b baseline_live "pg_dump --schema-only of both at once"

#!/usr/bin/env bash
# The spine's benchmark (issue "The spine"): medians over several runs of
#   - throwaway cluster start, cold (initdb, empty template cache) and from the template, on
#     the system's PostgreSQL and on PostgreSQL 17 from dbsage's cache;
#   - `dbsage migrate --local` on 200 generated migrations (table, index, RLS, policy each),
#     including cluster start, the idempotency check and teardown,
#   against the baseline measured in the same run: a loop of `psql -f` over the same files
#   against an already running server (a fresh database each run).
# Targets: template start <= 0.5 s; migrate --local / psql loop <= 1.0.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
cargo build -q --release -p dbsage-cli -p dbsage-cluster --example cluster_start
DBSAGE=$PWD/target/release/dbsage
START=$PWD/target/release/examples/cluster_start
PSQL=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -1)
PSQL=${PSQL:-psql}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
now_ms() { date +%s%3N; }

work=$(mktemp -d /tmp/dbsage-bench-XXXXXX)
trap '(cd "$work/project" 2>/dev/null && "$DBSAGE" dev stop >/dev/null 2>&1); rm -rf "$work"' EXIT

# On each major version: the system's newest, and PostgreSQL 17 from dbsage's cache
# (`dbsage pg install 17`) when it is there.
system_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
pg17_bin=$(ls -d /var/cache/dbsage/pg/17.*/bin "${XDG_CACHE_HOME:-$HOME/.cache}"/dbsage/pg/17.*/bin 2>/dev/null | sort -V | tail -1 || true)
for bin in ${DBSAGE_PG_BIN:-$system_bin} $pg17_bin; do
    version=$("$bin/postgres" --version | awk '{print $3}')
    echo "== throwaway cluster start on PostgreSQL $version ($bin; $RUNS runs each)"
    cold=$(for i in $(seq "$RUNS"); do DBSAGE_PG_BIN=$bin DBSAGE_CACHE_DIR="$work/cache-$i" "$START"; done | median)
    warm=$(for i in $(seq $((RUNS * 2))); do DBSAGE_PG_BIN=$bin "$START"; done | median)
    echo "cold (initdb + start):  median ${cold} ms"
    echo "from template:          median ${warm} ms   (target <= 500 ms)"
done

echo "== migrate --local on 200 migrations vs a psql -f loop"
mkdir -p "$work/project/migrations"
cd "$work/project"
cat > dbsage.toml <<'TOML'
[checks]
idempotency = "error"
rollback = "error"
TOML
for i in $(seq 1 200); do
    v=$(printf '2026010100%04d' "$i")
    cat > "migrations/${v}_table_$i.sql" <<SQL
create table if not exists public.t$i (
    id bigint generated always as identity primary key,
    owner_id uuid not null,
    title text not null,
    created_at timestamptz not null default now()
);
create index if not exists t${i}_owner_idx on public.t$i (owner_id);
alter table public.t$i enable row level security;
drop policy if exists t${i}_owner on public.t$i;
create policy t${i}_owner on public.t$i for select using (owner_id = current_setting('app.user', true)::uuid);
SQL
done

local_ms=()
for i in $(seq "$RUNS"); do
    t0=$(now_ms); "$DBSAGE" migrate --local >/dev/null 2>&1; t1=$(now_ms)
    local_ms+=($((t1 - t0)))
done

"$DBSAGE" dev start >/dev/null 2>&1
url=$("$DBSAGE" dev url 2>/dev/null)
psql_ms=()
for i in $(seq "$RUNS"); do
    "$PSQL" -q "$url" -c "drop database if exists bench_$i" -c "create database bench_$i" >/dev/null
    db_url="${url%/postgres}/bench_$i"
    t0=$(now_ms)
    for f in migrations/*.sql; do "$PSQL" -q -X -v ON_ERROR_STOP=1 "$db_url" -f "$f" >/dev/null 2>&1; done
    t1=$(now_ms)
    psql_ms+=($((t1 - t0)))
done
local_median=$(printf '%s\n' "${local_ms[@]}" | median)
psql_median=$(printf '%s\n' "${psql_ms[@]}" | median)
echo "dbsage migrate --local:  median ${local_median} ms  (runs: ${local_ms[*]}; includes start, idempotency check, teardown)"
echo "psql -f loop (baseline): median ${psql_median} ms  (runs: ${psql_ms[*]}; server already running)"
awk -v a="$local_median" -v b="$psql_median" 'BEGIN { printf "ratio dbsage/psql: %.2f   (target <= 1.0)\n", a / b }'

#!/usr/bin/env bash
# Fleet `migrate` (issue 14): a fleet of DATABASES databases (default 100) listed in a urls_file,
# each getting MIGRATIONS migrations (default 20: tables, foreign keys, indexes, RLS, a view and
# a function), with `--parallel PARALLEL` (default 4), against the baseline of the same run:
# the slowest of SINGLES single-database `dbsage migrate` runs (fresh databases, one process
# each) times DATABASES / PARALLEL. Medians over RUNS runs, fresh databases each run.
# Target: fleet / (slowest single × DATABASES / PARALLEL) <= 1.2.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DATABASES=${DATABASES:-100}
MIGRATIONS=${MIGRATIONS:-20}
PARALLEL=${PARALLEL:-4}
SINGLES=${SINGLES:-10}
if [ -z "${DBSAGE:-}" ]; then
    cargo build -q --release -p dbsage-cli
    DBSAGE=$PWD/target/release/dbsage
fi
PSQL=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -1)
PSQL=${PSQL:-psql}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
now_ms() { date +%s%3N; }

work=$(mktemp -d /tmp/dbsage-bench-fleet-XXXXXX)
trap '(cd "$work/project" 2>/dev/null && "$DBSAGE" dev stop >/dev/null 2>&1) || true; rm -rf "$work"' EXIT
mkdir -p "$work/project/migrations"
cd "$work/project"
cat > dbsage.toml <<TOML
[environments.tenants]
urls_file = "tenants.txt"

[environments.single]
url = "\${SINGLE_URL}"
TOML
"$DBSAGE" dev start >/dev/null 2>&1
url=$("$DBSAGE" dev url 2>/dev/null)
base=${url%/*}

for i in $(seq 1 "$MIGRATIONS"); do
    v=$(printf '2026030100%04d' "$i")
    prev=$((i - 1))
    fk=""
    [ "$i" -gt 1 ] && fk="parent_id bigint references public.t$prev (id),"
    cat > "migrations/${v}_t$i.sql" <<SQL
create table public.t$i (
    id bigint generated always as identity primary key,
    $fk
    tenant_id uuid not null,
    title text not null check (length(title) <= 200),
    created_at timestamptz not null default now()
);
create index t${i}_tenant_created_idx on public.t$i (tenant_id, created_at);
alter table public.t$i enable row level security;
create policy t${i}_tenant on public.t$i using (tenant_id = current_setting('app.tenant', true)::uuid);
create view public.t${i}_recent as select id, title from public.t$i where created_at > now() - interval '7 days';
create function public.t${i}_count(p_tenant uuid) returns bigint language sql stable
    as \$\$ select count(*) from public.t$i where tenant_id = p_tenant \$\$;
SQL
done

# Fresh databases: DATABASES for the fleet, SINGLES for the single runs.
recreate() {
    {
        for i in $(seq 1 "$DATABASES"); do
            printf 'drop database if exists fleet_%03d;\ncreate database fleet_%03d;\n' "$i" "$i"
        done
        for i in $(seq 1 "$SINGLES"); do
            printf 'drop database if exists single_%02d;\ncreate database single_%02d;\n' "$i" "$i"
        done
    } | PGOPTIONS="-c client_min_messages=warning" "$PSQL" -X -q -v ON_ERROR_STOP=1 "$url" >/dev/null
}
for i in $(seq 1 "$DATABASES"); do printf '%s/fleet_%03d\n' "$base" "$i"; done > tenants.txt

echo "== fleet migrate: $DATABASES databases x $MIGRATIONS migrations, --parallel $PARALLEL ($RUNS runs)"
fleet_times=()
single_times=()
for run in $(seq 1 "$RUNS"); do
    recreate
    slowest=0
    for i in $(seq 1 "$SINGLES"); do
        t0=$(now_ms)
        SINGLE_URL=$(printf '%s/single_%02d' "$base" "$i") "$DBSAGE" migrate --env single --format json >/dev/null 2>&1
        t=$(($(now_ms) - t0))
        [ "$t" -gt "$slowest" ] && slowest=$t
    done
    t0=$(now_ms)
    "$DBSAGE" migrate --env tenants --parallel "$PARALLEL" --format json > "$work/fleet.json"
    fleet=$(($(now_ms) - t0))
    ok=$(python3 -c "import json; print(json.load(open('$work/fleet.json'))['summary']['ok'])")
    if [ "$ok" != "$DATABASES" ]; then
        echo "error: only $ok of $DATABASES databases migrated" >&2
        exit 1
    fi
    echo "run $run: slowest single ${slowest} ms, fleet ${fleet} ms"
    single_times+=("$slowest")
    fleet_times+=("$fleet")
done
single=$(printf '%s\n' "${single_times[@]}" | median)
fleet=$(printf '%s\n' "${fleet_times[@]}" | median)
bound=$(awk -v s="$single" -v d="$DATABASES" -v p="$PARALLEL" 'BEGIN { printf "%.0f", s * d / p }')
ratio=$(awk -v f="$fleet" -v b="$bound" 'BEGIN { printf "%.2f", f / b }')
echo "slowest single target:  median ${single} ms"
echo "single x $DATABASES / $PARALLEL:      ${bound} ms"
echo "fleet migrate:          median ${fleet} ms"
echo "ratio fleet / bound:    ${ratio}   (target <= 1.2)"

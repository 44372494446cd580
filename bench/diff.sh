#!/usr/bin/env bash
# `dbsage diff --from a.sql --to b.sql` on two generated schemas of TABLES tables each, a view
# on every tenth table; every tenth table differs in B (a column retyped under its view, one
# added, an index, a grant). Changing all 2,000 in one migration's transaction would need more
# lock slots than max_locks_per_transaction gives: the proof reports that, as `migrate` would.
# Reports the engine's own time (plan_ms: planning from the two catalogs) and the whole
# command (two throwaway clusters, both schemas applied, the proof). Medians over RUNS runs.
# Target (issue 13): the diff of two 2,000-table schemas under 2 s.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
TABLES=${TABLES:-2000}
cargo build -q --release -p dbsage-cli
DBSAGE=$PWD/target/release/dbsage

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
now_ms() { date +%s%3N; }

work=$(mktemp -d /tmp/dbsage-bench-diff-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/migrations"
: > "$work/dbsage.toml"
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

plan=(); whole=(); statements=0
for run in $(seq 1 "$RUNS"); do
  start=$(now_ms)
  json=$(cd "$work" && "$DBSAGE" diff --from a.sql --to b.sql --format json)
  end=$(now_ms)
  whole+=($((end - start)))
  plan+=($(echo "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["timings"]["plan_ms"])'))
  statements=$(echo "$json" | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["proof"]["clean"], r["proof"]; print(len(r["statements"]))')
done
echo "tables: $TABLES per side, statements: $statements, proof clean"
echo "plan (engine): median $(printf '%s\n' "${plan[@]}" | median) ms"
echo "whole command (2 clusters, apply both, proof): median $(printf '%s\n' "${whole[@]}" | median) ms"

#!/usr/bin/env bash
# The catalog the tune and health benchmarks run on (issue 11: 2,000 tables / 6,000 indexes):
# usage `bench/catalog_schema.sh PSQL URL TABLES`. Each table has an identity primary key (and
# its sequence), a unique constraint and a composite secondary index; every other table
# references the previous one (the secondary index leads with the key); 20 rows each; analysed.
set -euo pipefail
PSQL=$1; url=$2; TABLES=$3
"$PSQL" -X -q -v ON_ERROR_STOP=1 "$url" <<SQL >/dev/null
select format(
  'create table t%s (id bigint generated always as identity primary key, code text not null unique, parent_id bigint%s, status text not null default ''open'', created_at timestamptz not null default now());
   create index t%s_parent_created_idx on t%s (parent_id, created_at);
   insert into t%s (code, parent_id) select ''c'' || g, %s from generate_series(1, 20) g;',
  i, case when i % 2 = 0 then format(' references t%s (id)', i - 1) else '' end, i, i, i,
  case when i % 2 = 0 then '1 + g % 20' else 'null' end)
from generate_series(1, $TABLES) i
\gexec
analyze;
SQL
"$PSQL" -X -At "$url" -c "select count(*) filter (where relkind = 'r') || ' tables, ' || count(*) filter (where relkind = 'i') || ' indexes' from pg_class where relnamespace = 'public'::regnamespace"

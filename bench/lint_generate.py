#!/usr/bin/env python3
"""Generates a realistic migration directory for the lint benchmark.

Usage: lint_generate.py OUT_DIR [FILES] [STATEMENTS_PER_FILE]

Each file is a mix of what real projects write: CREATE TABLE with foreign keys and comments,
indexes, RLS and policies, ALTER TABLE, INSERT seeds, guarded DO blocks and plpgsql functions.
Deterministic (fixed seed) so every run lints the same bytes.
"""
import os
import random
import sys

out = sys.argv[1]
files = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
per_file = int(sys.argv[3]) if len(sys.argv) > 3 else 50
rng = random.Random(42)
os.makedirs(out, exist_ok=True)

WORDS = "account invoice order item product customer payment shipment note tag team member project task comment event audit session device report".split()


def ident(i):
    return f"{rng.choice(WORDS)}_{i}"


def create_table(t, parent):
    cols = [
        "  id bigint generated always as identity primary key",
        f"  {parent}_id bigint not null references {parent}(id) on delete cascade" if parent else "  owner_id uuid not null",
        "  name text not null",
        "  description text",
        "  status text not null default 'active' check (status in ('active', 'archived', 'deleted'))",
        "  amount numeric(12, 2) not null default 0",
        "  metadata jsonb not null default '{}'::jsonb",
        "  created_at timestamptz not null default now()",
        "  updated_at timestamptz not null default now()",
    ]
    for k in range(rng.randint(0, 6)):
        cols.append(f"  extra_{k} {rng.choice(['text', 'integer', 'boolean default false', 'timestamptz', 'uuid'])}")
    return f"create table if not exists {t} (\n" + ",\n".join(cols) + "\n);"


def statements(file_no):
    tables = []
    out_stmts = []
    n = 0
    while len(out_stmts) < per_file:
        n += 1
        t = f"{ident(file_no)}_{n}"
        parent = tables[-1] if tables and rng.random() < 0.7 else None
        kind = rng.random()
        if kind < 0.55 or not tables:
            out_stmts.append(create_table(t, parent))
            out_stmts.append(f"comment on table {t} is 'Rows of {t}, one per business object.';")
            if parent:
                out_stmts.append(f"create index if not exists {t}_{parent}_id_idx on {t} ({parent}_id);")
            out_stmts.append(f"create index if not exists {t}_created_at_idx on {t} (created_at desc);")
            out_stmts.append(f"alter table {t} enable row level security;")
            out_stmts.append(f"drop policy if exists \"{t} owner read\" on {t};")
            out_stmts.append(
                f"create policy \"{t} owner read\" on {t} for select to authenticated\n"
                f"  using ((select auth.uid()) is not null and status <> 'deleted');"
            )
            tables.append(t)
        elif kind < 0.65:
            tt = rng.choice(tables)
            out_stmts.append(f"alter table {tt} add column if not exists note_{n} text;")
            out_stmts.append(f"alter table {tt} alter column note_{n} set default '';")
        elif kind < 0.78:
            tt = rng.choice(tables)
            rows = ",\n  ".join(
                f"('{rng.choice(WORDS)} {i}', 'seeded row number {i} for {tt}', {rng.randint(1, 9999)}.{rng.randint(10, 99)})"
                for i in range(rng.randint(3, 12))
            )
            out_stmts.append(f"insert into {tt} (name, description, amount) values\n  {rows}\non conflict do nothing;")
        elif kind < 0.88:
            tt = rng.choice(tables)
            out_stmts.append(
                "do $$\nbegin\n"
                f"  if not exists (select 1 from pg_constraint where conname = '{tt}_name_len') then\n"
                f"    alter table {tt} add constraint {tt}_name_len check (char_length(name) <= 200);\n"
                "  end if;\nend\n$$;"
            )
        else:
            tt = rng.choice(tables)
            out_stmts.append(
                f"create or replace function {tt}_touch() returns trigger\n"
                "language plpgsql\nset search_path = ''\nas $$\nbegin\n"
                "  new.updated_at := now();\n"
                "  if new.status = 'deleted' and old.status <> 'deleted' then\n"
                "    raise notice 'row % deleted', new.id;\n"
                "  end if;\n"
                "  return new;\nend;\n$$;"
            )
            out_stmts.append(f"drop trigger if exists {tt}_touch on {tt};")
            out_stmts.append(
                f"create trigger {tt}_touch before update on {tt}\n"
                f"  for each row execute function {tt}_touch();"
            )
    return out_stmts[:per_file]


total = 0
for f in range(files):
    text = f"-- Migration {f}: generated for the lint benchmark.\n\n" + "\n\n".join(statements(f)) + "\n"
    path = os.path.join(out, f"{20240101000000 + f:014d}_migration_{f}.sql")
    with open(path, "w") as fh:
        fh.write(text)
    total += len(text)
print(f"generated {files} files, {total / 1e6:.1f} MB in {out}", file=sys.stderr)

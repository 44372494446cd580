-- Accounts: the tenant of the SaaS. Every other row belongs to exactly one account.
-- Idempotent (dbsage's local check applies every migration twice).

create schema if not exists private;
comment on schema private is 'Helpers used by policies and triggers; not exposed through the API.';
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

-- Keeps updated_at honest without trusting the client.
create or replace function private.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function private.set_updated_at() is 'Trigger: sets updated_at to the current time on every update.';

create table if not exists public.accounts (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(name) between 1 and 200),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  created_by uuid not null default auth.uid() references auth.users (id) on delete restrict,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.accounts is 'A customer organisation (tenant). Members are in public.memberships.';
comment on column public.accounts.slug is 'URL-safe unique handle, e.g. acme.';
comment on column public.accounts.created_by is 'The user who created the account; becomes its first owner.';

create index if not exists accounts_created_by_idx on public.accounts (created_by);

drop trigger if exists accounts_set_updated_at on public.accounts;
create trigger accounts_set_updated_at
  before update on public.accounts
  for each row execute function private.set_updated_at();

-- dbsage:ignore rls-enabled-no-policy its policies need private.is_member(), created with memberships in the next migration; until then nobody but the owner sees rows
alter table public.accounts enable row level security;

-- Supabase grants new public tables to anon by default; tenants' data is never public.
revoke all on table public.accounts from anon;
grant select, insert, update, delete on table public.accounts to authenticated;
grant all on table public.accounts to service_role;

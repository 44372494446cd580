-- dbsage Supabase compatibility layer for vanilla PostgreSQL 15+.
--
-- What Supabase migrations expect to exist before they run: the API roles, the `auth`, `storage`,
-- `extensions` and `supabase_migrations` schemas, the auth.* claim helpers and Supabase's default
-- privileges. Installed on throwaway and dev clusters only, as a superuser. Every statement is
-- idempotent: running this twice (or on a database where part of it exists) is a no-op, and
-- attributes that drifted (e.g. a role created without BYPASSRLS) are put back.
-- See crates/dbsage-supabase/COMPAT.md for what is deliberately NOT provided.

-- Roles are cluster-wide: create each one only if missing, tolerating a concurrent creator, then
-- (re)apply the attributes Supabase gives it.
do $compat$
declare
  wanted text[][] := array[
    -- name, attributes
    array['anon', 'NOLOGIN NOINHERIT'],
    array['authenticated', 'NOLOGIN NOINHERIT'],
    array['service_role', 'NOLOGIN NOINHERIT BYPASSRLS'],
    array['authenticator', 'LOGIN NOINHERIT'],
    array['supabase_admin', 'NOLOGIN'],
    array['supabase_auth_admin', 'NOLOGIN NOINHERIT'],
    array['supabase_storage_admin', 'NOLOGIN NOINHERIT'],
    array['postgres', 'NOLOGIN']
  ];
  i int;
begin
  for i in 1 .. array_length(wanted, 1) loop
    if not exists (select 1 from pg_roles where rolname = wanted[i][1]) then
      begin
        execute format('create role %I %s', wanted[i][1], wanted[i][2]);
      exception when duplicate_object or unique_violation then
        null;
      end;
    elsif wanted[i][1] <> 'postgres' then
      -- `postgres` usually already exists as the bootstrap superuser: never demote it.
      execute format('alter role %I %s', wanted[i][1], wanted[i][2]);
    end if;
  end loop;
end
$compat$;

grant anon, authenticated, service_role to authenticator;

-- Supabase's own databases resolve unqualified extension functions (uuid_generate_v4(),
-- crypt(), gen_salt()) through `extensions` on the search_path; migrations rely on it.
do $compat$
begin
  execute format('alter database %I set search_path = "$user", public, extensions',
                 current_database());
end
$compat$;
select set_config('search_path', '"$user", public, extensions', false);

-- ---------------------------------------------------------------------------------------------
-- extensions
-- ---------------------------------------------------------------------------------------------
create schema if not exists extensions;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgcrypto with schema extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- auth: the tables GoTrue owns, reduced to what migrations and seeds reference
-- ---------------------------------------------------------------------------------------------
create schema if not exists auth;
alter schema auth owner to supabase_auth_admin;
grant usage on schema auth to postgres, anon, authenticated, service_role;

create table if not exists auth.users (
  instance_id uuid,
  id uuid primary key default gen_random_uuid(),
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change_token_new varchar(255),
  email_change varchar(255),
  email_change_sent_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  phone text unique default null,
  phone_confirmed_at timestamptz,
  phone_change text default '',
  phone_change_token varchar(255) default '',
  phone_change_sent_at timestamptz,
  confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  email_change_token_current varchar(255) default '',
  email_change_confirm_status smallint default 0,
  banned_until timestamptz,
  reauthentication_token varchar(255) default '',
  reauthentication_sent_at timestamptz,
  is_sso_user boolean not null default false,
  deleted_at timestamptz,
  is_anonymous boolean not null default false
);
create index if not exists users_instance_id_idx on auth.users (instance_id);
create index if not exists users_email_idx on auth.users (email);
alter table auth.users owner to supabase_auth_admin;
comment on table auth.users is 'dbsage compatibility stand-in for GoTrue''s auth.users (no auth API behind it).';

-- Seeds that create users "the proper way" also insert an identity per user.
create table if not exists auth.identities (
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  email text generated always as (lower(identity_data ->> 'email')) stored,
  id uuid primary key default gen_random_uuid(),
  unique (provider_id, provider)
);
create index if not exists identities_user_id_idx on auth.identities (user_id);
alter table auth.identities owner to supabase_auth_admin;

grant all on all tables in schema auth to postgres, service_role;

-- The claim helpers, in Supabase's current form: the legacy per-claim settings
-- (request.jwt.claim.sub|role|email, set by PostgREST < 9) win when present, else the JSON
-- document in request.jwt.claims. Unset or empty settings mean "no claim" (null), never an error.
create or replace function auth.uid() returns uuid
  language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
  language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email() returns text
  language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
  language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;
grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to postgres, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- storage: the two tables storage policies are written against, plus the path helpers
-- ---------------------------------------------------------------------------------------------
create schema if not exists storage;
alter schema storage owner to supabase_storage_admin;
grant usage on schema storage to postgres, anon, authenticated, service_role;

create table if not exists storage.buckets (
  id text primary key,
  name text not null,
  owner uuid,
  owner_id text,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  public boolean default false,
  avif_autodetection boolean default false,
  file_size_limit bigint,
  allowed_mime_types text[]
);
create unique index if not exists bname on storage.buckets (name);

create table if not exists storage.objects (
  id uuid primary key default gen_random_uuid(),
  bucket_id text references storage.buckets (id),
  name text,
  owner uuid,
  owner_id text,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  last_accessed_at timestamptz default now(),
  metadata jsonb,
  user_metadata jsonb,
  path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  version text
);
create unique index if not exists bucketid_objname on storage.objects (bucket_id, name);
create index if not exists name_prefix_search on storage.objects (name text_pattern_ops);

alter table storage.buckets owner to supabase_storage_admin;
alter table storage.objects owner to supabase_storage_admin;
-- Supabase grants the tables to the API roles and relies on RLS (no policies = no access).
alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;
grant all on storage.buckets, storage.objects to postgres, anon, authenticated, service_role;

create or replace function storage.foldername(name text) returns text[]
  language sql immutable
as $$
  select (string_to_array(name, '/'))[1 : array_length(string_to_array(name, '/'), 1) - 1]
$$;

create or replace function storage.filename(name text) returns text
  language sql immutable
as $$
  select (string_to_array(name, '/'))[array_length(string_to_array(name, '/'), 1)]
$$;

create or replace function storage.extension(name text) returns text
  language sql immutable
as $$
  select reverse(split_part(reverse(storage.filename(name)), '.', 1))
$$;

-- ---------------------------------------------------------------------------------------------
-- public: Supabase's default privileges. Every table, function and sequence created in public by
-- postgres/supabase_admin is granted to the API roles; RLS is what keeps rows private.
-- ---------------------------------------------------------------------------------------------
grant usage on schema public to postgres, anon, authenticated, service_role;

do $compat$
declare
  creator text;
begin
  foreach creator in array array['postgres', 'supabase_admin', current_user::text] loop
    execute format('alter default privileges for role %I in schema public grant all on tables to postgres, anon, authenticated, service_role', creator);
    execute format('alter default privileges for role %I in schema public grant all on functions to postgres, anon, authenticated, service_role', creator);
    execute format('alter default privileges for role %I in schema public grant all on sequences to postgres, anon, authenticated, service_role', creator);
  end loop;
end
$compat$;

-- ---------------------------------------------------------------------------------------------
-- supabase_migrations: the Supabase CLI's history, kept in step by dbsage
-- ---------------------------------------------------------------------------------------------
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text primary key);
alter table supabase_migrations.schema_migrations add column if not exists statements text[];
alter table supabase_migrations.schema_migrations add column if not exists name text;

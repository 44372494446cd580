//! `dbsage drift` on a Supabase project leaves Supabase's managed schemas, event triggers and
//! Realtime publication alone; `dbsage diff` builds both sides on one cluster and reports where
//! its time went.

use crate::common;

use common::{stderr, TestProject};

/// What the platform puts in every Supabase database before the project's first migration,
/// written the way Supabase's own init scripts write it (trimmed to a realistic core).
const SUPABASE_PLATFORM: &str = r#"
do $$ begin
  create role anon nologin noinherit;
  create role authenticated nologin noinherit;
  create role service_role nologin noinherit bypassrls;
  create role supabase_admin nologin;
  create role supabase_auth_admin nologin noinherit;
  create role supabase_storage_admin nologin noinherit;
exception when duplicate_object then null;
end $$;

-- The API roles get everything created in public; RLS is what keeps rows private.
grant usage on schema public to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
  grant all on sequences to postgres, anon, authenticated, service_role;

create schema if not exists extensions;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgcrypto with schema extensions;
grant usage on schema extensions to anon, authenticated, service_role;

create schema if not exists auth authorization supabase_auth_admin;
create table auth.users (
  instance_id uuid, id uuid primary key, aud varchar(255), role varchar(255),
  email varchar(255) unique, encrypted_password varchar(255), email_confirmed_at timestamptz,
  raw_app_meta_data jsonb, raw_user_meta_data jsonb, is_super_admin boolean,
  created_at timestamptz, updated_at timestamptz
);
create table auth.refresh_tokens (
  instance_id uuid, id bigserial primary key, token varchar(255), user_id varchar(255),
  revoked boolean, created_at timestamptz, updated_at timestamptz
);
create index refresh_tokens_instance_id_idx on auth.refresh_tokens (instance_id);
create or replace function auth.uid() returns uuid language sql stable as $f$
  select nullif(coalesce(current_setting('request.jwt.claim.sub', true),
                         (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')), '')::uuid
$f$;
create or replace function auth.role() returns text language sql stable as $f$
  select nullif(current_setting('request.jwt.claim.role', true), '')::text
$f$;
grant usage on schema auth to anon, authenticated, service_role;

create schema if not exists storage authorization supabase_storage_admin;
create table storage.buckets (
  id text primary key, name text not null unique, owner uuid references auth.users,
  public boolean default false, created_at timestamptz default now(), updated_at timestamptz default now()
);
create table storage.objects (
  id uuid primary key default extensions.uuid_generate_v4(), bucket_id text references storage.buckets (id),
  name text, owner uuid references auth.users, metadata jsonb,
  created_at timestamptz default now(), updated_at timestamptz default now()
);
create index bucketid_objname on storage.objects (bucket_id, name);
alter table storage.objects enable row level security;
create policy "public buckets are readable" on storage.objects for select
  using (bucket_id in (select id from storage.buckets where public));

create schema if not exists realtime;
create table realtime.messages (
  id bigserial primary key, topic text not null, extension text not null, payload jsonb,
  inserted_at timestamp not null default now()
);
alter table realtime.messages enable row level security;

create schema if not exists graphql;
create schema if not exists graphql_public;
create or replace function graphql_public.graphql(
  "operationName" text default null, query text default null,
  variables jsonb default null, extensions jsonb default null
) returns jsonb language sql as $f$
  select jsonb_build_object('errors', jsonb_build_array(jsonb_build_object('message', 'pg_graphql is not enabled')))
$f$;

create schema if not exists vault;
create table vault.secrets (
  id uuid primary key default extensions.gen_random_uuid(), name text unique, secret text not null,
  created_at timestamptz not null default now()
);

create schema if not exists supabase_functions;
create table supabase_functions.hooks (
  id bigserial primary key, hook_table_id integer not null, hook_name text not null,
  created_at timestamptz not null default now(), request_id bigint
);

-- The platform's event triggers: their functions live in `extensions`.
create or replace function extensions.grant_pg_cron_access() returns event_trigger
language plpgsql as $f$ begin raise notice 'pg_cron access granted'; end $f$;
create event trigger issue_pg_cron_access on ddl_command_end
  when tag in ('CREATE EXTENSION') execute function extensions.grant_pg_cron_access();
create or replace function extensions.pgrst_ddl_watch() returns event_trigger
language plpgsql as $f$ begin notify pgrst, 'reload schema'; end $f$;
create event trigger pgrst_ddl_watch on ddl_command_end execute function extensions.pgrst_ddl_watch();

create publication supabase_realtime;
"#;

const NOTES: &str = "
create table public.notes (
  id bigint generated always as identity primary key,
  owner_id uuid not null references auth.users (id) on delete cascade,
  body text not null,
  created_at timestamptz not null default now()
);
alter table public.notes enable row level security;
create policy notes_owner on public.notes for all to authenticated
  using (owner_id = auth.uid()) with check (owner_id = auth.uid());
grant select, insert, update, delete on public.notes to authenticated;
";

#[test]
fn drift_on_a_supabase_project_reports_only_the_public_drift() {
    let p = TestProject::new();
    std::fs::create_dir_all(p.root().join("supabase")).unwrap();
    std::fs::write(
        p.root().join("supabase/config.toml"),
        "project_id = \"notes\"\n\n[api]\nenabled = true\nschemas = [\"public\", \"graphql_public\"]\n",
    )
    .unwrap();
    p.migration("20260301000000", "notes", NOTES);
    p.client().batch_execute(SUPABASE_PLATFORM).unwrap();
    let out = p.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The platform's schemas, event triggers and publication are not the project's drift.
    let (report, code) = p.json(&["drift", "--env", "test"]);
    assert_eq!(code, 0, "{:#}", report["differences"]);

    // A hot fix made by hand on the live database: the one drift there is.
    p.client()
        .batch_execute(
            "alter table public.notes add column pinned boolean not null default false;
             create table storage.migrations (id integer primary key, name varchar(100));
             create table auth.sessions (id uuid primary key, user_id uuid not null);",
        )
        .unwrap();
    let (report, code) = p.json(&["drift", "--env", "test"]);
    assert_eq!(code, 1, "{report:#}");
    let objects: Vec<&str> = report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["object"].as_str().unwrap())
        .collect();
    assert_eq!(objects, ["column public.notes.pinned"], "{report:#}");
}

#[test]
fn diff_of_two_schema_files_on_one_cluster_reports_its_timings() {
    let p = TestProject::new();
    // Both files create the role they grant to: one cluster holds both sides.
    std::fs::write(
        p.root().join("a.sql"),
        "CREATE ROLE reporting NOLOGIN;
         CREATE TABLE orders (id bigint PRIMARY KEY, total integer);
         CREATE VIEW order_totals AS SELECT id, total FROM orders;",
    )
    .unwrap();
    std::fs::write(
        p.root().join("b.sql"),
        "CREATE ROLE reporting NOLOGIN;
         CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(12,2), note text);
         CREATE VIEW order_totals AS SELECT id, total FROM orders;
         GRANT SELECT ON order_totals TO reporting;",
    )
    .unwrap();
    let (report, code) = p.json(&["diff", "--from", "a.sql", "--to", "b.sql"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["proof"]["clean"], true, "{report:#}");
    let timings = &report["timings"];
    for field in [
        "cluster_ms",
        "build_from_ms",
        "build_to_ms",
        "read_from_ms",
        "read_to_ms",
        "plan_ms",
        "proof_ms",
        "total_ms",
    ] {
        assert!(timings[field].is_u64(), "{field} missing: {timings:#}");
    }
    assert!(timings["total_ms"].as_u64() >= timings["cluster_ms"].as_u64());
}

#[test]
fn a_statement_failing_inside_a_batch_is_located_in_its_file() {
    let p = TestProject::new();
    let mut b = String::new();
    for i in 1..=40 {
        b.push_str(&format!("CREATE TABLE t{i} (id bigint PRIMARY KEY);\n"));
    }
    b.push_str("CREATE INDEX t7_missing_idx ON t7 (missing_column);\n");
    b.push_str("CREATE TABLE after_the_error (id int);\n");
    std::fs::write(
        p.root().join("a.sql"),
        "CREATE TABLE t1 (id bigint PRIMARY KEY);\n",
    )
    .unwrap();
    std::fs::write(p.root().join("b.sql"), &b).unwrap();
    let out = p.run(&["diff", "--from", "a.sql", "--to", "b.sql"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("b.sql:41:1: does not apply on an empty database")
            && stderr(&out).contains("missing_column"),
        "{}",
        stderr(&out)
    );
}

//! The compatibility layer on a real throwaway PostgreSQL: it installs (twice), Supabase-style
//! SQL applies after it, and the claim helpers and default privileges behave as on Supabase.

use dbsage_cluster::Cluster;
use dbsage_supabase::install_compat;

fn cluster_with_layer() -> (Cluster, postgres::Client) {
    let cluster = Cluster::start().unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    install_compat(&mut client).unwrap();
    (cluster, client)
}

#[test]
fn installs_twice_without_error_and_creates_everything() {
    let (cluster, mut client) = cluster_with_layer();
    install_compat(&mut client).unwrap();
    // A fresh connection (new session) also works: the database-level search_path applies.
    let mut other = cluster.connect("postgres").unwrap();
    install_compat(&mut other).unwrap();

    let roles: Vec<(String, bool, bool, bool)> = client
        .query(
            "select rolname::text, rolcanlogin, rolinherit, rolbypassrls from pg_roles
             where rolname in ('anon', 'authenticated', 'service_role', 'authenticator')
             order by rolname",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        roles,
        vec![
            ("anon".into(), false, false, false),
            ("authenticated".into(), false, false, false),
            ("authenticator".into(), true, false, false),
            ("service_role".into(), false, false, true),
        ]
    );
    let granted: i64 = client
        .query_one(
            "select count(*) from pg_auth_members m
             join pg_roles r on r.oid = m.roleid join pg_roles u on u.oid = m.member
             where u.rolname = 'authenticator'
               and r.rolname in ('anon', 'authenticated', 'service_role')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(granted, 3);

    let extensions: Vec<(String, String)> = other
        .query(
            "select e.extname::text, n.nspname::text from pg_extension e
             join pg_namespace n on n.oid = e.extnamespace
             where e.extname in ('uuid-ossp', 'pgcrypto') order by 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        extensions,
        vec![
            ("pgcrypto".into(), "extensions".into()),
            ("uuid-ossp".into(), "extensions".into())
        ]
    );
    // Unqualified extension functions resolve through the search_path, as on Supabase.
    other
        .batch_execute("select uuid_generate_v4(), crypt('x', gen_salt('bf'))")
        .unwrap();

    for table in [
        "auth.users",
        "auth.identities",
        "storage.buckets",
        "storage.objects",
        "supabase_migrations.schema_migrations",
    ] {
        let exists: bool = client
            .query_one("select to_regclass($1) is not null", &[&table])
            .unwrap()
            .get(0);
        assert!(exists, "{table} missing");
    }
}

#[test]
fn supabase_style_migration_applies_on_vanilla_postgres() {
    let (_cluster, mut client) = cluster_with_layer();
    let migration = r#"
        create extension if not exists "uuid-ossp" with schema extensions;
        create extension if not exists pgcrypto with schema extensions;
        create table public.profiles (
          id uuid primary key references auth.users (id) on delete cascade,
          username text unique,
          avatar_path text,
          updated_at timestamptz default now()
        );
        alter table public.profiles enable row level security;
        create policy "profiles are public" on public.profiles for select to anon, authenticated using (true);
        create policy "own profile" on public.profiles for update to authenticated
          using ((select auth.uid()) = id) with check ((select auth.uid()) = id);
        create policy "jwt admins" on public.profiles for delete to authenticated
          using ((auth.jwt() -> 'app_metadata' ->> 'role') = 'admin');
        grant select on public.profiles to anon;
        grant all on public.profiles to authenticated, service_role;
        create table public.notes (id uuid primary key default extensions.uuid_generate_v4(), body text);
        insert into storage.buckets (id, name, public) values ('avatars', 'avatars', true);
        create policy "avatar owners" on storage.objects for insert to authenticated
          with check (bucket_id = 'avatars' and (storage.foldername(name))[1] = auth.uid()::text);
        create or replace function public.handle_new_user() returns trigger
          language plpgsql security definer set search_path = ''
        as $$
        begin
          insert into public.profiles (id, username) values (new.id, new.raw_user_meta_data ->> 'username');
          return new;
        end;
        $$;
        create trigger on_auth_user_created after insert on auth.users
          for each row execute procedure public.handle_new_user();
        grant execute on function public.handle_new_user() to supabase_auth_admin;
        insert into auth.users (id, email, raw_user_meta_data)
          values ('11111111-1111-1111-1111-111111111111', 'a@x.io', '{"username": "a"}');
    "#;
    client.batch_execute(migration).unwrap();
    let username: String = client
        .query_one("select username from public.profiles", &[])
        .unwrap()
        .get(0);
    assert_eq!(username, "a");
}

fn claims_seen(client: &mut postgres::Client, setup: &str) -> Vec<Option<String>> {
    let mut tx = client.transaction().unwrap();
    tx.batch_execute(setup).unwrap();
    let row = tx
        .query_one(
            "select auth.uid()::text, auth.role(), auth.email(), auth.jwt() ->> 'sub', current_user::text",
            &[],
        )
        .unwrap();
    let seen = (0..5).map(|i| row.get(i)).collect();
    tx.rollback().unwrap();
    seen
}

#[test]
fn claim_helpers_read_the_json_claims() {
    let (_cluster, mut client) = cluster_with_layer();
    let seen = claims_seen(
        &mut client,
        r#"set local role authenticated;
           select set_config('request.jwt.claims',
             '{"sub":"11111111-1111-1111-1111-111111111111","role":"authenticated","email":"a@x.io"}', true);"#,
    );
    let expected = [
        "11111111-1111-1111-1111-111111111111",
        "authenticated",
        "a@x.io",
        "11111111-1111-1111-1111-111111111111",
        "authenticated",
    ];
    assert_eq!(
        seen,
        expected.map(|s| Some(s.to_string())).to_vec(),
        "JSON claims"
    );
}

#[test]
fn claim_helpers_read_the_legacy_per_claim_settings() {
    let (_cluster, mut client) = cluster_with_layer();
    let seen = claims_seen(
        &mut client,
        r#"set local role authenticated;
           select set_config('request.jwt.claim.sub', '22222222-2222-2222-2222-222222222222', true);
           select set_config('request.jwt.claim.role', 'authenticated', true);
           select set_config('request.jwt.claim.email', 'b@x.io', true);
           select set_config('request.jwt.claim', '{"sub":"22222222-2222-2222-2222-222222222222"}', true);"#,
    );
    assert_eq!(
        seen[0].as_deref(),
        Some("22222222-2222-2222-2222-222222222222")
    );
    assert_eq!(seen[1].as_deref(), Some("authenticated"));
    assert_eq!(seen[2].as_deref(), Some("b@x.io"));
    assert_eq!(
        seen[3].as_deref(),
        Some("22222222-2222-2222-2222-222222222222")
    );
}

#[test]
fn legacy_settings_win_over_json_claims_and_no_claims_mean_null() {
    let (_cluster, mut client) = cluster_with_layer();
    let seen = claims_seen(
        &mut client,
        r#"select set_config('request.jwt.claims', '{"sub":"11111111-1111-1111-1111-111111111111"}', true);
           select set_config('request.jwt.claim.sub', '22222222-2222-2222-2222-222222222222', true);"#,
    );
    assert_eq!(
        seen[0].as_deref(),
        Some("22222222-2222-2222-2222-222222222222")
    );

    // Nothing set (anon without a JWT): null, not an error.
    let seen = claims_seen(&mut client, "set local role anon;");
    assert_eq!(seen[..4], [None, None, None, None]);
    // Set then emptied (a pooled connection after a request): still null.
    let seen = claims_seen(
        &mut client,
        "select set_config('request.jwt.claims', '', true); select set_config('request.jwt.claim.sub', '', true);",
    );
    assert_eq!(seen[..4], [None, None, None, None]);
}

fn privilege(client: &mut postgres::Client, role: &str, table: &str, privilege: &str) -> bool {
    client
        .query_one(
            "select has_table_privilege($1, $2, $3)",
            &[&role, &table, &privilege],
        )
        .unwrap()
        .get(0)
}

#[test]
fn default_privileges_follow_supabase() {
    let (_cluster, mut client) = cluster_with_layer();
    client
        .batch_execute(
            "create table public.open_by_default (id int generated always as identity primary key, v text);
             create schema private;
             create table private.hidden (id int primary key);
             create function public.answer() returns int language sql as 'select 42';",
        )
        .unwrap();
    // Supabase's defaults: everything new in public is granted to the API roles (RLS guards it).
    for role in ["anon", "authenticated", "service_role"] {
        for action in ["SELECT", "INSERT", "UPDATE", "DELETE"] {
            assert!(
                privilege(&mut client, role, "public.open_by_default", action),
                "{role} {action}"
            );
        }
        let seq: bool = client
            .query_one(
                "select has_sequence_privilege($1, pg_get_serial_sequence('public.open_by_default', 'id'), 'USAGE')",
                &[&role],
            )
            .unwrap()
            .get(0);
        assert!(seq, "{role} sequence");
        let exec: bool = client
            .query_one(
                "select has_function_privilege($1, 'public.answer()', 'EXECUTE')",
                &[&role],
            )
            .unwrap()
            .get(0);
        assert!(exec);
    }
    // Outside public nothing is granted until a migration grants it.
    assert!(!privilege(&mut client, "anon", "private.hidden", "SELECT"));
    client
        .batch_execute(
            "grant usage on schema private to anon; grant select on private.hidden to anon;",
        )
        .unwrap();
    assert!(privilege(&mut client, "anon", "private.hidden", "SELECT"));
    // Revoking in a migration is respected (the default is a grant, not a policy).
    client
        .batch_execute("revoke all on public.open_by_default from anon")
        .unwrap();
    assert!(!privilege(
        &mut client,
        "anon",
        "public.open_by_default",
        "SELECT"
    ));

    // The API roles can really read through the grant, and RLS then filters rows.
    let mut tx = client.transaction().unwrap();
    tx.batch_execute(
        "insert into public.open_by_default (v) values ('x');
         alter table public.open_by_default enable row level security;
         set local role authenticated;",
    )
    .unwrap();
    let visible = tx
        .query("select * from public.open_by_default", &[])
        .unwrap();
    assert!(visible.is_empty(), "RLS without policy hides rows");
    tx.rollback().unwrap();
    // auth.users is not readable by the API roles, as on Supabase.
    assert!(!privilege(&mut client, "anon", "auth.users", "SELECT"));
    assert!(!privilege(
        &mut client,
        "authenticated",
        "auth.users",
        "SELECT"
    ));
    assert!(privilege(
        &mut client,
        "service_role",
        "auth.users",
        "SELECT"
    ));
}

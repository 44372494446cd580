//! Every audit check fires on a schema built to trigger it and stays silent once fixed.

use crate::common;

use dbsage_secure::{audit, fix_migration, AuditFinding, AuditOptions, Severity};

fn run(client: &mut postgres::Client) -> Vec<AuditFinding> {
    audit(client, &AuditOptions::default()).unwrap()
}

fn of<'a>(findings: &'a [AuditFinding], check: &str, object: &str) -> Vec<&'a AuditFinding> {
    findings
        .iter()
        .filter(|f| f.check == check && f.object == object)
        .collect()
}

/// Builds `schema`, asserts `check` fires on `object`, applies `fix` (or, when `None`, the
/// automated migration from `fix_migration`), and asserts the check is silent afterwards.
/// Returns the finding.
fn fires_then_silent(schema: &str, check: &str, object: &str, fix: Option<&str>) -> AuditFinding {
    let (_cluster, mut client) = common::start();
    client.batch_execute(schema).unwrap();
    let findings = run(&mut client);
    let hits = of(&findings, check, object);
    assert_eq!(hits.len(), 1, "{check} on {object}: {findings:#?}");
    let finding = hits[0].clone();
    assert!(!finding.message.is_empty());
    let fix_sql = finding
        .fix_sql
        .clone()
        .expect("every finding carries fix SQL");
    match fix {
        Some(sql) => client.batch_execute(sql).unwrap(),
        None => {
            let (migration, rest) = fix_migration(std::slice::from_ref(&finding));
            assert!(rest.is_empty(), "{check} should be automated");
            assert!(migration.contains(fix_sql.trim()), "{migration}");
            client.batch_execute(&migration).unwrap();
        }
    }
    let after = run(&mut client);
    let still: Vec<&AuditFinding> = after.iter().filter(|f| f.check == check).collect();
    assert!(
        still.is_empty(),
        "{check} still fires after the fix: {still:#?}"
    );
    finding
}

#[test]
fn fresh_supabase_database_has_no_findings() {
    let (_cluster, mut client) = common::start();
    let findings = run(&mut client);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn rls_disabled_in_exposed_schema() {
    let f = fires_then_silent(
        "create table public.notes (id int primary key, body text);
         create schema private; create table private.internal (id int);",
        "rls-disabled-in-exposed-schema",
        "table public.notes",
        None,
    );
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.fix_sql.as_deref(),
        Some("alter table public.notes enable row level security;")
    );
}

#[test]
fn unexposed_schemas_are_not_reported_unless_asked() {
    let (_cluster, mut client) = common::start();
    client
        .batch_execute("create schema api; create table api.items (id int); grant usage on schema api to anon; grant select on api.items to anon;")
        .unwrap();
    let default = run(&mut client);
    assert!(of(
        &default,
        "rls-disabled-in-exposed-schema",
        "table api.items"
    )
    .is_empty());
    let options = AuditOptions {
        exposed_schemas: vec!["public".into(), "api".into()],
    };
    let exposed = audit(&mut client, &options).unwrap();
    assert_eq!(
        of(
            &exposed,
            "rls-disabled-in-exposed-schema",
            "table api.items"
        )
        .len(),
        1
    );
}

#[test]
fn rls_enabled_no_policy() {
    let f = fires_then_silent(
        "create table public.todos (id int primary key, user_id uuid);
         alter table public.todos enable row level security;",
        "rls-enabled-no-policy",
        "table public.todos",
        Some("create policy own on public.todos for select to authenticated using (user_id = (select auth.uid()));"),
    );
    assert_eq!(f.severity, Severity::Warning);
    let (migration, rest) = fix_migration(std::slice::from_ref(&f));
    assert!(migration.is_empty(), "a policy is a human decision");
    assert_eq!(rest, vec![f]);
}

#[test]
fn policy_exists_rls_disabled() {
    fires_then_silent(
        "create table public.todos (id int primary key, user_id uuid);
         create policy own on public.todos for select to authenticated using (user_id = (select auth.uid()));",
        "policy-exists-rls-disabled",
        "table public.todos",
        None,
    );
}

#[test]
fn policy_per_row_auth_call_is_wrapped_by_the_fix() {
    let schema = "create table public.todos (id int primary key, user_id uuid, team text);
         alter table public.todos enable row level security;
         create policy own on public.todos for all to authenticated
           using (user_id = auth.uid())
           with check (team = current_setting('request.jwt.claims', true)::json ->> 'team');
         create policy wrapped on public.todos for select to authenticated
           using (user_id = (select auth.uid()));";
    let f = fires_then_silent(
        schema,
        "policy-per-row-auth-call",
        "policy \"own\" on public.todos",
        None,
    );
    let fix = f.fix_sql.unwrap();
    assert!(fix.contains("(select auth.uid())"), "{fix}");
    assert!(fix.contains("(select current_setting("), "{fix}");

    // The wrapped policy still means the same thing: the owner sees the row.
    let (_cluster, mut client) = common::start();
    client.batch_execute(schema).unwrap();
    let findings = run(&mut client);
    assert!(of(
        &findings,
        "policy-per-row-auth-call",
        "policy \"wrapped\" on public.todos"
    )
    .is_empty());
    let (migration, _) = fix_migration(&findings);
    client.batch_execute(&migration).unwrap();
    client
        .batch_execute(&format!(
            "insert into public.todos values (1, '{}', 'red'); grant select on public.todos to authenticated;",
            common::ALICE
        ))
        .unwrap();
    let mut tx = client.transaction().unwrap();
    tx.batch_execute(&format!(
        "select set_config('request.jwt.claims', '{{\"sub\": \"{}\", \"team\": \"red\"}}', true); set local role authenticated;",
        common::ALICE
    ))
    .unwrap();
    let n: i64 = tx
        .query_one("select count(*) from public.todos", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[test]
fn multiple_permissive_policies() {
    let f = fires_then_silent(
        "create table public.docs (id int primary key, owner uuid, public boolean);
         alter table public.docs enable row level security;
         create policy own on public.docs for select to authenticated using (owner = (select auth.uid()));
         create policy published on public.docs for select to authenticated using (public);
         create policy anon_read on public.docs for select to anon using (public);",
        "multiple-permissive-policies",
        "table public.docs",
        Some("drop policy published on public.docs; drop policy own on public.docs;
              create policy readable on public.docs for select to authenticated using (public or owner = (select auth.uid()));"),
    );
    assert!(f.message.contains("authenticated"), "{}", f.message);
    assert!(
        f.message.contains("\"own\"") && f.message.contains("\"published\""),
        "{}",
        f.message
    );
    assert!(!f.message.contains("anon_read"), "{}", f.message);
}

#[test]
fn policy_always_true() {
    let schema = "create table public.posts (id int primary key, author uuid);
         alter table public.posts enable row level security;
         create policy anyone_edits on public.posts for update to authenticated using (true);
         create policy everyone_reads on public.posts for select to anon, authenticated using (true);";
    let f = fires_then_silent(
        schema,
        "policy-always-true",
        "policy \"anyone_edits\" on public.posts",
        Some(
            "alter policy anyone_edits on public.posts using (author = (select auth.uid()));
              alter policy everyone_reads on public.posts using (author is not null);",
        ),
    );
    assert_eq!(f.severity, Severity::Error);
    let (_cluster, mut client) = common::start();
    client.batch_execute(schema).unwrap();
    let findings = run(&mut client);
    let read = of(
        &findings,
        "policy-always-true",
        "policy \"everyone_reads\" on public.posts",
    );
    assert_eq!(
        read[0].severity,
        Severity::Warning,
        "public read is sometimes intended"
    );
}

#[test]
fn policy_uses_user_metadata() {
    let f = fires_then_silent(
        "create table public.admin_stuff (id int primary key);
         alter table public.admin_stuff enable row level security;
         create policy admins on public.admin_stuff for select to authenticated
           using (((select auth.jwt()) -> 'user_metadata' ->> 'role') = 'admin');",
        "policy-uses-user-metadata",
        "policy \"admins\" on public.admin_stuff",
        Some(
            "alter policy admins on public.admin_stuff
                using (((select auth.jwt()) -> 'app_metadata' ->> 'role') = 'admin');",
        ),
    );
    assert!(f.fix_sql.unwrap().contains("app_metadata"));
}

#[test]
fn security_definer_view() {
    let f = fires_then_silent(
        "create table public.secrets (id int primary key, v text);
         alter table public.secrets enable row level security;
         create view public.all_secrets as select * from public.secrets;",
        "security-definer-view",
        "view public.all_secrets",
        Some("alter view public.all_secrets set (security_invoker = true);"),
    );
    assert_eq!(
        f.fix_sql.as_deref(),
        Some("alter view public.all_secrets set (security_invoker = true);")
    );
}

#[test]
fn security_definer_function_search_path() {
    let (_cluster, mut client) = common::start();
    let schema = "create table public.counters (n int);
         alter table public.counters enable row level security;
         insert into public.counters values (41);
         create function public.next_counter() returns int language sql security definer
           as $$ select n + 1 from counters $$;
         revoke execute on function public.next_counter() from public, anon;";
    client.batch_execute(schema).unwrap();
    let findings = run(&mut client);
    let hits = of(
        &findings,
        "security-definer-function-search-path",
        "function public.next_counter()",
    );
    assert_eq!(hits.len(), 1, "{findings:#?}");
    let (migration, _) = fix_migration(&findings);
    assert!(
        migration.contains(
            "alter function public.next_counter() set search_path = pg_catalog, public, pg_temp;"
        ),
        "{migration}"
    );
    client.batch_execute(&migration).unwrap();
    let after = run(&mut client);
    assert!(
        after
            .iter()
            .all(|f| f.check != "security-definer-function-search-path"),
        "{after:#?}"
    );
    // The function keeps working with its pinned path.
    let n: i32 = client
        .query_one("select public.next_counter()", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 42);
}

#[test]
fn security_definer_function_executable_by_anon() {
    let f = fires_then_silent(
        "create function public.delete_everything() returns void language sql security definer
           set search_path = '' as $$ select $$;",
        "security-definer-function-executable-by-anon",
        "function public.delete_everything()",
        Some("revoke execute on function public.delete_everything() from public, anon;"),
    );
    assert_eq!(
        f.fix_sql.as_deref(),
        Some("revoke execute on function public.delete_everything() from public, anon;")
    );
}

#[test]
fn auth_users_exposed() {
    let f = fires_then_silent(
        "create view public.user_emails with (security_invoker = true) as select id, email from auth.users;",
        "auth-users-exposed",
        "view public.user_emails",
        Some("revoke select on public.user_emails from public, anon, authenticated;"),
    );
    assert!(f.message.contains("auth.users"));
}

#[test]
fn table_writable_by_anon_without_rls() {
    let f = fires_then_silent(
        "create table public.guestbook (id int primary key, line text);",
        "table-writable-by-anon-without-rls",
        "table public.guestbook",
        None,
    );
    assert!(
        f.fix_sql.unwrap().contains("revoke truncate"),
        "TRUNCATE ignores RLS"
    );
    // Read-only for anon: not reported by this check.
    let (_cluster, mut client) = common::start();
    client
        .batch_execute("create table public.menu (id int); revoke insert, update, delete, truncate on public.menu from anon;")
        .unwrap();
    let findings = run(&mut client);
    assert!(of(
        &findings,
        "table-writable-by-anon-without-rls",
        "table public.menu"
    )
    .is_empty());
}

#[test]
fn sensitive_columns_exposed() {
    let f = fires_then_silent(
        "create table public.accounts (id int primary key, email text, password_hash text, api_key text, tokens_used int);
         alter table public.accounts enable row level security;
         create policy own on public.accounts for select to authenticated using (true);",
        "sensitive-columns-exposed",
        "table public.accounts",
        Some("revoke select on public.accounts from public, anon, authenticated;
              grant select (id, email, tokens_used) on public.accounts to anon, authenticated;"),
    );
    assert!(
        f.message.contains("password_hash") && f.message.contains("api_key"),
        "{}",
        f.message
    );
    assert!(!f.message.contains("tokens_used"), "{}", f.message);
    assert_eq!(
        f.severity,
        Severity::Warning,
        "RLS is on, so only readable rows expose them"
    );
    assert!(f
        .fix_sql
        .unwrap()
        .contains("grant select (id, email, tokens_used)"));
}

#[test]
fn fix_migration_splits_and_deduplicates() {
    let (_cluster, mut client) = common::start();
    client
        .batch_execute(
            "create table public.t (id int primary key, owner uuid);
             create policy p on public.t for select to authenticated using (owner = auth.uid());
             create view public.v as select id from public.t;",
        )
        .unwrap();
    let findings = run(&mut client);
    let checks: Vec<&str> = findings.iter().map(|f| f.check.as_str()).collect();
    for id in [
        "rls-disabled-in-exposed-schema",
        "policy-exists-rls-disabled",
        "table-writable-by-anon-without-rls",
        "policy-per-row-auth-call",
        "security-definer-view",
    ] {
        assert!(checks.contains(&id), "{id} missing from {checks:?}");
    }
    let (migration, rest) = fix_migration(&findings);
    assert_eq!(
        migration
            .matches("alter table public.t enable row level security;")
            .count(),
        1,
        "{migration}"
    );
    assert!(
        rest.iter().all(|f| f.check == "security-definer-view"),
        "{rest:#?}"
    );
    client.batch_execute(&migration).unwrap();
    let after: Vec<String> = run(&mut client).into_iter().map(|f| f.check).collect();
    assert_eq!(after, ["security-definer-view"]);

    // The JSON shape is part of the interface.
    let json = serde_json::to_value(&findings[0]).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 6);
    for key in [
        "check", "severity", "object", "message", "evidence", "fix_sql",
    ] {
        assert!(keys.contains(&key));
    }
    assert_eq!(json["severity"], "error");
}

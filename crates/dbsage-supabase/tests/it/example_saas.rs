//! examples/supabase-saas on a real throwaway PostgreSQL with the compatibility layer: every
//! migration applies twice (dbsage's idempotency check), the seed applies, and the RLS policy
//! tests in tests/rls/*.toml pass with the semantics issue 4 gives `dbsage secure test`.

use std::fs;
use std::path::{Path, PathBuf};

use dbsage_cluster::Cluster;
use dbsage_supabase::{
    detect, install_compat, read_migrations, record_supabase_history, AdoptedMigration, Layout,
};
use postgres::SimpleQueryMessage;
use serde::Deserialize;

fn example_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/supabase-saas")
}

fn example_migrations() -> Vec<AdoptedMigration> {
    let found = detect(&example_root()).expect("the example is a Supabase project");
    assert_eq!(found.layout, Layout::Supabase);
    read_migrations(found.layout, &found.migrations_dir).unwrap()
}

/// A cluster with the layer, every migration applied twice in order, and the seed (twice).
fn migrated_example() -> (Cluster, postgres::Client) {
    let cluster = Cluster::start().unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    install_compat(&mut client).unwrap();
    for migration in example_migrations() {
        for attempt in 1..=2 {
            let mut tx = client.transaction().unwrap();
            tx.batch_execute(&migration.up_sql).unwrap_or_else(|e| {
                panic!("{} (run {attempt}) failed: {e:?}", migration.path.display())
            });
            record_supabase_history(&mut tx, &migration.version, &migration.name, &[]).unwrap();
            tx.commit().unwrap();
        }
    }
    let seed = fs::read_to_string(example_root().join("supabase/seed.sql")).unwrap();
    client.batch_execute(&seed).unwrap();
    client.batch_execute(&seed).unwrap();
    (cluster, client)
}

#[test]
fn example_is_detected_with_its_seed() {
    let found = detect(&example_root()).unwrap();
    assert_eq!(found.layout, Layout::Supabase);
    assert!(found.seed.is_some());
    let versions: Vec<_> = example_migrations()
        .iter()
        .map(|m| m.version.len())
        .collect();
    assert!(versions.len() >= 3 && versions.iter().all(|len| *len == 14));
}

#[test]
fn migrations_apply_twice_and_seed_applies() {
    let (_cluster, mut client) = migrated_example();
    let counts = client
        .query_one(
            "select (select count(*) from auth.users), (select count(*) from public.accounts),
                    (select count(*) from public.memberships), (select count(*) from public.projects),
                    (select count(*) from supabase_migrations.schema_migrations)",
            &[],
        )
        .unwrap();
    let counts: Vec<i64> = (0..5).map(|i| counts.get(i)).collect();
    assert_eq!(counts, [2, 2, 3, 3, example_migrations().len() as i64]);
    // The owner trigger made each creator the owner.
    let owners: i64 = client
        .query_one(
            "select count(*) from public.memberships m join public.accounts a on a.id = m.account_id
             where m.role = 'owner' and m.user_id = a.created_by",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(owners, 2);
    // Every public table has RLS and at least one policy per command.
    let unprotected: Vec<String> = client
        .query(
            "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = 'public' and c.relkind = 'r'
               and (not c.relrowsecurity
                    or (select count(distinct p.polcmd) from pg_policy p where p.polrelid = c.oid) < 4)",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(unprotected.is_empty(), "{unprotected:?}");
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyTestFile {
    #[serde(default)]
    setup: Vec<String>,
    case: Vec<PolicyCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyCase {
    name: String,
    #[serde(rename = "as")]
    as_user: Impersonation,
    sql: String,
    expect: Expectation,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Impersonation {
    role: Option<String>,
    sub: Option<String>,
    claims: Option<toml::Table>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Expectation {
    rows: Option<u64>,
    rows_at_least: Option<u64>,
    error: Option<String>,
    denied: Option<bool>,
}

impl Impersonation {
    fn role(&self) -> String {
        let from_claims = self
            .claims
            .as_ref()
            .and_then(|c| c.get("role"))
            .and_then(|r| r.as_str());
        let role = self
            .role
            .as_deref()
            .or(from_claims)
            .unwrap_or("authenticated");
        assert!(
            ["anon", "authenticated", "service_role"].contains(&role),
            "unknown role {role}"
        );
        role.to_string()
    }

    fn claims_json(&self) -> String {
        let mut claims = match &self.claims {
            Some(table) => serde_json::to_value(table).unwrap(),
            None => serde_json::json!({}),
        };
        let object = claims.as_object_mut().unwrap();
        object
            .entry("role")
            .or_insert_with(|| serde_json::Value::String(self.role()));
        if let Some(sub) = &self.sub {
            object.insert("sub".into(), serde_json::Value::String(sub.clone()));
        }
        claims.to_string()
    }
}

/// Runs one case in its own rolled-back transaction; `Err` says why it failed.
fn run_case(
    client: &mut postgres::Client,
    setup: &[String],
    case: &PolicyCase,
) -> Result<(), String> {
    let mut tx = client.transaction().unwrap();
    for statement in setup {
        tx.batch_execute(statement)
            .map_err(|e| format!("setup failed: {e:?}"))?;
    }
    tx.batch_execute(&format!("set local role {}", case.as_user.role()))
        .unwrap();
    tx.execute(
        "select set_config('request.jwt.claims', $1, true)",
        &[&case.as_user.claims_json()],
    )
    .unwrap();
    let outcome = tx.simple_query(&case.sql).map(|messages| {
        messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::CommandComplete(n) => Some(*n),
                _ => None,
            })
            .last()
            .unwrap_or(0)
    });
    let sqlstate = |e: &postgres::Error| e.code().map(|c| c.code().to_string());
    let expect = &case.expect;
    let verdict = match (&outcome, expect) {
        (
            Ok(n),
            Expectation {
                rows: Some(want), ..
            },
        ) if n == want => Ok(()),
        (
            Ok(n),
            Expectation {
                rows_at_least: Some(want),
                ..
            },
        ) if n >= want => Ok(()),
        (
            Ok(0),
            Expectation {
                denied: Some(true), ..
            },
        ) => Ok(()),
        (
            Err(e),
            Expectation {
                denied: Some(true), ..
            },
        ) if sqlstate(e).as_deref() == Some("42501") => Ok(()),
        (
            Err(e),
            Expectation {
                error: Some(code), ..
            },
        ) if sqlstate(e).as_ref() == Some(code) => Ok(()),
        (Ok(n), _) => Err(format!("expected {expect:?}, got {n} rows")),
        (Err(e), _) => Err(format!(
            "expected {expect:?}, got error {:?}: {e}",
            sqlstate(e)
        )),
    };
    drop(tx); // rolled back
    verdict
}

#[test]
fn rls_policy_tests_pass() {
    let (_cluster, mut client) = migrated_example();
    let dir = example_root().join("tests/rls");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 3);
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in &files {
        let file: PolicyTestFile = toml::from_str(&fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for case in &file.case {
            ran += 1;
            if let Err(why) = run_case(&mut client, &file.setup, case) {
                failures.push(format!("{}: {}: {why}", path.display(), case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(ran >= 36, "{ran} cases");
}

/// The runner above must be able to fail: a leaky expectation is caught.
#[test]
fn a_wrong_expectation_fails() {
    let (_cluster, mut client) = migrated_example();
    let leaky: PolicyTestFile = toml::from_str(
        r#"
        [[case]]
        name = "outsider sees Acme (wrong on purpose)"
        as = { role = "authenticated", sub = "33333333-3333-3333-3333-333333333333" }
        sql = "select * from public.projects"
        expect = { rows_at_least = 1 }
        "#,
    )
    .unwrap();
    assert!(run_case(&mut client, &[], &leaky.case[0]).is_err());
    // And a policy that leaks is caught by the shipped tests' expectations.
    client
        .batch_execute(
            r#"create policy "leak" on public.projects for select to authenticated using (true)"#,
        )
        .unwrap();
    let shipped: PolicyTestFile = toml::from_str(
        &fs::read_to_string(example_root().join("tests/rls/projects.toml")).unwrap(),
    )
    .unwrap();
    let outsider = shipped
        .case
        .iter()
        .find(|c| c.name == "an outsider reads no projects")
        .unwrap();
    assert!(run_case(&mut client, &shipped.setup, outsider).is_err());
}

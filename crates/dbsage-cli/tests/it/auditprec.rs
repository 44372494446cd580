//! Plain PostgreSQL is not Supabase: exposed schemas per project kind for `secure audit` and
//! lint, `secure coverage` without Supabase roles or tests, and custom settings for
//! tenant-setting policies in `secure explain` and `secure test`.

use crate::common;

use common::{stderr, stdout, TestProject};

const M1: &str = "20260101000000";

/// A plain project's invoicing schema: no RLS anywhere, no API.
const PLAIN_SCHEMA: &str =
    "create table if not exists customers (id bigint primary key, name text not null);\n\
create or replace view customer_names as select id, name from customers;\n";

fn rules(json: &serde_json::Value) -> Vec<String> {
    json.as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_plain_project_gets_no_rls_lint_and_audit_asks_for_exposed_schemas() {
    let p = TestProject::new();
    p.migration(M1, "customers", PLAIN_SCHEMA);
    let (json, _) = p.json(&["lint"]);
    let found = rules(&json);
    assert!(!found.iter().any(|r| r == "rls-not-enabled"), "{found:?}");
    assert!(
        !found.iter().any(|r| r == "security-definer-view"),
        "{found:?}"
    );

    let out = p.run(&["secure", "audit"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("exposed schemas"), "{err}");
    assert!(err.contains("exposed_schemas = [\"public\"]"), "{err}");
}

#[test]
fn exposed_schemas_in_dbsage_toml_turn_the_rules_and_the_audit_on() {
    let p = TestProject::with_config("\n[lint]\nexposed_schemas = [\"public\"]\n");
    p.migration(M1, "customers", PLAIN_SCHEMA);
    let (json, _) = p.json(&["lint"]);
    let found = rules(&json);
    assert!(found.iter().any(|r| r == "rls-not-enabled"), "{found:?}");
    assert!(
        found.iter().any(|r| r == "security-definer-view"),
        "{found:?}"
    );
    // No API role holds a grant on these tables in a plain database: nothing is reachable.
    let (json, code) = p.json(&["secure", "audit"]);
    assert_eq!(code, 0, "{json}");
    assert!(json.as_array().unwrap().is_empty(), "{json}");
}

#[test]
fn supabase_config_api_schemas_are_the_exposed_schemas() {
    let p = TestProject::new();
    std::fs::create_dir_all(p.root().join("supabase")).unwrap();
    std::fs::write(
        p.root().join("supabase/config.toml"),
        "project_id = \"shop\"\n\n[api]\nenabled = true\nschemas = [\"api\"]\n",
    )
    .unwrap();
    p.migration(
        M1,
        "catalog",
        "create schema if not exists api;\n\
         grant usage on schema api to anon, authenticated;\n\
         create table if not exists api.products (id bigint primary key, title text);\n\
         grant select on api.products to anon, authenticated;\n\
         create table if not exists public.price_history (id bigint primary key, price numeric);\n",
    );
    let (json, code) = p.json(&["secure", "audit"]);
    assert_eq!(code, 1, "{json}");
    let flagged: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "rls-disabled-in-exposed-schema")
        .map(|f| f["object"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, ["table api.products"], "{json}");
    assert!(json[0]["evidence"].is_object(), "{json}");
    // Lint follows the same list: the table in public is not exposed here.
    let (lint, _) = p.json(&["lint"]);
    let rls: Vec<&serde_json::Value> = lint
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "rls-not-enabled")
        .collect();
    assert_eq!(rls.len(), 1, "{lint}");
    assert!(rls[0]["message"].as_str().unwrap().contains("api.products"));
}

/// A multi-tenant invoicing schema on plain PostgreSQL: the application connects as
/// `app_user` and sets `app.current_org` per request.
const TENANT_SCHEMA: &str = "do $$ begin\n\
  if not exists (select from pg_roles where rolname = 'app_user') then create role app_user nologin; end if;\n\
end $$;\n\
create table if not exists invoices (id bigint primary key, org_id bigint not null, amount numeric not null);\n\
alter table invoices enable row level security;\n\
drop policy if exists tenant_isolation on invoices;\n\
create policy tenant_isolation on invoices for all to app_user\n\
  using (org_id = current_setting('app.current_org')::bigint)\n\
  with check (org_id = current_setting('app.current_org')::bigint);\n\
grant select, delete on invoices to app_user;\n\
grant insert (id, org_id, amount) on invoices to app_user;\n";

const TENANT_SEED: &str =
    "insert into invoices values (1, 42, 10), (2, 42, 20), (3, 7, 30) on conflict do nothing;\n";

fn tenant_project() -> TestProject {
    let p = TestProject::new();
    p.migration(M1, "invoices", TENANT_SCHEMA);
    std::fs::write(p.root().join("seed.sql"), TENANT_SEED).unwrap();
    p
}

#[test]
fn coverage_needs_no_supabase_roles_nor_tests_and_reads_column_grants() {
    let p = tenant_project();
    let out = p.run(&["secure", "coverage"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("--roles"), "{}", stderr(&out));

    let (json, code) = p.json(&["secure", "coverage", "--roles", "app_user"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["tables"], serde_json::json!(["public.invoices"]));
    let cell = |command: &str| {
        json["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["command"] == command)
            .unwrap()
            .clone()
    };
    assert_eq!(
        cell("insert")["allowed"],
        true,
        "column grants allow INSERT"
    );
    assert_eq!(cell("select")["allowed"], true);
    assert_eq!(cell("update")["allowed"], false, "no UPDATE grant at all");
    assert_eq!(json["untested"].as_array().unwrap().len(), 4, "{json}");
}

#[test]
fn explain_and_policy_tests_take_custom_settings() {
    let p = tenant_project();
    let (json, code) = p.json(&[
        "secure",
        "explain",
        "--as",
        "app_user",
        "--set",
        "app.current_org=42",
        "select * from invoices",
    ]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["rows"], 2, "{json}");
    assert_eq!(json["tables"][0]["hidden_rows"], 1, "{json}");

    let out = p.run(&[
        "secure",
        "explain",
        "--as",
        "app_user",
        "--set",
        "role=postgres",
        "select 1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("app.current_org"), "{}", stderr(&out));

    std::fs::create_dir_all(p.root().join("tests/rls")).unwrap();
    std::fs::write(
        p.root().join("tests/rls/invoices.toml"),
        "set = { \"app.current_org\" = 42 }\n\n\
         [[case]]\nname = \"a tenant sees its own invoices\"\nas = \"app_user\"\nsql = \"select * from invoices\"\nexpect = { rows = 2 }\n\n\
         [[case]]\nname = \"another tenant sees only its own\"\nas = \"app_user\"\nset = { \"app.current_org\" = \"7\" }\nsql = \"select * from invoices\"\nexpect = { rows = 1 }\n\n\
         [[case]]\nname = \"a tenant cannot write into another\"\nas = \"app_user\"\nsql = \"insert into invoices (id, org_id, amount) values (9, 7, 1)\"\nexpect = { error = \"42501\" }\n",
    )
    .unwrap();
    let (json, code) = p.json(&["secure", "test"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["passed"], 3, "{json}");
}

//! Audit precision: one database with each check's bad case planted next to a correct twin
//! (`fixtures/auditprec/precision.sql`). Every bad object must be flagged by its check and no
//! twin may be: the counts are printed for the record.

use crate::common;

use dbsage_secure::{audit, AuditFinding, AuditOptions};

const FIXTURE: &str = include_str!("../fixtures/auditprec/precision.sql");

fn options() -> AuditOptions {
    AuditOptions {
        exposed_schemas: vec![
            "public".into(),
            "api".into(),
            "reporting".into(),
            "pgmq".into(),
        ],
    }
}

/// (check, object) pairs the audit must report.
const BAD: &[(&str, &str)] = &[
    ("rls-disabled-in-exposed-schema", "table public.orders"),
    ("rls-disabled-in-exposed-schema", "table api.prices"),
    ("security-definer-view", "view public.order_totals"),
    (
        "security-definer-function-executable-by-anon",
        "function public.customer_email(uuid)",
    ),
    (
        "policy-always-true",
        "policy \"reviews_insert\" on public.reviews",
    ),
    (
        "policy-always-true",
        "policy \"reviews_update\" on public.reviews",
    ),
    (
        "policy-always-true",
        "policy \"reviews_delete\" on public.reviews",
    ),
    ("sensitive-columns-exposed", "table public.devices"),
    (
        "function-search-path-mutable",
        "function public.slugify(text)",
    ),
    ("rls-enabled-no-policy", "table private.payouts"),
    (
        "security-definer-function-executable-by-authenticated",
        "function public.customer_email(uuid)",
    ),
    ("extension-in-public", "extension citext"),
    ("extension-version-outdated", "extension hstore"),
    (
        "materialized-view-in-api",
        "materialized view public.sales_by_customer",
    ),
    (
        "foreign-table-in-api",
        "foreign table public.warehouse_stock",
    ),
    (
        "unsupported-reg-types",
        "column private.search_settings.dictionary",
    ),
    (
        "unsupported-reg-types",
        "column private.search_settings.ranker",
    ),
    (
        "fkey-to-auth-unique",
        "constraint contacts_user_phone_fkey on private.contacts",
    ),
    ("public-bucket-allows-listing", "bucket avatars"),
    ("queue-exposed-in-api", "schema pgmq"),
];

/// (check, object) pairs the audit must not report: the correct twins.
const TWINS: &[(&str, &str)] = &[
    (
        "rls-disabled-in-exposed-schema",
        "table public.order_events",
    ),
    (
        "rls-disabled-in-exposed-schema",
        "table reporting.daily_sales",
    ),
    ("security-definer-view", "view public.order_totals_backend"),
    (
        "security-definer-function-executable-by-anon",
        "function public.orders_touch()",
    ),
    (
        "policy-always-true",
        "policy \"reviews_read\" on public.reviews",
    ),
    (
        "policy-always-true",
        "policy \"reviews_service\" on public.reviews",
    ),
    (
        "policy-always-true",
        "policy \"reviews_never\" on public.reviews",
    ),
    ("multiple-permissive-policies", "table public.reviews"),
    ("sensitive-columns-exposed", "table public.api_usage"),
    (
        "function-search-path-mutable",
        "function public.slugify_pinned(text)",
    ),
    ("rls-enabled-no-policy", "table private.payout_batches"),
    // Managed by Supabase (the layer), not the project's to fix.
    ("rls-enabled-no-policy", "table storage.objects"),
    ("rls-enabled-no-policy", "table storage.buckets"),
    (
        "security-definer-function-executable-by-authenticated",
        "function public.refund_order(bigint)",
    ),
    (
        "security-definer-function-executable-by-authenticated",
        "function public.orders_touch()",
    ),
    ("extension-in-public", "extension pg_trgm"),
    ("extension-version-outdated", "extension pg_trgm"),
    ("extension-version-outdated", "extension citext"),
    (
        "materialized-view-in-api",
        "materialized view public.sales_by_customer_backend",
    ),
    (
        "foreign-table-in-api",
        "foreign table private.warehouse_costs",
    ),
    (
        "rls-disabled-in-exposed-schema",
        "table public.warehouse_stock",
    ),
    (
        "unsupported-reg-types",
        "column private.search_settings.target",
    ),
    (
        "fkey-to-auth-unique",
        "constraint contacts_user_id_fkey on private.contacts",
    ),
    ("public-bucket-allows-listing", "bucket logos"),
    ("public-bucket-allows-listing", "bucket invoices"),
];

fn has(findings: &[AuditFinding], check: &str, object: &str) -> bool {
    findings
        .iter()
        .any(|f| f.check == check && f.object == object)
}

#[test]
fn every_planted_problem_is_flagged_and_no_twin_is() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(FIXTURE).unwrap();
    let findings = audit(&mut client, &options()).unwrap();
    let missed: Vec<_> = BAD.iter().filter(|(c, o)| !has(&findings, c, o)).collect();
    let false_alarms: Vec<_> = TWINS.iter().filter(|(c, o)| has(&findings, c, o)).collect();
    eprintln!(
        "audit precision: flagged {}/{} planted problems, {} false alarms on {} twins",
        BAD.len() - missed.len(),
        BAD.len(),
        false_alarms.len(),
        TWINS.len()
    );
    assert!(missed.is_empty(), "missed {missed:?} in {findings:#?}");
    assert!(
        false_alarms.is_empty(),
        "false alarms {false_alarms:?} in {findings:#?}"
    );
}

#[test]
fn sensitive_columns_are_judged_by_normalised_name_and_type() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(FIXTURE).unwrap();
    let findings = audit(&mut client, &options()).unwrap();
    let devices = findings
        .iter()
        .find(|f| f.check == "sensitive-columns-exposed" && f.object == "table public.devices")
        .expect("devices flagged");
    let columns: Vec<&str> = devices.evidence["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["session-token", "refreshToken", "mac_address"]);
    // Supabase's default grants let both API roles select: RLS filters rows, not columns.
    assert_eq!(
        devices.evidence["columns"][0]["readers"],
        serde_json::json!(["anon", "authenticated"])
    );
}

#[test]
fn constant_true_is_decided_by_the_planner_and_carried_as_evidence() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(FIXTURE).unwrap();
    let findings = audit(&mut client, &options()).unwrap();
    let update = findings
        .iter()
        .find(|f| {
            f.check == "policy-always-true"
                && f.object == "policy \"reviews_update\" on public.reviews"
        })
        .unwrap();
    assert_eq!(update.evidence["using_always_true"], true);
    assert_eq!(update.evidence["with_check_always_true"], false);
    assert!(
        update.message.contains("'a'::text = 'a'::text"),
        "{}",
        update.message
    );
    // The finding shape, in this order.
    let json = serde_json::to_string(update).unwrap();
    let positions: Vec<usize> = [
        "check", "severity", "object", "message", "evidence", "fix_sql",
    ]
    .iter()
    .map(|k| json.find(&format!("\"{k}\":")).expect(k))
    .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");
}

#[test]
fn a_function_granted_back_after_a_revoke_is_reported_again() {
    // The trigger-function twin is silent because it is a trigger, not because of its grants:
    // an ordinary function with the same grants is flagged.
    let (_cluster, mut client) = common::start();
    client
        .batch_execute(
            "create function public.order_count() returns bigint language sql security definer
               set search_path = '' stable as $$ select 1::bigint $$;",
        )
        .unwrap();
    let findings = audit(&mut client, &AuditOptions::default()).unwrap();
    assert!(has(
        &findings,
        "security-definer-function-executable-by-anon",
        "function public.order_count()"
    ));
    client
        .batch_execute("revoke usage on schema public from public, anon;")
        .unwrap();
    let findings = audit(&mut client, &AuditOptions::default()).unwrap();
    assert!(
        !has(
            &findings,
            "security-definer-function-executable-by-anon",
            "function public.order_count()"
        ),
        "without USAGE on the schema anon reaches nothing: {findings:#?}"
    );
}

#[test]
fn a_queue_schema_is_only_reported_when_exposed() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(FIXTURE).unwrap();
    let findings = audit(&mut client, &AuditOptions::default()).unwrap();
    assert!(!has(&findings, "queue-exposed-in-api", "schema pgmq"));
    let exposed = audit(&mut client, &options()).unwrap();
    let queue = exposed
        .iter()
        .find(|f| f.check == "queue-exposed-in-api")
        .unwrap();
    assert_eq!(queue.evidence["queues"][0], "emails");
}

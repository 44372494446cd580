//! `explain` says why rows are missing: no sub, no grant, no policy, or false predicates.

use crate::common;

use dbsage_secure::explain;

fn setup() -> (dbsage_cluster::Cluster, postgres::Client) {
    let (cluster, mut client) = common::start();
    client.batch_execute(common::APP_SCHEMA).unwrap();
    (cluster, client)
}

#[test]
fn visible_rows_need_no_reasons() {
    let (_cluster, mut client) = setup();
    let e = explain(
        &mut client,
        "authenticated",
        Some(common::ALICE),
        "select * from projects",
    )
    .unwrap();
    assert_eq!(e.rows, Some(2));
    assert!(e.error.is_none());
    // Bob's project is hidden from Alice: that is explained, since rows are missing.
    assert!(e.has_reason("policy-false"), "{e:#?}");
    let t = &e.tables[0];
    assert_eq!(t.table, "public.projects");
    assert_eq!((t.total_rows, t.hidden_rows), (Some(3), Some(1)));
    assert_eq!(t.policies[0].name, "owners read");
    assert_eq!(t.policies[0].false_rows, 1);
    assert_eq!(t.hidden_sample[0].key, "id=3");
    assert_eq!(t.hidden_sample[0].policies["owners read"], "false");

    // Notes are all visible: nothing to explain.
    let e = explain(
        &mut client,
        "authenticated",
        Some(common::ALICE),
        "select * from notes",
    )
    .unwrap();
    assert_eq!(e.rows, Some(3));
    assert!(e.reasons.is_empty(), "{e:#?}");
}

#[test]
fn no_sub_means_auth_uid_is_null() {
    let (_cluster, mut client) = setup();
    let e = explain(&mut client, "authenticated", None, "select * from projects").unwrap();
    assert_eq!(e.rows, Some(0));
    assert!(e.has_reason("uid-null"), "{e:#?}");
    let t = &e.tables[0];
    assert_eq!(t.hidden_rows, Some(3));
    assert_eq!(t.policies[0].null_rows, 3, "{t:#?}");
    let reason = e.reasons.iter().find(|r| r.kind == "uid-null").unwrap();
    assert!(
        reason.message.contains("auth.uid() is null"),
        "{}",
        reason.message
    );
}

#[test]
fn missing_grant() {
    let (_cluster, mut client) = setup();
    let e = explain(&mut client, "anon", None, "select * from projects").unwrap();
    let error = e.error.as_ref().unwrap();
    assert_eq!(error.code, "42501");
    let reason = e
        .reasons
        .iter()
        .find(|r| r.kind == "missing-grant")
        .expect("missing-grant");
    assert!(reason.message.contains("SELECT"), "{}", reason.message);
    assert_eq!(
        reason.fix_sql.as_deref(),
        Some("grant select on public.projects to anon;")
    );
}

#[test]
fn rls_with_no_policy_for_the_command() {
    let (_cluster, mut client) = setup();
    let e = explain(
        &mut client,
        "authenticated",
        Some(common::ALICE),
        "delete from projects where owner = '11111111-1111-1111-1111-111111111111'",
    )
    .unwrap();
    assert_eq!(e.rows, Some(0), "silent: no error, nothing deleted");
    assert_eq!(e.tables[0].command, "delete");
    let reason = e
        .reasons
        .iter()
        .find(|r| r.kind == "no-policy")
        .expect("no-policy");
    assert!(reason.message.contains("DELETE"), "{}", reason.message);
    // Nothing was deleted for real.
    let n: i64 = client
        .query_one("select count(*) from public.projects", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 3);
}

#[test]
fn false_predicate_names_the_policy() {
    let (_cluster, mut client) = setup();
    let e = explain(
        &mut client,
        "authenticated",
        Some(common::BOB),
        "update projects set title = 'mine' where title = 'alpha'",
    )
    .unwrap();
    assert_eq!(e.rows, Some(0));
    let reason = e
        .reasons
        .iter()
        .find(|r| r.kind == "policy-false")
        .expect("policy-false");
    assert!(
        reason.message.contains("\"owners update\""),
        "{}",
        reason.message
    );
    assert!(reason.message.contains("2 of 3 rows"), "{}", reason.message);
    assert!(!e.has_reason("uid-null"));
}

#[test]
fn insert_violating_with_check() {
    let (_cluster, mut client) = setup();
    let e = explain(
        &mut client,
        "authenticated",
        Some(common::ALICE),
        "insert into projects (owner, title) values ('22222222-2222-2222-2222-222222222222', 'x')",
    )
    .unwrap();
    assert_eq!(e.error.as_ref().unwrap().code, "42501");
    assert!(e.has_reason("with-check-failed"), "{e:#?}");
}

#[test]
fn bad_input() {
    let (_cluster, mut client) = setup();
    let e = explain(&mut client, "nobody", None, "select 1").unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let e = explain(&mut client, "anon", None, "select * from nothing_here").unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("nothing_here"), "{e}");
}

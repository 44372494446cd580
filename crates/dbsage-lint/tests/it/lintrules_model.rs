//! Issue 10, "Lint: right on real-world migrations": what the replayed model knows about the
//! tables a file creates, drops and re-creates, checked on the whole-file and the chunked path.

use crate::lintrules_common;

use lintrules_common::{lint_last, rules_at, EXISTING};

#[test]
fn create_table_as_makes_a_new_table() {
    let sql = "\
create table order_totals as
  select customer_id, sum(amount) as total from orders group by customer_id;
create unique index order_totals_customer on order_totals (customer_id);
alter table order_totals alter column customer_id set not null;
alter table order_totals add constraint order_totals_total_positive check (total >= 0);
alter table order_totals alter column total type numeric(14, 2);
";
    let findings = lint_last(&[], sql);
    for rule in [
        "index-not-concurrent",
        "set-not-null-existing",
        "constraint-not-valid",
        "column-type-change",
    ] {
        assert!(
            rules_at(&findings, rule).is_empty(),
            "{rule}: {findings:#?}"
        );
    }
}

#[test]
fn select_into_makes_a_new_table() {
    let sql = "\
select id, email into archived_users from users where deleted_at is not null;
create index archived_users_email on archived_users (email);
alter table archived_users alter column email set not null;
";
    let findings = lint_last(&[], sql);
    assert!(
        rules_at(&findings, "index-not-concurrent").is_empty(),
        "{findings:#?}"
    );
    assert!(
        rules_at(&findings, "set-not-null-existing").is_empty(),
        "{findings:#?}"
    );
    // The same statements on a table that is not created by the file are still reported.
    let findings = lint_last(
        &[],
        "create index archived_users_email on archived_users (email);",
    );
    assert_eq!(rules_at(&findings, "index-not-concurrent"), vec![1]);
}

#[test]
fn materialized_view_is_new_but_not_a_table_to_judge() {
    let sql = "\
create materialized view daily_sales as select created_at::date as day, sum(amount) from orders group by 1;
create unique index daily_sales_day on daily_sales (day);
";
    let findings = lint_last(&[], sql);
    assert!(
        rules_at(&findings, "index-not-concurrent").is_empty(),
        "{findings:#?}"
    );
    assert!(
        rules_at(&findings, "missing-primary-key").is_empty(),
        "{findings:#?}"
    );
    assert!(
        rules_at(&findings, "rls-not-enabled").is_empty(),
        "{findings:#?}"
    );
}

#[test]
fn drop_then_recreate_index_still_reports_the_drop() {
    let history = [EXISTING, "create index if not exists t_a on t (a);"];
    let findings = lint_last(&history, "drop index t_a;\ncreate index t_a on t (a, b);");
    assert_eq!(rules_at(&findings, "drop-index-not-concurrent"), vec![1]);
    // The re-created index is on an existing table: that is reported too.
    assert_eq!(rules_at(&findings, "index-not-concurrent"), vec![2]);
    // Dropping an index this file created earlier is fine.
    let findings = lint_last(
        &history,
        "create table n (a int);\ncreate index n_a on n (a);\ndrop index n_a;\ncreate index n_a on n (a);",
    );
    assert!(
        rules_at(&findings, "drop-index-not-concurrent").is_empty(),
        "{findings:#?}"
    );
}

#[test]
fn drop_then_recreate_table_still_reports_the_drop() {
    let sql = "\
create index t_b on t (b);
alter table t alter column b set not null;
drop table t;
create table t (id bigint generated always as identity primary key, a text, b int);
create index t_a on t (a);
alter table t alter column a set not null;
drop table t;
";
    let findings = lint_last(&[EXISTING], sql);
    // The first drop loses the old table's rows; the second drops what this file created.
    assert_eq!(rules_at(&findings, "destructive-statement"), vec![3]);
    // Statements on the old table before the drop keep their locking findings; those on the
    // re-created table do not.
    assert_eq!(rules_at(&findings, "index-not-concurrent"), vec![1]);
    assert_eq!(rules_at(&findings, "set-not-null-existing"), vec![2]);
}

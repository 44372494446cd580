//! Issue 16, "The linter knows the target version": `requires-newer-postgres` on each sample,
//! on both sides of the version that introduced it, and where it points.

use crate::lintversion_common;

use lintversion_common::{findings_for, SAMPLES};

#[test]
fn each_sample_is_flagged_below_its_version_and_clean_from_it() {
    for &(sql, since) in SAMPLES {
        match since {
            Some(since) => {
                let below = findings_for(Some(since - 1), sql);
                assert!(
                    below.iter().any(|f| f
                        .message
                        .contains(&format!("needs PostgreSQL {since} or later"))),
                    "target {}: `{sql}` should need {since}: {below:#?}",
                    since - 1
                );
                assert!(
                    below
                        .iter()
                        .all(|f| f.severity == dbsage_lint::Severity::Error),
                    "{below:#?}"
                );
                let from = findings_for(Some(since), sql);
                assert!(from.is_empty(), "target {since}: `{sql}`: {from:#?}");
            }
            None => {
                let oldest = findings_for(Some(14), sql);
                assert!(oldest.is_empty(), "target 14: `{sql}`: {oldest:#?}");
            }
        }
    }
}

#[test]
fn no_target_means_no_version_finding() {
    for &(sql, _) in SAMPLES {
        assert!(findings_for(None, sql).is_empty(), "{sql}");
    }
}

#[test]
fn points_at_the_construct_and_names_both_versions() {
    let sql = "-- stock levels from the supplier feed\n\
               select jt.sku\n\
               from stock s,\n\
               \x20    json_table(s.attrs, '$.parts[*]' columns (sku text path '$.sku')) as jt;\n";
    let findings = findings_for(Some(16), sql);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!((findings[0].line, findings[0].column), (4, 6));
    assert_eq!(
        findings[0].message,
        "JSON_TABLE needs PostgreSQL 17 or later; the target is PostgreSQL 16"
    );
    assert!(
        findings[0].fix.contains("jsonb_to_recordset"),
        "{}",
        findings[0].fix
    );
}

#[test]
fn found_inside_ctes_do_blocks_and_function_bodies() {
    let in_cte =
        "with moved as (select * from (select sku from deliveries)) select count(*) from moved;";
    assert_eq!(findings_for(Some(15), in_cte).len(), 1);
    let in_do = "do $$ begin\n  insert into stock (sku) values (uuidv7()::text);\nend $$;";
    let found = findings_for(Some(17), in_do);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].line, 2);
    let atomic = "create function restock() returns void language sql begin atomic\n  merge into stock s using deliveries d on s.sku = d.sku when not matched by source then delete;\nend;";
    assert_eq!(findings_for(Some(16), atomic).len(), 1);
}

#[test]
fn names_that_only_look_new_are_not_flagged() {
    // A polyfill created by an earlier migration.
    let polyfill = "create or replace function uuidv7() returns uuid language sql volatile as $$ select gen_random_uuid() $$;\n\
                    create table api_keys (id uuid primary key default uuidv7());";
    assert!(findings_for(Some(15), polyfill).is_empty());
    // A schema-qualified function of the same name is the user's.
    assert!(findings_for(Some(15), "select util.any_value(1);").is_empty());
    // `old`/`new` as the name of a table in the statement, or inside a rule.
    assert!(findings_for(
        Some(15),
        "update stock as new set qty = 1 returning new.qty;"
    )
    .is_empty());
    let rule = "create rule stock_log as on update to stock do also insert into deliveries values (new.sku, new.qty) returning deliveries.sku, new.qty;";
    assert!(
        findings_for(Some(15), rule).is_empty(),
        "{:#?}",
        findings_for(Some(15), rule)
    );
    // Underscores in identifiers and strings, hex in strings.
    assert!(findings_for(Some(15), "select 'x_1', '0x1F', 12.5e3 as qty_1;").is_empty());
}

#[test]
fn one_finding_per_construct() {
    let sql = "select json_array(sku), uuidv7() from (select sku from stock);";
    let findings = findings_for(Some(15), sql);
    let versions: Vec<&str> = findings
        .iter()
        .map(|f| f.message.split(" needs ").next().unwrap())
        .collect();
    assert_eq!(findings.len(), 3, "{versions:?}");
}

/// Findings of `rule` for `sql` after [`lintversion_common::SETUP`], for `target`.
fn rule_findings(rule: &str, target: Option<u32>, sql: &str) -> Vec<dbsage_lint::Finding> {
    let files = [
        dbsage_lint::SourceFile {
            path: "migrations/20250101000000_setup.sql".into(),
            text: lintversion_common::SETUP.to_string(),
        },
        dbsage_lint::SourceFile {
            path: "migrations/20250102000000_change.sql".into(),
            text: sql.to_string(),
        },
    ];
    let config = dbsage_lint::LintConfig {
        target_major: target,
        threads: 1,
        ..Default::default()
    };
    dbsage_lint::lint(&files, &config)
        .unwrap()
        .into_iter()
        .filter(|f| f.rule == rule && f.file.ends_with("20250102000000_change.sql"))
        .collect()
}

#[test]
fn set_not_null_advice_follows_the_target() {
    let sql = "alter table stock alter column price set not null;";
    let on_17 = rule_findings("set-not-null-existing", Some(17), sql);
    assert!(
        on_17[0].fix.contains("CHECK (col IS NOT NULL) NOT VALID"),
        "{on_17:#?}"
    );
    let on_18 = rule_findings("set-not-null-existing", Some(18), sql);
    assert!(
        on_18[0].fix.contains("NOT NULL price NOT VALID"),
        "{on_18:#?}"
    );
    // The 18 recipe itself: its NOT VALID form is clean, the plain one scans the table.
    let recipe = "alter table stock add constraint stock_price_not_null not null price not valid;";
    assert!(rule_findings("constraint-not-valid", Some(18), recipe).is_empty());
    let plain = "alter table stock add constraint stock_price_not_null not null price;";
    assert_eq!(
        rule_findings("constraint-not-valid", Some(18), plain).len(),
        1
    );
}

#[test]
fn a_constant_default_rewrites_only_before_11() {
    let sql = "alter table stock add column currency text not null default 'EUR';";
    assert_eq!(
        rule_findings("add-column-volatile-default", Some(10), sql).len(),
        1
    );
    assert!(rule_findings("add-column-volatile-default", Some(11), sql).is_empty());
    assert!(rule_findings("add-column-volatile-default", Some(15), sql).is_empty());
}

#[test]
fn indexes_on_partitioned_tables_get_the_on_only_recipe() {
    for sql in [
        "create index events_at_idx on events (at);",
        "-- dbsage:no-transaction\ncreate index concurrently events_at_idx on events (at);",
    ] {
        let found = rule_findings("index-not-concurrent", Some(17), sql);
        assert_eq!(found.len(), 1, "{sql}: {found:#?}");
        assert!(found[0].fix.contains("ON ONLY"), "{}", found[0].fix);
    }
    assert!(rule_findings(
        "index-not-concurrent",
        Some(17),
        "create index events_at_idx on only events (at);"
    )
    .is_empty());
}

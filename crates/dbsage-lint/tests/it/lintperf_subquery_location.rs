//! Issue 16: a subquery in FROM without an alias (PostgreSQL 16+) is reported where the
//! subquery opens, not where its statement starts: the parse tree gives the subquery no
//! location of its own.

use crate::lintversion_common;

use lintversion_common::findings_for;

fn located(sql: &str) -> Vec<(usize, usize)> {
    findings_for(Some(15), sql)
        .iter()
        .map(|f| (f.line, f.column))
        .collect()
}

#[test]
fn points_at_the_parenthesis_of_the_subquery() {
    let sql = "-- restock report\n\
               select sku, qty\n\
               from stock s\n\
               join (\n\
               \x20 select sku, sum(qty) as qty from deliveries group by sku\n\
               ) using (sku);\n";
    let findings = findings_for(Some(15), sql);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!((findings[0].line, findings[0].column), (4, 6));
    assert_eq!(
        findings[0].message,
        "a subquery in FROM without an alias needs PostgreSQL 16 or later; the target is PostgreSQL 15"
    );
}

#[test]
fn each_unnamed_subquery_where_it_opens() {
    // The outer one has an alias; the inner one, on the second line, has none.
    let nested =
        "select * from (select sku from\n  (select sku from deliveries where qty > 0)) as d;";
    assert_eq!(located(nested), vec![(2, 3)]);
    // VALUES lists and a column count in characters, not bytes.
    let values = "select 'café' as label, * from (values (1), (2));";
    assert_eq!(located(values), vec![(1, 32)]);
    let lateral = "select s.sku, l.qty\nfrom stock s, lateral (select qty from deliveries d where d.sku = s.sku) as l,\n     (select 1);";
    assert_eq!(located(lateral), vec![(3, 6)]);
}

#[test]
fn inside_a_do_block_too() {
    let sql = "do $$\nbegin\n  insert into stock (sku)\n  select sku from (select sku from deliveries);\nend $$;";
    assert_eq!(located(sql), vec![(4, 19)]);
}

//! `tune --write NAME`: the findings whose fix is safe to automate, as one
//! `-- dbsage:no-transaction` migration (concurrent index builds and drops cannot run in a
//! transaction). `IF NOT EXISTS` / `IF EXISTS` make it re-runnable after a partial run.

use super::Finding;

/// The checks whose `fix_sql` is applied as is: an index for a foreign key, the drop of an
/// exact or prefix duplicate. Unused indexes are left out (a replica may use them), so are
/// invalid ones (rebuild or drop is a decision) and everything that rewrites a table.
pub const SAFE_CHECKS: &[&str] = &[
    "unindexed-foreign-key",
    "duplicate-index",
    "redundant-index",
];

/// The migration's text, or `None` when no finding has a safe fix. Creates come before drops,
/// so a query never loses its index between the two.
pub fn migration_sql(findings: &[Finding]) -> Option<String> {
    let mut creates = Vec::new();
    let mut drops = Vec::new();
    for f in findings
        .iter()
        .filter(|f| SAFE_CHECKS.contains(&f.check.as_str()))
    {
        let Some(sql) = &f.fix_sql else { continue };
        let list = if sql.starts_with("CREATE") {
            &mut creates
        } else {
            &mut drops
        };
        let line = format!("-- {}: {}\n{sql}\n", f.check, f.object);
        if !list
            .iter()
            .any(|l: &String| l.ends_with(&format!("{sql}\n")))
        {
            list.push(line);
        }
    }
    if creates.is_empty() && drops.is_empty() {
        return None;
    }
    let mut text = String::from(
        "-- dbsage:no-transaction\n-- Written by `dbsage tune --write`: indexes for unindexed foreign keys, drops of\n-- duplicate and redundant indexes. Review, then `dbsage migrate --local`.\n",
    );
    for line in creates.iter().chain(&drops) {
        text.push('\n');
        text.push_str(line);
    }
    Some(text)
}

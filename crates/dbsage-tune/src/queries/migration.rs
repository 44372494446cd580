//! The migration `tune queries --write NAME` writes: one `CREATE INDEX CONCURRENTLY IF NOT
//! EXISTS` per proposed index, outside a transaction (CONCURRENTLY cannot run in one), each
//! under a comment with the statement it serves and the numbers behind it.

use dbsage_catalog::finding::Finding;

pub fn text(findings: &[Finding]) -> String {
    let mut sql = String::from(
        "-- dbsage:no-transaction\n\
         -- Indexes proposed by `dbsage tune queries` from this database's workload\n\
         -- (pg_stat_statements). CONCURRENTLY keeps the tables writable while they build.\n",
    );
    for finding in findings.iter().filter(|f| f.check == "missing-index") {
        let Some(fix) = &finding.fix_sql else {
            continue;
        };
        sql.push('\n');
        for line in finding.message.lines() {
            sql.push_str(&format!("-- {line}\n"));
        }
        sql.push_str(fix);
        sql.push('\n');
    }
    sql
}

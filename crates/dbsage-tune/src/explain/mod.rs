//! `dbsage explain`: EXPLAIN (FORMAT JSON, BUFFERS[, ANALYZE]) in a transaction that is always
//! rolled back, the plan as a tree with the costly nodes marked, and insights on what is wrong
//! (see [`insights`]). A sequential scan with a selective filter gets an index candidate from
//! the statement's predicates, costed with hypopg when the database has it.

pub mod insights;
pub mod tree;

use dbsage_catalog::finding::Finding;
use dbsage_sql::pg_query::protobuf::a_const;
use dbsage_sql::NodeEnum;
use postgres::Client;
use serde::Serialize;
use serde_json::json;

use crate::queries::candidates;
use crate::queries::costing::{self, CostedWith};
use crate::queries::error::{db, QueriesError, Result};
use crate::queries::{plan, predicates};
use tree::PlanNode;

#[derive(Debug, Clone, Serialize)]
pub struct Explained {
    pub sql: String,
    pub analyzed: bool,
    /// The statement writes (INSERT, UPDATE, DELETE, MERGE, a writing CTE).
    pub writes: bool,
    /// Always true: the statement ran (with --analyze) in a transaction rolled back.
    pub rolled_back: bool,
    pub planning_ms: Option<f64>,
    pub execution_ms: Option<f64>,
    pub total_cost: f64,
    pub plan: PlanNode,
    pub insights: Vec<Finding>,
}

/// What the parse tree says about a statement before it is explained.
struct Shape {
    writes: bool,
    offset: Option<i64>,
}

fn shape(sql: &str) -> Result<Shape> {
    if let Err(e) = dbsage_sql::parse(sql) {
        let at = dbsage_sql::line_col(sql, e.offset.unwrap_or(0));
        return Err(QueriesError::Syntax {
            line: at.line,
            column: at.column,
            message: e.message,
        });
    }
    let parsed = dbsage_sql::pg_query::parse(sql, dbsage_sql::pg_query::ParserOptions::DEFAULT)
        .map_err(|e| QueriesError::BadInput(format!("the SQL does not parse: {e}")))?;
    let stmts = &parsed.protobuf.stmts;
    if stmts.len() != 1 {
        return Err(QueriesError::BadInput(format!(
            "explain takes one statement; this SQL has {}",
            stmts.len()
        )));
    }
    let node = stmts[0].stmt.as_ref().and_then(|s| s.node.as_ref());
    let Some(NodeEnum::SelectStmt(select)) = node else {
        return Ok(Shape {
            writes: true,
            offset: None,
        });
    };
    let writing_cte = select.with_clause.as_ref().is_some_and(|w| {
        w.ctes.iter().any(|c| match &c.node {
            Some(NodeEnum::CommonTableExpr(cte)) => !matches!(
                cte.ctequery.as_ref().and_then(|q| q.node.as_ref()),
                Some(NodeEnum::SelectStmt(_))
            ),
            _ => false,
        })
    });
    let offset = select
        .limit_offset
        .as_ref()
        .and_then(|o| match o.node.as_ref() {
            Some(NodeEnum::AConst(c)) => match &c.val {
                Some(a_const::Val::Ival(i)) => Some(i.ival as i64),
                _ => None,
            },
            _ => None,
        });
    Ok(Shape {
        writes: writing_cte || select.into_clause.is_some(),
        offset,
    })
}

/// True when the statement writes (INSERT, UPDATE, DELETE, MERGE, SELECT INTO, a writing CTE).
pub fn writes(sql: &str) -> Result<bool> {
    Ok(shape(sql)?.writes)
}

/// Explains `sql` on `client`; with `analyze` it runs, inside a transaction rolled back.
pub fn explain(client: &mut Client, sql: &str, analyze: bool) -> Result<Explained> {
    let shape = shape(sql)?;
    let predicates = predicates::read(sql);
    let max_param = predicates.as_ref().map(|p| p.max_param).unwrap_or(0);
    let json = if max_param > 0 {
        if analyze {
            return Err(QueriesError::BadInput(format!(
                "the statement has parameters (${max_param}): --analyze needs values; write them in, or drop --analyze for a generic plan"
            )));
        }
        let version = plan::server_version(client)?;
        plan::generic_plan(client, sql, max_param, version)?
    } else {
        let options = if analyze {
            "FORMAT JSON, VERBOSE, BUFFERS, ANALYZE"
        } else {
            "FORMAT JSON, VERBOSE, BUFFERS"
        };
        client
            .batch_execute("BEGIN")
            .map_err(db("opening the transaction explain rolls back"))?;
        let result = plan::explain_json(client, &format!("EXPLAIN ({options}) {sql}"));
        client
            .batch_execute("ROLLBACK")
            .map_err(db("rolling back the explained statement"))?;
        result?
    };
    let mut top = PlanNode::from_json(&json[0]["Plan"]);
    top.mark_costly();
    let mut found = Vec::new();
    for node in top.walk() {
        let mut seq_scan = None;
        if let (Some(schema), Some(rel)) = (&node.schema, &node.relation) {
            let rows = table_rows(client, schema, rel)?;
            seq_scan = insights::seq_scan_selective_filter(node, rows);
        }
        if let Some(mut f) = seq_scan {
            if let Some(p) = &predicates {
                index_candidate(client, sql, p, node, &mut f)?;
            }
            found.push(f);
        } else if let Some(f) = insights::rows_removed_by_filter(node) {
            found.push(f);
        }
        // A wrong count propagates upwards: report it where it starts.
        if !node
            .children
            .iter()
            .any(|c| insights::misestimate(c).is_some())
        {
            found.extend(insights::misestimate(node));
        }
        found.extend(insights::spill(node));
        found.extend(insights::lossy_bitmap(node));
        found.extend(insights::nested_loop_large_outer(node));
    }
    if let Some(offset) = shape.offset {
        let limit = top
            .walk()
            .into_iter()
            .find(|n| n.node_type == "Limit")
            .unwrap_or(&top);
        found.extend(insights::large_offset(limit, offset));
    }
    found.extend(insights::disk_reads(&top));
    Ok(Explained {
        sql: sql.to_string(),
        analyzed: analyze,
        writes: shape.writes,
        rolled_back: true,
        planning_ms: json[0]["Planning Time"].as_f64(),
        execution_ms: json[0]["Execution Time"].as_f64(),
        total_cost: top.total_cost,
        plan: top,
        insights: found,
    })
}

fn table_rows(client: &mut Client, schema: &str, rel: &str) -> Result<f64> {
    let row = client
        .query_opt(
            "SELECT greatest(reltuples, 0)::float8 FROM pg_class WHERE oid = to_regclass($1)",
            &[&insights::qualified(schema, rel)],
        )
        .map_err(db("reading the table's size"))?;
    Ok(row.map(|r| r.get(0)).unwrap_or(0.0))
}

/// Fills the finding's fix with the statement's best index on the scanned table: costed with
/// hypopg when the database has it, else the first candidate, said to be uncosted.
fn index_candidate(
    client: &mut Client,
    sql: &str,
    predicates: &predicates::Predicates,
    node: &PlanNode,
    finding: &mut Finding,
) -> Result<()> {
    let (Some(schema), Some(rel)) = (&node.schema, &node.relation) else {
        return Ok(());
    };
    let table = candidates::Table {
        schema: schema.clone(),
        name: rel.clone(),
    };
    let names: Vec<String> = client
        .query(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
            &[&table.sql()],
        )
        .map_err(db("reading column names"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let (uses, filters) = candidates::resolve(
        predicates,
        &mut |n| {
            (n.name == *rel && (n.schema.is_empty() || n.schema == *schema)).then(|| table.clone())
        },
        &mut |_, column| names.iter().any(|n| n == column),
    );
    let all: Vec<_> = candidates::generate(&uses, &filters)
        .into_iter()
        .filter(|c| c.table == table)
        .collect();
    if all.is_empty() {
        return Ok(());
    }
    match costing::hypopg_schema(client)? {
        Some(hypopg) => {
            let costs = costing::cost(client, CostedWith::Hypopg, Some(&hypopg), sql, 0, &all)?;
            if let Some(w) = costing::winner(&costs) {
                finding.evidence["index"] = json!(w.candidate);
                finding.evidence["cost_before"] = json!(costs.before);
                finding.evidence["cost_after"] = json!(w.cost);
                finding.evidence["costed_with"] = json!("hypopg");
                finding.message.push_str(&format!(
                    "; hypopg: an index on {} cuts the plan cost {:.0} → {:.0}",
                    w.candidate.describe(),
                    costs.before,
                    w.cost
                ));
                finding.fix_sql = Some(format!("{};", w.candidate.create_concurrently_sql()));
            }
        }
        None => {
            // Uncosted: the candidate that covers most of what the scan's filter names.
            let filter = node.filter.clone().unwrap_or_default();
            let named = |c: &str| filter.contains(c);
            let first = all
                .iter()
                .filter(|c| c.columns.iter().all(|col| named(col)))
                .max_by_key(|c| {
                    c.columns.len()
                        + c.predicate.as_ref().map_or(0, |p| {
                            usize::from(p.split_whitespace().next().is_some_and(named))
                        })
                })
                .unwrap_or(&all[0]);
            finding.evidence["index"] = json!(first);
            finding.evidence["costed_with"] = serde_json::Value::Null;
            finding.message.push_str(&format!(
                "; candidate {} (not costed: hypopg is not created in this database; `dbsage tune queries` costs it on a copy)",
                first.describe()
            ));
            finding.fix_sql = Some(format!("{};", first.create_concurrently_sql()));
        }
    }
    Ok(())
}

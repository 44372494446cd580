//! EXPLAIN's JSON plan as a typed tree, with each node's own share (its time or cost minus its
//! children's) so the costly nodes can be marked.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct PlanNode {
    pub node_type: String,
    /// `Seq Scan on public.orders o`, `Index Scan using orders_pkey on public.orders`.
    pub label: String,
    pub relation: Option<String>,
    pub schema: Option<String>,
    pub total_cost: f64,
    pub plan_rows: f64,
    /// Per loop, with ANALYZE.
    pub actual_rows: Option<f64>,
    pub loops: Option<f64>,
    /// Inclusive time of all loops, with ANALYZE (ms).
    pub actual_ms: Option<f64>,
    /// This node's own time (or cost without ANALYZE): inclusive minus its children's.
    pub self_share: f64,
    /// True when this node's own share is ≥ 30 % of the whole plan's.
    pub costly: bool,
    pub filter: Option<String>,
    pub rows_removed_by_filter: Option<f64>,
    pub shared_hit_blocks: Option<i64>,
    pub shared_read_blocks: Option<i64>,
    /// The node's JSON as EXPLAIN gave it (every field, without the children).
    #[serde(skip)]
    pub raw: Value,
    pub children: Vec<PlanNode>,
}

/// The share of the whole plan a node must take alone to be marked costly.
pub const COSTLY_SHARE: f64 = 0.3;

impl PlanNode {
    pub fn from_json(node: &Value) -> PlanNode {
        let f = |k: &str| node[k].as_f64();
        let s = |k: &str| node[k].as_str().map(str::to_string);
        let children: Vec<PlanNode> = node["Plans"]
            .as_array()
            .map(|plans| plans.iter().map(PlanNode::from_json).collect())
            .unwrap_or_default();
        let node_type = s("Node Type").unwrap_or_default();
        let mut label = node_type.clone();
        if let Some(index) = s("Index Name") {
            label.push_str(&format!(" using {index}"));
        }
        if let Some(rel) = s("Relation Name") {
            match s("Schema") {
                Some(schema) => label.push_str(&format!(" on {schema}.{rel}")),
                None => label.push_str(&format!(" on {rel}")),
            }
            if let Some(alias) = s("Alias").filter(|a| *a != rel) {
                label.push_str(&format!(" {alias}"));
            }
        }
        let actual_ms = match (f("Actual Total Time"), f("Actual Loops")) {
            (Some(t), Some(loops)) => Some(t * loops),
            _ => None,
        };
        let mut raw = node.clone();
        if let Some(o) = raw.as_object_mut() {
            o.remove("Plans");
        }
        PlanNode {
            node_type,
            label,
            relation: s("Relation Name"),
            schema: s("Schema"),
            total_cost: f("Total Cost").unwrap_or(0.0),
            plan_rows: f("Plan Rows").unwrap_or(0.0),
            actual_rows: f("Actual Rows"),
            loops: f("Actual Loops"),
            actual_ms,
            self_share: 0.0,
            costly: false,
            filter: s("Filter"),
            rows_removed_by_filter: f("Rows Removed by Filter"),
            shared_hit_blocks: node["Shared Hit Blocks"].as_i64(),
            shared_read_blocks: node["Shared Read Blocks"].as_i64(),
            raw,
            children,
        }
    }

    /// Fills `self_share` and `costly` over the tree.
    pub fn mark_costly(&mut self) {
        let whole = self
            .actual_ms
            .unwrap_or(self.total_cost)
            .max(f64::MIN_POSITIVE);
        self.mark(whole);
    }

    fn mark(&mut self, whole: f64) {
        let mine = self.actual_ms.unwrap_or(self.total_cost);
        let children: f64 = self
            .children
            .iter()
            .map(|c| c.actual_ms.unwrap_or(c.total_cost))
            .sum();
        self.self_share = (mine - children).max(0.0);
        self.costly = self.self_share / whole >= COSTLY_SHARE;
        for child in &mut self.children {
            child.mark(whole);
        }
    }

    /// Every node, depth first.
    pub fn walk(&self) -> Vec<&PlanNode> {
        let mut out = vec![self];
        for child in &self.children {
            out.extend(child.walk());
        }
        out
    }

    /// Rows over all loops (actual when analysed, else estimated).
    pub fn rows_total(&self) -> f64 {
        match (self.actual_rows, self.loops) {
            (Some(r), Some(l)) => r * l,
            _ => self.plan_rows,
        }
    }

    /// The indented tree, one node per line with its cost, rows and time.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out, 0);
        out
    }

    fn render_into(&self, out: &mut String, depth: usize) {
        let indent = if depth == 0 {
            String::new()
        } else {
            format!("{}-> ", "   ".repeat(depth - 1))
        };
        let mut line = format!(
            "{indent}{}  (cost={:.2} rows={:.0})",
            self.label, self.total_cost, self.plan_rows
        );
        if let (Some(ms), Some(rows), Some(loops)) = (self.actual_ms, self.actual_rows, self.loops)
        {
            line.push_str(&format!(
                " (actual {ms:.3} ms, rows={rows:.0}, loops={loops:.0})"
            ));
        }
        if self.costly {
            line.push_str("  ◀ costly");
        }
        out.push_str(&line);
        out.push('\n');
        let pad = "   ".repeat(depth);
        if let Some(filter) = &self.filter {
            out.push_str(&format!("{pad}   Filter: {filter}"));
            if let Some(removed) = self.rows_removed_by_filter {
                out.push_str(&format!(" (removed {removed:.0} rows)"));
            }
            out.push('\n');
        }
        for child in &self.children {
            child.render_into(out, depth + 1);
        }
    }
}

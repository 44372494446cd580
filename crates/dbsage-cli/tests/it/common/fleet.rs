//! Fleet tests' helpers: tenant databases of one throwaway cluster, named as dbsage names
//! them, and the fleet JSON report's targets.

use serde_json::Value;

use super::TestProject;

pub fn tenant(i: usize) -> String {
    format!("tenant_{i:02}")
}

/// The tenant's display name in fleet reports: `database@host:port`.
pub fn display(p: &TestProject, i: usize) -> String {
    format!("{}@127.0.0.1:{}", tenant(i), p.cluster.port())
}

/// The tenant's applied versions (none when it has no history table).
pub fn history_of(p: &TestProject, i: usize) -> Vec<String> {
    let mut c = p.cluster.connect(&tenant(i)).unwrap();
    c.query(
        "select version from dbsage.schema_migrations order by version",
        &[],
    )
    .map(|rows| rows.iter().map(|r| r.get(0)).collect())
    .unwrap_or_default()
}

pub fn targets(v: &Value) -> &Vec<Value> {
    v["targets"].as_array().expect("targets")
}

pub fn target<'a>(v: &'a Value, name: &str) -> &'a Value {
    targets(v)
        .iter()
        .find(|t| t["target"] == name)
        .unwrap_or_else(|| panic!("no target {name} in {v:#}"))
}

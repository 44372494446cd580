//! The proposed files: their text, where each object they create is written (from the parse),
//! their `-- dbsage:justify "…"` directive, and applying them to the replayed database.

use std::collections::BTreeMap;

use dbsage_sql::pg_query::protobuf::{AlterTableType, RangeVar};
use dbsage_sql::{line_col, NodeEnum};
use serde::Serialize;

/// Where an object is written: `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// One proposed migration file.
#[derive(Debug, Clone)]
pub struct ProposedFile {
    /// The path as shown to the user (relative to the project when possible).
    pub path: String,
    pub sql: String,
    /// The pain the change solves, from `-- dbsage:justify "…"`; `None` without the directive.
    pub justification: Option<String>,
    /// Object keys as in `Catalog::objects` (`table public.t`, `column public.t.c`,
    /// `index public.i`, `policy public.t.p`) → where the file creates them.
    pub locations: BTreeMap<String, Location>,
}

/// A proposed file that does not parse: `file:line:column: message`.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub location: Location,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = &self.location;
        write!(f, "{}:{}:{}: {}", l.file, l.line, l.column, self.message)
    }
}

impl ProposedFile {
    /// Parses `sql` (the file `path`) and records where each object is created.
    pub fn parse(path: &str, sql: &str) -> Result<ProposedFile, ParseError> {
        let at = |offset: usize| {
            let lc = line_col(sql, offset);
            Location {
                file: path.to_string(),
                line: lc.line,
                column: lc.column,
            }
        };
        let parsed = dbsage_sql::parse(sql).map_err(|e| ParseError {
            location: at(e.offset.unwrap_or(0)),
            message: e.message,
        })?;
        // Node locations are byte offsets from the statement's `location_base`.
        let node_at = |base: usize, location: i32, fallback: usize| {
            if location < 0 {
                at(fallback)
            } else {
                at(base + location as usize)
            }
        };
        let mut locations = BTreeMap::new();
        for statement in &parsed.statements {
            let start = statement.code_start;
            let base = statement.location_base;
            match &statement.node {
                NodeEnum::CreateStmt(create) => {
                    let Some(table) = create.relation.as_ref().map(qualified) else {
                        continue;
                    };
                    locations.insert(format!("table {table}"), at(start));
                    for element in &create.table_elts {
                        if let Some(NodeEnum::ColumnDef(column)) = &element.node {
                            locations.insert(
                                format!("column {table}.{}", column.colname),
                                node_at(base, column.location, start),
                            );
                        }
                    }
                }
                NodeEnum::AlterTableStmt(alter) => {
                    let Some(table) = alter.relation.as_ref().map(qualified) else {
                        continue;
                    };
                    for cmd in &alter.cmds {
                        let Some(NodeEnum::AlterTableCmd(cmd)) = &cmd.node else {
                            continue;
                        };
                        let def = cmd.def.as_deref().and_then(|d| d.node.as_ref());
                        if let (
                            Ok(AlterTableType::AtAddColumn),
                            Some(NodeEnum::ColumnDef(column)),
                        ) = (AlterTableType::try_from(cmd.subtype), def)
                        {
                            locations.insert(
                                format!("column {table}.{}", column.colname),
                                node_at(base, column.location, start),
                            );
                        }
                    }
                }
                NodeEnum::IndexStmt(index) if !index.idxname.is_empty() => {
                    let schema = index
                        .relation
                        .as_ref()
                        .map(|r| schema_of(r).to_string())
                        .unwrap_or_else(|| "public".into());
                    locations.insert(format!("index {schema}.{}", index.idxname), at(start));
                }
                NodeEnum::CreatePolicyStmt(policy) => {
                    if let Some(table) = policy.table.as_ref().map(qualified) {
                        locations
                            .insert(format!("policy {table}.{}", policy.policy_name), at(start));
                    }
                }
                _ => {}
            }
        }
        Ok(ProposedFile {
            path: path.to_string(),
            sql: sql.to_string(),
            justification: justification(sql),
            locations,
        })
    }

    /// The first line of the file, where a flag with no better place is reported.
    pub fn top(&self) -> Location {
        Location {
            file: self.path.clone(),
            line: 1,
            column: 1,
        }
    }
}

/// The reason given by `-- dbsage:justify "the pain this solves"` (quotes optional); an empty
/// reason acknowledges nothing.
fn justification(sql: &str) -> Option<String> {
    dbsage_sql::directives(sql)
        .into_iter()
        .filter(|d| d.name == "justify")
        .map(|d| d.argument.trim().trim_matches('"').trim().to_string())
        .find(|reason| !reason.is_empty())
}

fn schema_of(r: &RangeVar) -> &str {
    if r.schemaname.is_empty() {
        "public"
    } else {
        &r.schemaname
    }
}

fn qualified(r: &RangeVar) -> String {
    format!("{}.{}", schema_of(r), r.relname)
}

/// Runs each proposed file on `client` (the replayed database), in order, one transaction
/// per file as `migrate` would. The error names the file and the server's words.
pub fn apply(client: &mut postgres::Client, files: &[ProposedFile]) -> Result<(), String> {
    for file in files {
        let mut tx = client
            .transaction()
            .map_err(|e| format!("{}: {}", file.path, dbsage_pgerror::describe(&e)))?;
        tx.batch_execute(&file.sql)
            .map_err(|e| format!("{}: {}", file.path, dbsage_pgerror::describe(&e)))?;
        tx.commit()
            .map_err(|e| format!("{}: {}", file.path, dbsage_pgerror::describe(&e)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn justify_needs_a_reason() {
        let with = |header: &str| justification(&format!("{header}\ncreate table t (id int);\n"));
        assert_eq!(
            with("-- dbsage:justify \"exports for the auditors\"").as_deref(),
            Some("exports for the auditors")
        );
        assert_eq!(
            with("-- dbsage:justify exports").as_deref(),
            Some("exports")
        );
        assert_eq!(with("-- dbsage:justify \"\""), None);
        assert_eq!(with("-- dbsage:justify"), None);
    }

    #[test]
    fn objects_are_located_where_written() {
        let sql = "-- x\ncreate table app.t (\n  id int,\n  name text\n);\nalter table app.t add column note text;\n";
        let file = ProposedFile::parse("f.sql", sql).unwrap();
        let at = |k: &str| file.locations.get(k).map(|l| (l.line, l.column));
        assert_eq!(at("table app.t"), Some((2, 1)));
        assert_eq!(at("column app.t.name"), Some((4, 3)));
        assert_eq!(at("column app.t.note"), Some((6, 30)));
    }
}

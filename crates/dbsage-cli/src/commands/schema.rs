//! `dbsage schema config|policy-tests`: JSON Schemas for editors (Taplo, VS Code's Even Better
//! TOML). dbsage.toml's comes from the config structs (schemars), so it follows them; the
//! policy test format is written by hand: its parser reads untyped TOML (`as` is a role name
//! or a table, `expect` one key of four) to report each mistake at its line, so no struct
//! carries its shape.

use clap::{Args, ValueEnum};
use dbsage_core::config::{Config, WORKFLOW_SECTIONS};
use dbsage_core::Result;
use serde_json::{json, Value};

#[derive(Args, Debug)]
pub struct SchemaArgs {
    /// Which file's schema: dbsage.toml (`config`) or tests/rls/*.toml (`policy-tests`).
    #[arg(value_enum)]
    pub file: SchemaFile,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaFile {
    Config,
    PolicyTests,
}

const POLICY_TESTS: &str = include_str!("schema_policy_tests.json");

pub fn run(args: SchemaArgs) -> Result<i32> {
    let schema = match args.file {
        SchemaFile::Config => config_schema(),
        SchemaFile::PolicyTests => {
            serde_json::from_str(POLICY_TESTS).expect("the bundled policy test schema is JSON")
        }
    };
    out_line!(
        "{}",
        serde_json::to_string_pretty(&schema).expect("a schema serialises")
    );
    Ok(0)
}

/// dbsage.toml's schema: the typed sections, plus the workflow sections each workflow reads
/// itself (open objects here); any other top-level key is refused, as dbsage refuses it.
pub fn config_schema() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Config)).expect("a schema");
    schema["title"] = json!("dbsage.toml");
    let properties = schema["properties"]
        .as_object_mut()
        .expect("Config is a struct");
    for section in WORKFLOW_SECTIONS {
        properties.insert(
            section.to_string(),
            json!({ "type": "object", "description": format!("[{section}]: read by its workflow") }),
        );
    }
    schema["additionalProperties"] = json!(false);
    // An environment names its database(s) exactly one way (dbsage_core::fleet::validate):
    // serde defaults `url` for fleets, so the derive alone would accept an environment with none.
    for defs in ["$defs", "definitions"] {
        if let Some(environment) = schema
            .get_mut(defs)
            .and_then(|d| d.get_mut("EnvironmentConfig"))
        {
            environment["oneOf"] = json!(["url", "urls", "urls_file", "urls_query"]
                .iter()
                .map(|key| json!({ "required": [key] }))
                .collect::<Vec<_>>());
        }
    }
    schema
}

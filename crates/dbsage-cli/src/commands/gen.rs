//! `dbsage gen types`: TypeScript or Rust types from the schema (the migrations replayed on a
//! throwaway cluster, or a live environment), written to a file or stdout; `--check` for CI.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use dbsage_catalog::{Catalog, ReadOptions};
use dbsage_core::env::Target;
use dbsage_core::{Error, Result};
use serde_json::json;

use crate::output::Out;

#[derive(Args, Debug)]
pub struct GenArgs {
    #[command(subcommand)]
    action: GenAction,
}

#[derive(Subcommand, Debug)]
enum GenAction {
    /// Types for tables, views, enums, composite types and functions (supabase-js's
    /// `Database` shape for TypeScript; serde structs for Rust).
    #[command(
        after_help = "Exit codes: 0 written (or fresh with --check), 1 --check found the file stale, 2 usage or configuration error."
    )]
    Types(TypesArgs),
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Typescript,
    Rust,
}

impl Lang {
    fn name(self) -> &'static str {
        match self {
            Lang::Typescript => "typescript",
            Lang::Rust => "rust",
        }
    }
}

#[derive(Args, Debug)]
struct TypesArgs {
    #[arg(long, value_enum)]
    lang: Lang,
    /// Read this environment's live schema instead of the migrations replayed on a throwaway
    /// cluster.
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// Write the types to this file (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Schemas to generate (repeatable; default: public).
    #[arg(long = "schema", value_name = "SCHEMA")]
    schemas: Vec<String>,
    /// Write nothing: exit 1 when --out's file differs from what would be generated (for CI).
    #[arg(long, requires = "out")]
    check: bool,
}

pub fn run(args: GenArgs, out: &Out) -> Result<i32> {
    match args.action {
        GenAction::Types(args) => run_types(args, out),
    }
}

fn run_types(args: TypesArgs, out: &Out) -> Result<i32> {
    let project = super::project()?;
    let catalog = read_catalog(&project, args.env.as_deref(), out)?;
    let mut options = dbsage_types::Options::default();
    if !args.schemas.is_empty() {
        options.schemas = args.schemas.clone();
    }
    if let Some(missing) = options
        .schemas
        .iter()
        .find(|s| !catalog.schemas.iter().any(|c| &c.name == *s))
    {
        return Err(Error::Config {
            message: format!(
                "schema `{missing}` does not exist in {}",
                source_name(&args)
            ),
            hint: "name an existing schema with --schema (repeatable)".into(),
        });
    }
    let lang = match args.lang {
        Lang::Typescript => dbsage_types::Lang::TypeScript,
        Lang::Rust => dbsage_types::Lang::Rust,
    };
    let text = dbsage_types::generate(&catalog, lang, &options);
    let Some(path) = &args.out else {
        if out.json_mode() {
            out.json(&json!({ "lang": args.lang.name(), "types": text }));
        } else {
            out_text!("{text}");
        }
        return Ok(0);
    };
    if args.check {
        let fresh = std::fs::read_to_string(path).is_ok_and(|on_disk| on_disk == text);
        if out.json_mode() {
            out.json(&json!({ "lang": args.lang.name(), "file": path, "fresh": fresh }));
        } else if fresh {
            out.status("Fresh", &path.display().to_string());
        } else {
            err_line!(
                "{}: {} is stale: it differs from the types of {}\n  regenerate it: {}",
                out.paint_err("error", crate::output::Style::Bad),
                path.display(),
                source_name(&args),
                regenerate_command(&args, path)
            );
        }
        return Ok(if fresh { 0 } else { 1 });
    }
    dbsage_core::project_file::write(path, &text)?;
    if out.json_mode() {
        out.json(&json!({ "lang": args.lang.name(), "file": path, "written": true }));
    } else {
        out.status("Wrote", &path.display().to_string());
    }
    Ok(0)
}

fn source_name(args: &TypesArgs) -> String {
    match &args.env {
        Some(env) => format!("environment `{env}`"),
        None => "the migrations (replayed on a throwaway cluster)".into(),
    }
}

/// The command that rewrites `path`, as the user would type it.
fn regenerate_command(args: &TypesArgs, path: &std::path::Path) -> String {
    let mut command = format!("dbsage gen types --lang {}", args.lang.name());
    if let Some(env) = &args.env {
        command.push_str(&format!(" --env {env}"));
    }
    for schema in &args.schemas {
        command.push_str(&format!(" --schema {schema}"));
    }
    command.push_str(&format!(" --out {}", path.display()));
    command
}

/// The schema to generate from: a live environment (read only), or the history replayed.
fn read_catalog(
    project: &dbsage_core::config::Project,
    env: Option<&str>,
    out: &Out,
) -> Result<Catalog> {
    let read = |client: &mut postgres::Client| {
        Catalog::read(client, &ReadOptions::default())
            .map_err(|e| Error::db("reading the schema", e))
    };
    match env {
        Some(name) => {
            let target = Target::resolve(project, Some(name))?;
            super::announce(out, &target);
            let mut client = target.connect(project, "dbsage gen types")?;
            read(&mut client)
        }
        None => {
            let files = dbsage_core::migrations::discover_project(project)?;
            let (cluster, mut client) = dbsage_core::local::replayed(project, &files)?;
            let catalog = read(&mut client);
            drop(client);
            cluster.stop();
            catalog
        }
    }
}

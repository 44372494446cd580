//! `dbsage config`: the effective configuration, each value with where it came from (default,
//! `dbsage.toml:LINE`, an environment variable, `.env.local`, `.env`), passwords hidden.
//! `--check` validates it and tries every environment of `dbsage.toml`; `--env-names` is what
//! the shell completions call.

use std::path::Path;

use clap::Args;
use dbsage_core::config::{Project, CONFIG_FILE};
use dbsage_core::env::Target;
use dbsage_core::redact::redact;
use dbsage_core::{Error, Result};
use serde_json::json;

use crate::output::Out;

#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// Validate dbsage.toml and connect to each of its environments. Exit codes: 0 valid and
    /// every environment reachable, 1 an environment unreachable, 2 invalid configuration.
    #[arg(long, conflicts_with = "env_names")]
    pub check: bool,
    /// Print the environment names, one per line (used by the shell completions).
    #[arg(long)]
    pub env_names: bool,
}

/// One effective setting.
struct Setting {
    key: String,
    value: String,
    origin: String,
}

pub fn run(args: ConfigArgs, out: &Out) -> Result<i32> {
    if args.env_names {
        return print_env_names();
    }
    let root = project_root()?;
    if args.check {
        return check(&root, out);
    }
    let project = Project::load(&root)?;
    let settings = effective_settings(&project)?;
    if out.json_mode() {
        let rows: Vec<_> = settings
            .iter()
            .map(|s| json!({"key": s.key, "value": redact(&s.value), "origin": s.origin}))
            .collect();
        out.json(
            &json!({ "config": root.join(CONFIG_FILE).display().to_string(), "settings": rows }),
        );
        return Ok(0);
    }
    let width = settings.iter().map(|s| s.key.len()).max().unwrap_or(0);
    for s in &settings {
        out.line(&format!(
            "{:width$}  {}  ({})",
            s.key,
            redact(&s.value),
            s.origin
        ));
    }
    Ok(0)
}

/// Names only, and quiet on any error: completion must never print noise into the prompt.
fn print_env_names() -> Result<i32> {
    let Ok(root) = project_root() else {
        return Ok(0);
    };
    let Ok(project) = Project::load(&root) else {
        return Ok(0);
    };
    for name in environment_names(&project) {
        out_line!("{name}");
    }
    Ok(0)
}

/// The environments `--env` accepts: dbsage.toml's, then `dev` (the embedded cluster).
pub fn environment_names(project: &Project) -> Vec<String> {
    let mut names: Vec<String> = project.config.environments.keys().cloned().collect();
    if !names.iter().any(|n| n == "dev") {
        names.push("dev".into());
    }
    names
}

fn project_root() -> Result<std::path::PathBuf> {
    let cwd = std::env::current_dir().map_err(|e| Error::io("reading the current directory", e))?;
    Ok(Project::discover(&cwd)?.root)
}

fn check(root: &Path, out: &Out) -> Result<i32> {
    let project = match Project::load(root) {
        Ok(p) => p,
        Err(e) => {
            if out.json_mode() {
                out.json(&json!({"valid": false, "error": crate::output::error_json(&e), "errors": [], "environments": []}));
            } else {
                out.error(&e);
            }
            return Ok(2);
        }
    };
    let section_errors = super::config_sections::errors(&project);
    let mut reports = Vec::new();
    let mut unreachable = 0;
    for name in project.config.environments.keys() {
        let (ok, detail) = match Target::resolve(&project, Some(name))
            .and_then(|t| t.connect(&project, "dbsage config --check").map(|_| t))
        {
            Ok(target) => (true, target.display),
            Err(e) => (false, redact(&e.to_string())),
        };
        if !ok {
            unreachable += 1;
        }
        reports.push((name.clone(), ok, detail));
    }
    if out.json_mode() {
        let envs: Vec<_> = reports
            .iter()
            .map(|(name, ok, detail)| json!({"name": name, "reachable": ok, "detail": detail}))
            .collect();
        let errors: Vec<_> = section_errors
            .iter()
            .map(|(section, e)| json!({"section": section, "error": crate::output::error_json(e)}))
            .collect();
        out.json(&json!({"valid": errors.is_empty(), "errors": errors, "environments": envs}));
    } else {
        if section_errors.is_empty() {
            out.line(&format!("{}: valid", root.join(CONFIG_FILE).display()));
        }
        for (_, e) in &section_errors {
            out.error(e);
        }
        for (name, ok, detail) in &reports {
            let state = if *ok { "reachable" } else { "UNREACHABLE" };
            out.line(&format!("environment {name}: {state}: {detail}"));
        }
    }
    Ok(if !section_errors.is_empty() {
        2
    } else if unreachable > 0 {
        1
    } else {
        0
    })
}

/// Every leaf of the parsed configuration (defaults filled in), with its origin.
fn effective_settings(project: &Project) -> Result<Vec<Setting>> {
    let path = project.root.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let lines = key_lines(&text);
    let value = toml::Value::try_from(&project.config).map_err(|e| Error::Config {
        message: format!("cannot show the configuration: {e}"),
        hint: "report this as a bug".into(),
    })?;
    let mut leaves = Vec::new();
    flatten("", &value, &mut leaves);
    let mut settings = Vec::new();
    for (key, raw) in leaves {
        let origin = match lines.iter().find(|(k, _)| *k == key) {
            Some((_, line)) => format!("{CONFIG_FILE}:{line}"),
            None => "default".to_string(),
        };
        let (value, origin) = match variables_in(&raw).as_slice() {
            [] => (raw, origin),
            vars => {
                let sources: Vec<String> = vars
                    .iter()
                    .map(|v| format!("${{{v}}} from {}", variable_origin(project, v)))
                    .collect();
                let value = project.expand(&key, &raw).unwrap_or(raw);
                (value, format!("{origin}; {}", sources.join(", ")))
            }
        };
        settings.push(Setting { key, value, origin });
    }
    let version = dbsage_core::pg_version::resolve(project);
    if let Ok(v) = version {
        settings.push(Setting {
            key: "local clusters' PostgreSQL".into(),
            value: v.major.to_string(),
            origin: v.source.to_string(),
        });
    }
    if let Ok(bin) = std::env::var("DBSAGE_PG_BIN") {
        settings.push(Setting {
            key: "PostgreSQL binaries".into(),
            value: bin,
            origin: "environment variable DBSAGE_PG_BIN".into(),
        });
    }
    Ok(settings)
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut Vec<(String, String)>) {
    match value {
        toml::Value::Table(table) => {
            for (k, v) in table {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// The 1-based line of every dotted key set in the file.
fn key_lines(text: &str) -> Vec<(String, usize)> {
    let Ok(doc) = text.parse::<toml_edit::ImDocument<String>>() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    collect_lines(text, "", doc.as_item(), &mut found);
    found
}

fn collect_lines(text: &str, prefix: &str, item: &toml_edit::Item, out: &mut Vec<(String, usize)>) {
    let Some(table) = item.as_table_like() else {
        return;
    };
    for (key, child) in table.iter() {
        let dotted = if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        };
        let span = table.key(key).and_then(|k| k.span());
        if let Some(span) = span {
            out.push((dotted.clone(), text[..span.start].matches('\n').count() + 1));
        }
        collect_lines(text, &dotted, child, out);
    }
}

/// The `${NAME}` references of a value.
fn variables_in(value: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        names.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    names
}

/// Where `Project::var` finds `name`: the same order (environment, .env.local, .env).
fn variable_origin(project: &Project, name: &str) -> String {
    if std::env::var_os(name).is_some() {
        return "environment variable".into();
    }
    for file in [".env.local", ".env"] {
        if let Ok(iter) = dotenvy::from_path_iter(project.root.join(file)) {
            if iter.flatten().any(|(k, _)| k == name) {
                return file.into();
            }
        }
    }
    "nowhere (not set)".into()
}

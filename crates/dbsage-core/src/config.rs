//! `dbsage.toml`: finding the project, reading its settings, resolving `${VAR}` references.
//!
//! Variables come from the process environment first, then `.env.local`, then `.env` (both at
//! the project root, neither ever written into the process environment).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const CONFIG_FILE: &str = "dbsage.toml";

#[derive(Debug, Clone, Serialize, Deserialize, Default, JsonSchema)]
pub struct Config {
    #[serde(default)]
    pub project: ProjectConfig,
    #[serde(default)]
    pub migrations: MigrationsConfig,
    #[serde(default)]
    pub migrate: MigrateConfig,
    #[serde(default)]
    pub checks: ChecksConfig,
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentConfig>,
    #[serde(default)]
    pub local: crate::server_settings::LocalConfig,
    #[serde(default)]
    pub test: TestConfig,
    /// Sections owned by later workflows (`[lint]`, `[supabase]`, …) are kept as raw TOML here
    /// so that each workflow reads its own part.
    #[serde(flatten)]
    #[schemars(skip)]
    pub other: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectConfig {
    /// The newest version another tool applied before dbsage adopted the project (written by
    /// `init --adopt`). Files at or before it are replayed, but only context for the
    /// idempotency check and lint errors (see [`crate::baseline`]).
    pub baseline: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MigrationsConfig {
    pub dir: PathBuf,
    /// `schema.table` of the history table; the audit log sits beside it.
    pub history_table: String,
    /// Applied after the migrations by `migrate --local` and `dev reset`, when the file exists.
    pub seed: PathBuf,
    /// How the files are laid out: `dbsage` (default), or an adopted tool's layout read in
    /// place: `supabase`, `sqlx`, `dbmate`, `flyway`.
    pub layout: String,
}

impl Default for MigrationsConfig {
    fn default() -> Self {
        MigrationsConfig {
            dir: "migrations".into(),
            history_table: "dbsage.schema_migrations".into(),
            seed: "seed.sql".into(),
            layout: "dbsage".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MigrateConfig {
    /// `lock_timeout` set for each migration (PostgreSQL syntax: `5s`, `500ms`, `0` = none).
    pub lock_timeout: String,
    /// `statement_timeout` set for each migration.
    pub statement_timeout: String,
    /// How long a second `dbsage migrate` waits for the one holding the migration lock.
    pub lock_wait_timeout: String,
    /// The environment used when no `--env` is given.
    pub default_environment: String,
}

impl Default for MigrateConfig {
    fn default() -> Self {
        MigrateConfig {
            lock_timeout: "5s".into(),
            statement_timeout: "0".into(),
            lock_wait_timeout: "60s".into(),
            default_environment: "dev".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckLevel {
    Error,
    Warn,
    Off,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksConfig {
    /// Apply each migration a second time on top of itself (`migrate --local`).
    pub idempotency: CheckLevel,
    /// Undo with the down files and re-apply, comparing schemas (`migrate --local`).
    pub rollback: CheckLevel,
    /// Check every PL/pgSQL function with the `plpgsql_check` extension (`migrate --local`).
    pub plpgsql: CheckLevel,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        ChecksConfig {
            idempotency: CheckLevel::Warn,
            rollback: CheckLevel::Error,
            plpgsql: CheckLevel::Error,
        }
    }
}

/// `[test]`: how `dbsage test` prepares the throwaway database.
#[derive(Debug, Clone, Serialize, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TestConfig {
    /// SQL files run after the migrations and the seed, before the pgTAP files (test helpers).
    pub setup: Vec<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfig {
    /// A libpq URL or key=value string; `${VAR}` is expanded. Empty in a fleet environment,
    /// which names its databases with one of `urls`, `urls_file`, `urls_query` instead.
    #[serde(default)]
    pub url: String,
    /// A fleet: many databases (see [`crate::fleet`]).
    #[serde(default)]
    pub urls: Option<Vec<String>>,
    #[serde(default)]
    pub urls_file: Option<PathBuf>,
    #[serde(default)]
    pub urls_query: Option<crate::fleet::UrlsQuery>,
    /// Production-like: `migrate` needs a local pass, a typed confirmation (or `--yes`), …
    #[serde(default)]
    pub protected: bool,
    /// `dbsage deploy` here needs the same migration set applied there first (`"staging"`).
    #[serde(default)]
    pub requires: Option<String>,
}

/// A loaded project: its root directory and configuration.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub config: Config,
}

impl Project {
    /// Finds `dbsage.toml` in `start` or the nearest parent directory.
    pub fn discover(start: &Path) -> Result<Project> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            let candidate = d.join(CONFIG_FILE);
            if candidate.is_file() {
                return Self::load(d);
            }
            dir = d.parent();
        }
        Err(Error::Config {
            message: format!(
                "no {CONFIG_FILE} in {} or any parent directory",
                start.display()
            ),
            hint: "run `dbsage init` in your project's root directory".into(),
        })
    }

    pub fn load(root: &Path) -> Result<Project> {
        let path = root.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Config {
            message: format!("cannot read {}: {e}", path.display()),
            hint: "check the file's permissions".into(),
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| {
            let location = e
                .span()
                .map(|s| {
                    let lc = dbsage_sql::line_col(&text, s.start);
                    format!(":{}:{}", lc.line, lc.column)
                })
                .unwrap_or_default();
            Error::Config {
                message: format!("{}{location}: {}", path.display(), e.message()),
                hint: "see the commented defaults that `dbsage init` writes".into(),
            }
        })?;
        // `flatten` and `deny_unknown_fields` do not mix: unknown sections are caught here.
        if let Some(unknown) = config
            .other
            .keys()
            .find(|k| !WORKFLOW_SECTIONS.contains(&k.as_str()))
        {
            return Err(Error::Config {
                message: format!(
                    "{}{}: unknown section or key `{unknown}`",
                    path.display(),
                    top_level_key_line(&text, unknown)
                        .map(|line| format!(":{line}"))
                        .unwrap_or_default()
                ),
                hint: "known sections: project, migrations, migrate, checks, environments, local, test, lint, supabase, secure, maintain, backup, health, alerts, deploy, pitr".into(),
            });
        }
        validate_timeout("migrate.lock_timeout", &config.migrate.lock_timeout)?;
        validate_timeout(
            "migrate.statement_timeout",
            &config.migrate.statement_timeout,
        )?;
        validate_timeout(
            "migrate.lock_wait_timeout",
            &config.migrate.lock_wait_timeout,
        )?;
        HistoryTable::parse(&config.migrations.history_table)?;
        config.local.validate()?;
        parse_layout(&config.migrations.layout)?;
        crate::fleet::validate(&config.environments)?;
        Ok(Project {
            root: root.to_path_buf(),
            config,
        })
    }

    pub fn migrations_dir(&self) -> PathBuf {
        self.root.join(&self.config.migrations.dir)
    }

    pub fn seed_path(&self) -> PathBuf {
        self.root.join(&self.config.migrations.seed)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".dbsage")
    }

    /// Writes `name` under `.dbsage/` through a temporary file renamed into place, so an
    /// interrupted write never leaves a torn state file.
    pub fn write_state_file(&self, name: &str, text: &str) -> Result<()> {
        let dir = self.state_dir();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating .dbsage", e))?;
        crate::project_file::write(&dir.join(name), text)
    }

    /// The adopted tool whose layout the migrations follow (`None`: dbsage's own).
    pub fn layout(&self) -> Option<dbsage_supabase::Layout> {
        parse_layout(&self.config.migrations.layout).expect("validated on load")
    }

    /// A Supabase project: `supabase/config.toml` exists, or `[supabase] enabled = true`.
    /// Local clusters then get the compatibility layer, and Supabase's own history is kept.
    pub fn is_supabase(&self) -> bool {
        let enabled = self
            .config
            .other
            .get("supabase")
            .and_then(|s| s.get("enabled"))
            .and_then(|v| v.as_bool());
        dbsage_supabase::is_supabase_project(&self.root, enabled)
    }

    pub fn history_table(&self) -> HistoryTable {
        HistoryTable::parse(&self.config.migrations.history_table).expect("validated on load")
    }

    /// Looks a variable up in the process environment, `.env.local`, then `.env`.
    pub fn var(&self, name: &str) -> Option<String> {
        if let Ok(v) = std::env::var(name) {
            return Some(v);
        }
        for file in [".env.local", ".env"] {
            let path = self.root.join(file);
            if let Ok(iter) = dotenvy::from_path_iter(&path) {
                for (k, v) in iter.flatten() {
                    if k == name {
                        return Some(v);
                    }
                }
            }
        }
        None
    }

    /// Expands `${VAR}` references; `what` names the setting in error messages.
    pub fn expand(&self, what: &str, text: &str) -> Result<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(Error::Config {
                    message: format!("{what}: unterminated `${{` in the value"),
                    hint: "write variables as ${NAME}".into(),
                });
            };
            let name = &after[..end];
            let value = self.var(name).ok_or_else(|| Error::Config {
                message: format!(
                    "{what} uses ${{{name}}}, which is not set (looked in the environment, .env.local and .env)"
                ),
                hint: format!("export {name}=… or add `{name}=…` to .env.local (kept out of git)"),
            })?;
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The sections read by later workflows, kept raw in [`Config::other`].
pub const WORKFLOW_SECTIONS: &[&str] = &[
    "lint", "supabase", "secure", "maintain", "backup", "health", "alerts", "deploy", "pitr",
];

/// The 1-based line where a top-level `key` (a `[key]`/`[key.x]` header or `key = …`) appears.
fn top_level_key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            let rest = line
                .strip_prefix("[[")
                .or_else(|| line.strip_prefix('['))
                .unwrap_or(line);
            let rest = rest.strip_prefix(key).map(str::trim_start);
            matches!(rest.and_then(|r| r.chars().next()), Some(']' | '.' | '='))
        })
        .map(|i| i + 1)
}

/// What `[local] server_settings` accepts, for the JSON Schema (the values stay raw TOML).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum SettingValue {
    Text(String),
    Number(f64),
    Flag(bool),
}

/// `schema.table` of the migration history; the audit log is `schema.migration_events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryTable {
    pub schema: String,
    pub table: String,
}

impl HistoryTable {
    pub fn parse(text: &str) -> Result<HistoryTable> {
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !s.starts_with(|c: char| c.is_ascii_digit())
        };
        match text.split_once('.') {
            Some((schema, table)) if valid(schema) && valid(table) => Ok(HistoryTable {
                schema: schema.into(),
                table: table.into(),
            }),
            _ => Err(Error::Config {
                message: format!("migrations.history_table = {text:?} is not `schema.table`"),
                hint: "use lower-case identifiers, e.g. \"dbsage.schema_migrations\"".into(),
            }),
        }
    }
    /// The quoted, qualified history table name.
    pub fn qualified(&self) -> String {
        format!("\"{}\".\"{}\"", self.schema, self.table)
    }
    pub fn events(&self) -> String {
        format!("\"{}\".\"migration_events\"", self.schema)
    }
}

fn parse_layout(text: &str) -> Result<Option<dbsage_supabase::Layout>> {
    use dbsage_supabase::Layout;
    Ok(match text {
        "dbsage" => None,
        other => Some(Layout::from_config_name(other).ok_or_else(|| {
            Error::Config {
                message: format!("migrations.layout = {other:?} is not a known layout"),
                hint:
                    "use dbsage, supabase, sqlx, dbmate, flyway, prisma, drizzle, diesel or golang-migrate \
                   (`dbsage init --adopt` detects it)"
                        .into(),
            }
        })?),
    })
}

/// Parses a PostgreSQL-style duration: `0`, `250ms`, `5s`, `2min`, `1h` (a bare number is ms).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..digits_end].parse().ok()?;
    let ms = match t[digits_end..].trim() {
        "" | "ms" => n,
        "s" => n * 1000,
        "min" => n * 60_000,
        "h" => n * 3_600_000,
        _ => return None,
    };
    Some(Duration::from_millis(ms))
}

fn validate_timeout(what: &str, value: &str) -> Result<()> {
    parse_duration(value)
        .map(|_| ())
        .ok_or_else(|| Error::Config {
            message: format!("{what} = {value:?} is not a duration"),
            hint: "write it like 5s, 500ms, 2min, or 0 for none".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2min"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("5 parsecs"), None);
    }

    #[test]
    fn history_table_names() {
        assert!(HistoryTable::parse("dbsage.schema_migrations").is_ok());
        assert!(HistoryTable::parse("schema_migrations").is_err());
        assert!(HistoryTable::parse("a.b; drop table x").is_err());
    }

    #[test]
    fn expands_variables_from_env_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "").unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "A_DBSAGE_TEST=from-env\nB_DBSAGE_TEST=b\n",
        )
        .unwrap();
        std::fs::write(dir.path().join(".env.local"), "A_DBSAGE_TEST=from-local\n").unwrap();
        let p = Project::load(dir.path()).unwrap();
        assert_eq!(
            p.expand("x", "${A_DBSAGE_TEST}/${B_DBSAGE_TEST}").unwrap(),
            "from-local/b"
        );
        let err = p
            .expand("environments.staging.url", "${NOPE_DBSAGE_TEST}")
            .unwrap_err();
        assert!(err.to_string().contains("NOPE_DBSAGE_TEST"), "{err}");
    }

    #[test]
    fn bad_toml_names_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[migrate]\nlock_timeout = 5\n",
        )
        .unwrap();
        let err = Project::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("dbsage.toml:2:"), "{err}");
    }
}

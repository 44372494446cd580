//! Recognising a project that another migration tool already manages, from its files alone.
//!
//! `dbsage init --adopt` must not rename anything: teams keep running the other tool (or the
//! Supabase CLI) beside dbsage while they switch, so we only learn where its files live and
//! which history table it writes.

use std::fs;
use std::path::{Path, PathBuf};

/// A migration tool whose layout dbsage can adopt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// `supabase/migrations/<digits>_name.sql`, seed `supabase/seed.sql`.
    Supabase,
    /// `migrations/<version>_name.sql` or `<version>_name.up.sql` + `.down.sql`.
    Sqlx,
    /// `db/migrations/<version>_name.sql` with `-- migrate:up` / `-- migrate:down` sections.
    Dbmate,
    /// `V<version>__name.sql` (and optional `U<version>__name.sql` undo scripts).
    Flyway,
    /// `prisma/migrations/<timestamp>_<name>/migration.sql`.
    Prisma,
    /// `migrations/<date>_<name>/up.sql` + optional `down.sql`.
    Diesel,
    /// golang-migrate: `<version>_<name>.up.sql` + `.down.sql` in a Go module.
    GolangMigrate,
    /// drizzle-kit: `drizzle/<idx>_<tag>.sql` listed in `drizzle/meta/_journal.json`.
    Drizzle,
}

impl Layout {
    /// Every layout, in the order [`detect`] tries them.
    pub const ALL: [Layout; 8] = [
        Layout::Supabase,
        Layout::Prisma,
        Layout::Drizzle,
        Layout::Diesel,
        Layout::Flyway,
        Layout::Dbmate,
        Layout::GolangMigrate,
        Layout::Sqlx,
    ];

    /// The tool's history table, as it names it (unqualified tables live in the search_path,
    /// normally `public`).
    pub fn history_table(self) -> &'static str {
        match self {
            Layout::Supabase => "supabase_migrations.schema_migrations",
            Layout::Sqlx => "_sqlx_migrations",
            Layout::Dbmate => "schema_migrations",
            Layout::Flyway => "flyway_schema_history",
            Layout::Prisma => "_prisma_migrations",
            Layout::Diesel => "__diesel_schema_migrations",
            Layout::GolangMigrate => "schema_migrations",
            Layout::Drizzle => "drizzle.__drizzle_migrations",
        }
    }

    /// The tool's name, for messages.
    pub fn tool_name(self) -> &'static str {
        match self {
            Layout::Supabase => "Supabase CLI",
            Layout::Sqlx => "sqlx",
            Layout::Dbmate => "dbmate",
            Layout::Flyway => "Flyway",
            Layout::Prisma => "Prisma",
            Layout::Diesel => "diesel",
            Layout::GolangMigrate => "golang-migrate",
            Layout::Drizzle => "Drizzle",
        }
    }

    /// The file names the tool applies, for messages.
    pub fn name_rule(self) -> &'static str {
        match self {
            Layout::Supabase => "<digits>_<name>.sql",
            Layout::Sqlx => "<version>_<name>.sql or <version>_<name>.up.sql/.down.sql",
            Layout::Dbmate => "<version>_<name>.sql with `-- migrate:up`",
            Layout::Flyway => "V<version>__<description>.sql (U… undo, R__ repeatable)",
            Layout::Prisma => "<timestamp>_<name>/migration.sql",
            Layout::Diesel => "<version>_<name>/up.sql (+ down.sql)",
            Layout::GolangMigrate => "<version>_<name>.up.sql (+ .down.sql)",
            Layout::Drizzle => "<tag>.sql listed in meta/_journal.json",
        }
    }

    /// The `[migrations] layout` value in dbsage.toml.
    pub fn config_name(self) -> &'static str {
        match self {
            Layout::Supabase => "supabase",
            Layout::Sqlx => "sqlx",
            Layout::Dbmate => "dbmate",
            Layout::Flyway => "flyway",
            Layout::Prisma => "prisma",
            Layout::Diesel => "diesel",
            Layout::GolangMigrate => "golang-migrate",
            Layout::Drizzle => "drizzle",
        }
    }

    /// The layout named `name` in dbsage.toml (`None`: not a known layout).
    pub fn from_config_name(name: &str) -> Option<Layout> {
        Layout::ALL.into_iter().find(|l| l.config_name() == name)
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tool_name())
    }
}

/// What [`detect`] found: enough to configure dbsage without touching the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub layout: Layout,
    /// Absolute or `root`-joined path of the migrations directory.
    pub migrations_dir: PathBuf,
    /// The seed file, when the layout has one and it exists.
    pub seed: Option<PathBuf>,
    pub history_table: &'static str,
}

/// Where Flyway projects keep their scripts, most specific first.
const FLYWAY_DIRS: [&str; 3] = ["src/main/resources/db/migration", "sql", "migrations"];
/// dbmate's default directory first, then the common override.
const DBMATE_DIRS: [&str; 2] = ["db/migrations", "migrations"];

/// Recognises the layout of the project at `root`, or `None` when none applies.
///
/// Order matters where directories overlap: Supabase (its `supabase/` folder is unambiguous),
/// then Flyway (`V…__` names), then dbmate (`-- migrate:up` markers), then sqlx, whose plain
/// `<version>_name.sql` files are the most generic shape. A folder of plain 14-digit files is
/// reported as sqlx: adopting it changes nothing but the history table to import.
pub fn detect(root: &Path) -> Option<Detected> {
    detect_supabase(root)
        .or_else(|| detect_prisma(root))
        .or_else(|| detect_drizzle(root))
        .or_else(|| detect_diesel(root))
        .or_else(|| detect_flyway(root))
        .or_else(|| detect_dbmate(root))
        .or_else(|| detect_golang_migrate(root))
        .or_else(|| detect_sqlx(root))
}

fn detected(layout: Layout, migrations_dir: PathBuf, seed: Option<PathBuf>) -> Detected {
    Detected {
        layout,
        migrations_dir,
        seed,
        history_table: layout.history_table(),
    }
}

fn detect_supabase(root: &Path) -> Option<Detected> {
    let supabase = root.join("supabase");
    let migrations = supabase.join("migrations");
    // A fresh `supabase init` has config.toml and no migrations yet: still a Supabase project.
    if !supabase.join("config.toml").is_file() && !migrations.is_dir() {
        return None;
    }
    let seed = configured_seed(&supabase)
        .or_else(|| Some(supabase.join("seed.sql")))
        .filter(|p| p.is_file());
    Some(detected(Layout::Supabase, migrations, seed))
}

/// The first plain file in `[db.seed] sql_paths` of `supabase/config.toml` (paths relative to
/// `supabase/`), the setting the Supabase CLI reads. Glob patterns are not expanded: the default
/// `supabase/seed.sql` is used instead.
fn configured_seed(supabase: &Path) -> Option<PathBuf> {
    let text = fs::read_to_string(supabase.join("config.toml")).ok()?;
    let config: toml::Table = toml::from_str(&text).ok()?;
    let paths = config
        .get("db")?
        .get("seed")?
        .get("sql_paths")?
        .as_array()?;
    paths
        .iter()
        .filter_map(|p| p.as_str())
        .find(|p| !p.contains(['*', '?', '[']))
        .map(|p| supabase.join(p.trim_start_matches("./")))
}

fn detect_flyway(root: &Path) -> Option<Detected> {
    FLYWAY_DIRS
        .iter()
        .map(|d| root.join(d))
        .find(|dir| {
            sql_files(dir, true)
                .iter()
                .any(|f| crate::read::parse_flyway_name(&file_name(f)).is_some())
        })
        .map(|dir| detected(Layout::Flyway, dir, None))
}

fn detect_dbmate(root: &Path) -> Option<Detected> {
    DBMATE_DIRS
        .iter()
        .map(|d| root.join(d))
        .find(|dir| {
            sql_files(dir, false).iter().any(|f| {
                fs::read_to_string(f)
                    .map(|text| crate::read::has_dbmate_up_marker(&text))
                    .unwrap_or(false)
            })
        })
        .map(|dir| detected(Layout::Dbmate, dir, None))
}

fn detect_sqlx(root: &Path) -> Option<Detected> {
    let dir = root.join("migrations");
    sql_files(&dir, false)
        .iter()
        .any(|f| crate::read::parse_sqlx_name(&file_name(f)).is_some())
        .then(|| detected(Layout::Sqlx, dir, None))
}

/// Prisma keeps one folder per migration, each with its `migration.sql`.
fn detect_prisma(root: &Path) -> Option<Detected> {
    let dir = root.join("prisma/migrations");
    sub_dirs(&dir)
        .iter()
        .any(|d| d.join("migration.sql").is_file())
        .then(|| detected(Layout::Prisma, dir, None))
}

/// drizzle-kit writes its journal beside the SQL files, in `drizzle/` unless `out` says
/// otherwise (`migrations/` is the common override).
fn detect_drizzle(root: &Path) -> Option<Detected> {
    ["drizzle", "migrations"]
        .iter()
        .map(|d| root.join(d))
        .find(|dir| dir.join("meta/_journal.json").is_file())
        .map(|dir| detected(Layout::Drizzle, dir, None))
}

/// diesel keeps one folder per migration, each with its `up.sql`.
fn detect_diesel(root: &Path) -> Option<Detected> {
    let dir = root.join("migrations");
    sub_dirs(&dir)
        .iter()
        .any(|d| d.join("up.sql").is_file())
        .then(|| detected(Layout::Diesel, dir, None))
}

/// golang-migrate and reversible sqlx share the `<version>_<name>.up.sql` naming; a Go module
/// at the root, with every `.sql` file an up or down file, tells golang-migrate apart.
fn detect_golang_migrate(root: &Path) -> Option<Detected> {
    if !root.join("go.mod").is_file() {
        return None;
    }
    DBMATE_DIRS
        .iter()
        .map(|d| root.join(d))
        .find(|dir| {
            let files = sql_files(dir, false);
            !files.is_empty()
                && files
                    .iter()
                    .all(|f| crate::read::parse_golang_migrate_name(&file_name(f)).is_some())
        })
        .map(|dir| detected(Layout::GolangMigrate, dir, None))
}

/// The sub-directories of `dir`, sorted; hidden ones (`.git`-style) are skipped as the tools do.
pub(crate) fn sub_dirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !file_name(p).starts_with('.'))
        .collect();
    dirs.sort();
    dirs
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string()
}

/// The `.sql` files of `dir`, sorted by path; empty when `dir` does not exist. Flyway scans
/// sub-directories too, so it asks for `recursive`.
pub(crate) fn sql_files(dir: &Path, recursive: bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            if recursive {
                found.extend(sql_files(&path, true));
            }
        } else if path.extension().is_some_and(|e| e == "sql") {
            found.push(path);
        }
    }
    found.sort();
    found
}

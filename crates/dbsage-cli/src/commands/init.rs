use std::fs;
use std::path::Path;

use clap::Args;
use serde_json::json;

use dbsage_core::Error;

use crate::output::Out;

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Skip the connection check.
    #[arg(long)]
    pub no_check: bool,
    /// Adopt an existing Supabase, sqlx, dbmate, Flyway, Prisma, Drizzle, diesel or
    /// golang-migrate layout in place (no file is renamed);
    /// `init` also does this by itself when it finds one. Fails when none is found.
    #[arg(long)]
    pub adopt: bool,
}

const CONFIG: &str = r#"# dbsage project configuration: `dbsage --help`, README.md

[migrations]
dir = "migrations"                           # <14-digit UTC version>_<name>.sql (+ .down.sql)
history_table = "dbsage.schema_migrations"   # the audit log sits beside it
seed = "seed.sql"                            # applied by `migrate --local` and `dev reset`

[migrate]
lock_timeout = "5s"           # a migration waiting longer than this for a lock fails instead of blocking traffic
statement_timeout = "0"       # per statement; 0 = no limit
lock_wait_timeout = "60s"     # how long a second `dbsage migrate` waits for the first one
default_environment = "dev"   # the embedded local dev database

[checks]
idempotency = "error"   # migrate --local applies each migration twice (error | warn | off)
rollback = "error"      # migrate --local undoes with the down files and compares schemas
plpgsql = "error"       # migrate --local checks PL/pgSQL bodies with plpgsql_check, when installed

# [environments.staging]
# url = "${STAGING_DATABASE_URL}"
#
# [environments.production]
# url = "${PRODUCTION_DATABASE_URL}"
# protected = true      # needs a local pass and a typed confirmation (or --yes)
"#;

const ENV_EXAMPLE: &str = "# Copy to .env.local (never committed) and fill in.\n\
# STAGING_DATABASE_URL=postgresql://user:password@staging-host:5432/app?sslmode=require\n\
# PRODUCTION_DATABASE_URL=postgresql://user:password@prod-host:5432/app?sslmode=verify-full\n";

const GITIGNORE_LINES: &[&str] = &[".dbsage/", ".env.local", ".env"];

pub fn run(args: InitArgs, out: &Out) -> dbsage_core::Result<i32> {
    let root =
        std::env::current_dir().map_err(|e| Error::io("reading the current directory", e))?;
    let mut created = Vec::new();
    let mut kept = Vec::new();
    let detected = dbsage_supabase::detect(&root);
    if args.adopt && detected.is_none() {
        return Err(Error::Config {
            message: format!(
                "no Supabase, sqlx, dbmate, Flyway, Prisma, Drizzle, diesel or golang-migrate layout found in {}",
                root.display()
            ),
            hint: "run `dbsage init` without --adopt to start a new dbsage layout".into(),
        });
    }
    let mut adopted = None;
    let config = match &detected {
        Some(d) if !root.join("dbsage.toml").exists() => {
            let rel =
                |p: &std::path::Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
            let dir = rel(&d.migrations_dir);
            let seed = d
                .seed
                .as_deref()
                .map(rel)
                .unwrap_or_else(|| "seed.sql".into());
            let layout = d.layout.config_name();
            adopted = Some(
                json!({ "layout": layout, "migrations_dir": dir, "history_table": d.history_table }),
            );
            let mut text = CONFIG
                .replace("dir = \"migrations\"                           # <14-digit UTC version>_<name>.sql (+ .down.sql)",
                         &format!("dir = \"{dir}\"\nlayout = \"{layout}\"                             # adopted in place: files keep their names"))
                .replace("seed = \"seed.sql\"", &format!("seed = \"{seed}\""));
            if d.layout == dbsage_supabase::Layout::Supabase {
                text.push_str("\n[supabase]\nenabled = true   # local databases get the Supabase compatibility layer\n");
            }
            text
        }
        _ => CONFIG.to_string(),
    };
    write_new(&root.join("dbsage.toml"), &config, &mut created, &mut kept)?;
    if let Some(a) = adopted.as_mut() {
        match record_baseline(&root, &config) {
            Ok(Some(version)) => a["baseline"] = json!(version),
            Ok(None) => {}
            Err(e) => out.warn(&format!(
                "no baseline recorded ({e}); set `[project] baseline` in dbsage.toml to the newest version the other tool applied"
            )),
        }
    }
    if adopted.is_none() {
        let migrations = root.join("migrations");
        if migrations.is_dir() {
            kept.push("migrations/".to_string());
        } else {
            fs::create_dir_all(&migrations).map_err(|e| Error::io("creating migrations/", e))?;
            created.push("migrations/".to_string());
        }
    }
    write_new(
        &root.join(".env.example"),
        ENV_EXAMPLE,
        &mut created,
        &mut kept,
    )?;
    let gitignore_existed = root.join(".gitignore").exists();
    let added = ensure_gitignore(&root.join(".gitignore"))?;
    let mut updated = Vec::new();
    if !added.is_empty() {
        let entry = format!(".gitignore ({})", added.join(", "));
        if gitignore_existed {
            updated.push(entry);
        } else {
            created.push(entry);
        }
    }
    // Validates what is there now (a kept dbsage.toml may be broken).
    let project = dbsage_core::config::Project::load(&root)?;
    let warnings = super::same_database_warnings(&project);

    let mut checks = Vec::new();
    if !args.no_check {
        match dbsage_cluster::PgInstall::find() {
            Ok(i) => checks.push(json!({ "what": "local PostgreSQL", "ok": true, "detail": format!("{} at {}", i.version, i.bin_dir.display()) })),
            Err(e) => checks.push(json!({ "what": "local PostgreSQL", "ok": false, "detail": e.to_string() })),
        }
        let mut names: Vec<String> = project.config.environments.keys().cloned().collect();
        if project.var("DATABASE_URL").is_some() {
            names.push("DATABASE_URL".into());
        }
        for name in names {
            let result = dbsage_core::env::Target::resolve(&project, Some(&name))
                .and_then(|t| t.connect(&project, "dbsage init").map(|_| t.display));
            match result {
                Ok(display) => checks.push(json!({ "what": format!("environment {name}"), "ok": true, "detail": display })),
                Err(e) => checks.push(json!({ "what": format!("environment {name}"), "ok": false, "detail": e.to_string() })),
            }
        }
    }
    if out.json_mode() {
        out.json(
            &json!({ "created": created, "updated": updated, "kept": kept, "adopted": adopted, "checks": checks, "warnings": warnings }),
        );
    } else {
        if let Some(a) = &adopted {
            out.status(
                "Adopted",
                &format!(
                    "{} layout in {} (files keep their names; on a database it already migrated, its history in {} is imported on the first `dbsage migrate`)",
                    a["layout"].as_str().unwrap_or_default(),
                    a["migrations_dir"].as_str().unwrap_or_default(),
                    a["history_table"].as_str().unwrap_or_default()
                ),
            );
        }
        if let Some(version) = adopted.as_ref().and_then(|a| a["baseline"].as_str()) {
            out.status(
                "Baseline",
                &format!(
                    "{version} ([project] baseline in dbsage.toml): files up to it were applied once by the other tool; `migrate --local` replays them without the idempotency check, and their lint findings are context, not errors"
                ),
            );
        }
        for c in &created {
            out.status("Created", c);
        }
        for u in &updated {
            out.status("Updated", &format!("{u}: appended"));
        }
        for k in &kept {
            out.status("Kept", &format!("{k} (already there)"));
        }
        for w in &warnings {
            out.warn(w);
        }
        for c in &checks {
            let what = c["what"].as_str().unwrap_or_default();
            let detail = c["detail"].as_str().unwrap_or_default();
            if c["ok"].as_bool() == Some(true) {
                out.status("Checked", &format!("{what}: {detail}"));
            } else {
                out.warn(&format!("{what}: {detail}"));
            }
        }
        out.line(&next_step(&project, adopted.is_some()));
    }
    Ok(0)
}

/// What to do next: a new project writes its first migration; one that already has migrations
/// (adopted, or a kept migrations/) tests them and looks at what a database has applied.
fn next_step(project: &dbsage_core::config::Project, adopted: bool) -> String {
    let existing = dbsage_core::migrations::discover_project(project)
        .map(|files| files.len())
        .unwrap_or(0);
    if existing == 0 && !adopted {
        return "next: `dbsage new add_first_table`, write SQL, then `dbsage migrate --local`"
            .into();
    }
    let what = match existing {
        1 => "its migration".to_string(),
        n => format!("its {n} migrations"),
    };
    format!(
        "next: `dbsage migrate --local` tests {what} on a throwaway database; then `dbsage status --all` shows what each environment has applied"
    )
}

fn write_new(
    path: &Path,
    text: &str,
    created: &mut Vec<String>,
    kept: &mut Vec<String>,
) -> dbsage_core::Result<()> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    if path.exists() {
        kept.push(name);
        return Ok(());
    }
    // Atomic: an interrupted init leaves no torn dbsage.toml for the next run to keep.
    dbsage_core::project_file::write(path, text)?;
    created.push(name);
    Ok(())
}

/// Adds the lines dbsage needs to .gitignore, keeping what is there.
fn ensure_gitignore(path: &Path) -> dbsage_core::Result<Vec<String>> {
    let existing = fs::read_to_string(path).unwrap_or_default();
    let have: Vec<&str> = existing.lines().map(str::trim).collect();
    let missing: Vec<String> = GITIGNORE_LINES
        .iter()
        .filter(|l| !have.contains(l))
        .map(|l| l.to_string())
        .collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let mut text = existing.clone();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# dbsage\n");
    for l in &missing {
        text.push_str(l);
        text.push('\n');
    }
    fs::write(path, text).map_err(|e| Error::io("writing .gitignore", e))?;
    Ok(missing)
}

/// Records the newest adopted version as `[project] baseline` in the dbsage.toml just written
/// from `config`: files up to it were applied once by the other tool.
fn record_baseline(root: &Path, config: &str) -> dbsage_core::Result<Option<String>> {
    let project = dbsage_core::config::Project::load(root)?;
    let files = dbsage_core::migrations::discover_project(&project)?;
    let Some(newest) = files
        .iter()
        .max_by(|a, b| dbsage_core::migrations::compare_versions(&a.version, &b.version))
    else {
        return Ok(None);
    };
    let section = format!(
        "\n[project]\nbaseline = \"{}\"   # newest adopted version: files up to it are replayed, not judged (README: adoption)\n\n[migrations]",
        newest.version
    );
    let text = config.replacen("\n[migrations]", &section, 1);
    dbsage_core::project_file::write(&root.join("dbsage.toml"), &text)?;
    Ok(Some(newest.version.clone()))
}

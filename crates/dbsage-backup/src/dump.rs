//! `dbsage backup`: pg_dump -Fd --jobs in the snapshot of a repeatable-read transaction that
//! counts and checksums the tables meanwhile, roles from pg_dumpall, `pg_restore --list` as a
//! last check, sha256 of every file into `manifest.json`, then retention. Any failure (or
//! Ctrl-C, see [`crate::interrupt`]) removes the unfinished folder.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use dbsage_core::config::Project;
use dbsage_core::env::Target;

use crate::config::BackupConfig;
use crate::endpoint::Endpoint;
use crate::manifest::{self, Manifest, DUMP_DIR, ROLES_FILE};
use crate::tools::ClientTools;
use crate::{failed, snapshot};

/// The schemas Supabase creates and manages: restoring them into another project collides with
/// the platform's own copies, so Supabase projects leave them out unless `--include-managed`.
pub const SUPABASE_MANAGED_SCHEMAS: &[&str] = &[
    "auth",
    "storage",
    "realtime",
    "_realtime",
    "_analytics",
    "_supavisor",
    "supabase_functions",
    "supabase_migrations",
    "extensions",
    "graphql",
    "graphql_public",
    "net",
    "pgbouncer",
    "pgsodium",
    "pgsodium_masks",
    "vault",
    "cron",
    "pgtle",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Full,
    SchemaOnly,
    DataOnly,
}

impl Content {
    pub fn as_str(self) -> &'static str {
        match self {
            Content::Full => "full",
            Content::SchemaOnly => "schema-only",
            Content::DataOnly => "data-only",
        }
    }
    fn has_data(self) -> bool {
        self != Content::SchemaOnly
    }
}

#[derive(Debug, Clone)]
pub struct BackupOptions {
    pub jobs: u32,
    pub content: Content,
    /// Keep the schemas Supabase manages in a Supabase project's backup.
    pub include_managed: bool,
    /// pg_dumpall without `--no-role-passwords` (needs a superuser).
    pub role_passwords: bool,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            jobs: 2,
            content: Content::Full,
            include_managed: false,
            role_passwords: false,
        }
    }
}

/// What the CLI shows while a backup runs (a bar per table on a terminal).
pub trait Progress: Sync {
    fn tables(&self, _total: usize) {}
    fn table_dumped(&self, _name: &str) {}
    fn step(&self, _what: &str) {}
}

/// No progress display.
pub struct Silent;
impl Progress for Silent {}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupReport {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// Backups removed by retention after this one succeeded.
    pub removed: Vec<String>,
}

pub fn backup(
    project: &Project,
    target: &Target,
    options: &BackupOptions,
    progress: &dyn Progress,
) -> dbsage_core::Result<BackupReport> {
    let config = BackupConfig::of(project)?;
    let started = Instant::now();
    let mut client = target.connect(project, "dbsage backup")?;
    let db = |what: &str| {
        let what = what.to_string();
        move |e| dbsage_core::Error::db(what, e)
    };
    let row = client
        .query_one(
            "select current_setting('server_version'), current_setting('server_version_num')::int,
                    current_database()::text, current_user::text",
            &[],
        )
        .map_err(db("reading the server version"))?;
    let server_version: String = row.get(0);
    let server_major = (row.get::<_, i32>(1) / 10000) as u32;
    let database: String = row.get(2);
    let role: String = row.get(3);
    let tools = crate::tools::find(server_major, &["pg_dump", "pg_dumpall", "pg_restore"])?;
    let excluded = excluded_schemas(project, &mut client, options.include_managed)?;

    client
        .batch_execute(&format!(
            "{}; SET row_security = off",
            snapshot::STABLE_OUTPUT
        ))
        .map_err(db("preparing the snapshot session"))?;
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .map_err(db("starting the snapshot transaction"))?;
    let snapshot_id: String = client
        .query_one("select pg_export_snapshot()", &[])
        .map_err(db("exporting the snapshot"))?
        .get(0);
    let tables = snapshot::tables(&mut client, &excluded).map_err(db("listing the tables"))?;
    if options.content.has_data() {
        snapshot::check_readable(&tables, &role)?;
    }

    let env_dir = config.env_dir(project, &target.name);
    let (id, dir) = new_backup_dir(&env_dir)?;
    crate::interrupt::begin(&dir);
    let endpoint = Endpoint::for_target(project, target)?;
    let taken = (|| -> dbsage_core::Result<Manifest> {
        progress.tables(tables.len());
        let dump = dir.join(DUMP_DIR);
        let mut cmd = endpoint.command(tools.bin("pg_dump"));
        cmd.arg("--format=directory")
            .arg("--file")
            .arg(&dump)
            .arg(format!("--jobs={}", options.jobs.max(1)))
            .arg(format!("--snapshot={snapshot_id}"))
            .args(["--verbose", "--no-password"]);
        match options.content {
            Content::Full => {}
            Content::SchemaOnly => {
                cmd.arg("--schema-only");
            }
            Content::DataOnly => {
                cmd.arg("--data-only");
            }
        }
        for schema in &excluded {
            cmd.arg(format!("--exclude-schema={schema}"));
        }
        // Roles are dumped while pg_dump runs: they do not depend on its snapshot.
        let mut roles = endpoint.command(tools.bin("pg_dumpall"));
        roles
            .args(["--globals-only", "--no-password", "-l", &database, "--file"])
            .arg(dir.join(ROLES_FILE));
        if !options.role_passwords {
            roles.arg("--no-role-passwords");
        }
        let described = run_with_progress(cmd, "pg_dump", progress, || {
            let described = snapshot::describe(
                &mut client,
                &tables,
                options.content.has_data(),
                config.checksum_max_bytes,
            )
            .map_err(db("counting rows in the dump's snapshot"))?;
            run_with_progress(roles, "pg_dumpall", &Silent, || Ok(()))?;
            Ok(described)
        })?;
        client
            .batch_execute("COMMIT")
            .map_err(db("ending the snapshot transaction"))?;

        progress.step("checking the archive (pg_restore --list)");
        let listed = crate::pg_restore::list(&tools, &dump)?;
        if options.content.has_data() {
            let missing: Vec<String> = described
                .iter()
                .map(|t| t.qualified())
                .filter(|q| !listed.iter().any(|e| e.is_data_of(q)))
                .collect();
            if !missing.is_empty() {
                return Err(failed(
                    format!(
                        "pg_restore --list shows no data for: {}",
                        missing.join(", ")
                    ),
                    "the archive is incomplete; run the backup again",
                ));
            }
        }
        progress.step("sha256 of every file");
        let mut files = crate::files::hash_all(&dir)
            .map_err(|e| dbsage_core::Error::io(format!("hashing {}", dir.display()), e))?;
        for file in &mut files {
            file.table = crate::pg_restore::table_of_file(&listed, &file.path);
        }
        let now = time::OffsetDateTime::now_utc();
        let mut manifest = Manifest {
            format: manifest::FORMAT_NAME.into(),
            format_version: manifest::FORMAT_VERSION,
            id: id.clone(),
            environment: target.name.clone(),
            database: database.clone(),
            created_at: now
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            created_unix: now.unix_timestamp(),
            dbsage_version: env!("CARGO_PKG_VERSION").into(),
            server_version: server_version.clone(),
            server_major,
            pg_dump_version: tools.version.clone(),
            pg_dump_major: tools.major,
            content: options.content.as_str().into(),
            excluded_schemas: excluded.clone(),
            role_passwords: options.role_passwords,
            jobs: options.jobs.max(1),
            duration_ms: started.elapsed().as_millis() as u64,
            total_bytes: files.iter().map(|f| f.bytes).sum(),
            files,
            tables: described,
            manifest_sha256: String::new(),
        };
        manifest.seal();
        write_manifest(&dir, &manifest)?;
        Ok(manifest)
    })();
    crate::interrupt::end();
    let manifest = match taken {
        Ok(m) => m,
        Err(e) => {
            let removed = std::fs::remove_dir_all(&dir).is_ok();
            return Err(with_cleanup_note(e, &dir, removed));
        }
    };
    let removed = crate::retention::apply(&env_dir, &config, &id)?;
    Ok(BackupReport {
        dir,
        manifest,
        removed,
    })
}

/// The schemas to leave out: Supabase's own in a Supabase project (those that exist).
fn excluded_schemas(
    project: &Project,
    client: &mut postgres::Client,
    include_managed: bool,
) -> dbsage_core::Result<Vec<String>> {
    if include_managed || !project.is_supabase() {
        return Ok(Vec::new());
    }
    let managed: Vec<String> = SUPABASE_MANAGED_SCHEMAS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rows = client
        .query(
            "select nspname::text from pg_namespace where nspname = any($1) order by 1",
            &[&managed],
        )
        .map_err(|e| dbsage_core::Error::db("listing Supabase's schemas", e))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// `<env_dir>/<UTC timestamp>`, with `-2`, `-3`… when two backups start in the same second.
fn new_backup_dir(env_dir: &Path) -> dbsage_core::Result<(String, PathBuf)> {
    std::fs::create_dir_all(env_dir)
        .map_err(|e| dbsage_core::Error::io(format!("creating {}", env_dir.display()), e))?;
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .expect("a fixed format");
    for n in 1.. {
        let id = if n == 1 {
            stamp.clone()
        } else {
            format!("{stamp}-{n}")
        };
        let dir = env_dir.join(&id);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((id, dir)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(dbsage_core::Error::io(
                    format!("creating {}", dir.display()),
                    e,
                ))
            }
        }
    }
    unreachable!()
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> dbsage_core::Result<()> {
    let text = serde_json::to_string_pretty(manifest).expect("a manifest serialises");
    dbsage_core::project_file::write(&dir.join(manifest::FILE_NAME), &(text + "\n"))
}

/// Runs a pg_dump-like program in its own process group (Ctrl-C stops it through
/// [`crate::interrupt`]), reporting `dumping contents of table` lines as progress, while
/// `meanwhile` runs on this thread. Fails with the program's own error lines.
fn run_with_progress<T>(
    mut cmd: std::process::Command,
    name: &str,
    progress: &dyn Progress,
    meanwhile: impl FnOnce() -> dbsage_core::Result<T>,
) -> dbsage_core::Result<T> {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| dbsage_core::Error::io(format!("starting {name}"), e))?;
    crate::interrupt::set_child(child.id());
    let stderr = child.stderr.take().expect("piped");
    let (result, messages) = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut messages: Vec<String> = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(table) = line
                    .split_once("dumping contents of table \"")
                    .and_then(|(_, rest)| rest.strip_suffix('"'))
                {
                    progress.table_dumped(table);
                } else if !is_verbose_chatter(&line) {
                    messages.push(line);
                }
            }
            messages
        });
        let result = meanwhile();
        if result.is_err() {
            // SAFETY: signalling the process group of our own child.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGTERM) };
        }
        (result, reader.join().unwrap_or_default())
    });
    let status = child
        .wait()
        .map_err(|e| dbsage_core::Error::io(format!("waiting for {name}"), e))?;
    crate::interrupt::clear_child(child.id());
    let value = result?;
    if !status.success() {
        let mut errors: Vec<&String> = messages
            .iter()
            .filter(|l| !l.contains(": warning:"))
            .collect();
        errors.truncate(20);
        let text = errors
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join("\n  ");
        return Err(failed(
            format!("{name} failed ({status}):\n  {text}"),
            "nothing usable was kept; fix the cause above (disk space, privileges, connection) and run `dbsage backup` again",
        ));
    }
    Ok(value)
}

/// `--verbose` progress lines (`pg_dump: reading …`, `pg_dump: finished item …`).
fn is_verbose_chatter(line: &str) -> bool {
    let body = line.split_once(": ").map_or(line, |(_, b)| b);
    !(body.starts_with("error:")
        || body.starts_with("detail:")
        || body.starts_with("hint:")
        || body.starts_with("warning:")
        || body.starts_with("DETAIL:")
        || body.starts_with("HINT:"))
        && (line.starts_with("pg_dump: ") || line.starts_with("pg_dumpall: "))
}

/// The error, saying the unfinished folder was removed (or could not be).
fn with_cleanup_note(e: dbsage_core::Error, dir: &Path, removed: bool) -> dbsage_core::Error {
    let note = if removed {
        format!("the unfinished backup folder {} was removed", dir.display())
    } else {
        format!(
            "the unfinished backup folder {} could not be removed: delete it by hand",
            dir.display()
        )
    };
    let hint = e.hint().unwrap_or_default().to_string();
    match e {
        dbsage_core::Error::Config { message, hint } => {
            crate::config_error(format!("{message}\n{note}"), hint)
        }
        other => failed(format!("{other}\n{note}"), hint),
    }
}

/// Picks the client programs for `server_major` (for callers outside a backup run).
pub fn client_tools(server_major: u32) -> dbsage_core::Result<ClientTools> {
    crate::tools::find(server_major, &["pg_dump", "pg_dumpall", "pg_restore"])
}

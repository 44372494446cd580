//! Finding the PostgreSQL server binaries and the OS user the server runs as.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::child::child_command;
use crate::ClusterError;

/// A PostgreSQL server installation (the directory holding `initdb`, `postgres`, `pg_ctl`).
#[derive(Debug, Clone)]
pub struct PgInstall {
    pub bin_dir: PathBuf,
    /// Full version, e.g. `15.18`.
    pub version: String,
    pub major: u32,
}

impl PgInstall {
    /// Looks in `DBSAGE_PG_BIN`, `pg_config --bindir`, `PATH`, then `/usr/lib/postgresql/*/bin`
    /// (newest first), and takes the first directory that has `initdb`, `postgres` and `pg_ctl`.
    pub fn find() -> Result<PgInstall, ClusterError> {
        let mut tried = Vec::new();
        if let Some(dir) = std::env::var_os("DBSAGE_PG_BIN") {
            let dir = PathBuf::from(dir);
            return Self::at(&dir).ok_or_else(|| ClusterError::NoServer {
                tried: format!(
                    "DBSAGE_PG_BIN={} (no initdb/postgres/pg_ctl there)",
                    dir.display()
                ),
            });
        }
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Ok(out) = child_command("pg_config").arg("--bindir").output() {
            if out.status.success() {
                candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
            }
        }
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path));
        }
        let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                Some((v, e.path().join("bin")))
            })
            .collect();
        versioned.sort_by_key(|b| std::cmp::Reverse(b.0));
        candidates.extend(versioned.into_iter().map(|(_, p)| p));
        for dir in candidates {
            if let Some(found) = Self::at(&dir) {
                return Ok(found);
            }
            tried.push(dir.display().to_string());
        }
        Err(ClusterError::NoServer {
            tried: "DBSAGE_PG_BIN (unset), pg_config --bindir, PATH, /usr/lib/postgresql/*/bin"
                .to_string(),
        })
    }

    /// The installation of major version `major` (any version when `None`): `DBSAGE_PG_BIN`
    /// when set (it must be that major), else the installed system versions
    /// ([`PgInstall::find`]'s places), then dbsage's own cache ([`pg_cache_dir`]); the newest
    /// minor wins. `None` for `major` keeps [`PgInstall::find`]'s order.
    pub fn find_major(major: Option<u32>) -> Result<PgInstall, ClusterError> {
        let Some(major) = major else {
            // A DBSAGE_PG_BIN that holds no server is an error to fix, not a cue to use another.
            if std::env::var_os("DBSAGE_PG_BIN").is_some() {
                return Self::find();
            }
            return Self::find().or_else(|e| Self::cached().into_iter().next().ok_or(e));
        };
        if let Some(dir) = std::env::var_os("DBSAGE_PG_BIN") {
            let found = Self::find()?;
            if found.major != major {
                return Err(ClusterError::WrongVersion {
                    wanted: major,
                    found: format!(
                        "DBSAGE_PG_BIN={} is PostgreSQL {}",
                        PathBuf::from(dir).display(),
                        found.version
                    ),
                });
            }
            return Ok(found);
        }
        let mut system: Vec<PathBuf> =
            vec![PathBuf::from(format!("/usr/lib/postgresql/{major}/bin"))];
        if let Ok(out) = child_command("pg_config").arg("--bindir").output() {
            if out.status.success() {
                system.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
            }
        }
        if let Some(found) = system
            .iter()
            .filter_map(|d| Self::at(d))
            .find(|i| i.major == major)
        {
            return Ok(found);
        }
        if let Some(found) = Self::cached().into_iter().find(|i| i.major == major) {
            return Ok(found);
        }
        let installed: Vec<String> = Self::installed()
            .iter()
            .map(|i| format!("{} ({})", i.version, i.bin_dir.display()))
            .collect();
        Err(ClusterError::WrongVersion {
            wanted: major,
            found: if installed.is_empty() {
                "no PostgreSQL server is installed".to_string()
            } else {
                format!("installed: {}", installed.join(", "))
            },
        })
    }

    /// Every installation dbsage can see: system versions (`/usr/lib/postgresql/*/bin`,
    /// `pg_config`), then the cache; newest first within each.
    pub fn installed() -> Vec<PgInstall> {
        let mut system: Vec<PgInstall> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Self::at(&e.path().join("bin")))
            .collect();
        if let Ok(out) = child_command("pg_config").arg("--bindir").output() {
            if out.status.success() {
                let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
                if let Some(found) = Self::at(&dir) {
                    if !system.iter().any(|i| i.bin_dir == found.bin_dir) {
                        system.push(found);
                    }
                }
            }
        }
        system.sort_by_key(|i| std::cmp::Reverse(version_key(&i.version)));
        system.extend(Self::cached());
        system
    }

    /// The versions unpacked in dbsage's cache (`<pg_cache_dir>/<version>/bin`), newest first.
    pub fn cached() -> Vec<PgInstall> {
        let mut found: Vec<PgInstall> = std::fs::read_dir(pg_cache_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Self::at(&e.path().join("bin")))
            .collect();
        found.sort_by_key(|i| std::cmp::Reverse(version_key(&i.version)));
        found
    }

    /// True when this installation lives in dbsage's cache (fetched by `dbsage pg install`).
    pub fn is_cached(&self) -> bool {
        self.bin_dir.starts_with(pg_cache_dir())
    }

    /// The installation in `dir`, if it holds the three server programs.
    pub fn at(dir: &Path) -> Option<PgInstall> {
        let has = |name: &str| dir.join(name).is_file();
        if !(has("initdb") && has("postgres") && has("pg_ctl")) {
            return None;
        }
        let (version, major) = program_version(&dir.join("postgres"))?;
        Some(PgInstall {
            bin_dir: dir.to_path_buf(),
            version,
            major,
        })
    }

    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    /// Where the installation's extension control files are (`SHAREDIR/extension`).
    pub fn extension_dir(&self) -> PathBuf {
        self.pg_config_dir("--sharedir", &["../share/postgresql", "../share"])
            .join("extension")
    }

    /// Where the installation's loadable libraries are (`PKGLIBDIR`): fetched builds have no
    /// pg_config and keep them in `lib/postgresql` (`lib/` holds their shared libraries).
    pub fn library_dir(&self) -> PathBuf {
        self.pg_config_dir("--pkglibdir", &["../lib/postgresql", "../lib"])
    }

    /// True when the extension's control file is installed.
    pub fn has_extension(&self, name: &str) -> bool {
        self.extension_dir()
            .join(format!("{name}.control"))
            .is_file()
    }

    /// True when a shared library (`pg_cron`, `auto_explain`, …) is installed.
    pub fn has_library(&self, name: &str) -> bool {
        self.library_dir().join(format!("{name}.so")).is_file()
    }

    /// The directory `pg_config OPTION` of this installation names; without a `pg_config`
    /// beside the server, the first of `guesses` (relative to the bin dir) that exists.
    fn pg_config_dir(&self, option: &str, guesses: &[&str]) -> PathBuf {
        let from_pg_config = child_command(self.bin("pg_config"))
            .arg(option)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        if let Some(dir) = from_pg_config.filter(|d| d.is_dir()) {
            return dir;
        }
        // Debian: /usr/lib/postgresql/15/bin → /usr/share/postgresql/15, /usr/lib/postgresql/15/lib.
        let debian_share = PathBuf::from(format!("/usr/share/postgresql/{}", self.major));
        if option == "--sharedir"
            && self.bin_dir.starts_with("/usr/lib/postgresql")
            && debian_share.is_dir()
        {
            return debian_share;
        }
        // `bin/../lib` written as `lib`: these paths are shown and compared.
        let beside = |g: &str| match (g.strip_prefix("../"), self.bin_dir.parent()) {
            (Some(rest), Some(root)) => root.join(rest),
            _ => self.bin_dir.join(g),
        };
        guesses
            .iter()
            .map(|g| beside(g))
            .find(|d| d.is_dir())
            .unwrap_or_else(|| beside(guesses[0]))
    }
}

/// The unprivileged OS user the server runs as when dbsage itself runs as root
/// (PostgreSQL refuses to run as root).
#[derive(Debug, Clone)]
pub struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl RunAs {
    /// `None` when dbsage is not root: the server then runs as the current user.
    pub fn detect() -> Result<Option<RunAs>, ClusterError> {
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return Ok(None);
        }
        let name = std::env::var("DBSAGE_PG_USER").unwrap_or_else(|_| "postgres".to_string());
        lookup_user(&name)
            .map(Some)
            .ok_or(ClusterError::NoServerUser { name })
    }

    /// Applies the switch to a command about to run a server program.
    pub fn apply(run_as: Option<&RunAs>, cmd: &mut Command) {
        use std::os::unix::process::CommandExt;
        if let Some(r) = run_as {
            cmd.uid(r.uid)
                .gid(r.gid)
                .env("USER", &r.name)
                .env("LOGNAME", &r.name);
            cmd.env("HOME", std::env::temp_dir());
        }
        // The server and initdb must not depend on a working directory they may not read.
        cmd.current_dir("/");
    }
}

fn lookup_user(name: &str) -> Option<RunAs> {
    let cname = std::ffi::CString::new(name).ok()?;
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwnam_r writes into our buffers only.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    Some(RunAs {
        name: name.to_string(),
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}

/// True when the user can reach (traverse) every directory up to and including `path`.
pub fn reachable_by(run_as: &RunAs, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let mut current = Some(path);
    while let Some(p) = current {
        let Ok(meta) = std::fs::metadata(p) else {
            current = p.parent();
            continue;
        };
        let mode = meta.mode();
        let ok = if meta.uid() == run_as.uid {
            mode & 0o100 != 0
        } else if meta.gid() == run_as.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !ok {
            return false;
        }
        current = p.parent();
    }
    true
}

/// Where `dbsage pg install` unpacks server builds: `<pg_cache_dir>/<full version>/` holding
/// `bin/`, `lib/` and `share/`. `DBSAGE_PG_CACHE` when set; as root `/var/cache/dbsage/pg`,
/// because the server then runs as another user who cannot traverse root's 0700 home; else
/// `<cache_dir>/pg`.
pub fn pg_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DBSAGE_PG_CACHE") {
        return PathBuf::from(d);
    }
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/var/cache/dbsage/pg");
    }
    crate::template::cache_dir().join("pg")
}

/// The version a PostgreSQL program reports (`postgres`, `pg_dump`, …) and its major:
/// "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" → ("15.18", 15).
pub fn program_version(program: &Path) -> Option<(String, u32)> {
    let out = child_command(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(2)?.to_string();
    let major = version.split('.').next()?.parse().ok()?;
    Some((version, major))
}

/// `15.18` → `[15, 18]`, for ordering versions numerically.
pub(crate) fn version_key(version: &str) -> Vec<u32> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse().ok())
        .collect()
}

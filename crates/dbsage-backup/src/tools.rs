//! The client programs (pg_dump, pg_dumpall, pg_restore) of a major version at least the
//! server's: an older pg_dump refuses a newer server, and an older pg_restore cannot read a newer
//! pg_dump's archive.

use std::path::{Path, PathBuf};

use dbsage_cluster::PgInstall;

/// A directory holding PostgreSQL client programs, and their version.
#[derive(Debug, Clone)]
pub struct ClientTools {
    pub bin_dir: PathBuf,
    pub version: String,
    pub major: u32,
}

impl ClientTools {
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
}

/// The oldest installed client programs whose major version is at least `min_major` and which
/// have every program in `programs` (the one closest to the server; each reads older servers).
/// Looks in `DBSAGE_PG_BIN`, every installation dbsage knows ([`PgInstall::installed`]),
/// `/usr/lib/postgresql/*/bin` (client-only packages have no server there) and the client
/// programs kept in dbsage's cache ([`client_cache_dir`]).
pub fn find(min_major: u32, programs: &[&str]) -> dbsage_core::Result<ClientTools> {
    let found = candidates(programs);
    let mut fitting: Vec<&ClientTools> = found.iter().filter(|t| t.major >= min_major).collect();
    fitting.sort_by_key(|t| t.major);
    if let Some(tools) = fitting.first() {
        return Ok((*tools).clone());
    }
    let seen = if found.is_empty() {
        "none is installed".to_string()
    } else {
        found
            .iter()
            .map(|t| format!("{} {} ({})", programs[0], t.version, t.bin_dir.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(crate::config_error(
        format!(
            "{} of PostgreSQL {min_major} or newer is needed (the server is PostgreSQL {min_major}) and none is installed: found {seen}",
            programs[0]
        ),
        format!(
            "install the client programs: `apt-get install postgresql-client-{min_major}` (Debian/Ubuntu, from apt.postgresql.org), put a PostgreSQL {min_major}+ build's bin/ and lib/ in {}/<version>/, or point DBSAGE_PG_BIN at a PostgreSQL {min_major}+ bin directory",
            client_cache_dir().display()
        ),
    ))
}

/// `<pg_cache_dir>/clients/<version>/{bin,lib}`: client programs of a major no system package
/// provides here (a server fetched by `dbsage pg install` has no pg_dump); `./x test` puts
/// PostgreSQL 17's there.
pub fn client_cache_dir() -> PathBuf {
    dbsage_cluster::pg_cache_dir().join("clients")
}

fn candidates(programs: &[&str]) -> Vec<ClientTools> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("DBSAGE_PG_BIN") {
        dirs.push(PathBuf::from(dir));
    }
    dirs.extend(PgInstall::installed().into_iter().map(|i| i.bin_dir));
    let mut versioned: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .collect();
    versioned.sort();
    dirs.extend(versioned);
    let mut cached: Vec<PathBuf> = std::fs::read_dir(client_cache_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .collect();
    cached.sort();
    dirs.extend(cached);
    let mut found: Vec<ClientTools> = Vec::new();
    for dir in dirs {
        if found.iter().any(|t| t.bin_dir == dir) {
            continue;
        }
        if !programs.iter().all(|p| dir.join(p).is_file()) {
            continue;
        }
        if let Some(tools) = version_of(&dir, programs[0]) {
            found.push(tools);
        }
    }
    found
}

/// The client programs in `dir`, with the version `program` reports.
fn version_of(dir: &Path, program: &str) -> Option<ClientTools> {
    let (version, major) = dbsage_cluster::program_version(&dir.join(program))?;
    Some(ClientTools {
        bin_dir: dir.to_path_buf(),
        version,
        major,
    })
}

//! Which package provides a PostgreSQL extension: a small map of the ones projects use most
//! (checked against Debian 12's archive and the PostgreSQL project's own apt repository), and
//! the machine's apt, asked when it is there.

use dbsage_cluster::child_command;

/// A package known to provide an extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownPackage {
    pub package: String,
    /// Where it comes from, as users would look for it.
    pub source: &'static str,
}

const DEBIAN: &str = "Debian/Ubuntu's own archive";
const PGDG: &str = "the PostgreSQL project's apt repository, apt.postgresql.org";

/// Extensions shipped with the server itself (contrib).
const CONTRIB: &[&str] = &[
    "pg_stat_statements",
    "pg_trgm",
    "citext",
    "uuid-ossp",
    "pgcrypto",
    "hstore",
    "ltree",
    "unaccent",
    "fuzzystrmatch",
    "btree_gin",
    "btree_gist",
    "cube",
    "earthdistance",
    "intarray",
    "pg_buffercache",
    "pg_prewarm",
    "pgstattuple",
    "postgres_fdw",
    "dblink",
    "tablefunc",
    "moddatetime",
    "isn",
    "lo",
    "seg",
    "tsm_system_rows",
    "amcheck",
];

/// `(extension, package name with {v} for the major version, source)`.
const PACKAGED: &[(&str, &str, &str)] = &[
    ("pg_cron", "postgresql-{v}-cron", DEBIAN),
    ("pgtap", "postgresql-{v}-pgtap", DEBIAN),
    ("postgis", "postgresql-{v}-postgis-3", DEBIAN),
    ("postgis_topology", "postgresql-{v}-postgis-3", DEBIAN),
    ("postgis_raster", "postgresql-{v}-postgis-3", DEBIAN),
    ("address_standardizer", "postgresql-{v}-postgis-3", DEBIAN),
    ("pgrouting", "postgresql-{v}-pgrouting", DEBIAN),
    ("hypopg", "postgresql-{v}-hypopg", DEBIAN),
    ("pgaudit", "postgresql-{v}-pgaudit", DEBIAN),
    ("plpgsql_check", "postgresql-{v}-plpgsql-check", DEBIAN),
    ("pg_partman", "postgresql-{v}-partman", DEBIAN),
    ("pg_repack", "postgresql-{v}-repack", DEBIAN),
    ("rum", "postgresql-{v}-rum", DEBIAN),
    ("hll", "postgresql-{v}-hll", DEBIAN),
    ("orafce", "postgresql-{v}-orafce", DEBIAN),
    ("pg_qualstats", "postgresql-{v}-pg-qualstats", DEBIAN),
    ("semver", "postgresql-{v}-semver", DEBIAN),
    ("ip4r", "postgresql-{v}-ip4r", DEBIAN),
    ("vector", "postgresql-{v}-pgvector", PGDG),
    ("http", "postgresql-{v}-http", PGDG),
    (
        "timescaledb",
        "timescaledb-2-postgresql-{v}",
        "Timescale's apt repository (packagecloud.io/timescale)",
    ),
];

/// The package that provides `extension` for PostgreSQL `major`, when dbsage knows one.
pub fn debian_package(extension: &str, major: u32) -> Option<KnownPackage> {
    if CONTRIB.contains(&extension) {
        return Some(KnownPackage {
            package: format!("postgresql-{major}"),
            source: "the server package itself (contrib)",
        });
    }
    PACKAGED
        .iter()
        .find(|(name, _, _)| *name == extension)
        .map(|(_, package, source)| KnownPackage {
            package: package.replace("{v}", &major.to_string()),
            source,
        })
}

/// What this machine's apt says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AptAnswer {
    /// A package that provides it can be installed from the configured sources.
    Available(String),
    NotInSources,
}

/// Asks `apt-cache policy` (one call) about the known package and the conventional name
/// `postgresql-MAJOR-NAME`; `None` when there is no apt on the machine.
pub fn apt_lookup(extension: &str, major: u32, known: Option<&KnownPackage>) -> Option<AptAnswer> {
    let mut candidates: Vec<String> = known.map(|k| k.package.clone()).into_iter().collect();
    let conventional = format!("postgresql-{major}-{}", extension.replace('_', "-"));
    if !candidates.contains(&conventional) {
        candidates.push(conventional);
    }
    let out = child_command("apt-cache")
        .arg("policy")
        .args(&candidates)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        match installable_packages(&String::from_utf8_lossy(&out.stdout))
            .into_iter()
            .find(|p| candidates.contains(p))
        {
            Some(package) => AptAnswer::Available(package),
            None => AptAnswer::NotInSources,
        },
    )
}

/// The packages of `apt-cache policy` output that have a candidate version.
fn installable_packages(policy: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current: Option<&str> = None;
    for line in policy.lines() {
        if !line.starts_with(' ') {
            current = line.strip_suffix(':');
        } else if let Some(candidate) = line.trim().strip_prefix("Candidate:") {
            if candidate.trim() != "(none)" {
                found.extend(current.map(str::to_string));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_apt_cache_policy() {
        let text = "postgresql-15-cron:\n  Installed: (none)\n  Candidate: 1.4.2-2+b1\n  Version table:\n     1.4.2-2+b1 500\npostgresql-15-pgvector:\n  Installed: (none)\n  Candidate: (none)\n";
        assert_eq!(installable_packages(text), vec!["postgresql-15-cron"]);
    }

    #[test]
    fn knows_the_common_ones() {
        assert_eq!(
            debian_package("vector", 15).unwrap().package,
            "postgresql-15-pgvector"
        );
        assert_eq!(
            debian_package("citext", 16).unwrap().package,
            "postgresql-16"
        );
        assert_eq!(debian_package("pg_graphql", 15), None);
    }
}

//! Which PostgreSQL major version local clusters run (issue 16): the order of the sources, the
//! remembered version of the protected environment, and throwaway clusters on that version.

use dbsage_cluster::{Cluster, PgInstall};
use dbsage_core::config::Project;
use dbsage_core::env::Target;
use dbsage_core::pg_version::{self, TargetVersion, VersionSource};

/// A project whose `production` (protected) and `staging` environments are real databases.
struct Fixture {
    dir: tempfile::TempDir,
    cluster: Cluster,
}

impl Fixture {
    fn new() -> Fixture {
        let cluster = Cluster::start().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("migrations")).unwrap();
        cluster.create_database("production").unwrap();
        cluster.create_database("staging").unwrap();
        let fixture = Fixture { dir, cluster };
        fixture.write_config("");
        fixture
    }

    /// dbsage.toml: the two environments, then `extra` at the top (sections of its own).
    fn write_config(&self, extra: &str) {
        std::fs::write(
            self.dir.path().join("dbsage.toml"),
            format!(
                "{extra}\n[environments.production]\nurl = \"{}\"\nprotected = true\n\n[environments.staging]\nurl = \"{}\"\n",
                self.cluster.url("production"),
                self.cluster.url("staging"),
            ),
        )
        .unwrap();
    }

    fn project(&self) -> Project {
        Project::load(self.dir.path()).unwrap()
    }

    fn reach(&self, environment: &str) {
        let project = self.project();
        let target = Target::resolve(&project, Some(environment)).unwrap();
        target
            .connect_protected(&project, "pgversion test")
            .unwrap();
    }

    fn supabase_config(&self, text: &str) {
        std::fs::create_dir_all(self.dir.path().join("supabase")).unwrap();
        std::fs::write(self.dir.path().join("supabase/config.toml"), text).unwrap();
    }
}

fn resolve(fixture: &Fixture, env_value: Option<&str>) -> TargetVersion {
    pg_version::resolve_with(&fixture.project(), env_value).unwrap()
}

#[test]
fn each_source_wins_over_the_next() {
    let f = Fixture::new();
    let server_major = f.cluster.install().major;
    // Nothing known yet, nothing configured: the installed server.
    let installed = resolve(&f, None);
    assert!(
        matches!(installed.source, VersionSource::Installed { .. }),
        "{installed:?}"
    );
    assert_eq!(installed.major, PgInstall::find_major(None).unwrap().major);

    // Reaching the protected environment remembers its version, which then wins.
    f.reach("production");
    let remembered = resolve(&f, None);
    assert_eq!(remembered.major, server_major);
    assert!(
        matches!(&remembered.source, VersionSource::Environment { name, .. } if name == "production"),
        "{remembered:?}"
    );
    let known = pg_version::known_versions(&f.project());
    assert_eq!(known["production"].major(), server_major);
    assert!(known["production"].protected);

    f.supabase_config("project_id = \"fieldnotes\"\n\n[db]\nport = 54322\nmajor_version = 13\n");
    assert_eq!(
        resolve(&f, None),
        TargetVersion {
            major: 13,
            source: VersionSource::Supabase
        }
    );

    f.write_config("[local]\npg_version = 14\n");
    assert_eq!(
        resolve(&f, None),
        TargetVersion {
            major: 14,
            source: VersionSource::Config
        }
    );

    assert_eq!(
        resolve(&f, Some("16")),
        TargetVersion {
            major: 16,
            source: VersionSource::EnvVar
        }
    );
    // A minor version names its major.
    assert_eq!(resolve(&f, Some("17.2")).major, 17);
}

#[test]
fn an_unprotected_environment_never_sets_the_version() {
    let f = Fixture::new();
    f.reach("staging");
    assert!(pg_version::known_versions(&f.project()).contains_key("staging"));
    let target = resolve(&f, None);
    assert!(
        matches!(target.source, VersionSource::Installed { .. }),
        "{target:?}"
    );
}

#[test]
fn the_default_environment_wins_among_protected_ones() {
    let f = Fixture::new();
    let toml = |default: &str| {
        format!(
            "[migrate]\ndefault_environment = \"{default}\"\n\n[environments.qa]\nurl = \"{}\"\nprotected = true\n",
            f.cluster.url("postgres")
        )
    };
    f.write_config(&toml("qa"));
    f.reach("qa");
    f.reach("production");
    // production was reached last, but qa is the default environment.
    let target = resolve(&f, None);
    assert!(
        matches!(&target.source, VersionSource::Environment { name, .. } if name == "qa"),
        "{target:?}"
    );
    // An unprotected default: the protected environment reached last.
    f.write_config(&toml("staging"));
    let target = resolve(&f, None);
    assert!(
        matches!(&target.source, VersionSource::Environment { name, .. } if name == "production"),
        "{target:?}"
    );
}

#[test]
fn unreadable_versions_are_configuration_errors_that_say_where() {
    let f = Fixture::new();
    let err = pg_version::resolve_with(&f.project(), Some("latest")).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string().contains("DBSAGE_PG_VERSION=latest"),
        "{err}"
    );
    f.supabase_config("[db]\nmajor_version = \"seventeen\"\n");
    let err = pg_version::resolve_with(&f.project(), None).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string()
            .contains("supabase/config.toml: [db] major_version"),
        "{err}"
    );
}

#[test]
fn throwaway_clusters_run_the_target_major() {
    let Ok(postgres_17) = PgInstall::find_major(Some(17)) else {
        eprintln!("skipping: PostgreSQL 17 is not installed");
        return;
    };
    let f = Fixture::new();
    let system_major = f.cluster.install().major;
    for (major, expected) in [(17, postgres_17.major), (system_major, system_major)] {
        f.write_config(&format!("[local]\npg_version = {major}\n"));
        let project = f.project();
        let (cluster, mut client) = dbsage_core::local::replayed(&project, &[]).unwrap();
        assert_eq!(cluster.install().major, expected);
        let num: i32 = client
            .query_one("select current_setting('server_version_num')::int", &[])
            .unwrap()
            .get(0);
        assert_eq!(num as u32 / 10000, expected);
    }
}

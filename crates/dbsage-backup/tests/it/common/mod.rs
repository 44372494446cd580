//! A project whose environment `prod` is a second local cluster reached over TCP with a
//! password, as real environments are, loaded with the shop fixture.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use dbsage_cluster::Cluster;
use dbsage_core::config::Project;
use dbsage_core::env::Target;

pub struct Shop {
    pub dir: tempfile::TempDir,
    pub cluster: Cluster,
}

pub const SHOP_SQL: &str = include_str!("../../fixtures/backup/shop.sql");

impl Shop {
    pub fn new() -> Shop {
        Self::with_config("")
    }

    pub fn with_config(extra: &str) -> Shop {
        let cluster = Cluster::start().expect("starting the source cluster");
        cluster.create_database("shop").unwrap();
        cluster
            .connect("shop")
            .unwrap()
            .batch_execute(SHOP_SQL)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dbsage.toml"),
            format!(
                "[environments.prod]\nurl = \"{}\"\n{extra}",
                cluster.url("shop")
            ),
        )
        .unwrap();
        Shop { dir, cluster }
    }

    pub fn project(&self) -> Project {
        Project::load(self.dir.path()).unwrap()
    }

    pub fn target(&self) -> Target {
        Target::resolve(&self.project(), Some("prod")).unwrap()
    }

    pub fn client(&self) -> postgres::Client {
        self.cluster.connect("shop").unwrap()
    }

    pub fn backups_dir(&self) -> PathBuf {
        self.dir.path().join(".dbsage/backups/prod")
    }
}

/// A copy of a backup folder, to damage without touching the original.
pub fn copy_backup(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_backup(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

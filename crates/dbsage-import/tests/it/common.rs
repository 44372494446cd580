//! Shared helpers: a throwaway cluster per test, files in a temp dir, short option builders.
#![allow(dead_code)]

use std::path::PathBuf;

use dbsage_cluster::Cluster;
use dbsage_import::{import, ImportError, ImportOptions, ImportReport, NoProgress, Source};
use postgres::Client;

pub struct Db {
    pub client: Client,
    pub dir: tempfile::TempDir,
    _cluster: Cluster,
}

pub fn db(schema: &str) -> Db {
    let cluster = Cluster::start().unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    client.batch_execute(schema).unwrap();
    Db {
        client,
        dir: tempfile::tempdir().unwrap(),
        _cluster: cluster,
    }
}

pub fn opts(table: &str) -> ImportOptions {
    ImportOptions {
        table: table.into(),
        ..Default::default()
    }
}

impl Db {
    pub fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    pub fn import(
        &mut self,
        name: &str,
        content: &[u8],
        options: &ImportOptions,
    ) -> Result<ImportReport, ImportError> {
        let path = self.file(name, content);
        import(&mut self.client, Source::Path(path), options, &NoProgress)
    }

    /// Rows as text, ordered, for comparisons.
    pub fn rows(&mut self, sql: &str) -> Vec<String> {
        self.client
            .query(&format!("SELECT t::text FROM ({sql}) t"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    /// A second connection to the same database, for concurrency cases.
    pub fn another_session(&self) -> Client {
        self._cluster.connect("postgres").unwrap()
    }

    pub fn count(&mut self, table: &str) -> i64 {
        self.client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .unwrap()
            .get(0)
    }
}

pub fn rejected(result: Result<ImportReport, ImportError>) -> ImportReport {
    match result {
        Err(e @ ImportError::Rejected { .. }) => {
            assert_eq!(e.exit_code(), 1);
            let report = e.report().unwrap().clone();
            assert!(report.reconciles(), "{report:?}");
            assert!(!report.merged);
            report
        }
        other => panic!("expected a rejected import, got {other:?}"),
    }
}

pub fn usage(result: Result<ImportReport, ImportError>) -> String {
    match result {
        Err(e @ ImportError::Usage(_)) => {
            assert_eq!(e.exit_code(), 2);
            e.to_string()
        }
        other => panic!("expected a usage error, got {other:?}"),
    }
}

pub fn ok(result: Result<ImportReport, ImportError>) -> ImportReport {
    let report = result.unwrap();
    assert!(report.reconciles(), "{report:?}");
    report
}

/// `(inserted, updated, unchanged, rejected)`.
pub fn counts(r: &ImportReport) -> (u64, u64, u64, u64) {
    (r.inserted, r.updated, r.unchanged, r.rejected)
}

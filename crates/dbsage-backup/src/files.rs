//! Sizes and sha256 of a backup's files, and checking them against the manifest.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::manifest::{FileEntry, Manifest};

/// Every file under `dir` (relative `/` paths, sorted), except the manifest itself.
pub fn hash_all(dir: &Path) -> std::io::Result<Vec<FileEntry>> {
    let mut paths = Vec::new();
    walk(dir, dir, &mut paths)?;
    paths.sort();
    paths
        .into_iter()
        .map(|rel| {
            let (bytes, sha256) = hash_file(&dir.join(&rel))?;
            Ok(FileEntry {
                path: rel,
                bytes,
                sha256,
                table: None,
            })
        })
        .collect()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).expect("under root");
            let rel = rel.to_string_lossy().replace('\\', "/");
            if rel != crate::manifest::FILE_NAME && !rel.starts_with("verify") {
                out.push(rel);
            }
        }
    }
    Ok(())
}

/// (size, sha256 hex), streaming.
pub fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((total, hex::encode(hasher.finalize())))
}

/// A file that does not match the manifest.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileProblem {
    pub path: String,
    pub table: Option<String>,
    pub message: String,
}

/// Checks the manifest's seal and every listed file (present, same size, same sha256).
pub fn check(dir: &Path, manifest: &Manifest) -> Vec<FileProblem> {
    let mut problems = Vec::new();
    if !manifest.is_sealed() {
        problems.push(FileProblem {
            path: crate::manifest::FILE_NAME.into(),
            table: None,
            message: "manifest.json was changed after the backup was taken (its own sha256 does not match): edited by hand or damaged".into(),
        });
    }
    for entry in &manifest.files {
        let of_table = entry
            .table
            .as_ref()
            .map(|t| format!(" (data of table {t})"))
            .unwrap_or_default();
        let path = dir.join(&entry.path);
        let problem = match hash_file(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("is missing".to_string()),
            Err(e) => Some(format!("cannot be read: {e}")),
            Ok((bytes, _)) if bytes != entry.bytes => Some(format!(
                "has {bytes} bytes, the manifest says {} (truncated or overwritten)",
                entry.bytes
            )),
            Ok((_, sha)) if sha != entry.sha256 => Some(
                "has a different sha256 than the manifest (damaged: same size, changed bytes)"
                    .to_string(),
            ),
            Ok(_) => None,
        };
        if let Some(message) = problem {
            problems.push(FileProblem {
                path: entry.path.clone(),
                table: entry.table.clone(),
                message: format!("{}{of_table} {message}", entry.path),
            });
        }
    }
    problems
}

//! Paths as users read them: relative to the current directory (`../migrations/x.sql` from a
//! subdirectory), or to the repository root for GitHub annotations, which attach to
//! pull-request lines only with repository-relative paths.

use std::path::{Component, Path, PathBuf};

fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_default()
}

/// `path` relative to `base`, with `..` where needed; unchanged when they share nothing but the
/// filesystem root (an absolute path reads better than `../../../../tmp/x`).
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        current_dir().join(path)
    };
    let absolute = absolute.canonicalize().unwrap_or(absolute);
    let base = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
    let common = absolute
        .components()
        .zip(base.components())
        .take_while(|(a, b)| a == b)
        .count();
    let shares_more_than_root = absolute
        .components()
        .take(common)
        .any(|c| matches!(c, Component::Normal(_)));
    if !shares_more_than_root {
        return absolute;
    }
    let mut relative = PathBuf::new();
    for _ in base.components().skip(common) {
        relative.push("..");
    }
    for c in absolute.components().skip(common) {
        relative.push(c);
    }
    relative
}

/// `path` relative to the current directory.
pub fn from_cwd(path: &Path) -> PathBuf {
    relative_to(path, &current_dir())
}

/// The repository around the current directory (the nearest `.git`, a directory or a
/// worktree's file), else the current directory.
pub fn repository_root() -> PathBuf {
    let cwd = current_dir();
    cwd.ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or(cwd)
}

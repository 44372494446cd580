//! `dbsage --version` names the git commit it was built from. From a tarball without `.git`
//! (or without git installed) it says `unknown commit`; `DBSAGE_GIT_COMMIT` overrides both.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=DBSAGE_GIT_COMMIT");
    let commit = std::env::var("DBSAGE_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown commit".into());
    println!("cargo:rustc-env=DBSAGE_GIT_COMMIT={commit}");
}

fn git_commit() -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let hash = git(&["rev-parse", "--short=12", "HEAD"])?;
    // Rebuild when HEAD moves: a checkout changes HEAD, a commit the branch's ref (loose or
    // packed). `--git-path` resolves both inside linked worktrees too.
    for path in ["HEAD", "packed-refs"] {
        if let Some(file) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={file}");
        }
    }
    if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(file) = git(&["rev-parse", "--git-path", &head_ref]) {
            if std::path::Path::new(&file).exists() {
                println!("cargo:rerun-if-changed={file}");
            }
        }
    }
    Some(hash)
}

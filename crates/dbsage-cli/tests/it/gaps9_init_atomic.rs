//! `init --adopt` writes dbsage.toml through a temporary file renamed into place: a write that
//! fails midway (here: the file-size limit, as a full disk would) leaves no torn dbsage.toml,
//! which the next `init` would keep and every command would then fail to read.

use crate::common;

use std::os::unix::process::CommandExt;
use std::process::Command;

use common::layouts::copy_dir;

fn init_adopt(root: &std::path::Path, max_file_bytes: Option<u64>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dbsage"));
    cmd.current_dir(root).env("NO_COLOR", "1").args([
        "init",
        "--adopt",
        "--no-check",
        "--format",
        "json",
    ]);
    if let Some(limit) = max_file_bytes {
        // SAFETY: async-signal-safe calls only, between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // Ignored, a write past the limit fails with EFBIG instead of killing dbsage.
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let rlimit = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    cmd.output().unwrap()
}

#[test]
fn an_interrupted_init_adopt_leaves_no_torn_dbsage_toml() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/layouts/prisma");
    copy_dir(&fixture, dir.path());

    // dbsage.toml is over 1 KB: the write stops at 512 bytes.
    let out = init_adopt(dir.path(), Some(512));
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("writing") && said.contains("dbsage.toml"),
        "{said}"
    );
    assert!(
        !dir.path().join("dbsage.toml").exists(),
        "torn dbsage.toml left behind: {:?}",
        std::fs::read_to_string(dir.path().join("dbsage.toml"))
    );
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".dbsage-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Run again with room to write: the adoption completes, baseline included.
    let out = init_adopt(dir.path(), None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["adopted"]["baseline"], "20240115091500", "{json}");
    let toml = std::fs::read_to_string(dir.path().join("dbsage.toml")).unwrap();
    assert!(toml.contains("baseline = \"20240115091500\""), "{toml}");
    assert!(toml.contains("layout = \"prisma\""), "{toml}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("dbsage.toml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644, "a committed file readable by the team");
}

//! `./x dist`: the packaging step (`dist/package.sh`) run on the test binary, and the dist
//! profile's promises (optimised, one codegen unit, fat LTO, stripped). The fat-LTO build itself
//! is too slow for the suite; `bench/startup.sh` measures the binary it gives.

use std::path::Path;
use std::process::Command;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .parent()
        .unwrap()
}

#[test]
fn package_writes_completions_and_man_pages_and_prints_the_install_commands() {
    let out_dir = tempfile::tempdir().unwrap();
    let share = out_dir.path().join("share");
    let out = Command::new("bash")
        .arg(repo_root().join("dist/package.sh"))
        .arg(env!("CARGO_BIN_EXE_dbsage"))
        .arg(&share)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef dbsage"),
        ("fish", "complete -c dbsage"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script =
            std::fs::read_to_string(share.join(format!("completions/dbsage.{shell}"))).unwrap();
        assert!(script.contains(marker), "{shell}");
    }
    let pages: Vec<_> = std::fs::read_dir(share.join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(pages.iter().any(|p| p == "dbsage.1"), "{pages:?}");
    assert!(pages.iter().any(|p| p == "dbsage-migrate.1"), "{pages:?}");
    assert!(stdout.contains("dbsage 0."), "the version line: {stdout}");
    assert!(stdout.contains(" bytes; linked: "), "{stdout}");
    assert!(stdout.contains("sudo install -m 0755"), "{stdout}");
    assert!(
        stdout.contains("cargo install --locked --path crates/dbsage-cli"),
        "{stdout}"
    );
}

#[test]
fn the_dist_profile_is_optimised_with_fat_lto_and_stripped() {
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap()).unwrap();
    let dist = &manifest["profile"]["dist"];
    assert_eq!(dist["inherits"].as_str(), Some("release"));
    assert_eq!(dist["lto"].as_str(), Some("fat"));
    assert_eq!(dist["codegen-units"].as_integer(), Some(1));
    assert_eq!(dist["strip"].as_bool(), Some(true));
    assert_eq!(dist["debug"].as_bool(), Some(false));
    let x = std::fs::read_to_string(repo_root().join("x")).unwrap();
    assert!(
        x.contains("cargo build --profile dist -p dbsage-cli"),
        "./x dist builds the dist profile"
    );
    assert!(
        x.contains("dist/package.sh target/dist/dbsage"),
        "./x dist packages what it built"
    );
}

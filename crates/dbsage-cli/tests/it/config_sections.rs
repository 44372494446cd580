//! `config --check` looks inside the workflow sections: a misspelt key under `[backup]`,
//! `[health]`, `[deploy]`, … is an invalid configuration (exit 2, the key and section named),
//! and the sections written with their real keys stay valid.

use std::process::{Command, Output};

fn check(toml: &str) -> (Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    std::fs::write(dir.path().join("dbsage.toml"), toml).unwrap();
    let run = |json: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dbsage"));
        c.env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .current_dir(dir.path())
            .args(["config", "--check"]);
        if json {
            c.args(["--format", "json"]);
        }
        c.output().unwrap()
    };
    let text = run(false);
    let json = serde_json::from_slice(&run(true).stdout).unwrap();
    (text, json)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every workflow section with real keys, as a team would write them.
const VALID: &str = r#"
[lint]
threads = 2

[supabase]
enabled = false

[maintain]
pause_ms = 50

[backup]
dir = "backups"
keep_last = 7
drill_max_age = "30d"

[health]
cache_hit = { warning_ratio = 0.95 }

[alerts]
webhook = "https://hooks.example.com/T0/B0"

[deploy]
rollback_on_failure = true
lock_timeout = "3s"

[pitr]
retention_full = 2
"#;

#[test]
fn sections_with_their_real_keys_are_valid() {
    let (out, json) = check(VALID);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));
    assert_eq!(json["valid"], true, "{json}");
    assert_eq!(json["errors"], serde_json::json!([]), "{json}");
}

#[test]
fn a_misspelt_key_in_each_workflow_section_is_invalid() {
    for (section, line, wrong) in [
        ("lint", "threads = 2", "thread = 2"),
        ("supabase", "enabled = false", "enable = false"),
        ("maintain", "pause_ms = 50", "pause = 50"),
        ("backup", "keep_last = 7", "keep_lasst = 7"),
        (
            "health",
            "cache_hit = { warning_ratio = 0.95 }",
            "cache_hits = { warning_ratio = 0.95 }",
        ),
        (
            "alerts",
            "webhook = \"https://hooks.example.com/T0/B0\"",
            "web_hook = \"https://x\"",
        ),
        (
            "deploy",
            "rollback_on_failure = true",
            "rollback_on_failur = true",
        ),
        ("pitr", "retention_full = 2", "retention = 2"),
    ] {
        assert!(VALID.contains(line), "{section}: {line}");
        let toml = VALID.replace(line, wrong);
        let (out, json) = check(&toml);
        let key = wrong.split([' ', '=']).next().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "[{section}] {wrong}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(key),
            "[{section}] {wrong}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(&format!("[{section}]")),
            "{}",
            stderr(&out)
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("valid"));
        assert_eq!(json["valid"], false, "{json}");
        let errors = json["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{json}");
        assert_eq!(errors[0]["section"], section, "{json}");
    }
}

#[test]
fn a_key_in_a_section_no_workflow_reads_yet_is_reported() {
    let (out, json) = check("[secure]\nstrict = true\n");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("strict"), "{}", stderr(&out));
    assert_eq!(json["errors"][0]["section"], "secure", "{json}");
}

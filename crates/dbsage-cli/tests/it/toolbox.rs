//! The user's toolbox: shell completions, man page, `dbsage config`, JSON Schemas.

use crate::common;

use std::process::Command;

use common::{stderr, stdout, TestProject};

fn dbsage() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dbsage"));
    c.env("NO_COLOR", "1").env_remove("DATABASE_URL");
    c
}

#[test]
fn completions_are_generated_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef dbsage"),
        ("fish", "complete -c dbsage"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = dbsage().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell} script lacks {marker:?}");
        assert!(
            script.contains("migrate"),
            "{shell} script lacks the subcommands"
        );
    }
}

/// Completes `dbsage <words…><TAB>` in a real bash with the generated script loaded, in `dir`.
fn bash_complete(dir: &std::path::Path, words: &[&str]) -> Vec<String> {
    let script = stdout(&dbsage().args(["completions", "bash"]).output().unwrap());
    let script_path = dir.join(".dbsage-completion.bash");
    std::fs::write(&script_path, script).unwrap();
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_dbsage"))
        .parent()
        .unwrap();
    let line: Vec<String> = std::iter::once("dbsage".to_string())
        .chain(words.iter().map(|w| w.to_string()))
        .collect();
    let driver = format!(
        "source {script}\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n_dbsage_with_environments dbsage '{cur}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script = script_path.display(),
        words = line.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
        cword = line.len() - 1,
        line = line.join(" "),
        cur = line.last().unwrap(),
        prev = line[line.len() - 2],
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(driver)
        .current_dir(dir)
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "bash: {}", stderr(&out));
    stdout(&out)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn bash_completes_the_projects_environments_after_env() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dbsage.toml"),
        "[environments.staging]\nurl = \"${STAGING_URL}\"\n\n[environments.production]\nurl = \"${PROD_URL}\"\nprotected = true\n",
    )
    .unwrap();
    let mut all = bash_complete(dir.path(), &["migrate", "--env", ""]);
    all.sort();
    assert_eq!(all, ["dev", "production", "staging"]);
    assert_eq!(
        bash_complete(dir.path(), &["status", "--env", "st"]),
        ["staging"]
    );
    // Elsewhere, clap's own completion still answers.
    let subcommands = bash_complete(dir.path(), &["mig"]);
    assert!(
        subcommands.contains(&"migrate".to_string()),
        "{subcommands:?}"
    );
}

#[test]
fn zsh_completion_asks_dbsage_for_environment_names() {
    let script = stdout(&dbsage().args(["completions", "zsh"]).output().unwrap());
    assert!(script.contains("_dbsage_environments() {"));
    assert!(script.contains("'--env=["));
    assert!(!script
        .lines()
        .any(|l| l.starts_with("'--env=[") && l.ends_with(":ENV:_default' \\")));
}

#[test]
fn man_page_renders_with_man() {
    let dir = tempfile::tempdir().unwrap();
    let out = dbsage().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = dir.path().join("dbsage.1");
    std::fs::write(&page, &out.stdout).unwrap();
    let rendered = Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .expect("man-db is installed (./x installs it)");
    assert!(rendered.status.success(), "{}", stderr(&rendered));
    let text = stdout(&rendered);
    assert!(text.contains("NAME"), "{text}");
    assert!(text.contains("migrate"), "{text}");

    let out = dbsage()
        .args(["man", "--out-dir"])
        .arg(dir.path().join("pages"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.path().join("pages/dbsage-migrate.1").is_file());
}

#[test]
fn version_names_the_git_commit() {
    let out = dbsage().arg("--version").output().unwrap();
    let text = stdout(&out);
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| stdout(&o).trim().to_string())
        .unwrap_or_else(|| "unknown commit".into());
    assert_eq!(
        text.trim(),
        format!("dbsage {} ({commit})", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn config_shows_each_value_with_its_origin_and_no_password() {
    let p = TestProject::with_config(
        "\n[environments.staging]\nurl = \"postgresql://app:${STAGING_PASSWORD}@db.internal:5432/app\"\n\n[environments.reporting]\nurl = \"${REPORTING_URL}\"\n",
    );
    std::fs::write(
        p.root().join(".env"),
        "STAGING_PASSWORD=s3cret-from-dotenv\n",
    )
    .unwrap();
    let (json, code) = {
        let out = p
            .cmd()
            .args(["config", "--format", "json"])
            .env(
                "REPORTING_URL",
                "postgresql://report:hunter2-env@10.0.0.9/rep",
            )
            .output()
            .unwrap();
        assert!(!stdout(&out).contains("s3cret-from-dotenv"));
        assert!(!stdout(&out).contains("hunter2-env"));
        (
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
            out.status.code(),
        )
    };
    assert_eq!(code, Some(0));
    let setting = |key: &str| {
        json["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == key)
            .unwrap_or_else(|| panic!("no {key} in {json}"))
            .clone()
    };
    assert_eq!(setting("migrate.lock_wait_timeout")["value"], "30s");
    assert_eq!(
        setting("migrate.lock_wait_timeout")["origin"],
        "dbsage.toml:3"
    );
    assert_eq!(setting("migrate.lock_timeout")["origin"], "default");
    assert_eq!(setting("migrate.lock_timeout")["value"], "5s");
    let staging = setting("environments.staging.url");
    assert_eq!(
        staging["value"],
        "postgresql://app:***@db.internal:5432/app"
    );
    assert_eq!(
        staging["origin"],
        "dbsage.toml:12; ${STAGING_PASSWORD} from .env"
    );
    let reporting = setting("environments.reporting.url");
    assert_eq!(reporting["value"], "postgresql://report:***@10.0.0.9/rep");
    assert_eq!(
        reporting["origin"],
        "dbsage.toml:15; ${REPORTING_URL} from environment variable"
    );
    let version = setting("local clusters' PostgreSQL");
    assert!(!version["origin"].as_str().unwrap().is_empty());

    let human = p.cmd().arg("config").output().unwrap();
    let text = stdout(&human);
    assert!(text.contains("migrate.lock_timeout"), "{text}");
    assert!(text.contains("(dbsage.toml:3)"), "{text}");
    assert!(!text.contains("s3cret-from-dotenv"), "{text}");
}

#[test]
fn config_check_exit_codes() {
    // Valid, and the one environment is the test's own cluster: 0.
    let p = TestProject::new();
    let out = p.run(&["config", "--check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("environment test: reachable"),
        "{}",
        stdout(&out)
    );

    // An environment nobody listens on: 1, named.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let p = TestProject::with_config(&format!(
        "\n[environments.staging]\nurl = \"postgresql://app:pw-not-shown@127.0.0.1:{port}/app?connect_timeout=2\"\n"
    ));
    let (json, code) = p.json(&["config", "--check"]);
    assert_eq!(code, 1, "{json}");
    let envs = json["environments"].as_array().unwrap();
    let staging = envs.iter().find(|e| e["name"] == "staging").unwrap();
    assert_eq!(staging["reachable"], false);
    assert!(!json.to_string().contains("pw-not-shown"));
    let test = envs.iter().find(|e| e["name"] == "test").unwrap();
    assert_eq!(test["reachable"], true);

    // A misspelt key: 2, located.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dbsage.toml"),
        "[migrations]\ndir = \"migrations\"\n\n[migrate]\nlock_timout = \"5s\"\n",
    )
    .unwrap();
    let out = dbsage()
        .current_dir(dir.path())
        .args(["config", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("dbsage.toml:5:"), "{}", stderr(&out));
    assert!(stderr(&out).contains("lock_timout"), "{}", stderr(&out));

    // An unknown section: 2, with its line.
    std::fs::write(
        dir.path().join("dbsage.toml"),
        "[migrations]\ndir = \"m\"\n\n[migrat]\nlock_timeout = \"5s\"\n",
    )
    .unwrap();
    let out = dbsage()
        .current_dir(dir.path())
        .args(["config", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("dbsage.toml:4: unknown section or key `migrat`"),
        "{}",
        stderr(&out)
    );
}

fn schema(which: &str) -> serde_json::Value {
    let out = dbsage().args(["schema", which]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn toml_as_json(text: &str) -> serde_json::Value {
    serde_json::to_value(toml::from_str::<toml::Value>(text).unwrap()).unwrap()
}

#[test]
fn config_schema_validates_what_init_writes() {
    let validator = jsonschema::validator_for(&schema("config")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dbsage()
        .current_dir(dir.path())
        .args(["init", "--no-check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = std::fs::read_to_string(dir.path().join("dbsage.toml")).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&toml_as_json(&written))
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{written}");

    // The commented environments, once a team uncomments them, are valid too.
    let uncommented: String = written
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with("[environments")
                    || rest.starts_with("url")
                    || rest.starts_with("protected") =>
            {
                rest
            }
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let doc = toml_as_json(&uncommented);
    assert_eq!(doc["environments"]["production"]["protected"], true);
    assert!(validator.is_valid(&doc));

    // A misspelt key, an unknown section and a wrong value are refused, as dbsage refuses them.
    for bad in [
        "[migrate]\nlock_timout = \"5s\"\n",
        "[migrat]\nlock_timeout = \"5s\"\n",
        "[checks]\nrollback = \"sometimes\"\n",
        "[environments.staging]\nprotected = true\n",
    ] {
        assert!(!validator.is_valid(&toml_as_json(bad)), "accepted: {bad}");
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("dbsage.toml"), bad).unwrap();
        let out = dbsage()
            .current_dir(d.path())
            .args(["config", "--check"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "dbsage accepted: {bad}");
    }
    // Workflow sections are objects the workflows read themselves.
    assert!(validator.is_valid(&toml_as_json("[lint]\nexposed_schemas = [\"api\"]\n[local]\npg_version = 17\n[local.server_settings]\nshared_preload_libraries = \"pg_cron\"\n")));
}

#[test]
fn policy_test_schema_validates_the_example_tests() {
    let validator = jsonschema::validator_for(&schema("policy-tests")).unwrap();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/supabase-saas/tests/rls");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // dbsage itself accepts the file …
        dbsage_secure_accepts(&path);
        // … and so does the schema.
        let errors: Vec<String> = validator
            .iter_errors(&toml_as_json(&text))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        checked += 1;
    }
    assert!(checked >= 3);
    for bad in [
        "[[case]]\nname = \"x\"\nsql = \"select 1\"\nexpect = { rows = 1, denied = true }\n",
        "[[case]]\nname = \"x\"\nsql = \"select 1\"\nexpect = { row = 1 }\n",
        "[[case]]\nname = \"x\"\nexpect = { rows = 1 }\n",
        "[[cases]]\nname = \"x\"\nsql = \"select 1\"\nexpect = { rows = 1 }\n",
    ] {
        assert!(!validator.is_valid(&toml_as_json(bad)), "accepted: {bad}");
    }
}

/// The example's files parse with dbsage's own reader (the schema must not be stricter).
fn dbsage_secure_accepts(path: &std::path::Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let file = dbsage_secure::policy_tests::file::parse_test_file(path, &text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(!file.cases.is_empty(), "{}", path.display());
}

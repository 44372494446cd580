//! Adopted histories are judged from the adoption on (issue 9): `init --adopt` records a
//! baseline, files up to it are replayed but not judged, `-- dbsage:not-idempotent <reason>`
//! opts one file out, and a file applied with an audited `--skip-lint` stops failing the gates.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::{stderr, TestProject};
use serde_json::Value;

const NEWEST_ADOPTED: &str = "20231215103000";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A copy of the adopted Supabase "bookings" project (8 migrations the Supabase CLI applied:
/// RLS, auth.uid(), a security-definer helper, seed INSERTs, a RENAME, a DROP COLUMN).
struct Adopted {
    dir: tempfile::TempDir,
}

impl Adopted {
    fn new() -> Adopted {
        let dir = tempfile::tempdir().unwrap();
        let fixture =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/baseline/supabase-bookings");
        copy_dir(&fixture, dir.path());
        Adopted { dir }
    }
    fn root(&self) -> &Path {
        self.dir.path()
    }
    fn run(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_dbsage"))
            .current_dir(self.root())
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .args(args)
            .output()
            .unwrap()
    }
    fn json(&self, args: &[&str]) -> (Value, i32) {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let out = self.run(&all);
        let text = String::from_utf8_lossy(&out.stdout);
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {text}\nstderr: {}", stderr(&out)));
        (value, out.status.code().unwrap_or(-1))
    }
    fn toml(&self) -> String {
        std::fs::read_to_string(self.root().join("dbsage.toml")).unwrap()
    }
    fn migration(&self, file: &str, sql: &str) {
        std::fs::write(self.root().join("supabase/migrations").join(file), sql).unwrap();
    }
}

fn versions(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["version"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn adopted_project_fails_without_its_baseline_and_passes_with_it() {
    let p = Adopted::new();
    let (json, code) = p.json(&["init", "--adopt", "--no-check"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["adopted"]["layout"], "supabase");
    assert_eq!(json["adopted"]["baseline"], NEWEST_ADOPTED, "{json}");
    let with_baseline = p.toml();
    assert!(
        with_baseline.contains(&format!("[project]\nbaseline = \"{NEWEST_ADOPTED}\"")),
        "{with_baseline}"
    );

    // What a user met before: the same project without the baseline fails, first on the
    // DROP COLUMN the linter calls destructive, then on every run-once statement.
    let start = with_baseline.find("[project]").unwrap();
    let end = start + with_baseline[start..].find("\n\n").unwrap() + 2;
    let without = format!("{}{}", &with_baseline[..start], &with_baseline[end..]);
    std::fs::write(p.root().join("dbsage.toml"), &without).unwrap();
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["checks"]["lint"]["status"], "failed", "{json}");
    let (json, code) = p.json(&["migrate", "--local", "--skip-lint"]);
    assert_eq!(code, 1, "{json}");
    let idempotency = &json["checks"]["idempotency"];
    assert_eq!(idempotency["status"], "failed", "{json}");
    let failing = versions(&idempotency["findings"]);
    assert!(failing.len() >= 6, "{failing:?}");
    assert!(
        failing.contains(&"20231104093000".to_string()),
        "{failing:?}"
    );

    // With the baseline: replayed, not judged; the lint error is shown as context.
    std::fs::write(p.root().join("dbsage.toml"), &with_baseline).unwrap();
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["passed"], true);
    assert_eq!(json["applied"].as_array().unwrap().len(), 8);
    let lint = &json["checks"]["lint"];
    assert_ne!(lint["status"], "failed", "{json}");
    let context = lint["context"].as_array().expect("lint context");
    let destructive = context
        .iter()
        .find(|f| f["rule"] == "destructive-statement")
        .expect("the DROP COLUMN finding is kept as context");
    assert_eq!(destructive["version"], "20231201120000");
    assert!(
        destructive["context"]
            .as_str()
            .unwrap()
            .contains(&format!("baseline {NEWEST_ADOPTED}")),
        "{destructive}"
    );
    let idempotency = &json["checks"]["idempotency"];
    assert_eq!(idempotency["status"], "passed", "{json}");
    assert!(
        idempotency["note"]
            .as_str()
            .unwrap()
            .starts_with("8 files at or before the baseline"),
        "{idempotency}"
    );

    // The human output labels the context as not failing.
    let out = p.run(&["migrate", "--local"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("lint findings in files at or before the baseline 20231215103000"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("do not fail the run"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn files_after_the_baseline_are_checked_unless_they_opt_out_with_a_reason() {
    let p = Adopted::new();
    let (json, code) = p.json(&["init", "--adopt", "--no-check"]);
    assert_eq!(code, 0, "{json}");
    let file = "20240110090000_enterprise_plan.sql";
    p.migration(
        file,
        "insert into public.plans (slug, name, price_cents) values ('enterprise', 'Enterprise', 9900);\n",
    );
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 1, "{json}");
    let idempotency = &json["checks"]["idempotency"];
    assert_eq!(idempotency["status"], "failed", "{json}");
    assert_eq!(versions(&idempotency["findings"]), ["20240110090000"]);
    let message = idempotency["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("[SQLSTATE 23505]"), "{message}");
    assert!(message.contains("use ON CONFLICT DO NOTHING"), "{message}");
    assert!(!message.contains("clean the duplicates"), "{message}");

    let reason = "one-off price list change, shipped with release 4.2";
    p.migration(
        file,
        &format!("-- dbsage:not-idempotent {reason}\ninsert into public.plans (slug, name, price_cents) values ('enterprise', 'Enterprise', 9900);\n"),
    );
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 0, "{json}");
    let context = &json["checks"]["idempotency"]["context"][0];
    assert_eq!(context["version"], "20240110090000");
    assert_eq!(context["message"], format!("not re-run: {reason}"));
    let out = p.run(&["migrate", "--local"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("context, not failing: 20240110090000_enterprise_plan (-- dbsage:not-idempotent): not re-run: {reason}")),
        "{stdout}"
    );

    // An opt-out must say why.
    p.migration(
        file,
        "-- dbsage:not-idempotent\ninsert into public.plans (slug, name, price_cents) values ('enterprise', 'Enterprise', 9900);\n",
    );
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 1, "{json}");
    let finding = &json["checks"]["idempotency"]["findings"][0];
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("gives no reason"),
        "{finding}"
    );
    assert_eq!(finding["line"], 1);
}

#[test]
fn a_file_applied_with_an_audited_skip_lint_stops_failing_the_gates() {
    let p = TestProject::with_config("protected = true\n");
    p.migration(
        "20260101000000",
        "accounts",
        "create table if not exists accounts (id bigint generated always as identity primary key, legacy_code text);\n",
    );
    p.migration(
        "20260102000000",
        "drop_legacy_code",
        "alter table accounts drop column if exists legacy_code;\n",
    );
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["checks"]["lint"]["status"], "failed");
    let (json, code) = p.json(&["migrate", "--local", "--skip-lint"]);
    assert_eq!(code, 0, "{json}");
    let out = p.run(&["migrate", "--yes", "--skip-lint"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(p.events().iter().any(|e| e.1 == "lint_skipped"));
    let recorded = std::fs::read_to_string(p.root().join("dbsage.lint-skipped.toml")).unwrap();
    assert!(recorded.contains("20260102000000"), "{recorded}");
    assert!(!recorded.contains("20260101000000"), "{recorded}");

    // The next migration is clean: neither gate asks for --skip-lint again.
    p.migration(
        "20260103000000",
        "notes",
        "create table if not exists notes (id bigint generated always as identity primary key, body text not null);\n",
    );
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 0, "{json}");
    let context = &json["checks"]["lint"]["context"][0];
    assert_eq!(context["version"], "20260102000000");
    assert!(
        context["context"]
            .as_str()
            .unwrap()
            .contains("applied to `test` with an audited --skip-lint"),
        "{context}"
    );
    let (json, code) = p.json(&["migrate", "--yes"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(versions(&json["applied"]), ["20260103000000"]);

    // A pending file with a lint error still stops the protected gate.
    p.migration(
        "20260104000000",
        "drop_notes",
        "drop table if exists notes;\n",
    );
    let out = p.run(&["migrate", "--yes", "--skip-local-check"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("20260104000000_drop_notes.sql"), "{err}");
    assert!(
        !err.contains("20260102000000_drop_legacy_code.sql"),
        "{err}"
    );
}

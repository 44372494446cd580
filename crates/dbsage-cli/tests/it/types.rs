//! `dbsage gen types`: TypeScript compiled by `tsc --strict` against a supabase-js-style usage
//! file, Rust compiled in a throwaway crate (offline) that deserialises real rows, `--check`
//! fresh and stale, `--env` reading a live database.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{stderr, stdout, TestProject};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/types");

/// A project (default environment: its own throwaway cluster) with the shop migrations.
fn shop() -> TestProject {
    let project = TestProject::new();
    let migrations = Path::new(FIXTURES).join("shop/migrations");
    for entry in std::fs::read_dir(migrations).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(
            &path,
            project
                .root()
                .join("migrations")
                .join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    project
}

fn gen(project: &TestProject, args: &[&str]) -> std::process::Output {
    let mut all = vec!["gen", "types"];
    all.extend_from_slice(args);
    project.run(&all)
}

/// `tsc` from dbsage's npm cache (installed by `./x test`), installing it there when missing;
/// `None` only when npm cannot reach its registry.
fn tsc() -> Option<PathBuf> {
    let cache = Path::new("/var/cache/dbsage/npm");
    let tsc = cache.join("node_modules/.bin/tsc");
    if tsc.exists() {
        return Some(tsc);
    }
    let installed = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(cache)
        .arg("typescript@5")
        .status()
        .is_ok_and(|s| s.success());
    if installed && tsc.exists() {
        return Some(tsc);
    }
    eprintln!(
        "\n\n!!!!! SKIPPED: npm could not install typescript into {} (offline?): the generated \
         TypeScript was NOT compiled. Run `./x test` online once. !!!!!\n",
        cache.display()
    );
    None
}

fn run_tsc(tsc: &Path, dir: &Path, file: &str) -> std::process::Output {
    Command::new(tsc)
        .current_dir(dir)
        .args([
            "--strict", "--noEmit", "--target", "es2020", "--module", "commonjs", "--lib", "es2020",
        ])
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn typescript_compiles_strict_against_a_supabase_style_client() {
    let project = shop();
    let ts = project.root().join("ts");
    std::fs::create_dir(&ts).unwrap();
    let out = gen(
        &project,
        &["--lang", "typescript", "--out", "ts/database.ts"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(ts.join("database.ts")).unwrap();
    assert!(text.contains("export type Database = {"), "{text}");
    for file in ["client.ts", "usage.ts", "wrong.ts"] {
        std::fs::copy(Path::new(FIXTURES).join("ts").join(file), ts.join(file)).unwrap();
    }
    let Some(tsc) = tsc() else { return };

    let ok = run_tsc(&tsc, &ts, "usage.ts");
    assert!(
        ok.status.success(),
        "usage.ts must compile:\n{}{}\n--- database.ts:\n{text}",
        stdout(&ok),
        stderr(&ok)
    );

    // With inventory generated too, its enum is referenced instead of inlined; same types.
    let out = gen(
        &project,
        &[
            "--lang",
            "typescript",
            "--schema",
            "public",
            "--schema",
            "inventory",
            "--out",
            "ts/database.ts",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let both = std::fs::read_to_string(ts.join("database.ts")).unwrap();
    assert!(both.contains("kinds: Database[\"inventory\"][\"Enums\"][\"warehouse_kind\"][] | null"));
    let ok = run_tsc(&tsc, &ts, "usage.ts");
    assert!(ok.status.success(), "{}{}", stdout(&ok), stderr(&ok));

    let wrong = run_tsc(&tsc, &ts, "wrong.ts");
    let errors = stdout(&wrong);
    assert!(!wrong.status.success(), "wrong.ts must not compile");
    assert!(
        errors.contains(
            "wrong.ts(9,9): error TS2322: Type 'string | null' is not assignable to type 'string'"
        ),
        "the LEFT JOIN side is nullable: {errors}"
    );
    assert!(
        errors.contains("wrong.ts(10,80): error TS2322: Type '\"lost\"' is not assignable"),
        "enum labels are a union: {errors}"
    );
}

#[test]
fn rust_compiles_offline_and_deserialises_real_rows() {
    let project = shop();
    let out = project.run(&["migrate"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let mut client = project.client();
    client
        .batch_execute(
            "INSERT INTO customers (email, display_name, tier, shipping_address, tags, settings)
             VALUES ('grace@example.com', 'Grace', 'pro', ROW('1 Harbour St', 'Oslo', '0150'),
                     '{navy,vip}', '{\"theme\": \"dark\"}');
             INSERT INTO orders (customer_id, status, quantity, unit_price)
             SELECT id, 'paid', 3, 19.99 FROM customers;
             INSERT INTO products (sku, \"type\", \"Order Id\", small, weight_kg, price_cents,
                 short_name, opens_at, restock_every, thumbnail, labels, scores, kinds, statuses,
                 last_address)
             VALUES ('LMP-1', 'lamp', 42, 7, 1.5, 1999, 'Desk lamp', '08:30', '7 days',
                 '\\x0102', '{desk,led}', '{4,5}', '{central}', '{paid,shipped}',
                 ROW('2 Quay Rd', NULL, NULL));",
        )
        .unwrap();
    let mut row = |sql: &str| -> String { client.query_one(sql, &[]).unwrap().get(0) };
    let customer = row("SELECT row_to_json(c)::text FROM customers c");
    let order = row("SELECT row_to_json(o)::text FROM orders o");
    let summary = row("SELECT row_to_json(s)::text FROM order_summaries s");
    let product = row("SELECT row_to_json(p)::text FROM products p");

    let krate = tempfile::tempdir().unwrap();
    std::fs::create_dir(krate.path().join("src")).unwrap();
    let fixture = Path::new(FIXTURES).join("rust");
    std::fs::copy(
        fixture.join("Cargo.toml.in"),
        krate.path().join("Cargo.toml"),
    )
    .unwrap();
    std::fs::copy(fixture.join("main.rs"), krate.path().join("src/main.rs")).unwrap();
    let db_rs = krate.path().join("src/db.rs");
    // Two schemas: public's products.kinds refers to inventory's enum across modules.
    let out = gen(
        &project,
        &[
            "--lang",
            "rust",
            "--env",
            "test",
            "--schema",
            "public",
            "--schema",
            "inventory",
            "--out",
            db_rs.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // serde and serde_json come from cargo's local registry: no network.
    let run = Command::new(env!("CARGO"))
        .current_dir(krate.path())
        .args(["run", "--offline", "--quiet", "--"])
        .args([&customer, &order, &summary, &product])
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("types-rust-check"),
        )
        .env("RUSTFLAGS", "-D warnings")
        .output()
        .unwrap();
    let printed = stdout(&run);
    assert!(
        run.status.success(),
        "{printed}{}\n--- db.rs:\n{}",
        stderr(&run),
        std::fs::read_to_string(&db_rs).unwrap()
    );
    let expected = [
        "customer 1 grace@example.com nickname=None tier=Pro tags=[\"navy\", \"vip\"] city=Some(\"Oslo\") theme=\"dark\"",
        "order status=Paid quantity=3 unit_price=19.99 total=Some(59.97) coupon=None",
        "summary Grace <grace@example.com> Paid",
        "product LMP-1 position=0 type=lamp order_id=Some(42) small=7 weight=Some(1.5) cents=1999 opens=Some(\"08:30:00\") every=Some(\"7 days\") thumb=Some(\"\\\\x0102\") labels=Some([\"desk\", \"led\"]) scores=[4, 5] kinds=Some([Central]) statuses=Some([Paid, Shipped]) street=Some(\"2 Quay Rd\")",
        "insert {\"display_name\":\"Ada\",\"email\":\"ada@example.com\",\"tier\":\"enterprise\"}",
        "update {\"avatarUrl\":\"https://example.com/a.png\",\"bio\":null}",
        "args {\"customer\":1}",
    ];
    assert_eq!(printed.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn check_is_fresh_until_a_migration_changes_the_schema() {
    let project = shop();
    let out = gen(&project, &["--lang", "typescript", "--out", "database.ts"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written = std::fs::read_to_string(project.root().join("database.ts")).unwrap();

    let check = ["--lang", "typescript", "--out", "database.ts", "--check"];
    let fresh = gen(&project, &check);
    assert_eq!(fresh.status.code(), Some(0), "{}", stderr(&fresh));
    let (json, code) = project.json(&[&["gen", "types"][..], &check].concat());
    assert_eq!(code, 0);
    assert_eq!(json["fresh"], true);

    // Rust output is not what the TypeScript file holds.
    let other_lang = gen(
        &project,
        &["--lang", "rust", "--out", "database.ts", "--check"],
    );
    assert_eq!(other_lang.status.code(), Some(1));

    project.migration(
        "20250103090000",
        "loyalty",
        "ALTER TABLE customers ADD COLUMN loyalty_points integer NOT NULL DEFAULT 0;",
    );
    let stale = gen(&project, &check);
    assert_eq!(stale.status.code(), Some(1), "{}", stderr(&stale));
    let message = stderr(&stale);
    assert!(message.contains("database.ts is stale"), "{message}");
    assert!(
        message.contains("dbsage gen types --lang typescript --out database.ts"),
        "{message}"
    );
    let (json, code) = project.json(&[&["gen", "types"][..], &check].concat());
    assert_eq!((code, &json["fresh"]), (1, &serde_json::json!(false)));
    assert_eq!(
        std::fs::read_to_string(project.root().join("database.ts")).unwrap(),
        written,
        "--check never writes"
    );

    let out = gen(&project, &["--lang", "typescript", "--out", "database.ts"]);
    assert!(out.status.success());
    assert!(std::fs::read_to_string(project.root().join("database.ts"))
        .unwrap()
        .contains("loyalty_points?: number"));
    assert_eq!(gen(&project, &check).status.code(), Some(0));
}

#[test]
fn env_source_matches_the_replayed_history_and_output_is_deterministic() {
    let project = shop();
    let out = project.run(&["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let replayed = gen(&project, &["--lang", "typescript"]);
    let live = gen(&project, &["--lang", "typescript", "--env", "test"]);
    assert!(
        replayed.status.success() && live.status.success(),
        "{}",
        stderr(&live)
    );
    assert_eq!(stdout(&replayed), stdout(&live));
    assert!(
        stderr(&live).contains("→ test ("),
        "names the database first: {}",
        stderr(&live)
    );
    let again = gen(&project, &["--lang", "typescript", "--env", "test"]);
    assert_eq!(stdout(&live), stdout(&again));

    let missing = gen(
        &project,
        &["--lang", "rust", "--env", "test", "--schema", "nope"],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("schema `nope` does not exist"),
        "{}",
        stderr(&missing)
    );

    let no_out = project.run(&["gen", "types", "--lang", "rust", "--check"]);
    assert_eq!(no_out.status.code(), Some(2), "--check needs --out");
}

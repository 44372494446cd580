//! Bad input never crashes the linter: huge files, deep nesting, empty files, arbitrary bytes.

use dbsage_lint::{lint, LintConfig, SourceFile};
use proptest::prelude::*;

fn file(text: String) -> Vec<SourceFile> {
    vec![SourceFile {
        path: "migrations/20240101000000_x.sql".into(),
        text,
    }]
}

#[test]
fn empty_file_has_no_findings() {
    assert!(lint(&file(String::new()), &LintConfig::default())
        .unwrap()
        .is_empty());
    assert!(lint(&[], &LintConfig::default()).unwrap().is_empty());
}

#[test]
fn ten_megabyte_file_is_linted() {
    let statement =
        "insert into t (a, b) values (1, 'some text that makes the file grow quickly');\n";
    let mut text = String::from("create table if not exists t (a int, b text);\n");
    while text.len() < 10 * 1024 * 1024 {
        text.push_str(statement);
    }
    text.push_str("alter table t add column c int not null;\n");
    let findings = lint(&file(text), &LintConfig::default()).unwrap();
    assert!(findings.iter().any(|f| f.rule == "missing-primary-key"));
}

#[test]
fn five_thousand_nested_parentheses_do_not_crash() {
    let depth = 5000;
    let text = format!(
        "select {}1{};\ncreate table t (a int);\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    // Either a clear diagnostic or a correct result; the point is that it returns.
    let findings = lint(&file(text), &LintConfig::default()).unwrap();
    for f in &findings {
        assert!(!f.message.is_empty());
    }
    // The statement too deep to analyse is left out; the others are still checked.
    assert!(
        findings.iter().any(|f| f.rule == "missing-primary-key"),
        "{findings:#?}"
    );
}

#[test]
fn moderately_nested_expressions_are_analysed() {
    let depth = 200;
    let text = format!(
        "create table t (a int check ({}a > 0{}));\nselect 1;",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let findings = lint(&file(text), &LintConfig::default()).unwrap();
    assert!(
        findings.iter().any(|f| f.rule == "missing-primary-key"),
        "{findings:#?}"
    );
}

#[test]
fn a_syntax_error_does_not_stop_other_files() {
    let files = vec![
        SourceFile {
            path: "migrations/20240101000000_a.sql".into(),
            text: "create table (;".into(),
        },
        SourceFile {
            path: "migrations/20240101000001_b.sql".into(),
            text: "drop table t;".into(),
        },
    ];
    let findings = lint(&files, &LintConfig::default()).unwrap();
    assert!(findings
        .iter()
        .any(|f| f.rule == "syntax-error" && f.line == 1));
    assert!(findings.iter().any(|f| f.rule == "destructive-statement"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn never_panics_on_arbitrary_text(text in "\\PC{0,400}") {
        let _ = lint(&file(text), &LintConfig::default()).unwrap();
    }

    #[test]
    fn never_panics_on_sql_like_text(parts in proptest::collection::vec(
        prop_oneof![
            Just("create table t (a int references p(id));"), Just("do $$ begin "), Just(" end $$;"),
            Just("if not exists (select 1 from pg_class) then "), Just("end if;"), Just("-- dbsage:ignore "),
            Just("destructive-statement"), Just("\n"), Just("alter table t add column b int not null;"),
            Just("'"), Just("$$"), Just("("), Just(")"), Just(";"), Just("create policy p on t using (auth.uid() = a);"),
            Just("drop table t;"), Just("é"), Just("/*"), Just("*/"),
        ],
        0..30,
    )) {
        let _ = lint(&file(parts.concat()), &LintConfig::default()).unwrap();
    }
}

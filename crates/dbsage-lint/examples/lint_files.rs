//! Lints the SQL files given on the command line (in name order) and prints JSON findings.
//! Used by `bench/lint.sh` to time the library when the CLI is not at hand:
//! `cargo run --release -p dbsage-lint --example lint_files -- migrations/*.sql`.

fn main() {
    let mut paths: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    paths.sort();
    let files: Vec<dbsage_lint::SourceFile> = paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                eprintln!("{}: {e}", path.display());
                std::process::exit(2);
            });
            dbsage_lint::SourceFile { path, text }
        })
        .collect();
    let findings = match dbsage_lint::lint(&files, &dbsage_lint::LintConfig::default()) {
        Ok(findings) => findings,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    print!("{}", dbsage_lint::render_json(&findings));
    std::process::exit(i32::from(dbsage_lint::has_errors(&findings)));
}

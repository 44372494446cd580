//! Set up: `init` in the current folder, optionally a first migration, then the local test.

use super::{ask, run_step, Step};
use crate::output::Out;

pub fn run(out: &Out) -> i32 {
    let check = ask::confirm(
        "Check the installed PostgreSQL and the environments after creating the files?",
        true,
    );
    let mut init = vec!["init"];
    if !check {
        init.push("--no-check");
    }
    let mut steps = vec![Step::new(
        "create dbsage.toml, migrations/ and .env.example",
        &init,
    )];
    let name = ask::input(
        "Name of a first migration (e.g. create_users; empty to skip)",
        true,
    );
    if !name.is_empty() {
        steps.push(Step::new(
            "create the first migration file",
            &["new", name.as_str()],
        ));
    }
    let mut ran = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let code = run_step(out, i + 1, steps.len(), step);
        ran.push(step);
        if code != 0 {
            return super::finish(out, &ran, code);
        }
    }
    err_line!(
        "\nWrite your SQL in the migration file, then test it on a throwaway PostgreSQL:\n  dbsage migrate --local"
    );
    super::finish(out, &ran, 0)
}

//! Migrate: pending migrations on a throwaway PostgreSQL, or the plan then the real run on an
//! environment.

use super::{ask, environment_names, run_step, Step};
use crate::output::Out;

const LOCAL: &str = "test every migration on a throwaway PostgreSQL (--local)";

pub fn run(out: &Out) -> i32 {
    let names = environment_names();
    let mut items: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let default = if i == 0 { " (default)" } else { "" };
            format!("apply pending migrations to {n}{default}")
        })
        .collect();
    items.push(LOCAL.to_string());
    let chosen = ask::select("Where?", &items, 0);
    let Some(env) = names.get(chosen) else {
        let step = Step::new(LOCAL, &["migrate", "--local"]);
        let code = run_step(out, 1, 1, &step);
        return super::finish(out, &[&step], code);
    };
    apply(out, env, 1, &[])
}

/// The plan (`--dry-run`), a confirmation, then the run; steps numbered from `first`, after
/// the `earlier` steps that already ran.
pub fn apply(out: &Out, env: &str, first: usize, earlier: &[&Step]) -> i32 {
    let total = first + 1;
    let plan = Step::new(
        format!("what would run on {env}"),
        &["migrate", "--env", env, "--dry-run"],
    );
    let mut ran = earlier.to_vec();
    let code = run_step(out, first, total, &plan);
    ran.push(&plan);
    if code != 0 || !ask::confirm(&format!("Apply these migrations to {env}?"), true) {
        return super::finish(out, &ran, code);
    }
    let apply = Step::new(
        format!("apply the pending migrations to {env}"),
        &["migrate", "--env", env],
    );
    let code = run_step(out, total, total, &apply);
    ran.push(&apply);
    super::finish(out, &ran, code)
}

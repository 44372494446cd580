//! Deploy: the local test, a backup when wanted, then the plan and the run (with the
//! environment's own gates).

use super::{ask, choose_environment, run_step, Step};
use crate::output::Out;

pub fn run(out: &Out) -> i32 {
    let env = choose_environment("Deploy to which environment?");
    let backup = ask::confirm(&format!("Take a backup of {env} first?"), true);
    let mut ran = Vec::new();
    let local = Step::new(
        "test every migration on a throwaway PostgreSQL",
        &["migrate", "--local"],
    );
    let backup_step = Step::new(format!("back up {env}"), &["backup", "--env", &env]);
    let mut before = vec![&local];
    if backup {
        before.push(&backup_step);
    }
    let total = before.len() + 2;
    for (i, step) in before.into_iter().enumerate() {
        let code = run_step(out, i + 1, total, step);
        ran.push(step);
        if code != 0 {
            return super::finish(out, &ran, code);
        }
    }
    let first = total - 1;
    super::migrate::apply(out, &env, first, &ran)
}

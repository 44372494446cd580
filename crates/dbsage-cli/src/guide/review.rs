//! Review a change: is the schema change needed and minimal? Lint first (is it safe to run),
//! then `dbsage review --pending` (what it adds, red flags, the smallest alternative).

use super::{ask, choose_environment, run_steps, Step};
use crate::output::Out;

pub fn run(out: &Out) -> i32 {
    err_line!(
        "`dbsage review --pending` reads the pending migrations against the existing schema and\n\
         reports what they add, red flags (many new tables or columns, tracking tables, columns\n\
         for later, overlap with an existing table) and the smallest alternative."
    );
    let env = choose_environment("Pending on which database?");
    if !ask::confirm("Lint and review the pending migrations now?", true) {
        return 0;
    }
    run_steps(
        out,
        &[
            Step::new("check the migration files are safe to run", &["lint"]),
            Step::new(
                "is the change needed and minimal?",
                &["review", "--pending", "--env", &env],
            ),
        ],
    )
}

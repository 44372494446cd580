//! Review a change: `dbsage review` is its own command (issue 15); until it is on this branch the
//! flow says what it does and runs the linter, the part of the review that exists.

use super::{ask, run_steps, Step};
use crate::output::Out;

pub fn run(out: &Out) -> i32 {
    err_line!(
        "`dbsage review --pending` reads the pending migrations against the existing schema and\n\
         reports what they add, red flags (many new tables or columns, tracking tables, columns\n\
         for later, overlap with an existing table) and the smallest alternative."
    );
    if !ask::confirm("Lint the migration files now?", true) {
        return 0;
    }
    run_steps(
        out,
        &[Step::new(
            "check the migrations against the review checklist",
            &["lint"],
        )],
    )
}

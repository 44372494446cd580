//! Tune performance: findings, monitoring checks, and optionally the real workload.

use super::{ask, choose_environment, run_reports, Step};
use crate::output::Out;

pub fn run(out: &Out) -> i32 {
    let env = choose_environment("Which database?");
    let mut steps = vec![
        Step::new(
            "index, bloat, statistics and settings findings",
            &["tune", "--env", &env],
        ),
        Step::new("monitoring checks", &["health", "--env", &env]),
    ];
    if ask::confirm(
        "Also propose indexes proven on the real workload (needs pg_stat_statements)?",
        false,
    ) {
        steps.push(Step::new(
            "indexes proven on the workload",
            &["tune", "queries", "--env", &env],
        ));
    }
    run_reports(out, &steps)
}

//! Advanced: every command, then one to run.

use clap::CommandFactory;

use super::{ask, run_step, Step};
use crate::output::Out;

pub fn run(out: &Out) -> i32 {
    err_text!("{}\n", crate::Cli::command().render_help());
    let line = ask::input("Command to run, without `dbsage` (empty to quit)", true);
    if line.is_empty() {
        return 0;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let step = Step::new("your command", &words);
    let code = run_step(out, 1, 1, &step);
    super::finish(out, &[&step], code)
}

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
    // Split as a shell would: the "Next time" line quotes arguments the same way.
    let words = match shell_words::split(&line) {
        Ok(words) => words,
        Err(e) => {
            out.error_text(
                &format!("{e} in `{line}`"),
                Some("close the quote, then run it again"),
            );
            return 2;
        }
    };
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let step = Step::new("your command", &words);
    let code = run_step(out, 1, 1, &step);
    super::finish(out, &[&step], code)
}

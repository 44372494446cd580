//! Import data: a dry run that validates every row, then the merge.

use super::{ask, choose_environment, run_step, Step};
use crate::output::Out;

pub fn run(out: &Out) -> i32 {
    let file = ask::input("File to load (CSV, TSV, NDJSON or JSON)", false);
    let table = ask::input("Into which table (schema.table or table)", false);
    let env = choose_environment("Into which environment?");
    let args = [
        "import",
        file.as_str(),
        "--into",
        table.as_str(),
        "--env",
        env.as_str(),
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let check = Step::new("validate every row without merging", &dry);
    let code = run_step(out, 1, 2, &check);
    if code != 0 || !ask::confirm("Merge the rows now?", true) {
        return super::finish(out, &[&check], code);
    }
    let merge = Step::new("merge the rows in one transaction", &args);
    let code = run_step(out, 2, 2, &merge);
    super::finish(out, &[&check, &merge], code)
}

//! Secure tables: the RLS audit, the policy tests when there are some, the coverage matrix.

use super::{ask, run_reports, Step};
use crate::output::Out;

const THROWAWAY: &str = "a throwaway database built from the migrations (safe)";

pub fn run(out: &Out) -> i32 {
    let mut items = vec![THROWAWAY.to_string()];
    items.extend(super::environment_names());
    let chosen = ask::select("Which database?", &items, 0);
    let env: Vec<&str> = match chosen {
        0 => vec![],
        i => vec!["--env", items[i].as_str()],
    };
    let with_env = |words: &[&str]| -> Vec<String> {
        words
            .iter()
            .chain(env.iter())
            .map(|w| w.to_string())
            .collect()
    };
    let mut steps = vec![Step {
        what: "audit row-level security and privileges".into(),
        args: with_env(&["secure", "audit"]),
    }];
    if std::path::Path::new("tests/rls").is_dir() {
        steps.push(Step {
            what: "run the policy tests in tests/rls as real users".into(),
            args: with_env(&["secure", "test"]),
        });
    }
    steps.push(Step {
        what: "role × table × command coverage".into(),
        args: with_env(&["secure", "coverage"]),
    });
    run_reports(out, &steps)
}

//! Guided workflows: `dbsage` alone on a terminal. A flow asks only what it needs, then runs
//! the very command lines a user would type (parsed by the same clap definitions and dispatched
//! by `crate::run`), so nothing is implemented twice; it ends with the lines to type next time.

mod advanced;
mod ask;
mod deploy;
mod import;
mod migrate;
mod review;
mod secure;
mod setup;
mod tune;

use clap::Parser;

use crate::output::{Out, Style};

/// One entry of the menu and of `dbsage help workflows`.
pub struct Workflow {
    pub title: &'static str,
    pub what: &'static str,
    pub commands: &'static str,
    run: fn(&Out) -> i32,
}

pub const WORKFLOWS: &[Workflow] = &[
    Workflow {
        title: "set up",
        what: "a project in this folder: dbsage.toml, migrations/, a first migration",
        commands: "dbsage init; dbsage new NAME; dbsage migrate --local",
        run: setup::run,
    },
    Workflow {
        title: "review a change",
        what: "is the proposed migration needed and minimal?",
        commands: "dbsage lint; dbsage review --pending --env E",
        run: review::run,
    },
    Workflow {
        title: "migrate",
        what: "test pending migrations locally, then apply them to an environment",
        commands:
            "dbsage migrate --local; dbsage migrate --env E --dry-run; dbsage migrate --env E",
        run: migrate::run,
    },
    Workflow {
        title: "import data",
        what: "load a CSV/TSV/NDJSON/JSON file into a table (dry run first)",
        commands: "dbsage import FILE --into TABLE --dry-run; dbsage import FILE --into TABLE",
        run: import::run,
    },
    Workflow {
        title: "secure tables",
        what: "row-level security audit, policy tests as real users, coverage",
        commands: "dbsage secure audit; dbsage secure test; dbsage secure coverage",
        run: secure::run,
    },
    Workflow {
        title: "tune performance",
        what: "index, bloat and statistics findings, monitoring checks, the real workload",
        commands: "dbsage tune --env E; dbsage health --env E; dbsage tune queries --env E",
        run: tune::run,
    },
    Workflow {
        title: "deploy",
        what: "test locally, back up, show the plan, apply to a (protected) environment",
        commands: "dbsage migrate --local; dbsage backup --env E; dbsage migrate --env E",
        run: deploy::run,
    },
    Workflow {
        title: "advanced",
        what: "every command",
        commands: "dbsage --help",
        run: advanced::run,
    },
];

/// What `dbsage` prints without a terminal, and `dbsage help workflows`.
pub fn listing() -> String {
    let mut text =
        String::from("dbsage workflows (run `dbsage` on a terminal to be guided through one):\n\n");
    for w in WORKFLOWS {
        text.push_str(&format!(
            "  {:<18}{}\n  {:<18}{}\n\n",
            w.title, w.what, "", w.commands
        ));
    }
    text
}

/// `dbsage` with no arguments: the menu on a terminal, the listing otherwise.
pub fn start(out: &Out) -> i32 {
    use std::io::IsTerminal;
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        out_text!("{}", listing());
        return 0;
    }
    let items: Vec<String> = WORKFLOWS
        .iter()
        .map(|w| format!("{:<18}{}", w.title, w.what))
        .collect();
    let chosen = ask::select("What do you want to do?", &items, 0);
    (WORKFLOWS[chosen].run)(out)
}

/// One command of a flow: what it does, and its arguments after `dbsage`.
pub struct Step {
    pub what: String,
    pub args: Vec<String>,
}

impl Step {
    pub fn new(what: impl Into<String>, args: &[&str]) -> Step {
        Step {
            what: what.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn command_line(&self) -> String {
        let quoted: Vec<String> = self.args.iter().map(|a| shell_quote(a)).collect();
        format!("dbsage {}", quoted.join(" "))
    }
}

/// Runs one step through the same parser and dispatch as the command line; its exit code.
pub fn run_step(out: &Out, number: usize, total: usize, step: &Step) -> i32 {
    err_line!(
        "\n{} {}\n  $ {}",
        out.paint_err(&format!("step {number}/{total}:"), Style::Bold),
        step.what,
        step.command_line()
    );
    let argv = std::iter::once("dbsage".to_string()).chain(step.args.iter().cloned());
    match crate::Cli::try_parse_from(argv) {
        Ok(crate::Cli {
            command: Some(command),
            global,
        }) => crate::run(command, &Out::new(&global)),
        Ok(_) => 2,
        Err(e) => {
            out.error_text(&e.to_string(), None);
            2
        }
    }
}

/// Runs the steps in order, stopping at the first that fails, then prints the command lines
/// that did the same thing (the ones that ran).
pub fn run_steps(out: &Out, steps: &[Step]) -> i32 {
    let mut ran = Vec::new();
    let mut code = 0;
    for (i, step) in steps.iter().enumerate() {
        code = run_step(out, i + 1, steps.len(), step);
        ran.push(step);
        if code != 0 {
            break;
        }
    }
    finish(out, &ran, code)
}

/// Runs report steps (audits, findings) in order: exit 1 means a step found something, which
/// is what the flow is for, so the next report still runs; any other failure stops the flow.
pub fn run_reports(out: &Out, steps: &[Step]) -> i32 {
    let mut ran = Vec::new();
    let mut found = false;
    for (i, step) in steps.iter().enumerate() {
        let code = run_step(out, i + 1, steps.len(), step);
        ran.push(step);
        match code {
            0 => {}
            1 => found = true,
            _ => return finish(out, &ran, code),
        }
    }
    if !found {
        return finish(out, &ran, 0);
    }
    err_line!(
        "\n{} (exit 1): each says how to fix it",
        out.paint_err("findings above", Style::Bold)
    );
    next_time(&ran);
    1
}

/// "Next time: …" with the command lines of the steps that ran.
pub fn finish(out: &Out, ran: &[&Step], code: i32) -> i32 {
    if code != 0 {
        err_line!(
            "\n{} (exit {code}); fix what it says, then run it again",
            out.paint_err("stopped: that step failed", Style::Bold)
        );
    }
    next_time(ran);
    code
}

fn next_time(ran: &[&Step]) {
    if !ran.is_empty() {
        err_line!("\nNext time, the same without questions:");
        for step in ran {
            err_line!("  {}", step.command_line());
        }
    }
}

/// Environment names to offer: the default first, then `dev` and the configured ones.
pub fn environment_names() -> Vec<String> {
    let Ok(project) = crate::commands::project() else {
        return vec!["dev".into()];
    };
    let default = project.config.migrate.default_environment.clone();
    let mut names = vec![default];
    for name in std::iter::once("dev").chain(project.config.environments.keys().map(String::as_str))
    {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// Asks which environment; the default one is preselected and marked.
pub fn choose_environment(question: &str) -> String {
    let names = environment_names();
    let items: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            if i == 0 {
                format!("{n} (default)")
            } else {
                n.clone()
            }
        })
        .collect();
    names[ask::select(question, &items, 0)].clone()
}

/// Quotes an argument for a POSIX shell when it needs it.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quotes_only_what_the_shell_would_split() {
        assert_eq!(shell_quote("migrate"), "migrate");
        assert_eq!(shell_quote("my file.csv"), "'my file.csv'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}

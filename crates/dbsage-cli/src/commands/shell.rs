//! `dbsage completions SHELL` and `dbsage man`: generated from the clap definitions, so they
//! never drift from the flags. Bash and zsh also complete environment names after `--env`
//! by asking `dbsage config --env-names` in the project the user is in.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use clap_complete::Shell;
use dbsage_core::{Error, Result};

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write dbsage.1 and one page per subcommand (dbsage-migrate.1, …) into this directory
    /// instead of printing dbsage.1.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Completes `--env` in bash: the project's environments, then clap's own completion.
const BASH_ENV_HOOK: &str = r#"
# dbsage: environment names from the nearest dbsage.toml after --env / -e.
_dbsage_with_environments() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    if [[ "$prev" == "=" && $COMP_CWORD -ge 2 ]]; then
        prev="${COMP_WORDS[COMP_CWORD-2]}"
    fi
    if [[ "$prev" == "--env" || "$prev" == "-e" ]]; then
        local names
        names="$(command dbsage config --env-names 2>/dev/null)"
        COMPREPLY=($(compgen -W "$names" -- "$cur"))
        return 0
    fi
    _dbsage "$@"
}
complete -F _dbsage_with_environments -o bashdefault -o default dbsage
"#;

/// Completes `--env` in zsh; replaces the generated `_default` action of `--env`.
const ZSH_ENV_FUNCTION: &str = r#"
# dbsage: environment names from the nearest dbsage.toml.
(( $+functions[_dbsage_environments] )) ||
_dbsage_environments() {
    local -a names
    names=(${(f)"$(command dbsage config --env-names 2>/dev/null)"})
    _describe -t environments 'environment' names
}
"#;

pub fn run_completions(args: CompletionsArgs, mut command: clap::Command) -> Result<i32> {
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
        CompletionShell::Powershell => Shell::PowerShell,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "dbsage", &mut script);
    let mut script = String::from_utf8(script).expect("clap_complete writes UTF-8");
    match args.shell {
        CompletionShell::Bash => script.push_str(BASH_ENV_HOOK),
        CompletionShell::Zsh => script = zsh_with_environments(&script),
        CompletionShell::Fish | CompletionShell::Powershell => {}
    }
    out_text!("{script}");
    Ok(0)
}

/// clap writes `--env` as `'--env=[help]:ENV:_default'`; the environments function takes over
/// `_default` for that option only. The function is defined before `compdef` runs it.
fn zsh_with_environments(script: &str) -> String {
    let mut out = String::with_capacity(script.len() + ZSH_ENV_FUNCTION.len());
    for line in script.lines() {
        let is_env_option = line.contains("'-e+[") || line.contains("'--env=[");
        if is_env_option {
            out.push_str(&line.replace(":ENV:_default'", ":ENV:_dbsage_environments'"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    match out.rfind("\nif [ \"$funcstack[1]\" = \"_dbsage\" ]") {
        Some(at) => out.insert_str(at + 1, ZSH_ENV_FUNCTION.trim_start()),
        None => out.push_str(ZSH_ENV_FUNCTION),
    }
    out
}

pub fn run_man(args: ManArgs, command: clap::Command) -> Result<i32> {
    match args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
            clap_mangen::generate_to(command, &dir)
                .map_err(|e| Error::io(format!("writing man pages into {}", dir.display()), e))?;
            err_line!("man pages written to {}", dir.display());
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|e| Error::io("rendering the man page", e))?;
            out_text!("{}", String::from_utf8_lossy(&page));
        }
    }
    Ok(0)
}

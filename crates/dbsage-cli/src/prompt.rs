//! Asking a person for the typed confirmation: the plan first, then the question. Ctrl-C while
//! asking cancels: "cancelled" and exit 130, nothing else (nothing has been written yet).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

/// True while a prompt waits for an answer; the signal handler checks it.
pub(crate) static PROMPTING: AtomicBool = AtomicBool::new(false);
static CANCELLED: AtomicBool = AtomicBool::new(false);

pub fn is_prompting() -> bool {
    PROMPTING.load(Ordering::SeqCst)
}

/// Says "cancelled" and exits 130. The signal handler and the prompt (which sees the Ctrl-C
/// key in raw mode) can both get here: only the first one speaks.
pub fn cancel() -> ! {
    if CANCELLED.swap(true, Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    dbsage_cluster::shutdown_live_clusters();
    err_text!("\ncancelled\n");
    std::process::exit(130);
}

/// Shows every line of `prompt` but the last on stderr, asks the last one; `None` when stdin is
/// not a terminal (nobody to ask).
pub fn ask(prompt: &str) -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let (plan, question) = prompt.rsplit_once('\n').unwrap_or(("", prompt));
    if !plan.is_empty() {
        err_line!("{plan}");
    }
    PROMPTING.store(true, Ordering::SeqCst);
    let answer = dialoguer::Input::<String>::new()
        .with_prompt(question)
        .allow_empty(true)
        .interact_text();
    match answer {
        Ok(text) => {
            PROMPTING.store(false, Ordering::SeqCst);
            Some(text)
        }
        Err(dialoguer::Error::IO(e)) if e.kind() == std::io::ErrorKind::Interrupted => cancel(),
        Err(_) => {
            PROMPTING.store(false, Ordering::SeqCst);
            None
        }
    }
}

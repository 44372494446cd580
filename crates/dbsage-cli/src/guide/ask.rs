//! The guided flows' questions (dialoguer on stderr). Ctrl-C or a closed terminal cancels the
//! whole flow the way the confirmation prompt does: "cancelled", exit 130.

use std::sync::atomic::Ordering;

fn answered<T>(answer: dialoguer::Result<T>) -> T {
    match answer {
        Ok(value) => value,
        Err(_) => crate::prompt::cancel(),
    }
}

pub fn select(question: &str, items: &[String], default: usize) -> usize {
    crate::prompt::PROMPTING.store(true, Ordering::SeqCst);
    let chosen = answered(
        dialoguer::Select::new()
            .with_prompt(question)
            .items(items)
            .default(default)
            .interact(),
    );
    crate::prompt::PROMPTING.store(false, Ordering::SeqCst);
    chosen
}

/// Free text; `allow_empty` lets the user skip.
pub fn input(question: &str, allow_empty: bool) -> String {
    crate::prompt::PROMPTING.store(true, Ordering::SeqCst);
    let text: String = answered(
        dialoguer::Input::new()
            .with_prompt(question)
            .allow_empty(allow_empty)
            .interact_text(),
    );
    crate::prompt::PROMPTING.store(false, Ordering::SeqCst);
    text.trim().to_string()
}

pub fn confirm(question: &str, default: bool) -> bool {
    crate::prompt::PROMPTING.store(true, Ordering::SeqCst);
    let yes = answered(
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(default)
            .interact(),
    );
    crate::prompt::PROMPTING.store(false, Ordering::SeqCst);
    yes
}

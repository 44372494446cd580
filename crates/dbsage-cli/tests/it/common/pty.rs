//! `dbsage` alone on a pseudo-terminal (rexpect), for the guided-workflow tests.

use std::path::Path;
use std::process::Command;

use rexpect::process::WaitStatus;
use rexpect::session::{spawn_command, PtySession};

pub const DOWN: &str = "\x1b[B";
pub const ENTER: &str = "\r";

/// `dbsage` alone in `dir`, on a pseudo-terminal; each expectation waits up to `timeout_ms`.
pub fn guided_with_timeout(dir: &Path, timeout_ms: u64) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dbsage"));
    cmd.current_dir(dir)
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL");
    spawn_command(cmd, Some(timeout_ms)).expect("starting dbsage on a pseudo-terminal")
}

/// Waits for `question`, then types `keys`.
pub fn answer(session: &mut PtySession, question: &str, keys: &str) {
    session
        .exp_string(question)
        .unwrap_or_else(|e| panic!("waiting for {question:?}: {e}"));
    session.send(keys).unwrap();
    session.flush().unwrap();
}

/// Everything up to the end, and the exit code.
pub fn finish(mut session: PtySession) -> (String, i32) {
    let rest = session.exp_eof().expect("dbsage to finish");
    match session.process_mut().wait().unwrap() {
        WaitStatus::Exited(_, code) => (rest, code),
        other => panic!("dbsage did not exit normally: {other:?}\n{rest}"),
    }
}

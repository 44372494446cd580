//! Tests that must be alone in their process (they set environment variables that the server
//! lookup reads) run in a child process of the test binary, so that the crate's other tests,
//! which share the binary, never see that state. Also used by other crates' tests (`#[path]`).

#![allow(dead_code)]

use std::process::Command;

/// Set in the child to the name of the one test it runs.
const ALONE: &str = "DBSAGE_TEST_ALONE";

/// Runs the `#[ignore]`d test `name` (its path in the binary, e.g. `pgbin_cluster::probe`) by
/// itself in a child process of this test binary, and fails unless it ran and passed.
pub fn run_alone(name: &str) {
    let out = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ALONE, name)
        .output()
        .expect("run the test binary again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name}, run alone, did not pass:\n{stdout}\n{stderr}"
    );
}

/// True in the child `run_alone` starts for `name`: the test may change process-wide state.
/// A plain `--ignored` run of the whole binary gets false, and the test should fail.
pub fn is_alone(name: &str) -> bool {
    std::env::var(ALONE).as_deref() == Ok(name)
}

//! The fan-out runner of fleet commands: one closure per target on `parallel` worker threads.
//!
//! Generic over what a command does per database (migrate, status, health, tune; deploy and
//! drift plug in the same way): the closure gets an ordinary [`Target`] and connects through
//! the same path as a single-environment command. The runner only schedules and times:
//! - `canary`: the first N targets run alone first; a failure there skips every other target;
//! - `fail_fast`: after a failure no new target starts (those in flight finish);
//! - otherwise every target runs whatever happened to the others.
//!
//! Resuming needs nothing here: a re-run does, per target, only what its own history lacks.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::env::Target;
use crate::error::Error;

/// Worker stack: SQL is parsed recursively on the workers, as on the main thread.
const WORKER_STACK: usize = 128 * 1024 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct FanOutOptions {
    /// Worker threads (at least 1).
    pub parallel: usize,
    /// Start no new target after one failed.
    pub fail_fast: bool,
    /// Run the first N targets first, alone; stop when one of them fails.
    pub canary: usize,
}

impl Default for FanOutOptions {
    fn default() -> Self {
        FanOutOptions {
            parallel: 4,
            fail_fast: false,
            canary: 0,
        }
    }
}

/// What happened on one target.
#[derive(Debug)]
pub enum Outcome<T> {
    Done(T),
    Failed(Error),
    /// Not run: why (a canary or, with `--fail-fast`, another target failed).
    Skipped(String),
}

#[derive(Debug)]
pub struct TargetRun<T> {
    /// The target's display name (`database@host`).
    pub target: String,
    /// Position in the fleet's list.
    pub index: usize,
    /// Whether it ran among the canaries.
    pub canary: bool,
    pub duration: Duration,
    pub outcome: Outcome<T>,
}

impl<T> TargetRun<T> {
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }
}

#[derive(Debug)]
pub struct FanOutReport<T> {
    /// One per target, in the fleet's order.
    pub runs: Vec<TargetRun<T>>,
    pub duration: Duration,
    pub parallel: usize,
}

impl<T> FanOutReport<T> {
    pub fn count(&self, which: fn(&Outcome<T>) -> bool) -> usize {
        self.runs.iter().filter(|r| which(&r.outcome)).count()
    }
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped(_)))
    }
    pub fn done(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Done(_)))
    }
}

/// Runs `work` on every target (see the module doc); `on_done` sees each run as it ends, from
/// the worker thread (live progress).
pub fn run<T: Send>(
    targets: &[Target],
    options: &FanOutOptions,
    work: &(dyn Fn(&Target) -> Result<T, Error> + Sync),
    on_done: &(dyn Fn(&TargetRun<T>) + Sync),
) -> FanOutReport<T> {
    let started = Instant::now();
    let parallel = options.parallel.max(1);
    let slots: Vec<Mutex<Option<TargetRun<T>>>> =
        targets.iter().map(|_| Mutex::new(None)).collect();
    let canaries = options.canary.min(targets.len());
    let stop_reason: Mutex<Option<String>> = Mutex::new(None);
    let stage = Stage {
        targets,
        slots: &slots,
        work,
        on_done,
        fail_fast: options.fail_fast,
        stop_reason: &stop_reason,
    };
    if canaries > 0 {
        stage.run(0..canaries, parallel.min(canaries), true);
        let failed: Vec<String> = slots[..canaries]
            .iter()
            .filter_map(|s| {
                let slot = s.lock().expect("slot");
                slot.as_ref()
                    .filter(|r| r.failed())
                    .map(|r| r.target.clone())
            })
            .collect();
        if !failed.is_empty() {
            let mut reason = stop_reason.lock().expect("reason");
            *reason = Some(format!("not run: canary {} failed", failed.join(", ")));
        }
    }
    stage.run(canaries..targets.len(), parallel, false);
    let reason = stop_reason
        .into_inner()
        .expect("reason")
        .unwrap_or_else(|| "not run".into());
    let runs = slots
        .into_iter()
        .enumerate()
        .map(|(index, slot)| {
            slot.into_inner()
                .expect("slot")
                .unwrap_or_else(|| TargetRun {
                    target: targets[index].display.clone(),
                    index,
                    canary: index < canaries,
                    duration: Duration::ZERO,
                    outcome: Outcome::Skipped(reason.clone()),
                })
        })
        .collect();
    FanOutReport {
        runs,
        duration: started.elapsed(),
        parallel,
    }
}

struct Stage<'a, T> {
    targets: &'a [Target],
    slots: &'a [Mutex<Option<TargetRun<T>>>],
    work: &'a (dyn Fn(&Target) -> Result<T, Error> + Sync),
    on_done: &'a (dyn Fn(&TargetRun<T>) + Sync),
    fail_fast: bool,
    stop_reason: &'a Mutex<Option<String>>,
}

impl<T: Send> Stage<'_, T> {
    /// Runs `range` of the targets on `parallel` workers, each taking the next unstarted one,
    /// until none is left or a stop reason is set.
    fn run(&self, range: std::ops::Range<usize>, parallel: usize, canary: bool) {
        if range.is_empty() {
            return;
        }
        let next = AtomicUsize::new(range.start);
        let stopped = AtomicBool::new(self.stop_reason.lock().expect("reason").is_some());
        let workers = parallel.min(range.len());
        std::thread::scope(|scope| {
            for i in 0..workers {
                let (next, stopped, end) = (&next, &stopped, range.end);
                std::thread::Builder::new()
                    .name(format!("dbsage-fleet-{i}"))
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(scope, move || loop {
                        if stopped.load(Ordering::SeqCst) {
                            return;
                        }
                        let index = next.fetch_add(1, Ordering::SeqCst);
                        if index >= end {
                            return;
                        }
                        let target = &self.targets[index];
                        let started = Instant::now();
                        let outcome = match (self.work)(target) {
                            Ok(value) => Outcome::Done(value),
                            Err(e) => Outcome::Failed(e),
                        };
                        let run = TargetRun {
                            target: target.display.clone(),
                            index,
                            canary,
                            duration: started.elapsed(),
                            outcome,
                        };
                        if run.failed() && self.fail_fast {
                            let mut reason = self.stop_reason.lock().expect("reason");
                            reason.get_or_insert_with(|| {
                                format!("not run: --fail-fast after {} failed", run.target)
                            });
                            stopped.store(true, Ordering::SeqCst);
                        }
                        (self.on_done)(&run);
                        *self.slots[index].lock().expect("slot") = Some(run);
                    })
                    .expect("spawning a fleet worker");
            }
        });
    }
}

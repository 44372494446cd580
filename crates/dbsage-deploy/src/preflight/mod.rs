//! Preflight: every check that must pass before the target changes. Each returns a
//! [`StepReport`](crate::step::StepReport); none writes to the target.

pub mod drift;
pub mod lint;
pub mod locks;
pub mod replay;
pub mod requires;
pub mod status;

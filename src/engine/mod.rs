//! The engine: builds a plan by asking every registered kind to read and diff its part of the
//! stack, and applies a plan lane by lane through the kinds that made its steps. It sits above
//! the kinds and names none of them but in its registry.

pub mod apply;
pub mod build;
pub mod import;
pub mod permissions;
pub mod registry;

use anyhow::Result;

use crate::plan::Step;
use crate::progress::StepProgress;
use crate::providers::Clients;

/// Executes one step through the kind that made it: the call, then the wait until the service
/// reports the result settled.
pub async fn execute(clients: &Clients, step: &Step, progress: &StepProgress) -> Result<()> {
    registry::executor(step)?
        .execute(clients, step, progress)
        .await
}

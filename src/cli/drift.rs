//! `pipectl drift`: the read-only check for cron. Exit 0 in sync, 2 drifted, 1 error.

use anyhow::Result;
use clap::Args;

use super::{plan_stack, GlobalArgs, StackFileArg};
use crate::render;

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub stack: StackFileArg,
}

pub async fn run(global: &GlobalArgs, args: &DriftArgs) -> Result<u8> {
    let (_, _, plan) = plan_stack(global, &args.stack.file, Default::default()).await?;
    let file = args.stack.file.display().to_string();
    print!("{}", render::text::drift(&plan, &file));
    Ok(if plan.has_changes() { 2 } else { 0 })
}

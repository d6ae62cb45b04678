//! `pipectl plan`: read live state and show the changes.

use anyhow::Result;
use clap::Args;

use super::{plan_stack, GlobalArgs, StackFileArg};
use crate::render;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub stack: StackFileArg,
    /// Exit 2 when there are changes, 0 when there are none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> Result<u8> {
    let (_, _, plan) = plan_stack(global, &args.stack.file, Default::default()).await?;
    let file = args.stack.file.display().to_string();
    print!("{}", render::text::plan(&plan, &file, global.verbose > 0));
    Ok(if args.detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    })
}

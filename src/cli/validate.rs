//! `pipectl validate`: offline checks only.

use anyhow::Result;
use clap::Args;

use super::{load_stack, StackFileArg};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub stack: StackFileArg,
}

pub fn run(args: &ValidateArgs) -> Result<u8> {
    let stack = load_stack(&args.stack.file)?;
    println!(
        "{} is valid (stack {:?}).",
        args.stack.file.display(),
        stack.name()
    );
    Ok(0)
}

//! `pipectl validate`: offline checks only.

use anyhow::{bail, Result};
use clap::Args;

use super::{Reported, StackFileArg};
use crate::spec;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub stack: StackFileArg,
}

pub fn run(global: &super::GlobalArgs, args: &ValidateArgs) -> Result<u8> {
    let stack = match spec::load(&args.stack.file, &global.load_options()) {
        Ok(stack) => stack,
        Err(error) => {
            eprintln!("{error}");
            bail!(Reported)
        }
    };
    println!(
        "{} is valid (stack {:?}).",
        args.stack.file.display(),
        stack.name()
    );
    Ok(0)
}

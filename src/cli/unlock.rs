//! `pipectl unlock STACK --force`: removes a stack's apply lock, e.g. one a killed apply left
//! behind before its lease ran out. Asks for confirmation, naming the holder.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{bail, Result};
use clap::Args;

use super::{load_and_connect, shown, GlobalArgs, LockArgs, Reported};
use crate::providers::lock;

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The stack: its file (its name and region are read from it) or its name.
    #[arg(value_name = "STACK")]
    pub stack: String,
    /// Remove the lock even though another run may hold it.
    #[arg(long)]
    pub force: bool,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    #[command(flatten)]
    pub lock: LockArgs,
}

pub async fn run(global: &GlobalArgs, args: &UnlockArgs) -> Result<u8> {
    if !args.force {
        eprintln!("error: unlock removes a lock another run may still hold\n   = help: re-run with --force if you are sure that run is gone");
        bail!(Reported);
    }
    let path = Path::new(&args.stack);
    let (name, aws) = if path.is_file() {
        let (stack, aws) = load_and_connect(global, path, &Default::default())
            .await
            .map_err(shown)?;
        (stack.name().to_string(), aws)
    } else {
        let connection = global.runner_connection(global.region.clone());
        (
            args.stack.clone(),
            crate::providers::Aws::connect(&connection).await?,
        )
    };
    let Some(holder) = lock::read_stack_lock(&aws, &args.lock.lock_table, &name).await? else {
        println!("Stack {name} is not locked.");
        return Ok(0);
    };
    println!("Stack {name} is locked by {holder}.");
    if !args.auto_approve {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            eprintln!("error: unlock needs confirmation, but stdin is not a terminal\n   = help: re-run with --auto-approve; nothing was changed");
            bail!(Reported);
        }
        print!("Remove this lock? Only 'yes' will be accepted: ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            println!("Unlock cancelled; the lock is still held.");
            return Ok(1);
        }
    }
    lock::force_unlock(&aws, &args.lock.lock_table, &name).await?;
    println!("Removed the lock of stack {name}.");
    Ok(0)
}
